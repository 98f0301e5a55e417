"""Subscription writes: create, update, cancel, resume.

Each runs in two steps when it bills at once. First, one transaction writes the change, its
invoice (finalized) and its events, and commits; then, with no transaction open, the invoice is
charged (``invoicing.collect``), and the outcome moves the subscription's status
(``status.subscription_payment_result``). A refusal raises before anything is written, or inside
the first transaction, which rolls back.

``payment_behavior`` (charge_automatically only): ``allow_incomplete`` (default) keeps the change
whatever the payment's outcome (a new subscription stays ``incomplete``, an updated one becomes
``past_due``); ``default_incomplete`` does not charge, leaving the invoice's PaymentIntent for
the customer to confirm; ``error_if_incomplete`` answers a failed payment with Stripe's 402 and
takes the whole request back (``undo``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.db import transaction

from billfold.billing import invoices as invoice_services
from billfold.billing.models import Invoice, Subscription
from billfold.billing.proration import PRORATION_BEHAVIORS, remaining_time_line, unused_time_line
from billfold.billing.subscriptions import changes, creation, invoicing, rules, undo
from billfold.billing.subscriptions.common import (
    TRIAL_WILL_END_NOTICE,
    SubscriptionStateError,
    cadence_of,
    live_items,
    locked,
    natural_period,
    now_for,
    proration_item,
    reanchor,
    record,
    record_update,
    schedule,
    set_period,
    snapshot,
)
from billfold.billing.subscriptions.creation import NewSubscription
from billfold.billing.subscriptions.status import cancel_now, refuse_if_ended, status_move
from billfold.core.errors import InvalidParam
from billfold.core.periods import add_interval
from billfold.customers.models import Customer
from billfold.events.services import events_collected

RESUME_ANCHORS = ("now", "unchanged")


def trial_notice_if_due(subscription: Subscription) -> None:
    """Send customer.subscription.trial_will_end now if the trial ends within three days (once per trial)."""
    trial_end = subscription.trial_end
    if subscription.status != "trialing" or trial_end is None or subscription.trial_will_end_sent_for == trial_end:
        return
    if trial_end - TRIAL_WILL_END_NOTICE <= now_for(subscription):
        subscription.trial_will_end_sent_for = trial_end
        record(subscription, "customer.subscription.trial_will_end")


def _reread(subscription: Subscription) -> Subscription:
    return Subscription.objects.select_related("customer", "default_payment_method", "latest_invoice").get(
        pk=subscription.pk
    )


def _charged_now(subscription: Subscription, invoice: Invoice, payment_behavior: str) -> bool:
    """Settle what an issued invoice asks before the transaction commits; True when it must be charged
    after. A card is needed unless the customer confirms the payment later (``default_incomplete``)."""
    if not invoicing.wants_collection(invoice):
        return False
    if payment_behavior == "default_incomplete":
        invoicing.intent_prepare(invoice)
        return False
    if invoicing.payment_method_for(subscription) is None:
        raise rules.NoPaymentMethodForSubscription(subscription.customer)
    return True


def _collect_or_undo(
    *, subscription: Subscription, invoice: Invoice, point: undo.Checkpoint | None, request_key: str | None
) -> None:
    """Charge the invoice; under ``error_if_incomplete`` (``point`` given) a failure takes the request back."""
    paid = invoicing.collect(invoice=invoice, request_key=request_key)
    if point is None or paid.status == "paid":
        return
    intent = paid.payment_intent
    refusal = rules.SubscriptionPaymentFailed.from_error(
        intent.last_payment_error if intent is not None else None,
        requires_action=intent is not None and intent.status == "requires_action",
    )
    undo.undo(point, subscription_id=subscription.public_id, livemode=subscription.livemode)
    raise refusal


def subscription_create(
    *, customer: Customer, livemode: bool, spec: NewSubscription, request_key: str | None = None
) -> Subscription:
    """A new subscription of ``customer`` to ``spec.items``, its first invoice finalized and (charged
    automatically) paid. Returns it active, trialing, or incomplete (first payment failed or left
    for the customer to confirm). Outside any transaction: the card is charged here."""
    with events_collected() as written:
        return _create(customer=customer, livemode=livemode, spec=spec, request_key=request_key, written=written)


def _create(
    *, customer: Customer, livemode: bool, spec: NewSubscription, request_key: str | None, written: list[int]
) -> Subscription:
    point = None
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        if spec.payment_behavior == "error_if_incomplete":
            point = undo.checkpoint(customer=customer, events=written)
        built = creation.build(customer=customer, livemode=livemode, spec=spec)
        subscription, invoice = built.subscription, built.invoice
        charge = False
        if invoice is not None:
            invoice = invoicing.invoice_issue(subscription=subscription, invoice=invoice, report=False)
            charge = _charged_now(subscription, invoice, spec.payment_behavior)
            if invoice.status == "paid" and subscription.status == "incomplete":
                status_move(subscription, "active")
        elif subscription.status == "incomplete":
            # Nothing to pay before the anchor (proration_behavior=none): it is in good standing.
            status_move(subscription, "active")
        trial_notice_if_due(subscription)
        schedule(subscription, built.items)
        subscription.save()
        record(subscription, "customer.subscription.created")
    if charge and invoice is not None and spec.payment_behavior != "default_incomplete":
        _collect_or_undo(
            subscription=subscription,
            invoice=invoice,
            point=point,
            request_key=request_key,
        )
    return _reread(subscription)


def _after_issue(subscription: Subscription, invoice: Invoice, payment_behavior: str) -> bool:
    """Status moves an update's invoice makes before commit; True when it must be charged after."""
    charge = _charged_now(subscription, invoice, payment_behavior)
    if invoice.status == "paid" and subscription.status in ("past_due", "unpaid"):
        status_move(subscription, "active")
    if payment_behavior == "default_incomplete" and invoice.status == "open" and subscription.status == "active":
        status_move(subscription, "past_due")
    return charge


def subscription_update(
    *, subscription: Subscription, values: Mapping[str, Any], request_key: str | None = None
) -> Subscription:
    """Change the subscription (see ``changes`` for ``values``). Changes billed at once are invoiced,
    finalized and charged as ``payment_behavior`` says. Outside any transaction."""
    behavior = values.get("payment_behavior") or "allow_incomplete"
    rules.enum_check(behavior, rules.PAYMENT_BEHAVIORS, param="payment_behavior")
    if behavior == "pending_if_incomplete":
        raise InvalidParam(
            "payment_behavior=pending_if_incomplete is not available in Billfold: use allow_incomplete (the change "
            "stays and the subscription becomes past_due if payment fails), default_incomplete or "
            "error_if_incomplete (a failed payment refuses the whole change).",
            param="payment_behavior",
        )
    point = None
    with events_collected() as written:
        with transaction.atomic():
            subscription = locked(subscription)
            if behavior == "error_if_incomplete":
                point = undo.checkpoint(customer=subscription.customer, subscription=subscription, events=written)
            invoice, charge = update_locked(subscription=subscription, values=values, payment_behavior=behavior)
        if charge and invoice is not None:
            _collect_or_undo(subscription=subscription, invoice=invoice, point=point, request_key=request_key)
    return _reread(subscription)


def update_locked(
    *,
    subscription: Subscription,
    values: Mapping[str, Any],
    payment_behavior: str = "allow_incomplete",
    before: dict[str, Any] | None = None,
) -> tuple[Invoice | None, bool]:
    """``subscription_update``'s work on the locked subscription, in the caller's transaction, with its
    event (changes since ``before``, default: now): the invoice it issued, and whether that invoice
    must be charged once the transaction has committed."""
    before = snapshot(subscription) if before is None else before
    charge = False
    invoice = changes.update_build(subscription=subscription, values=values)
    if invoice is not None:
        invoice = invoicing.invoice_issue(subscription=subscription, invoice=invoice, report=False)
        subscription.latest_invoice = invoice
        charge = _after_issue(subscription, invoice, payment_behavior)
    trial_notice_if_due(subscription)
    schedule(subscription)
    subscription.save()
    record_update(subscription, before)
    return invoice, charge


def _stop_collecting(subscription: Subscription) -> None:
    """Stripe stops automatic collection of a canceled subscription's finalized invoices; an
    incomplete subscription's first invoice is voided."""
    open_invoices = Invoice.objects.filter(
        livemode=subscription.livemode, subscription_id=subscription.public_id, status="open"
    ).order_by("pk")
    for invoice in open_invoices:
        if subscription.status == "incomplete":
            invoice_services.invoice_void(invoice=invoice, move_subscription=False)
        elif invoice.auto_advance:
            invoice_services.invoice_update(invoice=invoice, values={"auto_advance": False})


def _final_invoice(subscription: Subscription, now: dt.datetime) -> Invoice | None:
    """The last invoice of a subscription being canceled: its pending invoice items, if any."""
    if not invoicing.pending_prorations(subscription):
        return None
    invoice = invoicing.subscription_invoice(
        subscription=subscription,
        items=live_items(subscription),
        billing_reason="subscription_update",
        lines=[],
        period_start=now,
        period_end=now,
        at=now,
    )
    return invoice_services.invoice_finalize(invoice=invoice)


def cancel_build(
    *,
    subscription: Subscription,
    invoice_now: bool,
    prorate: bool,
    details: Mapping[str, Any] | None,
    reason: str,
    at: dt.datetime | None = None,
) -> Invoice | None:
    """Cancel the (locked) subscription in the caller's transaction (it ends ``at``, default now);
    the final invoice, if any."""
    refuse_if_ended(subscription, action="cancel")
    now = now_for(subscription)
    items = live_items(subscription)
    billed = subscription.status in ("active", "past_due", "unpaid")
    if prorate and billed:
        start, end = items[0].current_period_start, items[0].current_period_end
        if start <= now < end:
            credits = [
                unused_time_line(proration_item(item), period_start=start, period_end=end, proration_date=now)
                for item in items
            ]
            invoicing.proration_items_create(
                subscription=subscription, lines=credits, prices={i.price.public_id: i.price for i in items}
            )
    final = None
    if invoice_now:
        final = _final_invoice(subscription, now)
    elif not prorate:
        for item in invoicing.pending_prorations(subscription):
            if item.proration:
                invoice_services.invoiceitem_delete(invoice_item=item)
    _stop_collecting(subscription)
    cancel_now(subscription, reason=reason, details=dict(details) if details is not None else None, at=at)
    if final is not None:
        subscription.latest_invoice = final
    subscription.save()
    record(subscription, "customer.subscription.deleted")
    return final


def subscription_cancel(
    *,
    subscription: Subscription,
    invoice_now: bool = False,
    prorate: bool = False,
    cancellation_details: Mapping[str, Any] | None = None,
    request_key: str | None = None,
) -> Subscription:
    """Cancel now (``DELETE /v1/subscriptions/{id}``). ``prorate`` credits the unused time;
    ``invoice_now`` bills pending items (and that credit) on a final invoice, charged if anything is
    due. Without either, pending prorations are dropped, as Stripe does. Outside any transaction."""
    with transaction.atomic():
        subscription = locked(subscription)
        final = cancel_build(
            subscription=subscription,
            invoice_now=invoice_now,
            prorate=prorate,
            details=cancellation_details,
            reason="cancellation_requested",
        )
    if invoicing.wants_collection(final) and final is not None:
        invoicing.collect(invoice=final, request_key=request_key)
    return _reread(subscription)


def subscription_resume(
    *,
    subscription: Subscription,
    billing_cycle_anchor: str = "now",
    proration_behavior: str = "create_prorations",
    proration_date: dt.datetime | None = None,
    request_key: str | None = None,
) -> Subscription:
    """Resume a paused subscription (``POST /v1/subscriptions/{id}/resume``).

    ``now`` (default) starts a new period now and invoices it in full; ``unchanged`` returns to the
    anchor's cycle and prorates the rest of the current period (``proration_behavior``). The
    subscription is active once the resumption invoice is paid (past_due if its payment fails).
    """
    rules.enum_check(billing_cycle_anchor, RESUME_ANCHORS, param="billing_cycle_anchor")
    rules.enum_check(proration_behavior, PRORATION_BEHAVIORS, param="proration_behavior")
    charge = False
    with transaction.atomic():
        subscription = locked(subscription)
        if subscription.status != "paused":
            raise SubscriptionStateError(
                f"Subscription {subscription.public_id} is {subscription.status}; only a paused subscription can "
                "be resumed.",
            )
        before = snapshot(subscription)
        invoice = _resume_build(subscription, billing_cycle_anchor, proration_behavior, proration_date)
        if invoice is not None:
            invoice = invoicing.invoice_issue(subscription=subscription, invoice=invoice, report=False)
            subscription.latest_invoice = invoice
            charge = _charged_now(subscription, invoice, "allow_incomplete")
        if not charge:
            status_move(subscription, "active")
            record(subscription, "customer.subscription.resumed")
        schedule(subscription)
        subscription.save()
        record_update(subscription, before)
    if charge and invoice is not None:
        invoicing.collect(invoice=invoice, request_key=request_key)
    return _reread(subscription)


def _resume_build(
    subscription: Subscription, anchor: str, behavior: str, proration_date: dt.datetime | None
) -> Invoice | None:
    now = now_for(subscription)
    items = live_items(subscription)
    price = items[0].price
    if anchor == "now":
        interval, count = cadence_of(price)
        end = add_interval(now, interval, count)
        reanchor(subscription, now, price)
        set_period(items, now, end)
        lines = [invoicing.period_line(item, now, end) for item in items]
        return invoicing.subscription_invoice(
            subscription=subscription,
            items=items,
            billing_reason="subscription_update",
            lines=lines,
            period_start=now,
            period_end=now,
            at=now,
        )
    start, end = natural_period(subscription, price, now)
    set_period(items, start, end)
    if behavior == "none":
        return None
    at = proration_date or now
    remaining = [
        remaining_time_line(proration_item(item), period_start=start, period_end=end, proration_date=at)
        for item in items
    ]
    invoicing.proration_items_create(
        subscription=subscription, lines=remaining, prices={item.price.public_id: item.price for item in items}
    )
    if behavior != "always_invoice":
        return None
    return invoicing.subscription_invoice(
        subscription=subscription,
        items=items,
        billing_reason="subscription_update",
        lines=[],
        period_start=now,
        period_end=now,
        at=now,
    )
