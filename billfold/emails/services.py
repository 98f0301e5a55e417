"""Queueing emails: one row per email, written in the transaction of what it is about.

``email_enqueue_for_event`` is the event subscriber (registered in ``apps.py``): it runs inside
every ``event_record``, on the API's hot path, so for the event types it does not handle it
returns after one dict lookup, without a query. The handlers decide, as Stripe does, who gets
what:

- **receipt** on ``invoice.paid`` when money was actually collected: an invoice paid by card for
  more than zero. Stripe's receipts are for successful payments, so an invoice settled by the
  customer's credit, a $0 invoice (a trial's first) or one marked paid out of band gets none.
- **payment_failed** on ``invoice.payment_failed`` for invoices collected automatically (the
  customer is not there to see the decline), with the hosted invoice page to pay it.
- **upcoming_renewal** on ``invoice.upcoming`` (sent by the billing engine ahead of a renewal)
  when the renewal will charge something and does not end a trial (``trial_ending`` covers that).
- **trial_ending** on ``customer.subscription.trial_will_end``.
- **passcode**: ``email_passcode_send``, for the customer portal's one-time login codes.

No email is queued for a customer without an email address, a deleted customer, a kind turned
off in ``BILLFOLD_EMAILS``, or a test-mode email to an address ``BILLFOLD_TEST_EMAIL_RECIPIENTS``
does not allow (``kinds.py``).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from typing import Any

from django.db import transaction

from billfold.billing.models import Invoice, Subscription
from billfold.catalog.models import Product
from billfold.core import clock
from billfold.core.bulk import rows_insert
from billfold.core.ids import new_id
from billfold.core.locales import language_for
from billfold.core.rows import row_get, row_insert
from billfold.customers.models import Customer
from billfold.emails import kinds
from billfold.emails.models import Email
from billfold.events.models import Event
from billfold.payments.models import Charge, PaymentIntent

logger = logging.getLogger("billfold.emails")


def locale_of(customer: Customer, *, locale: str | None = None) -> str:
    """The Babel locale an email to ``customer`` is written in (``de_CH``): ``locale`` when Billfold
    speaks it (the portal login page's, for a login code), else the first of the customer's
    ``preferred_locales`` it speaks, else English, as Stripe chooses (``core.locales``). The texts'
    language follows from it when the email is rendered."""
    tags = [locale] if locale else []
    tags += [str(tag) for tag in customer.preferred_locales or []]
    return str(language_for(tags).locale)


def _email_row(
    *,
    kind: str,
    customer: Customer,
    livemode: bool,
    object_id: str,
    event: Event | None,
    context: dict[str, Any],
    next_attempt_at: dt.datetime | None = None,
    locale: str | None = None,
) -> Email | None:
    """The email to queue (unsaved), or None when none may go to the customer."""
    address = (customer.email or "").strip()
    if not address or customer.deleted or not kinds.kind_enabled(kind):
        return None
    if not kinds.recipient_allowed(livemode=livemode, address=address):
        return None
    return Email(
        public_id=new_id("eml"),
        kind=kind,
        livemode=livemode,
        to_email=address,
        customer_id=customer.public_id,
        object_id=object_id,
        event=event,
        context={"locale": locale_of(customer, locale=locale), "customer_name": customer.name or "", **context},
        next_attempt_at=next_attempt_at,
    )


def _enqueue(**row: Any) -> Email | None:
    email = _email_row(**row)
    return row_insert(email) if email is not None else None


def _card(charge: Charge | None) -> dict[str, str] | None:
    """The card as the charge saw it: brand and last four digits (never more)."""
    if charge is None:
        return None
    card = (charge.payment_method_details or {}).get("card") or charge.payment_method_details or {}
    brand, last4 = card.get("brand"), card.get("last4")
    if not last4:
        return None
    return {"brand": str(brand or "card"), "last4": str(last4)}


def _invoice_of(event: Event) -> tuple[Invoice, Customer, PaymentIntent | None, Charge | None] | None:
    """The event's invoice with its customer, payment intent and latest charge.

    Prepared single-row reads (``core.rows``): this runs inside every renewal's transaction, where
    building the ORM's joined query took longer than the rest of the email's work.
    """
    invoice_id = event.data["object"].get("id")
    if not invoice_id:
        return None
    invoice = row_get(Invoice, livemode=event.livemode, public_id=invoice_id)
    if invoice is None:
        return None
    customer = row_get(Customer, id=invoice.customer_id)
    if customer is None:
        return None
    intent = row_get(PaymentIntent, id=invoice.payment_intent_id) if invoice.payment_intent_id else None
    charge = row_get(Charge, id=intent.latest_charge_id) if intent is not None and intent.latest_charge_id else None
    return invoice, customer, intent, charge


def _wants_receipt(event: Event) -> bool:
    return kinds.kind_enabled(kinds.RECEIPT) and event.data["object"].get("amount_paid", 0) > 0


def _receipt_row(
    event: Event, invoice: Invoice, customer: Customer, intent: PaymentIntent | None, charge: Charge | None
) -> Email | None:
    if invoice.paid_out_of_band or intent is None:
        return None
    return _email_row(
        kind=kinds.RECEIPT,
        customer=customer,
        livemode=event.livemode,
        object_id=invoice.public_id,
        event=event,
        context={"card": _card(charge)},
    )


def email_enqueue_receipt(*, event: Event) -> Email | None:
    """Queue the receipt for an ``invoice.paid`` event, when a card paid more than zero."""
    if not _wants_receipt(event):
        return None
    found = _invoice_of(event)
    if found is None:
        return None
    email = _receipt_row(event, *found)
    return row_insert(email) if email is not None else None


def _receipts_enqueue(events: Sequence[Event]) -> None:
    """``email_enqueue_receipt`` for many ``invoice.paid`` events at once: four reads and one insert
    for all of them (a renewal batch pays a hundred invoices in one transaction)."""
    wanted = [event for event in events if _wants_receipt(event)]
    if not wanted:
        return
    invoices = {
        (invoice.livemode, invoice.public_id): invoice
        for invoice in Invoice.objects.filter(
            public_id__in={str(event.data["object"].get("id") or "") for event in wanted}
        )
    }
    customers = Customer.objects.in_bulk({invoice.customer_id for invoice in invoices.values()})
    intents = PaymentIntent.objects.in_bulk(
        {invoice.payment_intent_id for invoice in invoices.values() if invoice.payment_intent_id}
    )
    charges = Charge.objects.in_bulk(
        {intent.latest_charge_id for intent in intents.values() if intent.latest_charge_id}
    )
    rows = []
    for event in wanted:
        invoice = invoices.get((event.livemode, str(event.data["object"].get("id") or "")))
        customer = customers.get(invoice.customer_id) if invoice is not None else None
        if invoice is None or customer is None:
            continue
        intent = intents.get(invoice.payment_intent_id) if invoice.payment_intent_id else None
        charge = charges.get(intent.latest_charge_id) if intent is not None and intent.latest_charge_id else None
        email = _receipt_row(event, invoice, customer, intent, charge)
        if email is not None:
            rows.append(email)
    rows_insert(rows)


def email_enqueue_payment_failed(*, event: Event) -> Email | None:
    """Queue the failed-payment notice for an ``invoice.payment_failed`` event of an automatic invoice."""
    obj = event.data["object"]
    if not kinds.kind_enabled(kinds.PAYMENT_FAILED) or obj.get("collection_method") != "charge_automatically":
        return None
    found = _invoice_of(event)
    if found is None:
        return None
    invoice, customer, intent, charge = found
    error = (intent.last_payment_error or {}) if intent is not None else {}
    reason = (charge.failure_message if charge is not None else None) or error.get("message")
    # The decline code translates the reason into the customer's language (payments.declines).
    decline_code = ((charge.outcome or {}).get("reason") if charge is not None else None) or error.get("decline_code")
    return _enqueue(
        kind=kinds.PAYMENT_FAILED,
        customer=customer,
        livemode=event.livemode,
        object_id=invoice.public_id,
        event=event,
        context={"card": _card(charge), "reason": reason or "", "decline_code": decline_code},
    )


def _customer(event: Event) -> Customer | None:
    customer_id = event.data["object"].get("customer")
    if not customer_id:
        return None
    return row_get(Customer, livemode=event.livemode, public_id=customer_id)


def _subscription_id(obj: dict[str, Any]) -> str:
    parent = obj.get("parent") or {}
    details = parent.get("subscription_details") or {}
    return str(obj.get("subscription") or details.get("subscription") or "")


def email_enqueue_upcoming_renewal(*, event: Event) -> Email | None:
    """Queue the renewal reminder for an ``invoice.upcoming`` event, unless the renewal is free or
    ends a trial (the trial's own reminder, ``trial_ending``, tells what will be charged)."""
    obj = event.data["object"]
    if not kinds.kind_enabled(kinds.UPCOMING_RENEWAL) or obj.get("amount_due", 0) <= 0:
        return None
    subscription_id = _subscription_id(obj)
    if Subscription.objects.filter(livemode=event.livemode, public_id=subscription_id, status="trialing").exists():
        return None
    customer = _customer(event)
    if customer is None:
        return None
    return _enqueue(
        kind=kinds.UPCOMING_RENEWAL,
        customer=customer,
        livemode=event.livemode,
        object_id=subscription_id,
        event=event,
        context={},
    )


def email_enqueue_trial_ending(*, event: Event) -> Email | None:
    """Queue the trial reminder for a ``customer.subscription.trial_will_end`` event."""
    obj = event.data["object"]
    if not kinds.kind_enabled(kinds.TRIAL_ENDING):
        return None
    customer = _customer(event)
    if customer is None:
        return None
    items = (obj.get("items") or {}).get("data") or []
    product_ids = {item["price"]["product"] for item in items if isinstance(item.get("price", {}).get("product"), str)}
    products = dict(
        Product.objects.filter(livemode=event.livemode, public_id__in=product_ids).values_list("public_id", "name")
    )
    # The card the trial's first invoice will be charged to: the subscription's, else the customer's default.
    customer_default = (customer.invoice_settings or {}).get("default_payment_method")
    has_card = bool(obj.get("default_payment_method") or customer_default)
    return _enqueue(
        kind=kinds.TRIAL_ENDING,
        customer=customer,
        livemode=event.livemode,
        object_id=str(obj.get("id") or ""),
        event=event,
        context={"products": products, "has_payment_method": has_card},
    )


_HANDLERS: dict[str, Callable[..., Email | None]] = {
    "invoice.paid": email_enqueue_receipt,
    "invoice.payment_failed": email_enqueue_payment_failed,
    "invoice.upcoming": email_enqueue_upcoming_renewal,
    "customer.subscription.trial_will_end": email_enqueue_trial_ending,
}


def email_enqueue_for_event(event: Event) -> None:
    """The event subscriber: queue the email an event asks for, if any (no query for other events).

    A failure here is logged and leaves the change alone: losing one email is better than refusing a
    payment because of it. The savepoint keeps the surrounding transaction usable after an error.
    """
    handler = _HANDLERS.get(event.type)
    if handler is None:
        return
    try:
        with transaction.atomic():
            handler(event=event)
    except Exception:
        logger.exception(
            "Queueing the email for %s (%s) failed; no email will be sent for it", event.public_id, event.type
        )


def emails_enqueue_for_events(events: Sequence[Event]) -> None:
    """``email_enqueue_for_event`` for events written together (``events_record``, a renewal
    batch's): their receipts, the one email nearly every renewal queues, are read and written for
    all at once; other events one by one. Should the receipts fail together, each is tried alone, so
    one bad row loses only its own email."""
    receipts = [event for event in events if event.type == "invoice.paid"]
    if receipts:
        try:
            with transaction.atomic():
                _receipts_enqueue(receipts)
        except Exception:
            logger.exception("Queueing %d receipts together failed; queueing them one by one", len(receipts))
            for event in receipts:
                email_enqueue_for_event(event)
    for event in events:
        if event.type != "invoice.paid":
            email_enqueue_for_event(event)


def email_passcode_send(
    *, customer: Customer, code: str, expires_at: dt.datetime, locale: str | None = None
) -> Email | None:
    """Queue a one-time login code for ``customer``, due at once (the worker's sender sends it within
    about a second). The code is cleared from the row once sent, and a code that expires before it
    could be sent is not sent at all. None when no email can go to the customer (see module doc).

    ``locale`` is the language of the login page the code was asked for on (a BCP 47 tag or Django
    language code): the email speaks it, else the customer's ``preferred_locales``."""
    return _enqueue(
        kind=kinds.PASSCODE,
        customer=customer,
        livemode=customer.livemode,
        object_id=customer.public_id,
        event=None,
        context={"code": code, "expires_at": clock.to_unix(expires_at)},
        next_attempt_at=clock.now(),
        locale=locale,
    )
