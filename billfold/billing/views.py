"""The hosted invoice page and its PDF, both from ``billing/invoice.html``, and paying it by card.

Anyone holding the link's token may read the invoice and pay it, as with Stripe's hosted invoice
pages, so the token is long and random and the page tells browsers not to leak or index it. The
payment form is a plain HTML form (no JavaScript) protected by Django's CSRF check.
"""

from __future__ import annotations

import base64
import secrets
from typing import Any

from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.functional import Promise
from django.utils.http import content_disposition_header
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_POST, require_safe

from billfold.billing.card_payments import TooManyDeclines, invoice_pay_with_new_card
from billfold.billing.invoices.document import invoice_document, invoice_language
from billfold.billing.invoices.selectors import invoice_by_hosted_token
from billfold.billing.models import Invoice
from billfold.branding.selectors import brand_theme
from billfold.core import clock
from billfold.core.errors import DomainError
from billfold.payments.declines import decline_reason
from billfold.payments.errors import CardError
from billfold.payments.forms import CardForm

TEMPLATE = "billing/invoice.html"


def _invoice(token: str) -> Invoice:
    invoice = invoice_by_hosted_token(token=token)
    if invoice is None:
        raise Http404("No such invoice")
    return invoice


def _render(
    invoice: Invoice,
    *,
    request: HttpRequest | None,
    nonce: str | None,
    pdf_url: str | None,
    **extra: Any,
) -> str:
    """The invoice in the business's brand and its customer's language; without a request it is the
    PDF's HTML, images inlined."""
    for_print = request is None
    theme = brand_theme(inline_images=for_print)
    document = invoice_document(invoice, merchant=theme.business_name)
    with translation.override(document.language):
        context: dict[str, Any] = {
            "doc": document,
            "nonce": nonce,
            "pdf_url": pdf_url,
            "theme": theme,
            "for_print": for_print,
            **extra,
        }
        return render_to_string(TEMPLATE, context, request=request)


def _private(response: HttpResponse) -> HttpResponse:
    # The URL is the key to the invoice: keep it out of other sites' Referer headers, search engines and
    # shared caches. "same-origin", not "no-referrer": with no referrer at all, browsers send the payment
    # form with "Origin: null", which the CSRF check rightly refuses.
    response["Referrer-Policy"] = "same-origin"
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Cache-Control"] = "private, no-store"
    return response


def _payable(invoice: Invoice) -> bool:
    return invoice.status in ("open", "uncollectible") and invoice.amount_remaining > 0


_TOO_MANY_DECLINES = _(
    "Too many cards were declined for this invoice in the last hour. Please try again later or contact the "
    "business that sent it."
)


class InvoicePaymentForm(CardForm):
    save_card = forms.BooleanField(label=_("Save this card for future payments"), required=False, initial=True)


def _page(
    request: HttpRequest,
    invoice: Invoice,
    token: str,
    *,
    form: InvoicePaymentForm | None = None,
    error: str | Promise | None = None,
    status: int = 200,
) -> HttpResponse:
    nonce = secrets.token_urlsafe(16)
    payable = _payable(invoice)
    if payable and form is None:
        form = InvoicePaymentForm(today=clock.now().date())
    html = _render(
        invoice,
        request=request,
        nonce=nonce,
        pdf_url=reverse("billing:invoice-pdf", kwargs={"token": token}),
        pay_form=form if payable else None,
        pay_url=reverse("billing:invoice-pay", kwargs={"token": token}),
        pay_error=error,
        test_mode=not invoice.livemode,
        paid_now=request.GET.get("paid") == "1" and invoice.status == "paid",
    )
    response = HttpResponse(html, content_type="text/html; charset=utf-8", status=status)
    response["Content-Security-Policy"] = (
        f"default-src 'none'; style-src 'nonce-{nonce}'; img-src 'self' data:; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    )
    return _private(response)


@require_safe
def invoice_page(request: HttpRequest, token: str) -> HttpResponse:
    return _page(request, _invoice(token), token)


@require_POST
def invoice_pay(request: HttpRequest, token: str) -> HttpResponse:
    """Pay the invoice with the card typed into its page; on success, back to the page (now paid).

    A refusal shows the page again with what was typed and the reason, in the customer's words.
    """
    invoice = _invoice(token)
    page = reverse("billing:invoice-page", kwargs={"token": token})
    if not _payable(invoice):
        return redirect(page)
    form = InvoicePaymentForm(request.POST, today=clock.now().date())
    if not form.is_valid():
        return _page(request, invoice, token, form=form, status=400)
    try:
        invoice = invoice_pay_with_new_card(
            invoice=invoice,
            card=form.card_input(),
            billing_details=form.billing_details(),
            save=form.cleaned_data["save_card"],
        )
    except CardError as refused:
        reason = decline_reason(refused.decline.decline_code, refused.message)
        return _page(request, invoice, token, form=form, error=reason, status=402)
    except TooManyDeclines as refused:
        return _page(request, invoice, token, form=form, error=_TOO_MANY_DECLINES, status=refused.http_status)
    except DomainError as refused:
        return _page(request, invoice, token, form=form, error=refused.message, status=refused.http_status)
    if invoice.status == "paid":
        return redirect(f"{page}?paid=1")
    intent = invoice.payment_intent
    error = (intent.last_payment_error or {}) if intent is not None else {}
    # Lazy: written in the invoice's language when the page renders it.
    declined = decline_reason(error.get("decline_code"), error.get("message"))
    return _page(request, invoice, token, form=form, error=declined, status=402)


def _no_fetch(url: str, timeout: int = 10, ssl_context: Any = None) -> Any:
    """Refuse every resource the PDF renderer would load but the brand's images, which the template
    inlines as data: URLs: nothing an invoice's text says should make the server fetch a URL."""
    for mime_type in ("image/png", "image/jpeg"):
        prefix = f"data:{mime_type};base64,"
        if url.startswith(prefix):
            from weasyprint.urls import URLFetcherResponse  # type: ignore[import-untyped]

            body = base64.b64decode(url[len(prefix) :], validate=True)
            return URLFetcherResponse(url, body=body, headers={"Content-Type": mime_type})
    raise ValueError(f"Invoice PDFs load no external resources (asked for {url[:100]})")


def invoice_pdf_bytes(invoice: Invoice) -> bytes:
    # Loaded on first use: WeasyPrint loads Pango and fonts, which only PDFs need.
    from weasyprint import HTML  # type: ignore[import-untyped]  # ships no type information

    html = _render(invoice, request=None, nonce=None, pdf_url=None)
    pdf: bytes = HTML(string=html, url_fetcher=_no_fetch).write_pdf()
    return pdf


@require_safe
def invoice_pdf(request: HttpRequest, token: str) -> HttpResponse:
    invoice = _invoice(token)
    response = HttpResponse(invoice_pdf_bytes(invoice), content_type="application/pdf")
    # The file is named in the invoice's language too: "Rechnung-ACME-0001.pdf".
    with translation.override(invoice_language(invoice).code):
        name = pgettext("the start of an invoice PDF's file name", "Invoice")
    disposition = content_disposition_header(False, f"{name}-{invoice.number}.pdf")
    assert disposition is not None  # None only without a file name
    response["Content-Disposition"] = disposition
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return _private(response)
