"""What the schedule services and the engine share: events, reading the stored phases, and what a
schedule does when its subscription ends.

Imports no invoice code: the subscription state machine (``subscriptions.status``) calls
``schedule_subscription_ended`` and must not pull the invoices package in.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from billfold.billing.locks import schedule_locked
from billfold.billing.models import Subscription, SubscriptionSchedule
from billfold.clocks.selectors import customer_now
from billfold.core import clock
from billfold.events.rendering import render_object
from billfold.events.services import event_record, event_record_update

Phase = dict[str, Any]


def schedule_now(plan: SubscriptionSchedule) -> dt.datetime:
    """The present as the schedule's customer lives it (a test clock's time, when they have one)."""
    return customer_now(plan.customer)


def schedule_snapshot(plan: SubscriptionSchedule) -> dict[str, Any]:
    return render_object(plan)


def schedule_record(plan: SubscriptionSchedule, type: str) -> None:
    event_record(type=type, obj=plan, livemode=plan.livemode, created=schedule_now(plan))


def schedule_record_update(plan: SubscriptionSchedule, before: dict[str, Any]) -> None:
    """``subscription_schedule.updated`` with what changed since ``before`` (nothing visible: no event)."""
    event_record_update(
        type="subscription_schedule.updated",
        obj=plan,
        livemode=plan.livemode,
        before=before,
        created=schedule_now(plan),
    )


def phase_starting(plan: SubscriptionSchedule, moment: dt.datetime) -> Phase | None:
    """The phase that begins at ``moment`` (the one after the phase ending then), or None: the last has ended."""
    stamp = clock.to_unix(moment)
    return next((phase for phase in plan.phases if phase["start_date"] == stamp), None)


def stop(plan: SubscriptionSchedule, status: str, at: dt.datetime) -> None:
    """The schedule stops acting (``completed``, ``released`` or ``canceled`` at ``at``); nothing saved."""
    plan.status = status
    if status == "completed":
        plan.completed_at = at
    elif status == "released":
        plan.released_at = at
    else:
        plan.canceled_at = at
    plan.current_phase_start = plan.current_phase_end = None


def schedule_subscription_ended(subscription: Subscription, *, at: dt.datetime | None = None) -> None:
    """The (locked) subscription was just canceled, ``at`` (default: now): its schedule stops, in the
    caller's transaction. It is ``completed`` when this is its own ``end_behavior=cancel`` at the end
    of its last phase, ``canceled`` otherwise (the subscription was canceled, by request or after
    failed payments), with its event. The subscription's ``schedule`` is cleared, not saved."""
    if subscription.schedule_id is None:
        return
    plan = schedule_locked(subscription.schedule_id)
    subscription.schedule = None
    if plan.status != "active":
        return
    moment = at or schedule_now(plan)
    ends_itself = (
        plan.end_behavior == "cancel"
        and plan.current_phase_end is not None
        and moment >= plan.current_phase_end
        and phase_starting(plan, plan.current_phase_end) is None
    )
    stop(plan, "completed" if ends_itself else "canceled", moment)
    plan.save()
    schedule_record(plan, "subscription_schedule.completed" if ends_itself else "subscription_schedule.canceled")
