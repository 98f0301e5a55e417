"""Discounts of subscriptions: ``expand`` of their id lists, and the ``customer.discount.*`` events.

Through the official SDK against the live server; time moves with test clocks.
"""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any

import pytest
import stripe

from billfold.api.representations.discount import load_discounts
from billfold.billing.models import Discount, Subscription
from billfold.events.models import Event
from tests.api.test_subscriptions import HALF, T0, clocked_customer, monthly, move, unix

DISCOUNT_EVENTS = ("customer.discount.created", "customer.discount.updated", "customer.discount.deleted")


def body(obj: Any) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(obj.last_response.body)
    return parsed


def discount_events() -> list[tuple[str, str, dict[str, Any], dict[str, Any] | None]]:
    rows = Event.objects.filter(type__in=DISCOUNT_EVENTS).order_by("pk")
    return [(e.type, e.object_id, e.data["object"], e.data.get("previous_attributes")) for e in rows]


def rendered_discount(sdk: ModuleType, discount_id: str) -> dict[str, Any]:
    """The discount as the API shows it, through a subscription's ``expand[]=discounts``."""
    discount = Discount.objects.get(public_id=discount_id)
    subscription = sdk.Subscription.retrieve(discount.subscription_id, expand=["discounts", "items.data.discounts"])
    found: list[dict[str, Any]] = [d for d in body(subscription)["discounts"] if d["id"] == discount_id]
    found += [d for i in body(subscription)["items"]["data"] for d in i["discounts"] if d["id"] == discount_id]
    if not found:  # no longer on the subscription: the loader expand uses
        return load_discounts([discount_id], False)[discount_id]
    return found[0]


def discounted_subscription(sdk: ModuleType) -> tuple[Any, Any, Any, Any]:
    """A subscription with a 10% discount on the whole and a $2 one on its item."""
    clock, customer = clocked_customer(sdk)
    whole = sdk.Coupon.create(percent_off=10, duration="forever", id="TENOFF")
    item_coupon = sdk.Coupon.create(amount_off=200, currency="usd", duration="forever", id="TWOOFF")
    subscription = sdk.Subscription.create(
        customer=customer.id,
        items=[{"price": monthly(sdk, 1000).id, "discounts": [{"coupon": item_coupon.id}]}],
        discounts=[{"coupon": whole.id}],
    )
    return clock, customer, subscription, (whole, item_coupon)


def test_expand_turns_discount_ids_into_discounts(sdk: ModuleType) -> None:
    _clock, customer, subscription, (whole, item_coupon) = discounted_subscription(sdk)
    [whole_id] = subscription.discounts
    [item_discount_id] = subscription["items"].data[0].discounts
    assert whole_id.startswith("di_") and item_discount_id.startswith("di_")

    expanded = body(sdk.Subscription.retrieve(subscription.id, expand=["discounts", "items.data.discounts"]))
    [whole_discount] = expanded["discounts"]
    assert whole_discount == {
        "id": whole_id,
        "object": "discount",
        "checkout_session": None,
        "customer": customer.id,
        "customer_account": None,
        "end": None,
        "invoice": None,
        "invoice_item": None,
        "promotion_code": None,
        "source": {"coupon": whole.id, "type": "coupon"},
        "start": unix(T0),
        "subscription": subscription.id,
        "subscription_item": None,
    }
    [item_discount] = expanded["items"]["data"][0]["discounts"]
    assert (item_discount["id"], item_discount["source"]["coupon"]) == (item_discount_id, item_coupon.id)
    # Two levels down: the discount's coupon.
    deeper = body(sdk.Subscription.retrieve(subscription.id, expand=["discounts.source.coupon"]))
    assert (deeper["discounts"][0]["source"]["coupon"]["id"], deeper["discounts"][0]["source"]["coupon"]["object"]) == (
        "TENOFF",
        "coupon",
    )
    listed = body(sdk.Subscription.list(customer=customer.id, expand=["data.discounts"]))
    assert [d["id"] for d in listed["data"][0]["discounts"]] == [whole_id]

    invoice = body(
        sdk.Invoice.retrieve(
            subscription.latest_invoice,
            expand=["discounts", "lines.data.discounts", "total_discount_amounts.discount"],
        )
    )
    assert [(d["object"], d["id"]) for d in invoice["discounts"]] == [("discount", whole_id)]
    line = invoice["lines"]["data"][0]
    assert [(d["object"], d["id"]) for d in line["discounts"]] == [("discount", item_discount_id)]
    # $10 less $2 on the item, then 10% of the $8 left on the invoice.
    assert sorted((a["amount"], a["discount"]["id"]) for a in invoice["total_discount_amounts"]) == sorted(
        [(200, item_discount_id), (80, whole_id)]
    )
    assert invoice["total"] == 720
    invoices = body(sdk.Invoice.list(customer=customer.id, expand=["data.discounts"]))
    assert [d["id"] for d in invoices["data"][0]["discounts"]] == [whole_id]


def test_fields_stripe_does_not_expand_are_refused(sdk: ModuleType) -> None:
    _clock, _customer, subscription, _coupons = discounted_subscription(sdk)
    for path in ("default_tax_rates", "discounts.nothing"):
        with pytest.raises(stripe.InvalidRequestError) as refused:
            sdk.Subscription.retrieve(subscription.id, expand=[path])
        assert refused.value.http_status == 400
        assert refused.value.param == "expand[0]"
        assert str(refused.value.user_message) == f"This property cannot be expanded ({path})."


def test_discount_events_follow_a_subscriptions_discounts(sdk: ModuleType) -> None:
    clock, _customer, subscription, (whole, _item_coupon) = discounted_subscription(sdk)
    [whole_id] = subscription.discounts
    [item_discount_id] = subscription["items"].data[0].discounts
    created = discount_events()
    assert [(kind, object_id) for kind, object_id, _, _ in created] == [
        ("customer.discount.created", whole_id),
        ("customer.discount.created", item_discount_id),
    ]
    assert created[0][2] == rendered_discount(sdk, whole_id)
    assert created[1][2] == rendered_discount(sdk, item_discount_id)

    # Switched to another coupon: one discount replaced by another is an update.
    move(sdk, clock, HALF)
    other = sdk.Coupon.create(percent_off=25, duration="forever", id="QUARTER")
    switched = sdk.Subscription.modify(subscription.id, discounts=[{"coupon": other.id}], proration_behavior="none")
    [new_id] = switched.discounts
    kind, object_id, obj, previous = discount_events()[-1]
    assert (kind, object_id) == ("customer.discount.updated", new_id)
    assert obj == rendered_discount(sdk, new_id)
    assert previous == {"id": whole_id, "source": {"coupon": whole.id, "type": "coupon"}, "start": unix(T0)}

    # Removed: deleted, with the discount as it was.
    sdk.Subscription.modify(subscription.id, discounts="")
    kind, object_id, obj, previous = discount_events()[-1]
    assert (kind, object_id, previous) == ("customer.discount.deleted", new_id, None)
    assert obj["source"] == {"coupon": other.id, "type": "coupon"}
    assert obj["start"] == unix(HALF)
    assert Subscription.objects.get(public_id=subscription.id).discounts == []
    assert len(discount_events()) == 4


def test_a_once_coupon_is_deleted_once_its_invoice_used_it(sdk: ModuleType) -> None:
    _clock, customer = clocked_customer(sdk)
    once = sdk.Coupon.create(percent_off=50, duration="once", id="HALFONCE")
    subscription = sdk.Subscription.create(
        customer=customer.id, items=[{"price": monthly(sdk, 1000).id}], discounts=[{"coupon": once.id}]
    )
    assert subscription.discounts == []
    [(first, discount_id, _, _), (second, same_id, obj, _)] = discount_events()
    assert (first, second, same_id) == ("customer.discount.created", "customer.discount.deleted", discount_id)
    assert (obj["source"]["coupon"], obj["subscription"]) == (once.id, subscription.id)
    assert sdk.Invoice.retrieve(subscription.latest_invoice).total == 500


def test_a_refused_discount_change_writes_no_event(sdk: ModuleType) -> None:
    _clock, _customer, subscription, _coupons = discounted_subscription(sdk)
    before = (discount_events(), list(Subscription.objects.values("discounts")), Discount.objects.count())

    with pytest.raises(stripe.InvalidRequestError) as refused:
        sdk.Subscription.modify(subscription.id, discounts=[{"coupon": "NO_SUCH_COUPON"}])

    assert (refused.value.http_status, refused.value.code, refused.value.param) == (
        404,
        "resource_missing",
        "discounts[0][coupon]",
    )
    assert before == (discount_events(), list(Subscription.objects.values("discounts")), Discount.objects.count())
