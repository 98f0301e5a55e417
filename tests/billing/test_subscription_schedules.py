"""The billing engine and subscription schedules: each phase begins at its start, the renewal at the
same moment bills the new phase, the schedule ends as its end_behavior says, the batch path leaves
phase changes to the per-row path, and running the work twice changes nothing more."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from billfold.billing.models import Invoice, Subscription, SubscriptionSchedule
from billfold.billing.schedules import services as schedules
from billfold.billing.subscriptions import batch
from billfold.billing.subscriptions.advance import subscription_advance
from billfold.billing.subscriptions.common import SubscriptionStateError
from billfold.billing.subscriptions.status import subscription_payment_result
from billfold.catalog.models import Price
from billfold.core.clock import frozen_at
from billfold.events.models import Event
from tests.billing.subscription_factories import (
    DAY,
    T0,
    advance,
    at,
    buyer,
    invoices_of,
    item_of,
    lines,
    pending,
    recurring,
    subscribe,
    types,
    update,
)
from tests.billing.test_renewal_batch import monthly_price, notice_sent, subscribed
from tests.billing.test_worker import RENEWAL

pytestmark = pytest.mark.django_db(transaction=True)
MAY_1, JUNE_1 = at(2030, 5, 1), at(2030, 6, 1)


def downgrade(subscription: Subscription, price: Price, quantity: int = 1, when: dt.datetime = T0 + 10 * DAY) -> Any:
    with frozen_at(when):
        return schedules.subscription_change_at_period_end(subscription=subscription, price=price, quantity=quantity)


def fresh(plan: SubscriptionSchedule) -> SubscriptionSchedule:
    return SubscriptionSchedule.objects.get(pk=plan.pk)


def event_types_at(moment: dt.datetime) -> list[str]:
    return list(Event.objects.filter(created=moment).order_by("pk").values_list("type", flat=True))


def test_the_renewal_bills_the_next_phase_then_the_schedule_completes() -> None:
    pro = recurring(3000)
    basic = recurring(1000, product=pro.product.public_id)
    subscription = subscribe(buyer(), pro)
    plan = downgrade(subscription, basic, 2)
    assert [(p["start_date"], p["end_date"]) for p in plan.phases] == [
        (int(T0.timestamp()), int(MAY_1.timestamp())),
        (int(MAY_1.timestamp()), int(JUNE_1.timestamp())),
    ]
    # Nothing changes until the period ends: no invoice, no proration.
    assert (len(invoices_of(subscription)), pending(subscription), item_of(subscription).price_id) == (1, [], pro.pk)

    renewed = advance(subscription, MAY_1)

    (_, cycle) = invoices_of(renewed)
    assert lines(cycle) == [(2000, "2 \u00d7 Pro (at $10.00 / month)")]
    assert (cycle.billing_reason, cycle.amount_paid, cycle.period_start, cycle.period_end) == (
        "subscription_cycle",
        2000,
        T0,
        MAY_1,
    )
    item = item_of(renewed)
    assert (item.price_id, item.quantity, item.current_period_start, item.current_period_end) == (
        basic.pk,
        2,
        MAY_1,
        JUNE_1,
    )
    assert (fresh(plan).status, fresh(plan).current_phase_start, fresh(plan).current_phase_end) == (
        "active",
        MAY_1,
        JUNE_1,
    )
    # invoice.upcoming announced the new amount; the phase begins, then the renewal bills it.
    assert event_types_at(MAY_1)[:4] == [
        "invoice.upcoming",
        "subscription_schedule.updated",
        "customer.subscription.updated",
        "invoice.created",
    ]
    upcoming = Event.objects.get(type="invoice.upcoming")
    assert [line["amount"] for line in upcoming.data["object"]["lines"]["data"]] == [2000]

    before = (Invoice.objects.count(), Event.objects.count())
    advance(renewed, MAY_1)
    assert (Invoice.objects.count(), Event.objects.count()) == before

    done = advance(renewed, JUNE_1)
    ended = fresh(plan)
    assert (ended.status, ended.completed_at, ended.current_phase_end, ended.subscription_id) == (
        "completed",
        JUNE_1,
        None,
        subscription.pk,
    )
    assert (done.schedule_id, done.status, invoices_of(done)[-1].total) == (None, "active", 2000)
    assert types(plan.public_id)[-1] == "subscription_schedule.completed"


def test_a_shorter_interval_starts_its_cycle_at_the_phase_start() -> None:
    yearly = recurring(12000, interval="year")
    monthly = recurring(1000, product=yearly.product.public_id)
    subscription = subscribe(buyer(), yearly)
    year_end = at(2031, 4, 1)
    downgrade(subscription, monthly)

    renewed = advance(subscription, year_end)

    assert lines(invoices_of(renewed)[-1]) == [(1000, "1 \u00d7 Pro (at $10.00 / month)")]
    item = item_of(renewed)
    assert (item.price_id, item.current_period_start, item.current_period_end) == (monthly.pk, year_end, at(2031, 5, 1))
    assert renewed.billing_cycle_anchor == year_end
    later = advance(renewed, at(2031, 5, 1))
    assert (len(invoices_of(later)), invoices_of(later)[-1].total) == (3, 1000)


def test_a_phase_beginning_mid_period_is_prorated_as_an_update_then() -> None:
    ten = recurring(1000)
    twenty = recurring(2000, product=ten.product.public_id)
    subscription = subscribe(buyer(), ten)
    half = T0 + 15 * DAY
    with frozen_at(T0):
        plan = schedules.subscription_schedule_create(subscription=subscription)
        schedules.subscription_schedule_update(
            schedule=plan,
            values={"phases": [{"items": [{"price": ten}], "end_date": half}, {"items": [{"price": twenty}]}]},
        )

    moved = advance(subscription, half)

    assert item_of(moved).price_id == twenty.pk
    assert pending(moved) == [
        (-500, "Unused time on Pro after 16 Apr 2030"),
        (1000, "Remaining time on Pro after 16 Apr 2030"),
    ]
    renewed = advance(moved, MAY_1)
    assert invoices_of(renewed)[-1].total == 2500
    assert fresh(plan).current_phase_end == MAY_1 + 15 * DAY


def test_end_behavior_cancel_cancels_when_the_last_phase_ends() -> None:
    subscription = subscribe(buyer(), recurring(1000))
    with frozen_at(T0):
        plan = schedules.subscription_schedule_create(subscription=subscription)
        schedules.subscription_schedule_update(schedule=plan, values={"end_behavior": "cancel"})
    subscription.refresh_from_db()
    assert (subscription.cancel_at, subscription.canceled_at) == (MAY_1, T0)

    ended = advance(subscription, MAY_1)

    assert (ended.status, ended.ended_at, ended.schedule_id, len(invoices_of(ended))) == ("canceled", MAY_1, None, 1)
    assert (fresh(plan).status, fresh(plan).completed_at) == ("completed", MAY_1)
    assert event_types_at(MAY_1) == ["subscription_schedule.completed", "customer.subscription.deleted"]


def test_releasing_drops_the_cancellation_the_schedule_set_unless_kept() -> None:
    subscription = subscribe(buyer(), recurring(1000))
    with frozen_at(T0):
        plan = schedules.subscription_schedule_create(subscription=subscription)
        schedules.subscription_schedule_update(schedule=plan, values={"end_behavior": "cancel"})
        with pytest.raises(SubscriptionStateError):
            update(subscription, T0, cancel_at=None)
        schedules.subscription_schedule_release(schedule=plan, preserve_cancel_date=True)
    subscription.refresh_from_db()
    assert (subscription.cancel_at, subscription.schedule_id) == (MAY_1, None)
    # Released, the subscription's cancellation is its own again.
    assert update(subscription, T0 + DAY, cancel_at=None).cancel_at is None


def test_a_change_at_the_end_of_a_trial_is_what_the_trial_end_bills() -> None:
    pro = recurring(3000)
    basic = recurring(1000, product=pro.product.public_id)
    subscription = subscribe(buyer(), pro, trial_period_days=14)
    downgrade(subscription, basic, when=T0 + DAY)

    started = advance(subscription, T0 + 14 * DAY)

    assert started.status == "active"
    assert lines(invoices_of(started)[-1]) == [(1000, "1 \u00d7 Pro (at $10.00 / month)")]


def test_failed_payments_that_cancel_the_subscription_cancel_its_schedule() -> None:
    subscription = subscribe(buyer(), recurring(1000))
    plan = downgrade(subscription, recurring(500))
    invoice = Invoice.objects.get(subscription_id=subscription.public_id)

    with frozen_at(T0 + 20 * DAY):
        subscription_payment_result(invoice=invoice, succeeded=False, final=True)

    subscription.refresh_from_db()
    assert (subscription.status, subscription.schedule_id) == ("canceled", None)
    assert (fresh(plan).status, fresh(plan).canceled_at) == ("canceled", T0 + 20 * DAY)
    assert types(plan.public_id)[-1] == "subscription_schedule.canceled"


def test_the_batch_path_leaves_a_phase_change_to_the_per_row_path() -> None:
    price = monthly_price()
    cheaper = Price.objects.get(pk=monthly_price().pk)
    plain, scheduled = subscribed(price, ["pm_card_visa", "pm_card_visa"])
    with frozen_at(RENEWAL - 10 * DAY):
        schedules.subscription_change_at_period_end(subscription=scheduled, price=cheaper, quantity=3)
    notice_sent(scheduled)

    with frozen_at(RENEWAL):
        outcome = batch.subscriptions_renew_batch(ids=[plain.pk, scheduled.pk], now=RENEWAL)
        assert (outcome.renewed, outcome.rest) == ([plain.pk], [scheduled.pk])
        subscription_advance(subscription_id=scheduled.pk, now=RENEWAL)

    renewal = Invoice.objects.filter(subscription_id=scheduled.public_id).order_by("pk").last()
    assert renewal is not None and (renewal.total, renewal.amount_paid) == (3000, 3000)
    assert Invoice.objects.filter(subscription_id=plain.public_id).order_by("pk").last().total == 1000  # type: ignore[union-attr]
