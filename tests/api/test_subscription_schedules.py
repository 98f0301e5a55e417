"""/v1/subscription_schedules through the official SDK: Stripe's shape, parameters and refusals, the
events, and the phases applied as time passes on a test clock."""

from __future__ import annotations

import datetime as dt
import json
from types import ModuleType
from typing import Any

import pytest
import stripe

from billfold.billing.models import Invoice, Subscription, SubscriptionItem, SubscriptionSchedule
from billfold.events.models import Event
from tests.api.test_shapes import RESOURCES, shape_differences
from tests.api.test_subscriptions import T0, body, clocked_customer, monthly, move, unix

MAY_1, JUNE_1, JULY_1 = (dt.datetime(2030, month, 1, tzinfo=dt.UTC) for month in (5, 6, 7))
SCHEDULE = "subscription_schedule"


def types_of(object_id: str) -> list[str]:
    return list(Event.objects.filter(object_id=object_id).order_by("pk").values_list("type", flat=True))


def subscribed(sdk: ModuleType, amount: int = 3000, **kwargs: Any) -> tuple[Any, Any, Any]:
    clock, customer = clocked_customer(sdk)
    price = monthly(sdk, amount)
    subscription = sdk.Subscription.create(customer=customer.id, items=[{"price": price.id}], **kwargs)
    return clock, customer, subscription


def counts() -> tuple[int, ...]:
    return (
        SubscriptionSchedule.objects.count(),
        Subscription.objects.count(),
        SubscriptionItem.objects.count(),
        Invoice.objects.count(),
        Event.objects.count(),
    )


def test_from_subscription_renders_stripes_shape_and_links_both_ways(sdk: ModuleType) -> None:
    clock, customer, subscription = subscribed(sdk)
    price = subscription["items"].data[0].price.id

    schedule = sdk.SubscriptionSchedule.create(from_subscription=subscription.id, metadata={"plan": "downgrade"})

    assert shape_differences(body(schedule), RESOURCES[SCHEDULE], SCHEDULE) == []
    assert schedule.id.startswith("sub_sched_")
    assert (schedule.status, schedule.end_behavior, schedule.subscription, schedule.customer) == (
        "active",
        "release",
        subscription.id,
        customer.id,
    )
    assert (schedule.test_clock, schedule.metadata.to_dict(), schedule.released_subscription) == (
        clock.id,
        {"plan": "downgrade"},
        None,
    )
    assert schedule.current_phase.to_dict() == {"start_date": unix(T0), "end_date": unix(MAY_1)}
    (phase,) = schedule.phases
    assert (phase.start_date, phase.end_date, phase.proration_behavior, phase.currency) == (
        unix(T0),
        unix(MAY_1),
        "create_prorations",
        "usd",
    )
    assert [(i.price, i.quantity, i.plan.id, i.plan.object) for i in phase["items"]] == [(price, 1, price, "plan")]
    assert schedule.default_settings.collection_method == "charge_automatically"
    assert sdk.Subscription.retrieve(subscription.id).schedule == schedule.id
    assert types_of(schedule.id) == ["subscription_schedule.created"]
    updated = Event.objects.filter(object_id=subscription.id, type="customer.subscription.updated").last()
    assert updated is not None and updated.data["previous_attributes"] == {"schedule": None}
    created = Event.objects.get(object_id=schedule.id)
    assert created.data["object"] == body(schedule)

    assert body(sdk.SubscriptionSchedule.retrieve(schedule.id)) == body(schedule)
    expanded = sdk.SubscriptionSchedule.retrieve(schedule.id, expand=["subscription", "customer", "phases.items.price"])
    assert (expanded.subscription.object, expanded.customer.email) == ("subscription", "jenny@example.com")
    assert expanded.phases[0]["items"][0].price.unit_amount == 3000
    assert sdk.Subscription.retrieve(subscription.id, expand=["schedule"]).schedule.id == schedule.id


def test_a_downgrade_phase_is_billed_by_the_renewal_then_released(sdk: ModuleType) -> None:
    clock, customer, subscription = subscribed(sdk)
    pro = subscription["items"].data[0].price
    basic = monthly(sdk, 1000, product=pro.product)
    schedule = sdk.SubscriptionSchedule.create(from_subscription=subscription.id)

    schedule = sdk.SubscriptionSchedule.modify(
        schedule.id,
        phases=[
            {"items": [{"price": pro.id, "quantity": 1}], "start_date": unix(T0), "end_date": unix(MAY_1)},
            {"items": [{"price": basic.id, "quantity": 2}], "metadata": {"tier": "basic"}},
        ],
    )

    assert [(p.start_date, p.end_date) for p in schedule.phases] == [
        (unix(T0), unix(MAY_1)),
        (unix(MAY_1), unix(JUNE_1)),
    ]
    assert types_of(schedule.id) == ["subscription_schedule.created", "subscription_schedule.updated"]
    # Nothing billed now: the first phase is the subscription as it is.
    assert sdk.Subscription.retrieve(subscription.id)["items"].data[0].price.id == pro.id
    preview = sdk.Invoice.create_preview(subscription=subscription.id)
    assert (preview.total, preview.lines.data[0].description) == (2000, "2 \u00d7 Pro (at $10.00 / month)")

    move(sdk, clock, MAY_1)
    renewed = sdk.Subscription.retrieve(subscription.id)
    item = renewed["items"].data[0]
    assert (item.id, item.price.id, item.quantity) == (subscription["items"].data[0].id, basic.id, 2)
    assert (renewed.metadata.to_dict(), renewed.schedule) == ({"tier": "basic"}, schedule.id)
    cycle = sdk.Invoice.retrieve(renewed.latest_invoice)
    assert (cycle.billing_reason, cycle.total, cycle.amount_paid, cycle.created) == (
        "subscription_cycle",
        2000,
        2000,
        unix(MAY_1),
    )
    assert not sdk.InvoiceItem.list(customer=customer.id, pending=True).data
    current = sdk.SubscriptionSchedule.retrieve(schedule.id)
    assert (current.status, current.current_phase.start_date) == ("active", unix(MAY_1))

    move(sdk, clock, JUNE_1)
    done = sdk.SubscriptionSchedule.retrieve(schedule.id)
    assert (done.status, done.completed_at, done.current_phase, done.subscription) == (
        "completed",
        unix(JUNE_1),
        None,
        subscription.id,
    )
    after = sdk.Subscription.retrieve(subscription.id)
    assert (after.status, after.schedule, after["items"].data[0].price.id) == ("active", None, basic.id)
    assert sdk.Invoice.retrieve(after.latest_invoice).total == 2000
    assert types_of(schedule.id)[-2:] == ["subscription_schedule.updated", "subscription_schedule.completed"]

    move(sdk, clock, JULY_1)
    assert sdk.Invoice.retrieve(sdk.Subscription.retrieve(subscription.id).latest_invoice).total == 2000


def test_end_behavior_cancel_ends_the_subscription_with_the_last_phase(sdk: ModuleType) -> None:
    clock, _, subscription = subscribed(sdk)
    schedule = sdk.SubscriptionSchedule.create(from_subscription=subscription.id)

    schedule = sdk.SubscriptionSchedule.modify(schedule.id, end_behavior="cancel")

    assert schedule.end_behavior == "cancel"
    pending = sdk.Subscription.retrieve(subscription.id)
    assert (pending.cancel_at, pending.status) == (unix(MAY_1), "active")
    with pytest.raises(stripe.InvalidRequestError) as refused:
        sdk.Subscription.modify(subscription.id, cancel_at_period_end=False)
    assert refused.value.user_message == (
        f"The subscription is managed by the subscription schedule `{schedule.id}`, and updating any cancelation "
        "behavior directly is not allowed. Please update the schedule instead."
    )

    move(sdk, clock, MAY_1)
    ended = sdk.Subscription.retrieve(subscription.id)
    assert (ended.status, ended.ended_at, ended.schedule) == ("canceled", unix(MAY_1), None)
    done = sdk.SubscriptionSchedule.retrieve(schedule.id)
    assert (done.status, done.completed_at, done.canceled_at) == ("completed", unix(MAY_1), None)
    assert types_of(schedule.id)[-1] == "subscription_schedule.completed"
    assert Invoice.objects.filter(subscription_id=subscription.id).count() == 1


def test_release_leaves_the_subscription_as_it_is(sdk: ModuleType) -> None:
    clock, _, subscription = subscribed(sdk)
    pro = subscription["items"].data[0].price
    basic = monthly(sdk, 1000, product=pro.product)
    schedule = sdk.SubscriptionSchedule.create(from_subscription=subscription.id)
    sdk.SubscriptionSchedule.modify(
        schedule.id,
        end_behavior="cancel",
        phases=[{"items": [{"price": pro.id}], "end_date": unix(MAY_1)}, {"items": [{"price": basic.id}]}],
    )
    assert sdk.Subscription.retrieve(subscription.id).cancel_at == unix(JUNE_1)

    released = sdk.SubscriptionSchedule.release(schedule.id)

    assert shape_differences(body(released), RESOURCES[SCHEDULE], SCHEDULE) == []
    assert (released.status, released.subscription, released.released_subscription, released.current_phase) == (
        "released",
        None,
        subscription.id,
        None,
    )
    assert released.released_at == unix(T0)
    kept = sdk.Subscription.retrieve(subscription.id)
    assert (kept.schedule, kept.cancel_at, kept["items"].data[0].price.id) == (None, None, pro.id)
    assert types_of(schedule.id)[-1] == "subscription_schedule.released"
    move(sdk, clock, MAY_1)
    assert sdk.Invoice.retrieve(sdk.Subscription.retrieve(subscription.id).latest_invoice).total == 3000

    with pytest.raises(stripe.InvalidRequestError) as refused:
        sdk.SubscriptionSchedule.release(schedule.id)
    assert refused.value.user_message == (
        "You cannot release a subscription schedule that is currently in the `released` status. It must be in "
        "`not_started` or `active`."
    )
    with pytest.raises(stripe.InvalidRequestError):
        sdk.SubscriptionSchedule.modify(schedule.id, metadata={"a": "b"})


def test_cancel_cancels_the_subscription_with_a_prorated_credit(sdk: ModuleType) -> None:
    clock, customer, subscription = subscribed(sdk)
    schedule = sdk.SubscriptionSchedule.create(from_subscription=subscription.id)
    move(sdk, clock, T0 + dt.timedelta(days=15))

    canceled = sdk.SubscriptionSchedule.cancel(schedule.id)

    assert (canceled.status, canceled.canceled_at, canceled.current_phase) == (
        "canceled",
        unix(T0 + dt.timedelta(days=15)),
        None,
    )
    ended = sdk.Subscription.retrieve(subscription.id)
    assert (ended.status, ended.schedule) == ("canceled", None)
    final = sdk.Invoice.retrieve(ended.latest_invoice)
    assert final.total == -1500
    assert sdk.Customer.retrieve(customer.id).balance == -1500
    assert types_of(schedule.id)[-1] == "subscription_schedule.canceled"


def test_canceling_the_subscription_cancels_its_schedule(sdk: ModuleType) -> None:
    _, _, subscription = subscribed(sdk)
    schedule = sdk.SubscriptionSchedule.create(from_subscription=subscription.id)

    sdk.Subscription.cancel(subscription.id)

    gone = sdk.SubscriptionSchedule.retrieve(schedule.id)
    assert (gone.status, gone.canceled_at, gone.subscription) == ("canceled", unix(T0), subscription.id)
    assert types_of(schedule.id) == ["subscription_schedule.created", "subscription_schedule.canceled"]


def test_changing_the_current_phase_changes_the_subscription_now(sdk: ModuleType) -> None:
    clock, customer, subscription = subscribed(sdk, amount=1000)
    ten = subscription["items"].data[0].price
    schedule = sdk.SubscriptionSchedule.create(from_subscription=subscription.id)
    move(sdk, clock, T0 + dt.timedelta(days=15))

    sdk.SubscriptionSchedule.modify(
        schedule.id, phases=[{"items": [{"price": ten.id, "quantity": 3}], "end_date": unix(MAY_1)}]
    )

    changed = sdk.Subscription.retrieve(subscription.id)
    assert changed["items"].data[0].quantity == 3
    pending = sdk.InvoiceItem.list(customer=customer.id, pending=True)
    assert sorted(i.amount for i in pending.data) == [-500, 1500]

    sdk.SubscriptionSchedule.modify(
        schedule.id,
        proration_behavior="none",
        phases=[{"items": [{"price": ten.id, "quantity": 1}], "end_date": unix(MAY_1)}],
    )
    assert sdk.Subscription.retrieve(subscription.id)["items"].data[0].quantity == 1
    assert len(sdk.InvoiceItem.list(customer=customer.id, pending=True).data) == 2


def test_a_phase_ending_now_gives_way_to_the_next_at_once(sdk: ModuleType) -> None:
    clock, customer, subscription = subscribed(sdk, amount=1000)
    ten = subscription["items"].data[0].price
    twenty = monthly(sdk, 2000, product=ten.product)
    schedule = sdk.SubscriptionSchedule.create(from_subscription=subscription.id)
    move(sdk, clock, T0 + dt.timedelta(days=15))

    updated = sdk.SubscriptionSchedule.modify(
        schedule.id, phases=[{"items": [{"price": ten.id}], "end_date": "now"}, {"items": [{"price": twenty.id}]}]
    )

    half = unix(T0 + dt.timedelta(days=15))
    assert updated.current_phase.to_dict() == {"start_date": half, "end_date": unix(MAY_1 + dt.timedelta(days=15))}
    assert sdk.Subscription.retrieve(subscription.id)["items"].data[0].price.id == twenty.id
    pending = sdk.InvoiceItem.list(customer=customer.id, pending=True)
    assert sorted(i.amount for i in pending.data) == [-500, 1000]


def test_customer_and_phases_start_a_subscription_on_the_schedule(sdk: ModuleType) -> None:
    clock, customer = clocked_customer(sdk)
    intro = monthly(sdk, 500)
    regular = monthly(sdk, 1500, product=intro.product)

    schedule = sdk.SubscriptionSchedule.create(
        customer=customer.id,
        start_date="now",
        end_behavior="release",
        phases=[
            {"items": [{"price": intro.id}], "iterations": 2, "metadata": {"offer": "intro"}},
            {"items": [{"price": regular.id}], "iterations": 1},
        ],
    )

    assert shape_differences(body(schedule), RESOURCES[SCHEDULE], SCHEDULE) == []
    assert [(p.start_date, p.end_date) for p in schedule.phases] == [
        (unix(T0), unix(JUNE_1)),
        (unix(JUNE_1), unix(JULY_1)),
    ]
    subscription = sdk.Subscription.retrieve(schedule.subscription)
    assert (subscription.schedule, subscription.metadata.to_dict()) == (schedule.id, {"offer": "intro"})
    assert sdk.Invoice.retrieve(subscription.latest_invoice).amount_paid == 500
    move(sdk, clock, MAY_1)
    assert sdk.Invoice.retrieve(sdk.Subscription.retrieve(subscription.id).latest_invoice).total == 500
    move(sdk, clock, JUNE_1)
    assert sdk.Invoice.retrieve(sdk.Subscription.retrieve(subscription.id).latest_invoice).total == 1500


def test_list_filters_and_paginates(sdk: ModuleType) -> None:
    _, customer, first = subscribed(sdk)
    _, other, second = subscribed(sdk)
    a = sdk.SubscriptionSchedule.create(from_subscription=first.id)
    b = sdk.SubscriptionSchedule.create(from_subscription=second.id)
    sdk.SubscriptionSchedule.release(b.id)

    page = sdk.SubscriptionSchedule.list(limit=1)
    assert ([s.id for s in page.data], page.has_more, body(page)["url"]) == ([b.id], True, "/v1/subscription_schedules")
    assert [s.id for s in sdk.SubscriptionSchedule.list(starting_after=b.id).data] == [a.id]
    assert [s.id for s in sdk.SubscriptionSchedule.list(customer=customer.id).data] == [a.id]
    assert [s.id for s in sdk.SubscriptionSchedule.list(released_at={"gte": unix(T0)}).data] == [b.id]
    assert sdk.SubscriptionSchedule.list(scheduled=True).data == []
    assert [s.id for s in sdk.SubscriptionSchedule.list(scheduled=False).data] == [b.id, a.id]
    assert [s.id for s in sdk.SubscriptionSchedule.auto_paging_iter()] == [b.id, a.id]
    assert sdk.SubscriptionSchedule.list(customer=other.id, canceled_at={"gt": 0}).data == []


@pytest.mark.parametrize(
    ("params", "message", "param"),
    [
        ({}, "Missing required param: customer.", "customer"),
        ({"from_subscription": "sub_missing"}, "No such subscription: 'sub_missing'", "from_subscription"),
        ({"from_subscription": "SUB", "end_behavior": "cancel"}, "You cannot set `end_behavior` if", "end_behavior"),
        ({"from_subscription": "SUB", "phases": [{"items": [{"price": "p"}]}]}, "You cannot set `phases` if", "phases"),
        (
            {"from_subscription": "SUB", "default_settings": {"description": "x"}},
            "default_settings is not",
            "default_settings",
        ),
        ({"customer": "CUS"}, "Missing required param: phases.", "phases"),
        (
            {"customer": "CUS", "start_date": 1900000000, "phases": [{"items": [{"price": "PRICE"}]}]},
            "Billfold starts a subscription",
            "start_date",
        ),
        (
            {"customer": "CUS", "phases": [{"items": [{"price": "PRICE"}], "start_date": 1900000000}]},
            "Billfold starts a subscription",
            "phases[0][start_date]",
        ),
        (
            {"customer": "CUS", "phases": [{"items": [{"price": "PRICE"}], "end_date": 1800000000}]},
            "phases[0][end_date] (1800000000) must be after",
            "phases[0][end_date]",
        ),
        ({"from_subscription": "SUB", "bogus": "1"}, "Received unknown parameter: bogus", "bogus"),
    ],
)
def test_create_refusals_name_the_parameter_and_change_nothing(
    sdk: ModuleType, params: dict[str, Any], message: str, param: str
) -> None:
    _, customer, subscription = subscribed(sdk)
    price = subscription["items"].data[0].price.id
    names = {"SUB": subscription.id, "CUS": customer.id, "PRICE": price}
    given = json.loads(
        json.dumps(params),
        object_hook=lambda h: {k: names.get(v, v) if isinstance(v, str) else v for k, v in h.items()},
    )
    before = counts()
    with pytest.raises(stripe.StripeError) as refused:
        sdk.SubscriptionSchedule.create(**given)
    assert refused.value.user_message is not None and refused.value.user_message.startswith(message)
    assert refused.value.error is not None and refused.value.error.param == param
    assert counts() == before


def test_update_refusals(sdk: ModuleType) -> None:
    _, customer, subscription = subscribed(sdk)
    price = subscription["items"].data[0].price
    euro = sdk.Price.create(currency="eur", unit_amount=900, recurring={"interval": "month"}, product=price.product)
    yearly = sdk.Price.create(currency="usd", unit_amount=9000, recurring={"interval": "year"}, product=price.product)
    schedule = sdk.SubscriptionSchedule.create(from_subscription=subscription.id)
    before = counts()
    one = [{"price": price.id}]
    cases: list[tuple[dict[str, Any], str, str]] = [
        (
            {"phases": [{"items": one, "start_date": unix(T0) + 5}]},
            "phases[0][start_date] must be",
            "phases[0][start_date]",
        ),
        (
            {"phases": [{"items": [{"price": euro.id}]}]},
            "All prices on a subscription must be in the same currency",
            "phases[0][items][0][price]",
        ),
        (
            {"phases": [{"items": [*one, {"price": yearly.id}]}]},
            "All prices on a subscription must bill on the same interval",
            "phases[0][items][1][price]",
        ),
        (
            {"phases": [{"items": one}, {"items": one}]},
            "Missing required param: phases[0][end_date]",
            "phases[0][end_date]",
        ),
        ({"phases": [{"items": one, "end_date": unix(T0) - 10}]}, "Every phase given has ended", "phases"),
        (
            {"phases": [{"items": one, "end_date": unix(MAY_1), "iterations": 2}]},
            "You may only specify one of these parameters: end_date, iterations.",
            "phases[0][iterations]",
        ),
        (
            {"phases": [{"items": one, "end_date": unix(MAY_1)}, {"items": one, "start_date": unix(JUNE_1)}]},
            "phases[1][start_date] must be",
            "phases[1][start_date]",
        ),
        (
            {"phases": [{"items": [{"price": "price_missing"}]}]},
            "No such price: 'price_missing'",
            "phases[0][items][0][price]",
        ),
        (
            {"phases": [{"items": one, "trial_end": unix(MAY_1)}]},
            "phases[0][trial_end] is not available",
            "phases[0][trial_end]",
        ),
        ({"phases": [{"end_date": unix(MAY_1)}]}, "Missing required param: phases[0][items].", "phases[0][items]"),
        ({"end_behavior": "renew"}, "end_behavior=renew is a legacy value", "end_behavior"),
        ({"proration_behavior": "sometimes"}, "Invalid proration_behavior", "proration_behavior"),
    ]
    for params, message, param in cases:
        with pytest.raises(stripe.StripeError) as refused:
            sdk.SubscriptionSchedule.modify(schedule.id, **params)
        assert refused.value.user_message is not None and refused.value.user_message.startswith(message), params
        assert refused.value.error is not None and refused.value.error.param == param, params
        assert counts() == before
    with pytest.raises(stripe.InvalidRequestError) as missing:
        sdk.SubscriptionSchedule.retrieve("sub_sched_missing")
    assert missing.value.user_message == "No such subscription_schedule: 'sub_sched_missing'"
    assert missing.value.http_status == 404
    with pytest.raises(stripe.InvalidRequestError) as twice:
        sdk.SubscriptionSchedule.create(from_subscription=subscription.id)
    assert twice.value.user_message == (
        f"You cannot migrate a subscription that is already attached to a schedule: `{schedule.id}`."
    )
    assert customer.id


def test_idempotent_create_replays_the_same_schedule(sdk: ModuleType, api_url: str, test_key: str) -> None:
    _, _, subscription = subscribed(sdk)
    first = sdk.SubscriptionSchedule.create(from_subscription=subscription.id, idempotency_key="sched-1")
    again = sdk.SubscriptionSchedule.create(from_subscription=subscription.id, idempotency_key="sched-1")
    assert again.id == first.id
    assert again.last_response.headers.get("Idempotent-Replayed") == "true"
    assert SubscriptionSchedule.objects.count() == 1
