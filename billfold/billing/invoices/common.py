"""Pieces every invoice service shares: locking, lines, totals, events and the checks on references."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from billfold.billing.invoices.totals import invoice_totals_compute
from billfold.billing.models import Invoice, InvoiceLineItem, TaxRate
from billfold.billing.redemption import discounts_redeem
from billfold.clocks.selectors import customer_now
from billfold.core.errors import DomainError, InvalidParam, NotFound
from billfold.customers.models import Customer
from billfold.events.rendering import rows_known
from billfold.events.services import event_record, event_record_update

# Stripe caps the discounts on one invoice (or invoice item) at 20.
MAX_TAX_RATES = 10


class InvoiceStateError(DomainError):
    """The invoice's status does not allow the operation (paying a void invoice, editing a paid one...)."""


class InvoiceNotEditable(DomainError):
    """A change only a draft accepts, asked of a finalized invoice (Stripe's ``invoice_not_editable``)."""

    def __init__(self, message: str, *, param: str | None = None) -> None:
        super().__init__(message, code="invoice_not_editable", param=param)


def now_for(invoice: Invoice) -> dt.datetime:
    """The present as the invoice's customer lives it (a test clock's time, when they have one)."""
    return customer_now(invoice.customer)


def locked(invoice: Invoice) -> Invoice:
    """The invoice re-read under a row lock, so concurrent transitions see each other's outcome."""
    return (
        Invoice.objects.select_for_update(of=("self",))
        .select_related("customer", "default_payment_method")
        .get(pk=invoice.pk)
    )


def lines_of(invoice: Invoice) -> list[InvoiceLineItem]:
    return list(invoice.lines.select_related("price__product").order_by("pk"))


def totals_refresh(invoice: Invoice) -> None:
    """Recompute and save a draft's line discounts, taxes and totals."""
    lines = lines_of(invoice)
    invoice_totals_compute(invoice=invoice, lines=lines)
    InvoiceLineItem.objects.bulk_update(lines, ["discount_amounts", "taxes"])
    invoice.save()


def record(
    invoice: Invoice,
    type: str,
    *,
    rendered: dict[str, Any] | None = None,
    lines: Sequence[InvoiceLineItem] | None = None,
) -> None:
    """The event ``type`` for the invoice as it is now; ``rendered`` is that rendering when the caller
    has it, ``lines`` the invoice's lines as saved (in pk order) when it holds them (no query for them)."""
    with rows_known(invoice, "lines", lines):
        event_record(type=type, obj=invoice, livemode=invoice.livemode, rendered=rendered, created=now_for(invoice))


def record_update(invoice: Invoice, before: dict[str, Any]) -> None:
    event_record_update(
        type="invoice.updated", obj=invoice, livemode=invoice.livemode, before=before, created=now_for(invoice)
    )


def refuse_unless_draft(invoice: Invoice, *, what: str, param: str | None = None) -> None:
    if invoice.status != "draft":
        raise InvoiceNotEditable(
            f"You can only {what} a draft invoice; {invoice.public_id} is {invoice.status}. "
            "A finalized invoice can be voided and a new one created instead.",
            param=param,
        )


def tax_rate_ids(*, livemode: bool, ids: Sequence[str], param: str, archived_allowed: bool = False) -> list[str]:
    """The ids, checked: each an active tax rate of this mode, none twice. ``archived_allowed``: rates
    a subscription already carries, which keep applying to it once archived (as on Stripe; archiving
    only stops a rate being applied to anything new)."""
    if not ids:
        return []
    if len(ids) > MAX_TAX_RATES:
        raise InvalidParam(f"At most {MAX_TAX_RATES} tax rates can apply; you gave {len(ids)}.", param=param)
    found = {r.public_id: r for r in TaxRate.objects.filter(livemode=livemode, public_id__in=list(ids))}
    for index, rate_id in enumerate(ids):
        rate = found.get(rate_id)
        if rate is None:
            raise NotFound("tax_rate", rate_id, param=f"{param}[{index}]")
        if not rate.active and not archived_allowed:
            raise InvalidParam(
                f"The tax rate {rate_id} is archived (active=false) and cannot be applied to anything new. "
                "Reactivate it or use another tax rate.",
                param=f"{param}[{index}]",
            )
        if rate_id in ids[:index]:
            raise InvalidParam(f"The tax rate {rate_id} is given twice.", param=f"{param}[{index}]")
    return list(ids)


def discounts_make(
    *,
    customer: Customer,
    currency: str,
    amount: int,
    entries: Sequence[Mapping[str, str]],
    param: str,
    invoice_id: str | None = None,
    invoice_item_id: str | None = None,
) -> list[str]:
    """Discounts for an invoice or an invoice item, starting at the customer's time."""
    return discounts_redeem(
        customer=customer,
        currency=currency,
        amount=amount,
        entries=entries,
        param=param,
        at=customer_now(customer),
        invoice_id=invoice_id,
        invoice_item_id=invoice_item_id,
    )
