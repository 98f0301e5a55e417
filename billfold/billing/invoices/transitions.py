"""Moving an invoice along: finalize (number, customer snapshot, balance), paid, void, uncollectible, sent.

Finalization takes the customer's row lock, reads ``next_invoice_sequence`` and increments it in
the transaction that saves the number: concurrent finalizations queue on that lock, and one
that rolls back gives its number back, so numbers have no gaps.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.db import transaction

from billfold.billing.invoices.common import (
    InvoiceStateError,
    lines_of,
    locked,
    now_for,
    record,
)
from billfold.billing.invoices.totals import invoice_totals_compute
from billfold.billing.locks import invoice_locked
from billfold.billing.models import Invoice, InvoiceLineItem
from billfold.billing.subscriptions.status import subscription_invoice_closed
from billfold.clocks.selectors import customer_now
from billfold.core.errors import DomainError, InvalidParam
from billfold.customers.models import Customer
from billfold.events.rendering import render_object
from billfold.events.services import event_record_update
from billfold.payments import intents
from billfold.payments.intents import MINIMUM_AMOUNTS


def next_number(customer: Customer) -> str:
    """The number the customer's next finalized invoice takes."""
    return f"{customer.invoice_prefix}-{customer.next_invoice_sequence:04d}"


def _number_take(customer: Customer, livemode: bool, *, taken: bool | None = None) -> str:
    """Take the customer's next number; ``taken`` says whether another invoice has it (read here when None)."""
    number = next_number(customer)
    if taken is None:
        taken = Invoice.objects.filter(livemode=livemode, number=number).exists()
    if taken:
        raise DomainError(
            f"The invoice number {number} is already taken by another invoice. Set the customer's "
            "next_invoice_sequence (or invoice_prefix) to continue after the numbers already used, then "
            "finalize again.",
            param="next_invoice_sequence",
        )
    customer.next_invoice_sequence += 1
    return number


def customer_tax_ids(customer: Customer) -> list[dict[str, str]]:
    """The customer's tax ids as a finalized invoice copies them."""
    return [{"type": t.type, "value": t.value} for t in customer.tax_ids.order_by("pk")]


def _snapshot(invoice: Invoice, customer: Customer, tax_ids: list[dict[str, str]]) -> None:
    """Copy the customer's details as they are now: the finalized invoice keeps showing them."""
    invoice.customer_email = customer.email
    invoice.customer_name = customer.name
    invoice.customer_phone = customer.phone
    invoice.customer_address = customer.address
    invoice.customer_shipping = customer.shipping
    invoice.customer_tax_exempt = customer.tax_exempt
    invoice.customer_tax_ids = tax_ids


def _balance_apply(invoice: Invoice, customer: Customer) -> None:
    """Credit (negative balance) lowers what is due; a debt (positive) adds to it; a negative total
    becomes credit. Only a balance in the invoice's currency applies.

    An amount due too small for a card network to charge is carried to the customer's balance
    instead, to be collected with their next invoice, as Stripe does.
    """
    if customer.currency is None:
        customer.currency = invoice.currency
    applies = customer.currency == invoice.currency
    starting = customer.balance if applies else 0
    net = invoice.total + starting
    due = max(net, 0)
    carried = (
        applies
        and invoice.collection_method == "charge_automatically"
        and 0 < due < MINIMUM_AMOUNTS.get(invoice.currency, 1)
    )
    invoice.starting_balance = starting
    invoice.ending_balance = net if carried else min(net, 0)
    invoice.amount_due = 0 if carried else due
    invoice.amount_remaining = invoice.amount_due - invoice.amount_paid
    if applies:
        customer.balance = invoice.ending_balance


def finalize_locked(invoice: Invoice, *, auto_advance: bool | None = None) -> None:
    """Finalize a draft the caller holds locked, in the caller's transaction.

    Writes invoice.finalized, and invoice.paid / invoice.payment_succeeded right after when
    nothing is left to pay (a zero total, or credit covering it), as Stripe does.
    """
    customer = Customer.objects.select_for_update().get(pk=invoice.customer_id)
    if customer.deleted:
        raise InvalidParam(
            f"The customer {customer.public_id} has been deleted; its draft invoices cannot be finalized.",
            param="customer",
        )
    now = customer_now(customer)
    before_customer = render_object(customer)
    lines = lines_of(invoice)
    finalize_apply(
        invoice,
        customer=customer,
        lines=lines,
        now=now,
        tax_ids=customer_tax_ids(customer),
        auto_advance=auto_advance,
    )
    InvoiceLineItem.objects.bulk_update(lines, ["discount_amounts", "taxes"])
    customer.save(update_fields=["next_invoice_sequence", "balance", "currency"])
    if customer_changed(before_customer, customer):
        event_record_update(
            type="customer.updated", obj=customer, livemode=customer.livemode, before=before_customer, created=now
        )
    invoice.save()
    record(invoice, "invoice.finalized", lines=lines)
    if invoice.amount_due == 0:
        mark_paid(invoice, out_of_band=False)


def customer_changed(before: dict[str, Any], customer: Customer) -> bool:
    """Whether finalizing changed what the API shows of the customer (``before``: its rendering before)."""
    return bool(before["balance"] != customer.balance or before["currency"] != customer.currency)


def finalize_apply(
    invoice: Invoice,
    *,
    customer: Customer,
    lines: Sequence[InvoiceLineItem],
    now: dt.datetime,
    tax_ids: list[dict[str, str]],
    number_taken: bool | None = None,
    auto_advance: bool | None = None,
) -> None:
    """Finalization's changes to a draft, its lines and its (locked) customer, in memory: totals, the
    next number (``number_taken``: whether another invoice has it, read when None), the customer's
    details (``tax_ids``: ``customer_tax_ids``), the balance, status open at ``now``, ``auto_advance``
    when given. The caller saves them and records the events, as ``finalize_locked`` does."""
    invoice.customer = customer
    invoice_totals_compute(invoice=invoice, lines=lines)
    invoice.number = _number_take(customer, invoice.livemode, taken=number_taken)
    _snapshot(invoice, customer, tax_ids)
    _balance_apply(invoice, customer)
    invoice.status = "open"
    invoice.finalized_at = now
    invoice.effective_at = invoice.effective_at or now
    if invoice.days_until_due is not None:
        invoice.due_date = now + dt.timedelta(days=invoice.days_until_due)
    if auto_advance is not None:
        invoice.auto_advance = auto_advance
    # An automatic invoice is charged by the worker as soon as it is open.
    charge_soon = invoice.auto_advance and invoice.collection_method == "charge_automatically"
    invoice.next_payment_attempt = now if charge_soon and invoice.amount_due > 0 else None


def paid_apply(invoice: Invoice, *, out_of_band: bool, now: dt.datetime) -> None:
    """The invoice paid in full at ``now``, in memory (``mark_paid`` saves it and records the events)."""
    invoice.status = "paid"
    invoice.paid_at = now
    invoice.amount_paid = invoice.amount_due
    invoice.amount_remaining = 0
    invoice.paid_out_of_band = out_of_band
    invoice.auto_advance = False
    invoice.next_payment_attempt = None


def mark_paid(invoice: Invoice, *, out_of_band: bool) -> None:
    """Record the invoice paid in full (by a charge, by credit, or outside Billfold)."""
    paid_apply(invoice, out_of_band=out_of_band, now=now_for(invoice))
    invoice.save()
    # Both events show the same state of the invoice: rendered once.
    rendered = render_object(invoice)
    record(invoice, "invoice.paid", rendered=rendered)
    if not out_of_band:
        record(invoice, "invoice.payment_succeeded", rendered=copy.deepcopy(rendered))


def _refuse_status(invoice: Invoice, action: str, allowed: tuple[str, ...]) -> None:
    if invoice.status in allowed:
        return
    raise InvoiceStateError(
        f"You can only {action} an invoice that is {' or '.join(allowed)}; {invoice.public_id} is {invoice.status}.",
    )


@transaction.atomic
def invoice_finalize(*, invoice: Invoice, auto_advance: bool | None = None) -> Invoice:
    """Draft → open: number, frozen totals and customer details, balance applied (→ paid if nothing is due)."""
    invoice = locked(invoice)
    if invoice.status != "draft":
        raise InvoiceStateError(
            f"This invoice is already finalized ({invoice.status}); you can only finalize a draft invoice.",
        )
    finalize_locked(invoice, auto_advance=auto_advance)
    return invoice


def _balance_return(invoice: Invoice) -> None:
    """Give back to the customer the balance finalization applied to this invoice."""
    if invoice.ending_balance is None:
        return
    applied = invoice.ending_balance - invoice.starting_balance
    customer = Customer.objects.select_for_update().get(pk=invoice.customer_id)
    if applied == 0 or customer.currency != invoice.currency:
        return
    before = render_object(customer)
    customer.balance -= applied
    customer.save(update_fields=["balance"])
    event_record_update(
        type="customer.updated", obj=customer, livemode=customer.livemode, before=before, created=now_for(invoice)
    )


def _close(invoice: Invoice) -> None:
    invoice.auto_advance = False
    invoice.next_payment_attempt = None


@transaction.atomic
def invoice_void(*, invoice: Invoice, move_subscription: bool = True) -> Invoice:
    """Open or uncollectible → void, for good; balance applied at finalization goes back to the customer
    and a payment still waiting for a card is canceled. A subscription whose latest invoice this is
    moves as Stripe moves it (``subscription_invoice_closed``), unless ``move_subscription`` is False:
    the subscription's own services (cancel, expiry, paused collection) set its status themselves."""
    subscription, invoice = invoice_locked(invoice)
    _refuse_status(invoice, "void", ("open", "uncollectible"))
    intent = invoice.payment_intent
    if intent is not None and intent.status in ("processing", "succeeded"):
        # Voiding now would keep the money of a payment that is being (or has been) made for it.
        raise InvoiceStateError(
            f"Invoice {invoice.public_id} cannot be voided: its payment {intent.public_id} is {intent.status}. "
            "Wait for the payment to finish; a paid invoice can be refunded instead.",
        )
    if intent is not None and intent.status in intents.OPEN_STATUSES:
        intents.payment_intent_cancel(payment_intent=intent, cancellation_reason="void_invoice")
    _balance_return(invoice)
    invoice.status = "void"
    invoice.voided_at = now_for(invoice)
    _close(invoice)
    invoice.save()
    record(invoice, "invoice.voided")
    if subscription is not None and move_subscription:
        subscription_invoice_closed(subscription=subscription, invoice=invoice, voided=True)
    return invoice


@transaction.atomic
def invoice_mark_uncollectible(*, invoice: Invoice, move_subscription: bool = True) -> Invoice:
    """Open → uncollectible: a bad debt written off; it can still be paid or voided later. Moves the
    subscription whose latest invoice this is, as ``invoice_void`` does."""
    subscription, invoice = invoice_locked(invoice)
    _refuse_status(invoice, "mark as uncollectible", ("open",))
    invoice.status = "uncollectible"
    invoice.marked_uncollectible_at = now_for(invoice)
    _close(invoice)
    invoice.save()
    record(invoice, "invoice.marked_uncollectible")
    if subscription is not None and move_subscription:
        subscription_invoice_closed(subscription=subscription, invoice=invoice, voided=False)
    return invoice


@transaction.atomic
def invoice_send(*, invoice: Invoice) -> Invoice:
    """Send a ``send_invoice`` invoice to the customer (a draft is finalized first): records invoice.sent.

    The email itself is not sent yet: email delivery arrives with Billfold's email templates.
    """
    invoice = locked(invoice)
    if invoice.collection_method != "send_invoice":
        raise InvoiceStateError(
            "You can only manually send an invoice if its collection method is 'send_invoice'; this one is charged "
            "automatically. Update collection_method while it is a draft, or pay it instead.",
        )
    if invoice.status == "draft":
        finalize_locked(invoice)
    _refuse_status(invoice, "send", ("open", "paid", "uncollectible"))
    invoice.sent_at = now_for(invoice)
    invoice.save(update_fields=["sent_at"])
    record(invoice, "invoice.sent")
    return invoice
