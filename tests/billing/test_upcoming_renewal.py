"""The next invoice announced: ``invoice.upcoming`` before a renewal, and create_preview's line order.

Through the official SDK against the live server; time moves with test clocks.
"""

from __future__ import annotations

import datetime as dt
import json
from types import ModuleType
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from billfold.billing.subscriptions.common import parse_upcoming_renewal_days
from billfold.emails.models import Email
from billfold.events.models import Event
from tests.api.test_subscriptions import HALF, T0, clocked_customer, monthly, move, unix

DAY = dt.timedelta(days=1)
MAY_1 = dt.datetime(2030, 5, 1, tzinfo=dt.UTC)
JUNE_1 = dt.datetime(2030, 6, 1, tzinfo=dt.UTC)


def body(obj: Any) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(obj.last_response.body)
    return parsed


def upcoming_events() -> list[tuple[int, dict[str, Any]]]:
    rows = Event.objects.filter(type="invoice.upcoming").order_by("pk")
    return [(int(e.created.timestamp()), e.data["object"]) for e in rows]


def lines_of(invoice: dict[str, Any]) -> list[tuple[int, str, int, int, bool]]:
    return [
        (
            line["amount"],
            line["description"],
            line["period"]["start"],
            line["period"]["end"],
            line["parent"]["subscription_item_details"]["proration"],
        )
        for line in invoice["lines"]["data"]
    ]


def without_ids(invoice: dict[str, Any]) -> dict[str, Any]:
    """An invoice preview less what differs from one rendering to the next (its and its lines' ids)."""
    copy = json.loads(json.dumps(invoice))
    copy.pop("id", None)
    copy["lines"].pop("url")
    for line in copy["lines"]["data"]:
        line.pop("id")
        line.pop("invoice")
    return dict(copy)


# ---- create_preview: prorations first, then the next period ----------------------------------------


def test_preview_lists_the_prorations_first_then_the_next_period_as_the_invoice_does(sdk: ModuleType) -> None:
    clock, customer = clocked_customer(sdk)
    ten = monthly(sdk, 1000)
    twenty = monthly(sdk, 2000, product=ten.product)
    subscription = sdk.Subscription.create(customer=customer.id, items=[{"price": ten.id, "quantity": 2}])
    item_id = subscription["items"].data[0].id
    move(sdk, clock, HALF)
    change = {"items": [{"id": item_id, "price": twenty.id}], "proration_date": unix(HALF)}

    preview = body(sdk.Invoice.create_preview(subscription=subscription.id, subscription_details=change))

    expected = [
        (-1000, "Unused time on 2 \u00d7 Pro after 16 Apr 2030", unix(HALF), unix(MAY_1), True),
        (2000, "Remaining time on 2 \u00d7 Pro after 16 Apr 2030", unix(HALF), unix(MAY_1), True),
        (4000, "2 \u00d7 Pro (at $20.00 / month)", unix(MAY_1), unix(JUNE_1), False),
    ]
    assert lines_of(preview) == expected
    assert (preview["subtotal"], preview["total"], preview["amount_due"]) == (5000, 5000, 5000)
    # The update bills exactly that at the renewal, lines in the same order.
    sdk.Subscription.modify(subscription.id, **change)
    move(sdk, clock, MAY_1)
    renewal = body(sdk.Invoice.retrieve(sdk.Subscription.retrieve(subscription.id).latest_invoice))
    assert (renewal["billing_reason"], renewal["status"], renewal["total"]) == ("subscription_cycle", "paid", 5000)
    assert lines_of(renewal) == expected


# ---- invoice.upcoming ---------------------------------------------------------------------------


def test_invoice_upcoming_is_sent_seven_days_before_each_renewal_once(sdk: ModuleType) -> None:
    clock, customer = clocked_customer(sdk)
    subscription = sdk.Subscription.create(customer=customer.id, items=[{"price": monthly(sdk, 1000).id}])

    move(sdk, clock, MAY_1 - 7 * DAY - dt.timedelta(seconds=1))
    assert upcoming_events() == []
    move(sdk, clock, MAY_1 - 7 * DAY)
    [(created, announced)] = upcoming_events()
    assert created == unix(MAY_1 - 7 * DAY)
    # The next invoice as create_preview renders it at that moment, without an id.
    assert "id" not in announced
    preview = body(sdk.Invoice.create_preview(subscription=subscription.id))
    assert without_ids(announced) == without_ids(preview)
    assert (announced["object"], announced["status"], announced["billing_reason"]) == (
        "invoice",
        "draft",
        "subscription_cycle",
    )
    assert (announced["customer"], announced["parent"]["subscription_details"]["subscription"]) == (
        customer.id,
        subscription.id,
    )
    assert (announced["created"], announced["amount_due"], announced["number"]) == (unix(MAY_1), 1000, None)
    assert lines_of(announced) == [(1000, "1 \u00d7 Pro (at $10.00 / month)", unix(MAY_1), unix(JUNE_1), False)]
    # The event becomes the customer's renewal reminder.
    reminders = Email.objects.filter(kind="upcoming_renewal").values_list("object_id", flat=True)
    assert list(reminders) == [subscription.id]

    # Renewed: nothing more for that period; the next one is announced 7 days before June 1.
    move(sdk, clock, MAY_1 + 20 * DAY)
    assert len(upcoming_events()) == 1
    move(sdk, clock, JUNE_1)
    assert [created for created, _ in upcoming_events()] == [unix(MAY_1 - 7 * DAY), unix(JUNE_1 - 7 * DAY)]
    assert upcoming_events()[1][1]["lines"]["data"][0]["period"] == {
        "end": unix(JUNE_1) + 30 * 86400,
        "start": unix(JUNE_1),
    }


@override_settings(BILLFOLD_UPCOMING_RENEWAL_DAYS="3")
def test_the_notice_follows_the_setting(sdk: ModuleType) -> None:
    clock, customer = clocked_customer(sdk)
    sdk.Subscription.create(customer=customer.id, items=[{"price": monthly(sdk, 1000).id}])
    move(sdk, clock, MAY_1)
    assert [created for created, _ in upcoming_events()] == [unix(MAY_1 - 3 * DAY)]


@override_settings(BILLFOLD_UPCOMING_RENEWAL_DAYS="0")
def test_zero_turns_it_off(sdk: ModuleType) -> None:
    clock, customer = clocked_customer(sdk)
    sdk.Subscription.create(customer=customer.id, items=[{"price": monthly(sdk, 1000).id}])
    move(sdk, clock, JUNE_1)
    assert upcoming_events() == []


def test_a_trial_end_is_announced_and_a_subscription_ending_is_not(sdk: ModuleType) -> None:
    clock, customer = clocked_customer(sdk)
    price = monthly(sdk, 1000)
    trialing = sdk.Subscription.create(customer=customer.id, items=[{"price": price.id}], trial_period_days=14)
    ending = sdk.Subscription.create(customer=customer.id, items=[{"price": price.id}], cancel_at_period_end=True)

    move(sdk, clock, T0 + 14 * DAY)

    [(created, announced)] = upcoming_events()
    assert created == unix(T0 + 7 * DAY)
    assert announced["parent"]["subscription_details"]["subscription"] == trialing.id
    assert (announced["created"], announced["total"]) == (unix(T0 + 14 * DAY), 1000)
    trial_events = Event.objects.filter(object_id=trialing.id, type="customer.subscription.trial_will_end")
    assert [int(e.created.timestamp()) for e in trial_events] == [unix(T0 + 11 * DAY)]
    assert sdk.Subscription.retrieve(ending.id).status == "active"


@pytest.mark.parametrize("text", ["seven", "-1", "1.5", "366"])
def test_an_unreadable_setting_is_refused_with_its_name(text: str) -> None:
    with pytest.raises(ImproperlyConfigured) as refused:
        parse_upcoming_renewal_days(text)
    assert str(refused.value) == (
        f"BILLFOLD_UPCOMING_RENEWAL_DAYS={text!r} is not a number of days: give how many days before a subscription "
        "renews invoice.upcoming is sent, from 0 (never) to 365, e.g. 7."
    )


def test_readable_settings() -> None:
    assert [parse_upcoming_renewal_days(t) for t in ("0", " 7 ", "365")] == [0, 7, 365]
