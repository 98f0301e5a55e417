"""The engine moving a subscription into its schedule's next phase (the ``phase`` step of
``subscriptions.advance``), in the caller's transaction with the subscription locked.

At the end of a billing period (the usual case: a change deferred to the renewal) nothing is
prorated: the new items take the period that is ending, and the renewal due at the same moment
bills them for the next one. When the phase bills on another interval (or asks for
``billing_cycle_anchor=phase_start``) the billing cycle anchor moves to the phase's start, so the
new period starts there. In the middle of a period the change is an ordinary update at that
moment (``changes.update_build``) with the phase's ``proration_behavior``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from billfold.billing.locks import schedule_locked
from billfold.billing.models import Invoice, Subscription, SubscriptionItem, SubscriptionSchedule
from billfold.billing.schedules.common import (
    Phase,
    phase_starting,
    schedule_record,
    schedule_record_update,
    schedule_snapshot,
    stop,
)
from billfold.billing.subscriptions import changes
from billfold.billing.subscriptions.common import cadence_of, live_items, now_for, reanchor
from billfold.billing.subscriptions.items import items_plan
from billfold.catalog.models import Price
from billfold.core import clock
from billfold.core.metadata import merge_metadata


def _prices(livemode: bool, phase: Phase) -> dict[str, Price]:
    ids = [entry["price"] for entry in phase["items"]]
    return {
        price.public_id: price
        for price in Price.objects.select_related("product").filter(livemode=livemode, public_id__in=ids)
    }


def phase_entries(items: Sequence[SubscriptionItem], phase: Phase, prices: dict[str, Price]) -> list[dict[str, Any]]:
    """``items_plan`` entries turning ``items`` into the phase's items. An item whose price the phase
    keeps keeps its id; the others take the phase's new prices in order (a plan switch keeps the
    item, as the API's ``items[0][id]`` + ``price`` does); what is left is deleted or added."""
    wanted = list(phase["items"])
    entries: list[dict[str, Any]] = []
    unmatched: list[SubscriptionItem] = []
    for item in items:
        same = next((entry for entry in wanted if entry["price"] == item.price.public_id), None)
        if same is None:
            unmatched.append(item)
            continue
        wanted.remove(same)
        entries.append({"id": item.public_id, **_settings(same)})
    for item, entry in zip(unmatched, wanted, strict=False):
        entries.append({"id": item.public_id, "price": prices[entry["price"]], **_settings(entry)})
    entries += [{"id": item.public_id, "deleted": True} for item in unmatched[len(wanted) :]]
    entries += [{"price": prices[entry["price"]], **_settings(entry)} for entry in wanted[len(unmatched) :]]
    return entries


def _settings(entry: dict[str, Any]) -> dict[str, Any]:
    settings: dict[str, Any] = {"quantity": entry["quantity"], "tax_rates": list(entry["tax_rates"])}
    if entry.get("metadata"):
        settings["metadata"] = dict(entry["metadata"])
    return settings


def _enter_at_period_end(
    subscription: Subscription, items: Sequence[SubscriptionItem], phase: Phase, entries: list[dict[str, Any]]
) -> None:
    at = clock.from_unix(phase["start_date"])
    cadence = cadence_of(items[0].price)  # before the plan switches the items' prices in place
    planned = items_plan(
        subscription=subscription, current=items, entries=entries, livemode=subscription.livemode, inactive_ok=True
    )
    changes.planned_save(
        subscription, planned, items[0].current_period_start, items[0].current_period_end, now_for(subscription)
    )
    price = live_items(subscription)[0].price
    if phase.get("billing_cycle_anchor") == "phase_start" or cadence_of(price) != cadence:
        reanchor(subscription, at, price)
    if phase.get("metadata"):
        subscription.metadata = merge_metadata(subscription.metadata, phase["metadata"])
    if phase.get("description") is not None:
        subscription.description = phase["description"]


def phase_enter(
    *, subscription: Subscription, items: Sequence[SubscriptionItem], plan: SubscriptionSchedule, phase: Phase
) -> Invoice | None:
    """Give the subscription ``phase``'s items as the phase begins, and make it the schedule's current
    phase (``subscription_schedule.updated``). The draft invoice a mid-period change bills at once
    (an interval change, ``always_invoice``), or None. Nothing of the subscription is saved."""
    at = clock.from_unix(phase["start_date"])
    entries = phase_entries(items, phase, _prices(subscription.livemode, phase))
    invoice = None
    if at >= items[0].current_period_end or subscription.status == "paused":
        _enter_at_period_end(subscription, items, phase, entries)
    else:
        values: dict[str, Any] = {
            "items": entries,
            "proration_behavior": phase["proration_behavior"],
            "proration_date": at,
        }
        if phase.get("billing_cycle_anchor") == "phase_start":
            values["billing_cycle_anchor"] = "now"
        if phase.get("metadata"):
            values["metadata"] = phase["metadata"]
        if phase.get("description") is not None:
            values["description"] = phase["description"]
        invoice = changes.update_build(subscription=subscription, values=values)
    before = schedule_snapshot(plan)
    plan.current_phase_start, plan.current_phase_end = at, clock.from_unix(phase["end_date"])
    plan.save(update_fields=["current_phase_start", "current_phase_end"])
    schedule_record_update(plan, before)
    return invoice


def schedule_complete(*, subscription: Subscription, plan: SubscriptionSchedule, at: dt.datetime) -> None:
    """The last phase ended and the schedule lets the subscription go on as it is (``end_behavior=release``):
    the schedule is ``completed`` (``subscription_schedule.completed``). Nothing of the subscription saved."""
    stop(plan, "completed", at)
    plan.save()
    schedule_record(plan, "subscription_schedule.completed")
    subscription.schedule = None


def phase_ending(subscription: Subscription, at: dt.datetime) -> tuple[SubscriptionSchedule, Phase | None]:
    """The (locked) schedule whose current phase ends ``at``, and the phase beginning then (None: it was the last)."""
    assert subscription.schedule_id is not None
    plan = schedule_locked(subscription.schedule_id)
    return plan, phase_starting(plan, at)


def items_after_phase_change(
    subscription: Subscription, items: list[SubscriptionItem], at: dt.datetime
) -> list[SubscriptionItem]:
    """For the invoice preview of the renewal (or trial end) at ``at``: the items the subscription bills
    then, its next phase entered if it begins at that moment. Writes, for the caller to roll back."""
    plan = subscription.schedule
    if plan is None or plan.status != "active" or plan.current_phase_end != at:
        return items
    following = phase_starting(plan, at)
    if following is None:
        return items
    phase_enter(subscription=subscription, items=items, plan=plan, phase=following)
    return live_items(subscription)
