"""End-to-end billing scenarios through the official SDK, with time moved by test clocks.

Each advance of a clock runs the renewals, retries, trial ends and cancellations that fall in
between, in order, at their own times (billing/renewals.py's advance hook).
"""

from __future__ import annotations

import datetime as dt
from types import ModuleType
from typing import Any

from billfold.events.models import Event

DAY = dt.timedelta(days=1)


def unix(moment: dt.datetime) -> int:
    return int(moment.timestamp())


def at(year: int, month: int, day: int, hour: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, tzinfo=dt.UTC)


def clocked_customer(sdk: ModuleType, start: dt.datetime, card: str | None = "pm_card_visa") -> tuple[Any, Any]:
    clock = sdk.test_helpers.TestClock.create(frozen_time=unix(start))
    card_params: dict[str, Any] = (
        {"payment_method": card, "invoice_settings": {"default_payment_method": card}} if card else {}
    )
    customer = sdk.Customer.create(email="jenny@example.com", test_clock=clock.id, **card_params)
    return clock, customer


def monthly_price(sdk: ModuleType, amount: int = 1000) -> Any:
    return sdk.Price.create(
        currency="usd", unit_amount=amount, recurring={"interval": "month"}, product_data={"name": "Pro"}
    )


def advance(sdk: ModuleType, clock: Any, to: dt.datetime) -> None:
    advanced = sdk.test_helpers.TestClock.advance(clock.id, frozen_time=unix(to))
    assert (advanced.status, advanced.frozen_time) == ("ready", unix(to))


def invoices_of(sdk: ModuleType, subscription: Any) -> list[Any]:
    """The subscription's invoices, oldest first."""
    return list(reversed(sdk.Invoice.list(subscription=subscription.id, limit=100).data))


def events(object_id: str, prefix: str = "") -> list[tuple[str, int]]:
    return [
        (e.type, unix(e.created))
        for e in Event.objects.filter(object_id=object_id, type__startswith=prefix).order_by("pk")
    ]


def test_a_monthly_plan_renews_every_month_on_its_anchor_day(sdk: ModuleType) -> None:
    start = at(2030, 1, 31, 9)
    clock, customer = clocked_customer(sdk, start)
    subscription = sdk.Subscription.create(customer=customer.id, items=[{"price": monthly_price(sdk).id}])
    # A Jan 31 anchor bills on the last day of shorter months and on the 31st when there is one.
    renewals = [at(2030, 2, 28, 9), at(2030, 3, 31, 9), at(2030, 4, 30, 9)]
    for renewal in renewals:
        advance(sdk, clock, renewal + DAY)
    invoices = invoices_of(sdk, subscription)
    assert [(i.billing_reason, i.status, i.amount_paid, i.attempt_count) for i in invoices] == [
        ("subscription_create", "paid", 1000, 1),
        ("subscription_cycle", "paid", 1000, 1),
        ("subscription_cycle", "paid", 1000, 1),
        ("subscription_cycle", "paid", 1000, 1),
    ]
    # Each stamped with the clock's time when it was renewed, numbered without gaps.
    assert [i.created for i in invoices] == [unix(start), *(unix(r) for r in renewals)]
    assert [i.status_transitions.paid_at for i in invoices[1:]] == [unix(r) for r in renewals]
    assert [i.number.rsplit("-", 1)[1] for i in invoices] == ["0001", "0002", "0003", "0004"]
    assert [(i.period_start, i.period_end) for i in invoices[1:]] == [
        (unix(start), unix(renewals[0])),
        (unix(renewals[0]), unix(renewals[1])),
        (unix(renewals[1]), unix(renewals[2])),
    ]
    renewed = sdk.Subscription.retrieve(subscription.id)
    item = renewed["items"].data[0]
    assert (renewed.status, item.current_period_start, item.current_period_end) == (
        "active",
        unix(renewals[2]),
        unix(at(2030, 5, 31, 9)),
    )
    charges = sdk.Charge.list(customer=customer.id, limit=10).data
    assert sorted((c.amount, c.status, c.created) for c in charges) == [
        (1000, "succeeded", unix(moment)) for moment in (start, *renewals)
    ]
    assert events(invoices[1].id) == [
        ("invoice.created", unix(renewals[0])),
        ("invoice.finalized", unix(renewals[0])),
        ("invoice.paid", unix(renewals[0])),
        ("invoice.payment_succeeded", unix(renewals[0])),
    ]


def test_a_leap_year_february_bills_on_the_29th(sdk: ModuleType) -> None:
    start = at(2028, 1, 31)
    clock, customer = clocked_customer(sdk, start)
    subscription = sdk.Subscription.create(customer=customer.id, items=[{"price": monthly_price(sdk).id}])
    advance(sdk, clock, at(2028, 3, 1))
    advance(sdk, clock, at(2028, 4, 1))
    cycle = invoices_of(sdk, subscription)[1:]
    assert [(i.period_start, i.period_end) for i in cycle] == [
        (unix(start), unix(at(2028, 2, 29))),
        (unix(at(2028, 2, 29)), unix(at(2028, 3, 31))),
    ]


def test_a_declined_renewal_is_retried_then_the_subscription_is_canceled(sdk: ModuleType) -> None:
    start = at(2030, 6, 1)
    renewal = at(2030, 7, 1)
    clock, customer = clocked_customer(sdk, start)
    subscription = sdk.Subscription.create(customer=customer.id, items=[{"price": monthly_price(sdk, 2500).id}])
    # After the first payment, the customer's card starts failing every charge.
    failing = sdk.PaymentMethod.attach("pm_card_chargeCustomerFail", customer=customer.id)
    sdk.Customer.modify(customer.id, invoice_settings={"default_payment_method": failing.id})

    advance(sdk, clock, renewal + dt.timedelta(hours=1))
    invoice = invoices_of(sdk, subscription)[-1]
    assert (invoice.status, invoice.attempt_count, invoice.attempted, invoice.next_payment_attempt) == (
        "open",
        1,
        True,
        unix(renewal + DAY),
    )
    assert sdk.Subscription.retrieve(subscription.id).status == "past_due"

    advance(sdk, clock, renewal + 6 * DAY)
    invoice = sdk.Invoice.retrieve(invoice.id)
    # Tried at days 0, 1, 2, 3 and 5; next on day 7.
    assert (invoice.attempt_count, invoice.next_payment_attempt) == (5, unix(renewal + 7 * DAY))

    advance(sdk, clock, renewal + 15 * DAY)
    invoice = sdk.Invoice.retrieve(invoice.id)
    assert (invoice.status, invoice.attempt_count, invoice.next_payment_attempt) == ("open", 8, None)
    ended = sdk.Subscription.retrieve(subscription.id)
    last = unix(renewal + 14 * DAY)
    assert (ended.status, ended.canceled_at, ended.ended_at) == ("canceled", last, last)
    assert ended.cancellation_details.reason == "payment_failed"
    assert events(invoice.id, "invoice.payment_failed") == [
        ("invoice.payment_failed", unix(renewal + day * DAY)) for day in (0, 1, 2, 3, 5, 7, 10, 14)
    ]
    assert events(subscription.id)[-1] == ("customer.subscription.deleted", last)
    # Canceled: nothing more is billed.
    advance(sdk, clock, at(2030, 8, 20))
    assert len(invoices_of(sdk, subscription)) == 2


def test_a_trial_ends_with_its_first_invoice_paid_and_a_notice_three_days_before(sdk: ModuleType) -> None:
    start = at(2030, 3, 1, 12)
    trial_end = start + 14 * DAY
    clock, customer = clocked_customer(sdk, start)
    subscription = sdk.Subscription.create(
        customer=customer.id, items=[{"price": monthly_price(sdk).id}], trial_period_days=14
    )
    assert (subscription.status, subscription.trial_end) == ("trialing", unix(trial_end))
    advance(sdk, clock, trial_end + DAY)
    ended = sdk.Subscription.retrieve(subscription.id)
    assert ended.status == "active"
    first_paid = invoices_of(sdk, subscription)[-1]
    assert (first_paid.amount_paid, first_paid.status, first_paid.created) == (1000, "paid", unix(trial_end))
    assert events(subscription.id, "customer.subscription.trial_will_end") == [
        ("customer.subscription.trial_will_end", unix(trial_end - 3 * DAY))
    ]


def test_cancel_at_period_end_ends_the_subscription_without_billing_again(sdk: ModuleType) -> None:
    start = at(2030, 9, 10)
    period_end = at(2030, 10, 10)
    clock, customer = clocked_customer(sdk, start)
    subscription = sdk.Subscription.create(customer=customer.id, items=[{"price": monthly_price(sdk).id}])
    sdk.Subscription.modify(subscription.id, cancel_at_period_end=True)
    advance(sdk, clock, period_end - DAY)
    assert sdk.Subscription.retrieve(subscription.id).status == "active"
    advance(sdk, clock, period_end + DAY)
    ended = sdk.Subscription.retrieve(subscription.id)
    assert (ended.status, ended.ended_at) == ("canceled", unix(period_end))
    assert [i.billing_reason for i in invoices_of(sdk, subscription)] == ["subscription_create"]
    assert events(subscription.id)[-1] == ("customer.subscription.deleted", unix(period_end))
