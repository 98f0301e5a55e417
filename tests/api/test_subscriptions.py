"""/v1/subscriptions, /v1/subscription_items and /v1/invoices/create_preview through the official SDK.

Time passes with test clocks: the customer lives on a clock, and advancing it runs the renewals.
"""

from __future__ import annotations

import datetime as dt
import json
from types import ModuleType
from typing import Any

import pytest

from billfold.billing.models import Invoice, InvoiceItem, Subscription, SubscriptionItem
from billfold.events.models import Event
from billfold.payments.models import Charge, PaymentIntent
from tests.api.test_shapes import RESOURCES, shape_differences

# April 2030 has 30 days: half of its period is exactly 15 days.
T0 = dt.datetime(2030, 4, 1, tzinfo=dt.UTC)
HALF = T0 + dt.timedelta(days=15)


def unix(moment: dt.datetime) -> int:
    return int(moment.timestamp())


def body(obj: Any) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(obj.last_response.body)
    return parsed


def counts() -> tuple[int, ...]:
    return (
        Subscription.objects.count(),
        SubscriptionItem.objects.count(),
        Invoice.objects.count(),
        InvoiceItem.objects.count(),
        PaymentIntent.objects.count(),
        Charge.objects.count(),
        Event.objects.count(),
    )


def clocked_customer(sdk: ModuleType, card: str = "pm_card_visa") -> tuple[Any, Any]:
    clock = sdk.test_helpers.TestClock.create(frozen_time=unix(T0))
    customer = sdk.Customer.create(
        email="jenny@example.com",
        test_clock=clock.id,
        payment_method=card,
        invoice_settings={"default_payment_method": card},
    )
    return clock, customer


def monthly(sdk: ModuleType, amount: int, product: str | None = None, **recurring: Any) -> Any:
    target: dict[str, Any] = {"product": product} if product else {"product_data": {"name": "Pro"}}
    return sdk.Price.create(currency="usd", unit_amount=amount, recurring={"interval": "month", **recurring}, **target)


def move(sdk: ModuleType, clock: Any, moment: dt.datetime) -> None:
    advanced = sdk.test_helpers.TestClock.advance(clock.id, frozen_time=unix(moment))
    assert advanced.status == "ready", advanced


def test_create_renders_stripes_shape_and_renews_on_the_clock(sdk: ModuleType) -> None:
    clock, customer = clocked_customer(sdk)
    price = monthly(sdk, 1000)
    subscription = sdk.Subscription.create(
        customer=customer.id, items=[{"price": price.id, "quantity": 2}], metadata={"plan": "pro"}
    )

    assert shape_differences(body(subscription), RESOURCES["subscription"], "subscription") == []
    assert (subscription.status, subscription.currency, subscription.test_clock) == ("active", "usd", clock.id)
    assert subscription.billing_cycle_anchor == unix(T0)
    item = subscription["items"].data[0]
    assert (item.quantity, item.current_period_start, item.current_period_end) == (2, unix(T0), unix(T0) + 30 * 86400)
    assert (item.plan.object, item.plan.amount, item.plan.interval) == ("plan", 1000, "month")
    assert subscription["items"].url == f"/v1/subscription_items?subscription={subscription.id}"
    first = sdk.Invoice.retrieve(subscription.latest_invoice)
    assert (first.status, first.amount_paid, first.billing_reason) == ("paid", 2000, "subscription_create")
    assert first.parent.subscription_details.subscription == subscription.id

    expanded = sdk.Subscription.retrieve(subscription.id, expand=["latest_invoice", "items.data.price.product"])
    assert expanded.latest_invoice.id == first.id
    assert expanded["items"].data[0].price.product.name == "Pro"

    move(sdk, clock, dt.datetime(2030, 5, 1, tzinfo=dt.UTC))
    renewed = sdk.Subscription.retrieve(subscription.id)
    assert renewed["items"].data[0].current_period_end == unix(dt.datetime(2030, 6, 1, tzinfo=dt.UTC))
    cycle = sdk.Invoice.retrieve(renewed.latest_invoice)
    assert (cycle.billing_reason, cycle.status, cycle.total, cycle.created) == (
        "subscription_cycle",
        "paid",
        2000,
        unix(dt.datetime(2030, 5, 1, tzinfo=dt.UTC)),
    )
    assert [i.id for i in sdk.Invoice.list(subscription=subscription.id).data] == [cycle.id, first.id]


def test_upgrade_preview_matches_the_update(sdk: ModuleType) -> None:
    clock, customer = clocked_customer(sdk)
    ten = monthly(sdk, 1000)
    twenty = monthly(sdk, 2000, product=ten.product)
    subscription = sdk.Subscription.create(customer=customer.id, items=[{"price": ten.id}])
    item_id = subscription["items"].data[0].id
    move(sdk, clock, HALF)
    before = counts()

    preview = sdk.Invoice.create_preview(
        subscription=subscription.id,
        subscription_details={"items": [{"id": item_id, "price": twenty.id}], "proration_date": unix(HALF)},
    )

    assert counts() == before
    assert preview.id.startswith("upcoming_in_")
    assert preview.status == "draft"
    prorations = [
        (line.amount, line.description)
        for line in preview.lines.data
        if line.parent.type == "subscription_item_details" and line.parent.subscription_item_details.proration
    ]
    assert prorations == [
        (-500, "Unused time on Pro after 16 Apr 2030"),
        (1000, "Remaining time on Pro after 16 Apr 2030"),
    ]
    assert preview.total == 2500
    assert all(line.id.startswith("il_tmp_") for line in preview.lines.data)

    updated = sdk.Subscription.modify(
        subscription.id, items=[{"id": item_id, "price": twenty.id}], proration_date=unix(HALF)
    )
    assert updated["items"].data[0].price.id == twenty.id
    pending = sdk.InvoiceItem.list(customer=customer.id, pending=True)
    assert sorted(i.amount for i in pending.data) == [-500, 1000]
    event = Event.objects.filter(object_id=subscription.id, type="customer.subscription.updated").last()
    assert event is not None
    assert event.data["previous_attributes"]["items"]["data"][0]["price"]["id"] == ten.id


def test_subscription_items_endpoints(sdk: ModuleType) -> None:
    clock, customer = clocked_customer(sdk)
    base, extra = monthly(sdk, 1000), monthly(sdk, 600)
    subscription = sdk.Subscription.create(customer=customer.id, items=[{"price": base.id}])
    move(sdk, clock, HALF)

    added = sdk.SubscriptionItem.create(subscription=subscription.id, price=extra.id, quantity=2)
    assert shape_differences(body(added), RESOURCES["subscription_item"], "subscription_item") == []
    assert (added.quantity, added.price.id, added.subscription) == (2, extra.id, subscription.id)
    assert sdk.SubscriptionItem.retrieve(added.id).to_dict() == added.to_dict()

    changed = sdk.SubscriptionItem.modify(added.id, quantity=3, proration_behavior="none", metadata={"seat": "x"})
    assert (changed.quantity, changed.metadata.to_dict()) == (3, {"seat": "x"})
    listed = sdk.SubscriptionItem.list(subscription=subscription.id)
    assert sorted(i.id for i in listed.data) == sorted([added.id, subscription["items"].data[0].id])

    deleted = sdk.SubscriptionItem.delete(added.id, proration_behavior="none")
    assert deleted.to_dict() == {"id": added.id, "object": "subscription_item", "deleted": True}
    with pytest.raises(sdk.InvalidRequestError) as missing:
        sdk.SubscriptionItem.retrieve(added.id)
    assert missing.value.http_status == 404
    with pytest.raises(sdk.InvalidRequestError) as last:
        sdk.SubscriptionItem.delete(subscription["items"].data[0].id)
    assert last.value.param == "items"
    # Adding cost 2 x 600 for half a month; the rest was prorated with none.
    assert sorted(i.amount for i in sdk.InvoiceItem.list(customer=customer.id, pending=True).data) == [600]


def test_cancel_at_period_end_reactivate_and_cancel_now(sdk: ModuleType) -> None:
    clock, customer = clocked_customer(sdk)
    subscription = sdk.Subscription.create(customer=customer.id, items=[{"price": monthly(sdk, 1000).id}])
    scheduled = sdk.Subscription.modify(subscription.id, cancel_at_period_end=True)
    assert (scheduled.cancel_at_period_end, scheduled.cancel_at) == (True, unix(T0) + 30 * 86400)
    reactivated = sdk.Subscription.modify(subscription.id, cancel_at_period_end=False)
    assert (reactivated.cancel_at_period_end, reactivated.cancel_at, reactivated.canceled_at) == (False, None, None)

    move(sdk, clock, HALF)
    canceled = sdk.Subscription.cancel(
        subscription.id,
        invoice_now=True,
        prorate=True,
        cancellation_details={"feedback": "too_expensive", "comment": "Too much for us"},
    )
    assert (canceled.status, canceled.ended_at) == ("canceled", unix(HALF))
    assert canceled.cancellation_details.to_dict() == {
        "comment": "Too much for us",
        "feedback": "too_expensive",
        "reason": "cancellation_requested",
    }
    assert sdk.Invoice.retrieve(canceled.latest_invoice).total == -500
    assert sdk.Customer.retrieve(customer.id).balance == -500
    assert Event.objects.filter(object_id=subscription.id).last().type == "customer.subscription.deleted"  # type: ignore[union-attr]
    with pytest.raises(sdk.InvalidRequestError):
        sdk.Subscription.modify(subscription.id, metadata={"a": "b"})


def test_trial_without_card_pauses_and_resumes(sdk: ModuleType) -> None:
    clock = sdk.test_helpers.TestClock.create(frozen_time=unix(T0))
    customer = sdk.Customer.create(test_clock=clock.id)
    subscription = sdk.Subscription.create(
        customer=customer.id,
        items=[{"price": monthly(sdk, 1000).id}],
        trial_period_days=7,
        trial_settings={"end_behavior": {"missing_payment_method": "pause"}},
    )
    assert subscription.status == "trialing"
    move(sdk, clock, T0 + dt.timedelta(days=7))
    assert sdk.Subscription.retrieve(subscription.id).status == "paused"
    card = sdk.PaymentMethod.attach("pm_card_visa", customer=customer.id)
    sdk.Subscription.modify(subscription.id, default_payment_method=card.id)
    resumed = sdk.Subscription.resume(subscription.id, billing_cycle_anchor="now")
    assert (resumed.status, resumed.billing_cycle_anchor) == ("active", unix(T0 + dt.timedelta(days=7)))
    kinds = {e.type for e in sdk.Event.list(type="customer.subscription.*", limit=100).data}
    assert {"customer.subscription.paused", "customer.subscription.resumed"} <= kinds
    assert "customer.subscription.trial_will_end" in kinds


def test_list_filters_and_search(sdk: ModuleType) -> None:
    _, customer = clocked_customer(sdk)
    price = monthly(sdk, 1000)
    other = monthly(sdk, 500)
    kept = sdk.Subscription.create(customer=customer.id, items=[{"price": price.id}], metadata={"tier": "gold"})
    sent = sdk.Subscription.create(
        customer=customer.id, items=[{"price": other.id}], collection_method="send_invoice", days_until_due=10
    )
    ended = sdk.Subscription.create(customer=customer.id, items=[{"price": other.id}])
    sdk.Subscription.cancel(ended.id)

    def ids(**filters: Any) -> list[str]:
        return [s.id for s in sdk.Subscription.list(**filters).data]

    assert ids(customer=customer.id) == [sent.id, kept.id]
    assert ids(customer=customer.id, status="all") == [ended.id, sent.id, kept.id]
    assert ids(status="ended") == [ended.id]
    assert ids(status="canceled") == [ended.id]
    assert ids(price=price.id) == [kept.id]
    assert ids(collection_method="send_invoice") == [sent.id]
    assert ids(current_period_end={"gt": unix(T0)}) == [sent.id, kept.id]
    assert ids(current_period_end={"lt": unix(T0)}) == []
    found = sdk.Subscription.search(query="metadata['tier']:'gold' AND status:'active'")
    assert [s.id for s in found.data] == [kept.id]
    assert [s.id for s in sdk.Subscription.search(query="status:'canceled'").data] == [ended.id]


def test_refusals_change_nothing(sdk: ModuleType) -> None:
    _, customer = clocked_customer(sdk)
    usd = monthly(sdk, 1000)
    eur = sdk.Price.create(currency="eur", unit_amount=900, recurring={"interval": "month"}, product=usd.product)
    before = counts()

    with pytest.raises(sdk.InvalidRequestError) as unknown:
        sdk.Subscription.create(customer=customer.id, items=[{"price": "price_missing"}])
    assert (unknown.value.http_status, unknown.value.code, unknown.value.param) == (
        404,
        "resource_missing",
        "items[0][price]",
    )
    with pytest.raises(sdk.InvalidRequestError) as mixed:
        sdk.Subscription.create(customer=customer.id, items=[{"price": usd.id}, {"price": eur.id}])
    assert (mixed.value.http_status, mixed.value.param) == (400, "items[1][price]")
    with pytest.raises(sdk.InvalidRequestError) as odd:
        sdk.Subscription.create(customer=customer.id, items=[{"price": usd.id}], payment_behavior="sometimes")
    assert odd.value.param == "payment_behavior"
    assert counts() == before

    _, declining = clocked_customer(sdk, card="pm_card_chargeCustomerFail")
    before = counts()
    with pytest.raises(sdk.CardError) as declined:
        sdk.Subscription.create(
            customer=declining.id, items=[{"price": usd.id}], payment_behavior="error_if_incomplete"
        )
    assert (declined.value.http_status, declined.value.code) == (402, "card_declined")
    assert counts() == before

    incomplete = sdk.Subscription.create(customer=declining.id, items=[{"price": usd.id}])
    assert incomplete.status == "incomplete"
    assert sdk.Invoice.retrieve(incomplete.latest_invoice).status == "open"


def test_coupons_and_tax_rates(sdk: ModuleType) -> None:
    _, customer = clocked_customer(sdk)
    half = sdk.Coupon.create(percent_off=50, duration="once")
    vat = sdk.TaxRate.create(display_name="VAT", percentage=10, inclusive=False)
    subscription = sdk.Subscription.create(
        customer=customer.id,
        items=[{"price": monthly(sdk, 1000).id}],
        discounts=[{"coupon": half.id}],
        default_tax_rates=[vat.id],
    )
    invoice = sdk.Invoice.retrieve(subscription.latest_invoice)
    assert (invoice.subtotal, invoice.total_excluding_tax, invoice.total) == (1000, 500, 550)
    assert subscription.discounts == []
    assert [rate.id for rate in subscription.default_tax_rates] == [vat.id]

    five_off = sdk.Coupon.create(amount_off=500, currency="usd", duration="forever")
    legacy = sdk.Subscription.create(customer=customer.id, items=[{"price": monthly(sdk, 2000).id}], coupon=five_off.id)
    assert sdk.Invoice.retrieve(legacy.latest_invoice).total == 1500
    assert len(legacy.discounts) == 1
