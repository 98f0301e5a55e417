"""Subscription schedule writes: create from a subscription, update, release, cancel, and the
portal's plan change at the end of the period.

Each takes the subscription's row lock, then the schedule's (``billfold.billing.locks``), and
writes the schedule's event (``subscription_schedule.created`` / ``updated`` / ``released`` /
``canceled``) with the subscription's ``customer.subscription.updated`` in one transaction. An
update that changes the current phase's items changes the subscription at once (with the request's
``proration_behavior``); an invoice that bills is charged after the transaction commits, as
``subscription_update`` charges it. A phase made to end now begins at once (``subscription_advance``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from django.db import transaction

from billfold.billing.locks import schedule_locked
from billfold.billing.models import Invoice, Subscription, SubscriptionSchedule
from billfold.billing.models.schedules import END_BEHAVIORS
from billfold.billing.proration import PRORATION_BEHAVIORS
from billfold.billing.schedules.common import (
    schedule_now,
    schedule_record,
    schedule_record_update,
    schedule_snapshot,
    stop,
)
from billfold.billing.schedules.phases import phase_of_items, phases_build, same_items
from billfold.billing.schedules.transitions import phase_entries
from billfold.billing.subscriptions import invoicing, rules, services
from billfold.billing.subscriptions.advance import subscription_advance
from billfold.billing.subscriptions.common import (
    SubscriptionStateError,
    live_items,
    locked,
    now_for,
    record_update,
    snapshot,
)
from billfold.billing.subscriptions.common import schedule as reschedule
from billfold.billing.subscriptions.creation import NewSubscription
from billfold.catalog.models import Price
from billfold.clocks.selectors import customer_now
from billfold.core import clock
from billfold.core.errors import DomainError, InvalidParam
from billfold.core.ids import new_id
from billfold.core.metadata import merge_metadata
from billfold.customers.models import Customer


class ScheduleStateError(DomainError):
    """The schedule's status does not allow the operation (updating a released one...)."""


def _refuse_unless_running(plan: SubscriptionSchedule, action: str) -> None:
    if plan.status not in ("not_started", "active"):
        raise ScheduleStateError(
            f"You cannot {action} a subscription schedule that is currently in the `{plan.status}` status. It must "
            "be in `not_started` or `active`."
        )


def _locked_pair(plan: SubscriptionSchedule) -> tuple[Subscription | None, SubscriptionSchedule]:
    """The schedule's subscription, then the schedule, each under a row lock (in that order)."""
    subscription = locked(plan.subscription_id) if plan.subscription_id is not None else None
    plan = schedule_locked(plan.pk)
    if subscription is not None and subscription.schedule_id == plan.pk:
        # One instance, so what is due next is worked out from the schedule as changed.
        subscription.schedule = plan
    return subscription, plan


def _reread(plan: SubscriptionSchedule) -> SubscriptionSchedule:
    return SubscriptionSchedule.objects.select_related(
        "customer__test_clock", "subscription", "released_subscription"
    ).get(pk=plan.pk)


def _sync_cancel_at(subscription: Subscription, plan: SubscriptionSchedule) -> None:
    """``end_behavior=cancel`` ends the subscription when the last phase ends: its ``cancel_at``, as
    Stripe sets it, so the subscription shows it will end and no renewal is announced after it.
    A schedule letting the subscription go on clears it (nobody else may set it meanwhile)."""
    if plan.status == "active" and plan.end_behavior == "cancel":
        end = clock.from_unix(plan.phases[-1]["end_date"])
        if subscription.cancel_at != end:
            subscription.cancel_at, subscription.cancel_at_period_end = end, False
            subscription.canceled_at = subscription.canceled_at or now_for(subscription)
    elif subscription.cancel_at is not None or subscription.cancel_at_period_end:
        _clear_cancel(subscription)


def _clear_cancel(subscription: Subscription) -> None:
    subscription.cancel_at, subscription.cancel_at_period_end, subscription.canceled_at = None, False, None


# ---- Create -----------------------------------------------------------------------------------


def _refuse_migrating(subscription: Subscription) -> None:
    if subscription.schedule is not None:
        raise SubscriptionStateError(
            "You cannot migrate a subscription that is already attached to a schedule: "
            f"`{subscription.schedule.public_id}`.",
            param="from_subscription",
        )
    if subscription.ended or subscription.status == "incomplete":
        raise SubscriptionStateError(
            f"You cannot migrate the subscription {subscription.public_id} to a schedule: it is "
            f"{subscription.status}. Only a subscription that has started and not ended can be.",
            param="from_subscription",
        )


def _from_subscription(
    subscription: Subscription, metadata: Mapping[str, str | None] | None, *, check: bool = True
) -> SubscriptionSchedule:
    """A schedule taking over the (locked) subscription, in the caller's transaction: one phase, its
    items as they are until the period ends (or until ``cancel_at``, then ``end_behavior=cancel``).
    ``check``: refuse a subscription that has not started (one just made for the schedule has)."""
    if check:
        _refuse_migrating(subscription)
    items = live_items(subscription)
    now = now_for(subscription)
    start, end = items[0].current_period_start, items[0].current_period_end
    if subscription.cancel_at is not None:
        end = subscription.cancel_at
    trial_end = subscription.trial_end if subscription.status == "trialing" else None
    plan = SubscriptionSchedule(
        public_id=new_id("sub_sched"),
        livemode=subscription.livemode,
        created=now,
        customer=subscription.customer,
        subscription=subscription,
        status="active",
        end_behavior="cancel" if subscription.cancel_at is not None else "release",
        phases=[phase_of_items(items, start=start, end=end, trial_end=trial_end)],
        current_phase_start=start,
        current_phase_end=end,
        default_settings={
            "collection_method": subscription.collection_method,
            "days_until_due": subscription.days_until_due,
            "default_payment_method": (
                subscription.default_payment_method.public_id
                if subscription.default_payment_method is not None
                else None
            ),
            "description": subscription.description,
        },
        metadata=merge_metadata({}, metadata or {}),
    )
    plan.save(force_insert=True)
    before = snapshot(subscription, items=items)
    subscription.schedule = plan
    reschedule(subscription, items)
    subscription.save()
    schedule_record(plan, "subscription_schedule.created")
    record_update(subscription, before)
    return plan


def subscription_schedule_create(
    *, subscription: Subscription, metadata: Mapping[str, str | None] | None = None
) -> SubscriptionSchedule:
    """A schedule managing ``subscription`` from now on (``from_subscription``): one phase billing its
    items until its period ends (or until its ``cancel_at``, with ``end_behavior=cancel``), then
    released. Phases are added with ``subscription_schedule_update``."""
    with transaction.atomic():
        plan = _from_subscription(locked(subscription), metadata)
    return _reread(plan)


class _Checked(Exception):
    """Raised to undo what checking a request wrote (the prices of ``price_data``)."""


def _starts_now(values: Mapping[str, Any], where: str) -> None:
    if values.get("start_date") not in (None, "now"):
        raise InvalidParam(
            f"Billfold starts a subscription schedule when it is created: pass {where}=now (or leave it out). "
            "Schedules that start later or earlier are not available.",
            param=where,
        )


def _first_currency(phases: Sequence[Mapping[str, Any]]) -> str:
    first: Mapping[str, Any] = next(iter(phases[0].get("items") or []), {}) if phases else {}
    if first.get("price") is not None:
        return str(first["price"].currency)
    return str((first.get("price_data") or {}).get("currency") or "")


def subscription_schedule_create_for_customer(
    *,
    customer: Customer,
    livemode: bool,
    phases: Sequence[Mapping[str, Any]],
    end_behavior: str | None = None,
    metadata: Mapping[str, str | None] | None = None,
    start_date: dt.datetime | str | None = None,
    request_key: str | None = None,
) -> SubscriptionSchedule:
    """``customer`` + ``phases``: a subscription to the first phase's items, created now as
    ``subscription_create`` creates one (its first invoice charged), managed by a schedule of
    ``phases``. Everything is checked before the subscription is made. Outside any transaction."""
    _starts_now({"start_date": start_date}, "start_date")
    if phases:
        _starts_now(phases[0], "phases[0][start_date]")
    behavior = rules.enum_check(end_behavior or "release", END_BEHAVIORS, param="end_behavior")
    now = customer_now(customer)
    try:
        with transaction.atomic():
            # Checked as the subscription to be made (named so in messages), billed in its first price's currency.
            stand_in = Subscription(
                livemode=livemode, customer=customer, currency=_first_currency(phases), public_id="the new subscription"
            )
            phases_build(subscription=stand_in, entries=phases, start=now, now=now, known_prices=(), started=False)
            raise _Checked
    except _Checked:
        pass
    subscription = services.subscription_create(
        customer=customer,
        livemode=livemode,
        spec=NewSubscription(
            items=phases[0]["items"], metadata=phases[0].get("metadata"), description=phases[0].get("description")
        ),
        request_key=request_key,
    )
    with transaction.atomic():
        subscription = locked(subscription)
        plan = _from_subscription(subscription, metadata, check=False)
        made = [
            {"price": item.price, "quantity": item.quantity, "tax_rates": item.tax_rates, "metadata": item.metadata}
            for item in live_items(subscription)
        ]
        entries = [{**phases[0], "items": made, "start_date": None}, *phases[1:]]
        invoice, charge = _update_locked(subscription, plan, {"phases": entries, "end_behavior": behavior})
    _after_commit(subscription, plan, invoice, charge, request_key)
    return _reread(plan)


# ---- Update -----------------------------------------------------------------------------------


def _known_prices(plan: SubscriptionSchedule, subscription: Subscription) -> set[str]:
    known = {entry["price"] for phase in plan.phases for entry in phase["items"]}
    return known | {item.price.public_id for item in live_items(subscription)}


def _update_locked(
    subscription: Subscription, plan: SubscriptionSchedule, values: Mapping[str, Any]
) -> tuple[Invoice | None, bool]:
    """Apply ``values`` (``phases`` entries, ``end_behavior``, ``metadata``, ``proration_behavior``) to
    the locked schedule and subscription, with their events: the invoice an immediate change of the
    current phase issued, and whether to charge it once committed."""
    _refuse_unless_running(plan, "update")
    behavior = rules.enum_check(
        values.get("proration_behavior") or "create_prorations", PRORATION_BEHAVIORS, param="proration_behavior"
    )
    before_plan = schedule_snapshot(plan)
    before = snapshot(subscription)
    if "metadata" in values:
        plan.metadata = merge_metadata(plan.metadata, values["metadata"])
    if values.get("end_behavior") is not None:
        plan.end_behavior = rules.enum_check(values["end_behavior"], END_BEHAVIORS, param="end_behavior")
    item_change = None
    if values.get("phases") is not None:
        assert plan.current_phase_start is not None
        now = now_for(subscription)
        built = phases_build(
            subscription=subscription,
            entries=values["phases"],
            start=plan.current_phase_start,
            now=now,
            known_prices=_known_prices(plan, subscription),
        )
        past = [phase for phase in plan.phases if phase["end_date"] <= built[0]["start_date"]]
        plan.phases = past + built
        plan.current_phase_end = clock.from_unix(built[0]["end_date"])
        items = live_items(subscription)
        if not same_items(built[0], items):
            wanted = [entry["price"] for entry in built[0]["items"]]
            prices = {p.public_id: p for p in Price.objects.filter(livemode=plan.livemode, public_id__in=wanted)}
            item_change = {"items": phase_entries(items, built[0], prices), "proration_behavior": behavior}
    plan.save()
    _sync_cancel_at(subscription, plan)
    invoice, charge = None, False
    if item_change is not None:
        invoice, charge = services.update_locked(subscription=subscription, values=item_change, before=before)
    else:
        reschedule(subscription)
        subscription.save()
        record_update(subscription, before)
    schedule_record_update(plan, before_plan)
    return invoice, charge


def _after_commit(
    subscription: Subscription,
    plan: SubscriptionSchedule,
    invoice: Invoice | None,
    charge: bool,
    request_key: str | None,
) -> None:
    """Charge what the update billed, then let a phase made to end now (``end_date=now``) give way to
    the next at once, as the engine would moments later."""
    if charge and invoice is not None:
        invoicing.collect(invoice=invoice, request_key=request_key)
    now = now_for(subscription)
    if SubscriptionSchedule.objects.filter(pk=plan.pk, status="active", current_phase_end__lte=now).exists():
        subscription_advance(subscription_id=subscription.pk, now=now)


def subscription_schedule_update(
    *, schedule: SubscriptionSchedule, values: Mapping[str, Any], request_key: str | None = None
) -> SubscriptionSchedule:
    """``POST /v1/subscription_schedules/{id}``: replace the current and later phases, change
    ``end_behavior`` or ``metadata``. Outside any transaction: a change of the current phase's items
    may bill and charge at once."""
    with transaction.atomic():
        subscription, plan = _locked_pair(schedule)
        _refuse_unless_running(plan, "update")
        # A running schedule manages its subscription: Billfold starts schedules when they are made.
        assert subscription is not None
        invoice, charge = _update_locked(subscription, plan, values)
    _after_commit(subscription, plan, invoice, charge, request_key)
    return _reread(plan)


# ---- Release and cancel -------------------------------------------------------------------------


def subscription_schedule_release(
    *, schedule: SubscriptionSchedule, preserve_cancel_date: bool = False
) -> SubscriptionSchedule:
    """Stop the schedule and leave the subscription as it is (``released``). The cancellation the
    schedule set (``end_behavior=cancel``) is dropped unless ``preserve_cancel_date``."""
    with transaction.atomic():
        subscription, plan = _locked_pair(schedule)
        _refuse_unless_running(plan, "release")
        before_plan = schedule_snapshot(plan)
        stop(plan, "released", schedule_now(plan))
        plan.released_subscription, plan.subscription = subscription, None
        plan.save()
        if subscription is not None:
            before = snapshot(subscription)
            subscription.schedule = None
            if not preserve_cancel_date and before_plan["end_behavior"] == "cancel":
                _clear_cancel(subscription)
            reschedule(subscription)
            subscription.save()
            record_update(subscription, before)
        schedule_record(plan, "subscription_schedule.released")
    return _reread(plan)


def subscription_schedule_cancel(
    *, schedule: SubscriptionSchedule, invoice_now: bool = True, prorate: bool = True, request_key: str | None = None
) -> SubscriptionSchedule:
    """Cancel the schedule and its subscription now (``canceled``), as ``DELETE /v1/subscriptions/{id}``
    with ``prorate`` and ``invoice_now`` (both true by default, as Stripe's) cancels it. Outside any
    transaction: the final invoice is charged."""
    schedule = _reread(schedule)
    _refuse_unless_running(schedule, "cancel")
    assert schedule.subscription is not None  # running, so managing one (see subscription_schedule_update)
    # The subscription's cancellation stops its schedule (``schedule_subscription_ended``), in its transaction.
    services.subscription_cancel(
        subscription=schedule.subscription, invoice_now=invoice_now, prorate=prorate, request_key=request_key
    )
    return _reread(schedule)


# ---- The portal's deferred plan change ---------------------------------------------------------


def subscription_change_at_period_end(
    *, subscription: Subscription, price: Price, quantity: int
) -> SubscriptionSchedule:
    """Switch the plan of a one-item subscription when its current period ends (a downgrade the
    customer portal defers): its schedule (made from the subscription if it has none) keeps the
    current item until the period's end, then bills ``price`` x ``quantity`` (with the item's tax
    rates) for one interval and releases the subscription, which goes on with it. Later phases the
    schedule had are replaced."""
    with transaction.atomic():
        subscription = locked(subscription)
        if subscription.schedule is not None:
            subscription.schedule = plan = schedule_locked(subscription.schedule.pk)
        else:
            plan = _from_subscription(subscription, None)
        (item,) = live_items(subscription)
        kept = {"tax_rates": list(item.tax_rates), "metadata": dict(item.metadata)}
        phases = [
            {"items": [{"price": item.price, "quantity": item.quantity, **kept}], "end_date": item.current_period_end},
            {"items": [{"price": price, "quantity": quantity, **kept}]},
        ]
        _update_locked(subscription, plan, {"phases": phases, "end_behavior": "release"})
    return _reread(plan)
