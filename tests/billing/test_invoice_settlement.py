"""What voiding, writing off or confirming the payment of a subscription's invoice does to the subscription.

Through the official SDK against the live server; time moves with test clocks.
"""

from __future__ import annotations

import datetime as dt
from types import ModuleType
from typing import Any

import pytest
import stripe

from billfold.billing.models import Invoice, Subscription
from billfold.events.models import Event
from billfold.payments.models import Charge
from tests.api.test_subscriptions import T0, clocked_customer, monthly, move, unix

DAY = dt.timedelta(days=1)


def events(object_id: str, *kinds: str) -> list[tuple[str, dict[str, Any] | None]]:
    """The events about ``object_id`` (of ``kinds``, when given), oldest first, with previous_attributes."""
    rows = Event.objects.filter(object_id=object_id).order_by("pk")
    if kinds:
        rows = rows.filter(type__in=kinds)
    return [(e.type, e.data.get("previous_attributes")) for e in rows]


def past_due(sdk: ModuleType) -> tuple[Any, Any, Any]:
    """A subscription whose trial ended with a card that declines every charge: past_due, its invoice open."""
    clock, customer = clocked_customer(sdk, card="pm_card_chargeCustomerFail")
    subscription = sdk.Subscription.create(
        customer=customer.id, items=[{"price": monthly(sdk, 1000).id}], trial_end=unix(T0 + 7 * DAY)
    )
    move(sdk, clock, T0 + 7 * DAY)
    subscription = sdk.Subscription.retrieve(subscription.id)
    invoice = sdk.Invoice.retrieve(subscription.latest_invoice)
    assert (subscription.status, invoice.status, invoice.attempt_count) == ("past_due", "open", 1)
    assert invoice.next_payment_attempt == unix(T0 + 8 * DAY)
    return clock, subscription, invoice


def incomplete(sdk: ModuleType) -> tuple[Any, Any, Any]:
    """A new subscription whose first charge was declined (allow_incomplete): incomplete, its invoice open."""
    clock, customer = clocked_customer(sdk, card="pm_card_chargeCustomerFail")
    subscription = sdk.Subscription.create(customer=customer.id, items=[{"price": monthly(sdk, 1000).id}])
    invoice = sdk.Invoice.retrieve(subscription.latest_invoice)
    assert (subscription.status, invoice.status) == ("incomplete", "open")
    assert invoice.billing_reason == "subscription_create"
    return clock, subscription, invoice


@pytest.mark.parametrize("action", ["void_invoice", "mark_uncollectible"])
def test_closing_the_latest_invoice_of_a_past_due_subscription_makes_it_active(sdk: ModuleType, action: str) -> None:
    clock, subscription, invoice = past_due(sdk)

    closed = getattr(sdk.Invoice, action)(invoice.id)

    assert (closed.status, closed.next_payment_attempt, closed.auto_advance) == (
        "void" if action == "void_invoice" else "uncollectible",
        None,
        False,
    )
    after = sdk.Subscription.retrieve(subscription.id)
    assert (after.status, after.ended_at, after.latest_invoice) == ("active", None, invoice.id)
    assert events(subscription.id, "customer.subscription.updated")[-1] == (
        "customer.subscription.updated",
        {"status": "past_due"},
    )
    # The closed invoice is not retried, and the next period renews as usual (its card still declines).
    move(sdk, clock, T0 + 8 * DAY)
    assert Charge.objects.filter(customer__public_id=after.customer).count() == 1
    move(sdk, clock, dt.datetime(2030, 5, 8, tzinfo=dt.UTC))
    renewed = sdk.Subscription.retrieve(subscription.id)
    assert renewed.status == "past_due"
    assert renewed.latest_invoice != invoice.id


def test_voiding_the_first_invoice_of_an_incomplete_subscription_expires_it(sdk: ModuleType) -> None:
    clock, subscription, invoice = incomplete(sdk)

    voided = sdk.Invoice.void_invoice(invoice.id)

    assert voided.status == "void"
    after = sdk.Subscription.retrieve(subscription.id)
    assert (after.status, after.ended_at) == ("incomplete_expired", unix(T0))
    assert events(subscription.id) == [
        ("customer.subscription.created", None),
        ("customer.subscription.updated", {"ended_at": None, "status": "incomplete"}),
    ]
    # Ended: its 23 hours running out later changes nothing more.
    move(sdk, clock, T0 + 2 * DAY)
    assert Subscription.objects.get(public_id=subscription.id).status == "incomplete_expired"
    assert len(events(subscription.id)) == 2


def test_writing_off_the_first_invoice_of_an_incomplete_subscription_activates_it(sdk: ModuleType) -> None:
    _clock, subscription, invoice = incomplete(sdk)

    sdk.Invoice.mark_uncollectible(invoice.id)

    after = sdk.Subscription.retrieve(subscription.id)
    assert (after.status, after.ended_at) == ("active", None)
    assert events(subscription.id, "customer.subscription.updated") == [
        ("customer.subscription.updated", {"status": "incomplete"})
    ]


def test_an_invoice_that_is_not_the_latest_leaves_the_subscription_alone(sdk: ModuleType) -> None:
    _clock, subscription, first = past_due(sdk)
    # A one-off invoice of the same customer, not the subscription's.
    sdk.InvoiceItem.create(customer=subscription.customer, amount=700, currency="usd")
    other = sdk.Invoice.create(customer=subscription.customer, pending_invoice_items_behavior="include")
    sdk.Invoice.finalize_invoice(other.id, auto_advance=False)
    before = len(events(subscription.id))

    sdk.Invoice.void_invoice(other.id)

    assert sdk.Subscription.retrieve(subscription.id).status == "past_due"
    assert len(events(subscription.id)) == before
    assert first.id == Subscription.objects.get(public_id=subscription.id).latest_invoice.public_id  # type: ignore[union-attr]


def test_closing_an_invoice_twice_is_refused_and_changes_nothing(sdk: ModuleType) -> None:
    _clock, _subscription, invoice = past_due(sdk)
    sdk.Invoice.void_invoice(invoice.id)
    before = (
        list(Subscription.objects.values("status", "ended_at", "next_action_at")),
        list(Invoice.objects.values("status", "voided_at", "marked_uncollectible_at")),
        Event.objects.count(),
    )

    for action in ("void_invoice", "mark_uncollectible"):
        with pytest.raises(stripe.InvalidRequestError) as refused:
            getattr(sdk.Invoice, action)(invoice.id)
        assert refused.value.http_status == 400

    assert before == (
        list(Subscription.objects.values("status", "ended_at", "next_action_at")),
        list(Invoice.objects.values("status", "voided_at", "marked_uncollectible_at")),
        Event.objects.count(),
    )


# ---- Confirming the invoice's PaymentIntent ---------------------------------------------------------


def intent_of(invoice_id: str) -> str:
    intent = Invoice.objects.get(public_id=invoice_id).payment_intent
    assert intent is not None
    return intent.public_id


def test_confirming_a_default_incomplete_invoice_intent_pays_it_and_activates_the_subscription(
    sdk: ModuleType,
) -> None:
    _clock, customer = clocked_customer(sdk, card="pm_card_visa")
    subscription = sdk.Subscription.create(
        customer=customer.id, items=[{"price": monthly(sdk, 1500).id}], payment_behavior="default_incomplete"
    )
    invoice_id = subscription.latest_invoice
    assert subscription.status == "incomplete"
    assert Charge.objects.count() == 0

    confirmed = sdk.PaymentIntent.confirm(intent_of(invoice_id), payment_method="pm_card_visa")

    assert (confirmed.status, confirmed.amount_received) == ("succeeded", 1500)
    invoice = sdk.Invoice.retrieve(invoice_id)
    assert (invoice.status, invoice.amount_paid, invoice.amount_remaining, invoice.attempt_count) == (
        "paid",
        1500,
        0,
        1,
    )
    assert invoice.status_transitions.paid_at == unix(T0)
    assert [t for t, _ in events(invoice_id)][-2:] == ["invoice.paid", "invoice.payment_succeeded"]
    after = sdk.Subscription.retrieve(subscription.id)
    assert after.status == "active"
    assert events(subscription.id, "customer.subscription.updated") == [
        ("customer.subscription.updated", {"status": "incomplete"})
    ]


def test_confirming_after_a_declined_first_charge_activates_the_subscription(sdk: ModuleType) -> None:
    _clock, subscription, invoice = incomplete(sdk)

    confirmed = sdk.PaymentIntent.confirm(intent_of(invoice.id), payment_method="pm_card_visa")

    assert confirmed.status == "succeeded"
    paid = sdk.Invoice.retrieve(invoice.id)
    assert (paid.status, paid.amount_paid, paid.next_payment_attempt) == ("paid", 1000, None)
    assert sdk.Subscription.retrieve(subscription.id).status == "active"


def test_a_declined_confirmation_records_the_failure_and_starts_no_retries(sdk: ModuleType) -> None:
    _clock, customer = clocked_customer(sdk, card="pm_card_visa")
    subscription = sdk.Subscription.create(
        customer=customer.id, items=[{"price": monthly(sdk, 1500).id}], payment_behavior="default_incomplete"
    )
    invoice_id = subscription.latest_invoice

    with pytest.raises(stripe.CardError) as declined:
        sdk.PaymentIntent.confirm(intent_of(invoice_id), payment_method="pm_card_chargeDeclined")

    assert declined.value.code == "card_declined"
    invoice = sdk.Invoice.retrieve(invoice_id)
    assert (invoice.status, invoice.attempt_count, invoice.attempted, invoice.next_payment_attempt) == (
        "open",
        1,
        True,
        None,
    )
    assert [t for t, _ in events(invoice_id)][-1] == "invoice.payment_failed"
    assert sdk.Subscription.retrieve(subscription.id).status == "incomplete"
    # The customer tries again with a good card: paid, and the subscription starts.
    sdk.PaymentIntent.confirm(intent_of(invoice_id), payment_method="pm_card_visa")
    assert sdk.Invoice.retrieve(invoice_id).status == "paid"
    assert sdk.Subscription.retrieve(subscription.id).status == "active"


def test_an_invoice_whose_payment_is_being_made_cannot_be_voided(sdk: ModuleType) -> None:
    _clock, subscription, invoice = incomplete(sdk)
    intent = Invoice.objects.get(public_id=invoice.id).payment_intent
    assert intent is not None
    # A card payment in flight (its attempt committed, the processor not yet answered).
    intent.status = "processing"
    intent.save(update_fields=["status"])
    before = (
        list(Subscription.objects.values("status", "ended_at")),
        list(Invoice.objects.values("status", "voided_at")),
        Event.objects.count(),
    )

    with pytest.raises(stripe.InvalidRequestError) as refused:
        sdk.Invoice.void_invoice(invoice.id)

    assert refused.value.http_status == 400
    assert str(refused.value.user_message) == (
        f"Invoice {invoice.id} cannot be voided: its payment {intent.public_id} is processing. Wait for the payment "
        "to finish; a paid invoice can be refunded instead."
    )
    assert before == (
        list(Subscription.objects.values("status", "ended_at")),
        list(Invoice.objects.values("status", "voided_at")),
        Event.objects.count(),
    )
    assert subscription.status == "incomplete"
