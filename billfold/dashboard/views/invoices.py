"""Invoices: lists by status, an invoice's detail with its hosted page and PDF, and the actions a
merchant takes on an open invoice (void, mark uncollectible, record a payment made outside Billfold)."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from billfold.billing import invoices as services
from billfold.billing.invoices.selectors import invoice_get, invoice_lines, invoice_list
from billfold.billing.models import Invoice
from billfold.core.errors import DomainError, NotFound
from billfold.dashboard.pages import paginate, query_without_page, render_page
from billfold.dashboard.security import livemode, staff_page
from billfold.dashboard.templatetags.dashboard import money

SECTION = "invoices"
FILTERS: tuple[tuple[str, str], ...] = (
    ("all", "All"),
    ("draft", "Draft"),
    ("open", "Open"),
    ("paid", "Paid"),
    ("uncollectible", "Uncollectible"),
    ("void", "Void"),
)


@dataclass(frozen=True)
class Action:
    """Something done to an invoice from its page, after a confirmation."""

    label: str
    allowed: tuple[str, ...]
    heading: str
    explanation: tuple[str, ...]
    done: str
    danger: bool = True


ACTIONS: dict[str, Action] = {
    "void": Action(
        label="Void invoice",
        allowed=("open", "uncollectible"),
        heading="Void invoice {number}?",
        explanation=(
            "Voiding is final: the invoice stays on record as void and can no longer be paid. Use it for an invoice "
            "issued by mistake.",
        ),
        done="The invoice was voided.",
    ),
    "mark-uncollectible": Action(
        label="Mark uncollectible",
        allowed=("open",),
        heading="Mark invoice {number} as uncollectible?",
        explanation=(
            "Use this when you do not expect to be paid: the invoice stops counting as money owed and automatic "
            "payment retries stop. It can still be paid later.",
        ),
        done="The invoice was marked uncollectible.",
    ),
    "mark-paid": Action(
        label="Mark paid",
        allowed=("open", "uncollectible"),
        heading="Mark invoice {number} as paid?",
        explanation=(
            "Record that {amount} was paid outside Billfold (a bank transfer, cash, a check). No card is charged.",
        ),
        done="The invoice was marked as paid out of band.",
        danger=False,
    ),
}


def _invoice(request: HttpRequest, invoice_id: str) -> Invoice:
    try:
        return invoice_get(public_id=invoice_id, livemode=livemode(request))
    except NotFound:
        raise Http404("No such invoice") from None


@staff_page
@require_http_methods(["GET", "HEAD"])
def invoice_list_page(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "all")
    if status not in dict(FILTERS):
        status = "all"
    rows = invoice_list(livemode=livemode(request), status=None if status == "all" else status)
    return render_page(
        request,
        "dashboard/invoices/invoice_list.html",
        {
            "page": paginate(request, rows.order_by("-created", "-pk")),
            "status": status,
            "filters": FILTERS,
            "pager_query": query_without_page(request),
        },
        section=SECTION,
    )


@staff_page
@require_http_methods(["GET", "HEAD"])
def invoice_detail(request: HttpRequest, invoice_id: str) -> HttpResponse:
    invoice = _invoice(request, invoice_id)
    hosted = invoice.status != "draft"
    return render_page(
        request,
        "dashboard/invoices/invoice_detail.html",
        {
            "invoice": invoice,
            "lines": list(invoice_lines(invoice=invoice)),
            "actions": [(key, action) for key, action in ACTIONS.items() if invoice.status in action.allowed],
            "hosted_url": reverse("billing:invoice-page", args=[invoice.hosted_token]) if hosted else None,
            "pdf_url": reverse("billing:invoice-pdf", args=[invoice.hosted_token]) if hosted else None,
        },
        section=SECTION,
    )


def _apply(key: str, invoice: Invoice) -> Invoice:
    if key == "void":
        return services.invoice_void(invoice=invoice)
    if key == "mark-uncollectible":
        return services.invoice_mark_uncollectible(invoice=invoice)
    return services.invoice_pay(invoice=invoice, paid_out_of_band=True)


@staff_page
@require_http_methods(["GET", "HEAD", "POST"])
def invoice_action(request: HttpRequest, invoice_id: str, action: str) -> HttpResponse:
    chosen = ACTIONS.get(action)
    if chosen is None:
        raise Http404("No such action")
    invoice = _invoice(request, invoice_id)
    back = reverse("dashboard:invoice", args=[invoice.public_id])
    if invoice.status not in chosen.allowed:
        messages.error(request, f"This invoice is {invoice.status}: it cannot be changed that way now.")
        return redirect(back)
    if request.method == "POST":
        try:
            _apply(action, invoice)
        except DomainError as refused:
            messages.error(request, refused.message)
        else:
            messages.success(request, chosen.done)
        return redirect(back)
    amount = money(invoice.amount_remaining, invoice.currency)
    number = invoice.number or invoice.public_id
    return render_page(
        request,
        "dashboard/confirm.html",
        {
            "heading": chosen.heading.format(number=number),
            "explanation": [text.format(amount=amount) for text in chosen.explanation],
            "button": chosen.label,
            "button_class": "danger" if chosen.danger else "primary",
            "action": reverse("dashboard:invoice-action", args=[invoice.public_id, action]),
            "back": back,
        },
        section=SECTION,
    )
