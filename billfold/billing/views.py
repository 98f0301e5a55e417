"""The hosted invoice page and its PDF, both from ``billing/invoice.html``.

Anyone holding the link's token may read the invoice, as with Stripe's hosted invoice pages,
so the token is long and random and the page tells browsers not to leak or index it.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.views.decorators.http import require_safe

from billfold.billing.invoices.document import invoice_document
from billfold.billing.invoices.selectors import invoice_by_hosted_token
from billfold.billing.models import Invoice

TEMPLATE = "billing/invoice.html"


def _invoice(token: str) -> Invoice:
    invoice = invoice_by_hosted_token(token=token)
    if invoice is None:
        raise Http404("No such invoice")
    return invoice


def _render(invoice: Invoice, *, request: HttpRequest | None, nonce: str | None, pdf_url: str | None) -> str:
    document = invoice_document(invoice)
    with translation.override(document.language):
        context: dict[str, Any] = {"doc": document, "nonce": nonce, "pdf_url": pdf_url}
        return render_to_string(TEMPLATE, context, request=request)


def _private(response: HttpResponse) -> HttpResponse:
    # The URL is the key to the invoice: keep it out of Referer headers, search engines and shared caches.
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Cache-Control"] = "private, no-store"
    return response


@require_safe
def invoice_page(request: HttpRequest, token: str) -> HttpResponse:
    invoice = _invoice(token)
    nonce = secrets.token_urlsafe(16)
    html = _render(
        invoice, request=request, nonce=nonce, pdf_url=reverse("billing:invoice-pdf", kwargs={"token": token})
    )
    response = HttpResponse(html, content_type="text/html; charset=utf-8")
    response["Content-Security-Policy"] = (
        f"default-src 'none'; style-src 'nonce-{nonce}'; img-src 'self' data:; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    )
    return _private(response)


def _no_fetch(url: str, timeout: int = 10, ssl_context: Any = None) -> dict[str, Any]:
    """Refuse every resource the PDF renderer would load: the template is self-contained, and
    nothing an invoice's text says should make the server fetch a URL."""
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
    response["Content-Disposition"] = f'inline; filename="Invoice-{invoice.number}.pdf"'
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return _private(response)
