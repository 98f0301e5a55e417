"""The work time brings to a subscription: trial notices and ends, renewals, scheduled cancellations,
the phases of its schedule.

``subscription_advance`` does everything due at or before ``now``, in time order, one step per
transaction, re-reading the subscription under a row lock each time: two calls at once queue on
the lock and the second finds nothing left to do. A renewal's invoice is finalized and committed
before it is charged (outside any transaction); a crash between the two leaves an open invoice
with ``next_payment_attempt`` set, which the dunning retries collect — never a charge without its
invoice, never two. A unique constraint on (subscription, period_start, billing_reason) for
``subscription_cycle`` invoices backs this up.

Each step changes what is due (a renewal moves the period, a notice records that it was sent,
a cancellation ends the subscription), so the loop always ends.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from django.db import transaction

from billfold.billing import invoices as invoice_services
from billfold.billing.models import Invoice, Subscription, SubscriptionItem
from billfold.billing.schedules import transitions
from billfold.billing.schedules.common import schedule_subscription_ended
from billfold.billing.subscriptions import invoicing
from billfold.billing.subscriptions.common import (
    cadence_of,
    live_items,
    locked,
    natural_period,
    next_due,
    next_invoice_at,
    record,
    record_update,
    schedule,
    set_period,
    snapshot,
)
from billfold.billing.subscriptions.services import cancel_build
from billfold.billing.subscriptions.status import status_move
from billfold.core.periods import subscription_period_at
from billfold.events.rendering import render_object

# A subscription years behind (a clock advanced far, a worker down for long) still finishes; more
# steps than this in one call means a step that does not move anything: a bug to surface.
MAX_STEPS = 10_000

Step = Callable[[Subscription, Sequence[SubscriptionItem], dt.datetime], Invoice | None]


def _trial_will_end(subscription: Subscription, items: Sequence[SubscriptionItem], at: dt.datetime) -> None:
    subscription.trial_will_end_sent_for = subscription.trial_end
    subscription.save(update_fields=["trial_will_end_sent_for"])
    record(subscription, "customer.subscription.trial_will_end")


def _upcoming_renewal(subscription: Subscription, items: Sequence[SubscriptionItem], at: dt.datetime) -> None:
    """invoice.upcoming (once per period): the next invoice as ``POST /v1/invoices/create_preview``
    renders it, without an id, as Stripe sends it. The preview is built and rolled back inside this
    step's transaction, so nothing of it is kept."""
    # Imported here: the preview builds its invoices with this module's renewal builders.
    from billfold.billing.subscriptions.preview import NoUpcomingInvoice, invoice_preview

    subscription.upcoming_renewal_sent_for = next_invoice_at(subscription, items)
    subscription.save(update_fields=["upcoming_renewal_sent_for"])
    try:
        rendered = invoice_preview(livemode=subscription.livemode, render=render_object, subscription=subscription)
    except NoUpcomingInvoice:
        return
    rendered.pop("id", None)
    record(subscription, "invoice.upcoming", rendered=rendered)


def _resume_collection(subscription: Subscription, items: Sequence[SubscriptionItem], at: dt.datetime) -> None:
    before = snapshot(subscription)
    subscription.pause_collection = None
    subscription.save()
    record_update(subscription, before)


def _cancel(subscription: Subscription, items: Sequence[SubscriptionItem], at: dt.datetime) -> Invoice | None:
    """A scheduled cancellation (cancel_at, cancel_at_period_end): pending prorations go on a final invoice."""
    return cancel_build(
        subscription=subscription,
        invoice_now=True,
        prorate=False,
        details=None,
        reason="cancellation_requested",
        at=at,
    )


def _phase(subscription: Subscription, items: Sequence[SubscriptionItem], at: dt.datetime) -> Invoice | None:
    """The schedule's current phase ends: the next one begins (its items replace the subscription's,
    before the renewal due at the same moment bills them), or, after the last, the schedule ends as
    its ``end_behavior`` says: the subscription carries on (``release``) or is canceled (``cancel``)."""
    plan, following = transitions.phase_ending(subscription, at)
    if following is None and plan.end_behavior == "cancel":
        return _cancel(subscription, items, at)
    before = snapshot(subscription, items=items)
    invoice = None
    if following is None:
        transitions.schedule_complete(subscription=subscription, plan=plan, at=at)
    else:
        draft = transitions.phase_enter(subscription=subscription, items=items, plan=plan, phase=following)
        invoice = _issue(subscription, draft) if draft is not None else None
    subscription.save()
    record_update(subscription, before)
    return invoice


def _period_after(subscription: Subscription, items: Sequence[SubscriptionItem], start: dt.datetime) -> dt.datetime:
    """The end of the period starting at ``start``: the anchor's next billing date, or an earlier cancel_at."""
    end = natural_period(subscription, items[0].price, start)[1]
    if subscription.cancel_at is not None and start < subscription.cancel_at < end:
        return subscription.cancel_at
    return end


def renewal_period(
    subscription: Subscription, items: Sequence[SubscriptionItem]
) -> tuple[dt.datetime, dt.datetime, dt.datetime]:
    """A renewal's moments: the start of the period ending, its end (the new period's start) and the
    new period's end."""
    old_start, start = items[0].current_period_start, items[0].current_period_end
    return old_start, start, _period_after(subscription, items, start)


def renewal_draft(subscription: Subscription, items: Sequence[SubscriptionItem], at: dt.datetime) -> Invoice:
    """The next period's invoice, as a draft: the items' new period billed, pending prorations added."""
    old_start, start, end = renewal_period(subscription, items)
    set_period(items, start, end)
    return invoicing.subscription_invoice(
        subscription=subscription,
        items=items,
        billing_reason="subscription_cycle",
        lines=invoicing.billed_lines(subscription, items, start, end),
        period_start=old_start,
        period_end=start,
        at=at,
    )


def trial_end_draft(subscription: Subscription, items: Sequence[SubscriptionItem], at: dt.datetime) -> Invoice:
    """The first paid period's invoice at the trial's end, as a draft (the subscription becomes active)."""
    assert subscription.trial_end is not None
    start = subscription.trial_end
    interval, count = cadence_of(items[0].price)
    first_end = subscription_period_at(
        start=start,
        anchor=subscription.billing_cycle_anchor,
        interval=interval,
        interval_count=count,
        moment=start,
        anchor_day=subscription.billing_cycle_anchor_day,
    )[1]
    end = (
        subscription.cancel_at
        if subscription.cancel_at is not None and start < subscription.cancel_at < first_end
        else first_end
    )
    trial_start = items[0].current_period_start
    set_period(items, start, end)
    status_move(subscription, "active")
    return invoicing.subscription_invoice(
        subscription=subscription,
        items=items,
        billing_reason="subscription_cycle",
        lines=invoicing.billed_lines(subscription, items, start, end),
        period_start=trial_start,
        period_end=start,
        at=at,
    )


def _issue(subscription: Subscription, invoice: Invoice) -> Invoice:
    invoice = invoicing.invoice_issue(subscription=subscription, invoice=invoice, report=False)
    subscription.latest_invoice = invoice
    if invoice.status == "paid" and subscription.status in ("past_due", "unpaid"):
        status_move(subscription, "active")
    return invoice


def _renew(subscription: Subscription, items: Sequence[SubscriptionItem], at: dt.datetime) -> Invoice:
    before = snapshot(subscription, items=items)
    invoice = _issue(subscription, renewal_draft(subscription, items, at))
    subscription.save()
    record_update(subscription, before, items=items)
    return invoice


def _trial_end(subscription: Subscription, items: Sequence[SubscriptionItem], at: dt.datetime) -> Invoice | None:
    """Bill the first paid period, unless there is no card and ``trial_settings`` say to cancel or pause."""
    missing = subscription.trial_settings.get("end_behavior", {}).get("missing_payment_method", "create_invoice")
    without_card = (
        subscription.collection_method == "charge_automatically" and invoicing.payment_method_for(subscription) is None
    )
    if without_card and missing == "cancel":
        return cancel_build(
            subscription=subscription,
            invoice_now=False,
            prorate=False,
            details=None,
            reason="cancellation_requested",
            at=at,
        )
    before = snapshot(subscription)
    if without_card and missing == "pause":
        status_move(subscription, "paused")
        subscription.save()
        record(subscription, "customer.subscription.paused")
        record_update(subscription, before)
        return None
    invoice = _issue(subscription, trial_end_draft(subscription, items, at))
    subscription.save()
    record_update(subscription, before)
    return invoice


def _expire(subscription: Subscription, items: Sequence[SubscriptionItem], at: dt.datetime) -> None:
    """23 hours without the first payment: incomplete_expired, its open invoice voided (Stripe)."""
    before = snapshot(subscription)
    for invoice in Invoice.objects.filter(
        livemode=subscription.livemode, subscription_id=subscription.public_id, status="open"
    ).order_by("pk"):
        invoice_services.invoice_void(invoice=invoice, move_subscription=False)
    status_move(subscription, "incomplete_expired")
    subscription.ended_at = at
    schedule_subscription_ended(subscription, at=at)
    subscription.save()
    record_update(subscription, before)


def _past_due(subscription: Subscription, items: Sequence[SubscriptionItem], at: dt.datetime) -> None:
    """A sent invoice not paid by its due date makes the subscription past_due (send_invoice)."""
    before = snapshot(subscription)
    status_move(subscription, "past_due")
    subscription.save()
    record_update(subscription, before)


STEPS: dict[str, Step] = {
    "trial_will_end": _trial_will_end,
    "upcoming_renewal": _upcoming_renewal,
    "resume_collection": _resume_collection,
    "cancel": _cancel,
    "phase": _phase,
    "trial_end": _trial_end,
    "renew": _renew,
    "expire": _expire,
    "past_due": _past_due,
}


# Steps that change the subscription only through the instance and items they are given, and save
# it themselves: what is due next is computed from those, without reading them again.
_IN_MEMORY_STEPS = frozenset({"renew"})


def _step(subscription_id: int, now: dt.datetime) -> tuple[bool, Invoice | None]:
    """Do the earliest work due at or before ``now``: (whether there was any, the invoice to charge)."""
    with transaction.atomic():
        try:
            subscription = locked(subscription_id)
        except Subscription.DoesNotExist:
            return False, None
        items = live_items(subscription)
        due = next_due(subscription, items, until=now)
        if due is None:
            schedule(subscription, items)
            subscription.save(update_fields=["next_action_at"])
            return False, None
        moment, kind = due
        invoice = STEPS[kind](subscription, items, moment)
        if kind in _IN_MEMORY_STEPS:
            schedule(subscription, items)
        else:
            # Other steps go through other services (cancellation, voiding): read what they left.
            subscription = locked(subscription)
            schedule(subscription)
        subscription.save(update_fields=["next_action_at"])
        return True, invoice


def _still_due(subscription_id: int, now: dt.datetime) -> bool:
    """Whether the subscription has work due at ``now`` (``next_action_at`` is kept current by every step
    and payment outcome), read without a transaction: a step then re-checks under the row lock."""
    return Subscription.objects.filter(pk=subscription_id, next_action_at__lte=now).exists()


def subscription_advance(*, subscription_id: int, now: dt.datetime) -> None:
    """Do all the work due at or before ``now`` for the subscription, in time order (see the module).

    Safe to call twice and concurrently. Call it outside any transaction: renewals are charged here.
    """
    for _ in range(MAX_STEPS):
        acted, invoice = _step(subscription_id, now)
        if invoice is not None and invoicing.wants_collection(invoice):
            invoicing.collect(invoice=invoice)
        if not acted or not _still_due(subscription_id, now):
            return
    raise RuntimeError(
        f"Subscription {subscription_id} still had work due after {MAX_STEPS} steps; a step does not move it."
    )
