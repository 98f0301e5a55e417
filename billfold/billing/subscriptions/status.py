"""The subscription state machine, and what payment results do to a subscription's status.

Stripe's statuses and the moves between them (PRODUCT.md §3):

- ``incomplete`` (the first invoice is unpaid) → ``active`` when it is paid (or marked
  uncollectible), ``incomplete_expired`` after 23 hours (the invoice is voided) or when the
  invoice is voided, ``canceled``.
- ``trialing`` → ``active`` at the trial's end (paid, or nothing to pay), ``past_due`` (its invoice
  failed), ``paused`` or ``canceled`` (trial ended without a payment method, per ``trial_settings``).
- ``active`` → ``past_due`` (a renewal failed), ``trialing`` (a trial added), ``canceled``.
- ``past_due`` → ``active`` (paid, voided or marked uncollectible), ``unpaid`` or ``canceled``
  (every retry failed, per ``BILLFOLD_DUNNING_FINAL_ACTION``), ``canceled``.
- ``unpaid`` → ``active`` (paid, voided or marked uncollectible), ``canceled``.
- ``paused`` → ``active`` or ``past_due`` (resumed), ``canceled``.
- ``canceled`` and ``incomplete_expired`` are final.

This module must not import the invoices package: the invoices' payment code imports it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction

from billfold.billing.models import Invoice, Subscription
from billfold.billing.models.subscriptions import ENDED_STATUSES
from billfold.billing.schedules.common import schedule_subscription_ended
from billfold.billing.subscriptions.common import (
    SubscriptionStateError,
    live_items,
    locking,
    now_for,
    record,
    record_update,
    schedule,
    snapshot,
)

TRANSITIONS: dict[str, frozenset[str]] = {
    "incomplete": frozenset({"active", "incomplete_expired", "canceled"}),
    "trialing": frozenset({"active", "past_due", "paused", "canceled"}),
    "active": frozenset({"past_due", "trialing", "canceled"}),
    "past_due": frozenset({"active", "unpaid", "canceled", "trialing"}),
    "unpaid": frozenset({"active", "canceled", "trialing"}),
    "paused": frozenset({"active", "past_due", "canceled"}),
    "canceled": frozenset(),
    "incomplete_expired": frozenset(),
}
# Statuses whose subscription still changes with its invoices' payments.
_COLLECTING = ("incomplete", "active", "past_due", "unpaid", "trialing", "paused")


def status_move(subscription: Subscription, to: str) -> None:
    """Set the status (nothing saved), refusing a move Stripe never makes: a bug, not a request."""
    if subscription.status == to:
        return
    if to not in TRANSITIONS[subscription.status]:
        raise SubscriptionStateError(
            f"Subscription {subscription.public_id} cannot go from {subscription.status} to {to}."
        )
    subscription.status = to


def refuse_if_ended(subscription: Subscription, *, action: str) -> None:
    if subscription.status in ENDED_STATUSES:
        raise SubscriptionStateError(
            f"You cannot {action} subscription {subscription.public_id}: it is {subscription.status}, and an ended "
            "subscription can no longer change. Create a new subscription instead.",
        )


def cancel_now(
    subscription: Subscription, *, reason: str, details: dict[str, Any] | None = None, at: dt.datetime | None = None
) -> None:
    """Mark the subscription canceled (nothing of it saved, no event of its own): it ends ``at`` (default:
    its customer's present), and its schedule stops (``schedule_subscription_ended`` saves that, with
    its event). ``canceled_at`` keeps the moment a scheduled cancellation was asked for, as Stripe shows it."""
    now = now_for(subscription)
    status_move(subscription, "canceled")
    subscription.canceled_at = subscription.canceled_at or now
    subscription.ended_at = at or now
    subscription.cancellation_details = {
        "comment": (details or {}).get("comment", subscription.cancellation_details.get("comment")),
        "feedback": (details or {}).get("feedback", subscription.cancellation_details.get("feedback")),
        "reason": reason,
    }
    subscription.next_action_at = None
    schedule_subscription_ended(subscription, at=subscription.ended_at)


def _final_action() -> str:
    from billfold.billing import dunning

    return dunning.final_action()


def _find(invoice: Invoice) -> Subscription | None:
    if invoice.subscription_id is None:
        return None
    return locking().filter(livemode=invoice.livemode, public_id=invoice.subscription_id).first()


@transaction.atomic
def subscription_payment_result(*, invoice: Invoice, succeeded: bool, final: bool) -> None:
    """Move the invoice's subscription along after a payment outcome of ``invoice`` was recorded.

    Success (paid by card, by credit or out of band): ``incomplete``, ``past_due``, ``unpaid`` and
    ``paused`` become ``active`` when ``invoice`` is the subscription's latest invoice. Failure: an
    active subscription becomes ``past_due`` (a renewal or an update's invoice); an incomplete one
    stays incomplete (its 23 hours run). ``final`` (the dunning schedule is exhausted):
    ``BILLFOLD_DUNNING_FINAL_ACTION`` makes it ``canceled`` (reason ``payment_failed``) or ``unpaid``.
    """
    subscription = _find(invoice)
    if subscription is None or subscription.status not in _COLLECTING:
        return
    latest = subscription.latest_invoice_id == invoice.pk
    if succeeded and not (latest and subscription.status in ("incomplete", "past_due", "unpaid", "paused")):
        # Nothing the API shows changes (no event), only perhaps what is due next.
        schedule(subscription, live_items(subscription))
        subscription.save(update_fields=["next_action_at"])
        return
    before = snapshot(subscription)
    if succeeded:
        if latest and subscription.status in ("incomplete", "past_due", "unpaid", "paused"):
            status_move(subscription, "active")
    elif final:
        if subscription.status in ("past_due", "unpaid", "active"):
            if _final_action() == "cancel":
                cancel_now(subscription, reason="payment_failed")
                _save(subscription)
                record(subscription, "customer.subscription.deleted")
                return
            if subscription.status == "active":
                status_move(subscription, "past_due")
            status_move(subscription, "unpaid")
    elif latest and subscription.status in ("active", "paused") and invoice.billing_reason != "subscription_create":
        status_move(subscription, "past_due")
    _save(subscription)
    if before["status"] == "paused" and subscription.status != "paused":
        record(subscription, "customer.subscription.resumed")
    record_update(subscription, before)


def subscription_invoice_closed(*, subscription: Subscription, invoice: Invoice, voided: bool) -> None:
    """Move the (locked) subscription after ``invoice`` was voided or marked uncollectible, in the
    caller's transaction, as Stripe does when that invoice is the subscription's latest:

    - ``past_due`` or ``unpaid``: the invoice no longer asks for payment, so the subscription is
      ``active`` again (its later invoices are billed and collected as usual);
    - ``incomplete``: a voided first invoice can never be paid, so the subscription can never
      start: ``incomplete_expired``, ended now, as when its 23 hours run out; written off
      instead (uncollectible), the subscription is ``active``.

    Any other status, or an invoice that is not the latest, leaves the subscription as it is.
    Writes customer.subscription.updated with previous_attributes when the status moved.
    """
    if subscription.latest_invoice_id != invoice.pk:
        return
    before = snapshot(subscription)
    if subscription.status in ("past_due", "unpaid"):
        status_move(subscription, "active")
    elif subscription.status == "incomplete":
        if voided:
            status_move(subscription, "incomplete_expired")
            subscription.ended_at = now_for(subscription)
            schedule_subscription_ended(subscription)
        else:
            status_move(subscription, "active")
    else:
        return
    _save(subscription)
    record_update(subscription, before)


def _save(subscription: Subscription) -> None:
    schedule(subscription, live_items(subscription))
    subscription.save()
