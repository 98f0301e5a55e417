"""Paying an invoice: with a card through a PaymentIntent, or recorded as paid outside Billfold.

The card is charged outside the invoice's transaction, in three steps: (1) the invoice is
finalized if needed, its PaymentIntent made and its "attempting" row written, committed together;
(2) the processor is asked with no transaction open (the committed attempt carries the idempotency
key, so a crash never charges twice) and its answer recorded on the intent; (3) the outcome is
recorded on the invoice. An invoice whose intent already succeeded (a crash
between 2 and 3) is recorded paid without charging again. Called inside an outer transaction
(an API request), the steps share it and the caller decides what commits.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from billfold.billing import dunning
from billfold.billing.invoices.common import InvoiceStateError, record
from billfold.billing.invoices.transitions import finalize_locked, mark_paid
from billfold.billing.locks import invoice_locked
from billfold.billing.models import Invoice
from billfold.billing.subscriptions.status import subscription_payment_result
from billfold.core.errors import DomainError
from billfold.payments import intents
from billfold.payments.models import PaymentIntent, PaymentMethod
from billfold.payments.services import payment_method_check_usable, payment_method_resolve


class NoPaymentMethod(DomainError):
    def __init__(self, invoice: Invoice) -> None:
        super().__init__(
            f"Invoice {invoice.public_id} cannot be charged: neither the invoice nor customer "
            f"{invoice.customer.public_id} has a default payment method. Pass payment_method, set the customer's "
            "invoice_settings[default_payment_method], or pay with paid_out_of_band=true if it was paid another way.",
            param="payment_method",
        )


def _payment_method(invoice: Invoice, given: PaymentMethod | str | None) -> PaymentMethod:
    """The card to charge: the one given (an id may be a magic test id such as ``pm_card_visa``), else
    the invoice's default, else the customer's default."""
    if isinstance(given, str):
        given = payment_method_resolve(public_id=given, livemode=invoice.livemode, param="payment_method")
    if given is not None:
        payment_method_check_usable(payment_method=given, customer=invoice.customer, param="payment_method")
        return given
    if invoice.default_payment_method is not None:
        return invoice.default_payment_method
    default_id = invoice.customer.invoice_settings.get("default_payment_method")
    found = (
        PaymentMethod.objects.filter(livemode=invoice.livemode, public_id=default_id, customer=invoice.customer).first()
        if default_id
        else None
    )
    if found is None:
        raise NoPaymentMethod(invoice)
    return found


def _intent_for(invoice: Invoice) -> PaymentIntent:
    """The invoice's PaymentIntent for its amount due, made on the first attempt and reused after."""
    intent = invoice.payment_intent
    if intent is not None and intent.status != "canceled" and intent.amount == invoice.amount_remaining:
        return intent
    intent = intents.payment_intent_create(**intent_values(invoice))
    invoice.payment_intent = intent
    invoice.save(update_fields=["payment_intent"])
    return intent


def intent_values(invoice: Invoice) -> dict[str, Any]:
    """The PaymentIntent that collects what is left of the invoice: ``payment_intent_create`` arguments."""
    return {
        "livemode": invoice.livemode,
        "customer": invoice.customer,
        "amount": invoice.amount_remaining,
        "currency": invoice.currency,
        "description": f"Payment for Invoice {invoice.number}",
        "statement_descriptor": invoice.statement_descriptor,
        "invoice_id": invoice.public_id,
    }


def attempt_count(invoice: Invoice, *, retry: bool) -> bool:
    """Count a payment attempt on the invoice (in memory); whether it counted toward the retry schedule.

    Stripe counts the first attempt and then only automatic retries (manual ones do not move the schedule).
    """
    counted = retry or invoice.attempt_count == 0
    if counted:
        invoice.attempt_count += 1
    invoice.attempted = True
    return counted


def _record_attempt(invoice: Invoice, intent: PaymentIntent, *, retry: bool, reschedule: bool = True) -> None:
    # ``reschedule`` False: a failure leaves the retry schedule as it was (a customer's own confirmation).
    counted = attempt_count(invoice, retry=retry)
    if intent.status == "succeeded":
        invoice.save()
        mark_paid(invoice, out_of_band=False)
        subscription_payment_result(invoice=invoice, succeeded=True, final=False)
        return
    if counted and reschedule:
        invoice.next_payment_attempt = dunning.next_attempt_at(invoice)
    invoice.save()
    record(
        invoice, "invoice.payment_action_required" if intent.status == "requires_action" else "invoice.payment_failed"
    )
    # After the schedule's last attempt, the subscription gets the dunning's final action.
    exhausted = counted and dunning.retries_exhausted(invoice)
    subscription_payment_result(invoice=invoice, succeeded=False, final=exhausted)


def invoice_pay(
    *,
    invoice: Invoice,
    payment_method: PaymentMethod | str | None = None,
    paid_out_of_band: bool = False,
    retry: bool = False,
    request_key: str | None = None,
) -> Invoice:
    """Collect an open (or uncollectible) invoice; a draft is finalized first.

    A card that is declined or needs authentication leaves the invoice open with the attempt
    recorded (attempt_count, invoice.payment_failed / invoice.payment_action_required) and is
    not raised: callers read ``invoice.status`` and ``invoice.payment_intent``. ``retry`` marks an
    automatic retry of the dunning schedule, which always counts as an attempt. ``request_key``
    (the API request's Idempotency-Key) keeps a retried request from charging twice.
    """
    with transaction.atomic():
        _, invoice = invoice_locked(invoice)  # the subscription first: billfold.billing.locks
        if invoice.status == "draft":
            finalize_locked(invoice)
        if invoice.status == "paid":
            raise InvoiceStateError(f"Invoice {invoice.public_id} is already paid.")
        if invoice.status not in ("open", "uncollectible"):
            raise InvoiceStateError(
                f"You can only pay an invoice that is open or uncollectible; {invoice.public_id} is {invoice.status}."
            )
        if paid_out_of_band or invoice.amount_remaining == 0:
            mark_paid(invoice, out_of_band=paid_out_of_band)
            subscription_payment_result(invoice=invoice, succeeded=True, final=False)
            return invoice
        earlier = invoice.payment_intent_id
        intent = _intent_for(invoice)
        if intent.status == "succeeded":
            _record_attempt(invoice, intent, retry=retry)
            return invoice
        chosen = _payment_method(invoice, payment_method)
        if intent.pk == earlier:
            # Made by an earlier attempt: someone else may be confirming it too.
            intent = intents.payment_intent_locked(intent)
        # The attempt row commits with the intent, before the processor is asked (step 2 above).
        attempt = intents.payment_intent_attempt_begin(
            payment_intent=intent, payment_method=chosen, off_session=True, request_key=request_key
        )
    if attempt is None:
        confirmed = PaymentIntent.objects.select_related("customer", "payment_method", "latest_charge").get(
            pk=intent.pk
        )
    else:
        confirmed = intents.payment_attempt_finish(attempt=attempt)
    return invoice_payment_record(invoice=invoice, payment_intent=confirmed, retry=retry)


def invoice_payment_record(
    *, invoice: Invoice, payment_intent: PaymentIntent, retry: bool = False, by_customer: bool = False
) -> Invoice:
    """Record on the invoice the outcome of a confirmation of its PaymentIntent, in one transaction:
    paid (invoice.paid, invoice.payment_succeeded, the subscription active) or the failed attempt
    (invoice.payment_failed or invoice.payment_action_required, the subscription past_due).

    The one path for every confirmation: ``invoice_pay`` (the API's pay, the dunning retries) and
    a customer confirming the intent themselves (``invoice_payment_intent_confirm``). An invoice
    no longer open, or paid by another intent, is left as it is. ``by_customer``: the customer
    confirmed it (on-session), so a failure starts no automatic retries the invoice did not have
    (a ``default_incomplete`` first invoice keeps waiting for the customer).
    """
    with transaction.atomic():
        _, invoice = invoice_locked(invoice)  # the subscription first: billfold.billing.locks
        if invoice.status in ("open", "uncollectible") and invoice.payment_intent_id == payment_intent.pk:
            reschedule = not by_customer or invoice.next_payment_attempt is not None
            _record_attempt(invoice, payment_intent, retry=retry, reschedule=reschedule)
    return invoice


def invoice_payment_intent_confirm(
    *,
    payment_intent: PaymentIntent,
    payment_method: PaymentMethod | str | None = None,
    off_session: bool = False,
    request_key: str | None = None,
) -> PaymentIntent:
    """Confirm the PaymentIntent of an invoice (``POST /v1/payment_intents/{id}/confirm``, e.g. the
    first invoice of a ``default_incomplete`` subscription) and record the outcome on the invoice
    as paying it does. Outside any transaction: the card is charged here."""
    confirmed = intents.payment_intent_confirm(
        payment_intent=payment_intent, payment_method=payment_method, off_session=off_session, request_key=request_key
    )
    invoice = (
        Invoice.objects.filter(livemode=confirmed.livemode, public_id=confirmed.invoice_id).first()
        if confirmed.invoice_id is not None
        else None
    )
    if invoice is not None:
        invoice_payment_record(invoice=invoice, payment_intent=confirmed, by_customer=True)
    return confirmed
