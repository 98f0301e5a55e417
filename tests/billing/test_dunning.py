"""Dunning: the retry schedule setting, and automatic invoice payments retried on it until paid or exhausted."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from billfold.billing import dunning, invoices
from billfold.billing.models import Invoice, Subscription
from billfold.billing.subscriptions.creation import NewSubscription
from billfold.billing.subscriptions.services import subscription_create
from billfold.catalog.services import price_create
from billfold.clocks import models as clock_models
from billfold.clocks import services as clock_services
from billfold.core.clock import frozen_at
from billfold.customers.models import Customer
from billfold.customers.services import customer_create, customer_update
from billfold.events.models import Event
from billfold.payments.models import Charge, PaymentAttempt
from billfold.payments.services import payment_method_attach_id

T0 = dt.datetime(2030, 3, 1, 9, 30, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)
# The default schedule's attempts, as moments after the first one.
DEFAULT_ATTEMPTS = [0, 1, 2, 3, 5, 7, 10, 14]


# ---- The setting -------------------------------------------------------------------------------


def test_the_default_schedule_is_eight_attempts_over_two_weeks() -> None:
    delays = dunning.retry_schedule()
    assert [d / DAY for d in delays] == DEFAULT_ATTEMPTS[1:]
    assert dunning.final_action() == "cancel"


@pytest.mark.parametrize(
    ("text", "delays"),
    [
        ("", ()),
        ("  ", ()),
        ("12h", (12 * HOUR,)),
        (" 12h, 1d ,3D", (12 * HOUR, DAY, 3 * DAY)),
        ("36h,2d", (36 * HOUR, 2 * DAY)),
    ],
)
def test_schedules_are_read_in_hours_and_days(text: str, delays: tuple[dt.timedelta, ...]) -> None:
    assert dunning.parse_retry_schedule(text) == delays


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1d,x", "BILLFOLD_RETRY_SCHEDULE='1d,x': entry 2 ('x') is not a delay."),
        ("1d,,2d", "BILLFOLD_RETRY_SCHEDULE='1d,,2d': entry 2 ('') is not a delay."),
        ("3", "entry 1 ('3') is not a delay."),
        ("1w", "entry 1 ('1w') is not a delay."),
        ("-1d", "entry 1 ('-1d') is not a delay."),
        ("0h", "entry 1 (0h) must come after the one before it (and after 0)"),
        ("2d,1d", "entry 2 (1d) must come after the one before it"),
        ("2d,48h", "entry 2 (48h) must come after the one before it"),
        ("366d", "entry 1 (366d) is more than 365 days after the first failed attempt"),
    ],
)
def test_an_unreadable_schedule_is_refused_with_the_setting_named(text: str, message: str) -> None:
    with pytest.raises(ImproperlyConfigured) as raised:
        dunning.parse_retry_schedule(text)
    assert message in str(raised.value)


def test_the_final_action_is_cancel_or_unpaid() -> None:
    assert dunning.parse_final_action(" Unpaid ") == "unpaid"
    with pytest.raises(ImproperlyConfigured) as raised:
        dunning.parse_final_action("delete")
    assert str(raised.value).startswith("BILLFOLD_DUNNING_FINAL_ACTION='delete' is not an action: use cancel")


def test_startup_checks_both_settings() -> None:
    with override_settings(BILLFOLD_RETRY_SCHEDULE="1d,2d"):
        dunning.settings_check()
    with override_settings(BILLFOLD_RETRY_SCHEDULE="soon"), pytest.raises(ImproperlyConfigured):
        dunning.settings_check()
    with override_settings(BILLFOLD_DUNNING_FINAL_ACTION="void"), pytest.raises(ImproperlyConfigured):
        dunning.settings_check()


# ---- Retrying an automatic invoice ---------------------------------------------------------------


def buyer(card: str | None = "pm_card_chargeCustomerFail", **values: Any) -> Customer:
    """A customer whose default card (attached fine) declines every charge, unless another is given."""
    if card is not None:
        values |= {"payment_method": card, "invoice_settings": {"default_payment_method": card}}
    return customer_create(livemode=False, values={"email": "jenny@example.com", **values})


def automatic_invoice(customer: Customer, amount: int = 2000) -> Invoice:
    """An open invoice the worker collects: charged automatically, auto_advance on."""
    invoices.invoiceitem_create(customer=customer, livemode=False, amount=amount, currency="usd")
    draft = invoices.invoice_create(customer=customer, livemode=False, auto_advance=True)
    return invoices.invoice_finalize(invoice=draft)


def retry(invoice: Invoice, at: dt.datetime) -> Invoice:
    with frozen_at(at):
        done = dunning.invoice_retry_due(invoice_id=invoice.pk, now=at)
    assert done is not None
    return done


def state(invoice: Invoice) -> tuple[str, int, dt.datetime | None]:
    invoice.refresh_from_db()
    return invoice.status, invoice.attempt_count, invoice.next_payment_attempt


def types(object_id: str) -> list[str]:
    return list(Event.objects.filter(object_id=object_id).order_by("pk").values_list("type", flat=True))


def test_a_failing_invoice_is_tried_eight_times_over_two_weeks(db: None) -> None:
    with frozen_at(T0):
        invoice = automatic_invoice(buyer())
    # Finalized: the worker charges it at once.
    assert state(invoice) == ("open", 0, T0)
    for number, day in enumerate(DEFAULT_ATTEMPTS, start=1):
        attempt_at = T0 + day * DAY
        # Not yet due a moment before: nothing happens.
        before = Charge.objects.count()
        assert state(retry(invoice, attempt_at - dt.timedelta(seconds=1)))[1] == number - 1
        assert Charge.objects.count() == before
        retried = retry(invoice, attempt_at)
        following = T0 + DEFAULT_ATTEMPTS[number] * DAY if number < len(DEFAULT_ATTEMPTS) else None
        assert (retried.status, retried.attempt_count, retried.next_payment_attempt) == ("open", number, following)
        assert Charge.objects.filter(status="failed").count() == number
    # Exhausted: left open, as Stripe's default, and never tried again.
    invoice.refresh_from_db()
    assert dunning.retries_exhausted(invoice)
    assert state(retry(invoice, T0 + 60 * DAY)) == ("open", 8, None)
    assert Charge.objects.count() == 8
    assert types(invoice.public_id) == ["invoice.created", "invoice.finalized"] + ["invoice.payment_failed"] * 8
    failed_at = list(
        Event.objects.filter(object_id=invoice.public_id, type="invoice.payment_failed")
        .order_by("pk")
        .values_list("created", flat=True)
    )
    assert failed_at == [T0 + day * DAY for day in DEFAULT_ATTEMPTS]


def test_a_retry_that_succeeds_pays_the_invoice_and_ends_the_schedule(db: None) -> None:
    with frozen_at(T0):
        customer = buyer()
        invoice = automatic_invoice(customer)
    retry(invoice, T0)
    retry(invoice, T0 + DAY)
    assert state(invoice) == ("open", 2, T0 + 2 * DAY)
    with frozen_at(T0 + DAY + HOUR):
        card = payment_method_attach_id(public_id="pm_card_visa", customer=customer, param="payment_method")
        customer_update(customer=customer, values={"invoice_settings": {"default_payment_method": card.public_id}})
    paid = retry(invoice, T0 + 2 * DAY)
    assert (paid.status, paid.attempt_count, paid.next_payment_attempt, paid.paid_at) == (
        "paid",
        3,
        None,
        T0 + 2 * DAY,
    )
    assert list(Charge.objects.order_by("pk").values_list("status", flat=True)) == ["failed", "failed", "succeeded"]
    # Paid: a later call does nothing.
    assert state(retry(invoice, T0 + 3 * DAY)) == ("paid", 3, None)
    assert Charge.objects.count() == 3


def test_calling_twice_for_the_same_due_attempt_charges_once(db: None) -> None:
    with frozen_at(T0):
        invoice = automatic_invoice(buyer())
    retry(invoice, T0)
    retry(invoice, T0)
    assert state(invoice) == ("open", 1, T0 + DAY)
    assert PaymentAttempt.objects.count() == 1


def test_a_customer_without_a_card_fails_the_attempt_on_schedule(db: None) -> None:
    with frozen_at(T0):
        invoice = automatic_invoice(buyer(card=None))
    failed = retry(invoice, T0)
    assert (failed.status, failed.attempt_count, failed.attempted, failed.next_payment_attempt) == (
        "open",
        1,
        True,
        T0 + DAY,
    )
    assert types(invoice.public_id)[-1] == "invoice.payment_failed"
    assert Charge.objects.count() == 0


def test_an_automatic_draft_is_finalized_and_charged_an_hour_after_creation(db: None) -> None:
    with frozen_at(T0):
        customer = buyer(card="pm_card_visa")
        invoices.invoiceitem_create(customer=customer, livemode=False, amount=1500, currency="usd")
        draft = invoices.invoice_create(customer=customer, livemode=False, auto_advance=True)
    assert state(draft) == ("draft", 0, T0 + HOUR)
    assert state(retry(draft, T0 + HOUR - dt.timedelta(seconds=1))) == ("draft", 0, T0 + HOUR)
    paid = retry(draft, T0 + HOUR)
    assert (paid.status, paid.attempt_count, paid.finalized_at, paid.paid_at) == ("paid", 1, T0 + HOUR, T0 + HOUR)
    assert types(draft.public_id) == [
        "invoice.created",
        "invoice.finalized",
        "invoice.paid",
        "invoice.payment_succeeded",
    ]


@override_settings(BILLFOLD_RETRY_SCHEDULE="12h,36h")
def test_a_custom_schedule_times_each_retry_from_the_attempt_before(db: None) -> None:
    with frozen_at(T0):
        invoice = automatic_invoice(buyer())
    assert state(retry(invoice, T0)) == ("open", 1, T0 + 12 * HOUR)
    # A worker that was down runs the retry late: the next one keeps its distance from it.
    late = T0 + 20 * HOUR
    assert state(retry(invoice, late)) == ("open", 2, late + 24 * HOUR)
    last = retry(invoice, late + 24 * HOUR)
    assert state(last) == ("open", 3, None)
    assert dunning.retries_exhausted(last)


@override_settings(BILLFOLD_RETRY_SCHEDULE="")
def test_no_retries_when_the_schedule_is_empty(db: None) -> None:
    with frozen_at(T0):
        invoice = automatic_invoice(buyer())
    only = retry(invoice, T0)
    assert state(only) == ("open", 1, None)
    assert dunning.retries_exhausted(only)


def test_invoices_not_collected_automatically_are_never_retried(db: None) -> None:
    with frozen_at(T0):
        customer = buyer()
        invoices.invoiceitem_create(customer=customer, livemode=False, amount=2000, currency="usd")
        manual = invoices.invoice_finalize(invoice=invoices.invoice_create(customer=customer, livemode=False))
        declined = invoices.invoice_pay(invoice=manual)
    # A payment asked for by hand is not part of a schedule.
    assert (declined.status, declined.attempt_count, declined.next_payment_attempt) == ("open", 1, None)
    assert state(retry(declined, T0 + 30 * DAY)) == ("open", 1, None)
    assert not dunning.retries_exhausted(declined)


# ---- A subscription's renewal declined, through a test clock -------------------------------------

MONTHLY_START = dt.datetime(2030, 1, 15, 12, 0, tzinfo=dt.UTC)
RENEWAL = dt.datetime(2030, 2, 15, 12, 0, tzinfo=dt.UTC)


def clocked_subscription() -> tuple[clock_models.TestClock, Subscription]:
    """A monthly $10 subscription, paid at creation by card, whose renewal will be declined."""
    with frozen_at(MONTHLY_START):
        test_clock = clock_services.test_clock_create(livemode=False, frozen_time=MONTHLY_START)
        customer = buyer(card="pm_card_visa", test_clock=test_clock.public_id)
        price = price_create(
            livemode=False,
            values={
                "product_data": {"name": "Pro"},
                "currency": "usd",
                "unit_amount": 1000,
                "recurring": {"interval": "month"},
            },
        )
        subscription = subscription_create(
            customer=customer, livemode=False, spec=NewSubscription(items=[{"price": price}])
        )
        assert subscription.status == "active"
        # The card on file stops working after the first payment.
        customer.refresh_from_db()
        failing = payment_method_attach_id(
            public_id="pm_card_chargeCustomerFail", customer=customer, param="payment_method"
        )
        customer_update(customer=customer, values={"invoice_settings": {"default_payment_method": failing.public_id}})
    return test_clock, subscription


def advance(test_clock: clock_models.TestClock, to: dt.datetime) -> None:
    with frozen_at(MONTHLY_START):
        advanced = clock_services.test_clock_advance(test_clock=test_clock, frozen_time=to)
    assert (advanced.status, advanced.frozen_time) == ("ready", to)


def renewal_invoice(subscription: Subscription) -> Invoice:
    return Invoice.objects.get(subscription_id=subscription.public_id, billing_reason="subscription_cycle")


def subscription_events(subscription: Subscription) -> list[tuple[str, Any, dt.datetime]]:
    return [
        (event.type, event.data["object"]["status"], event.created)
        for event in Event.objects.filter(object_id=subscription.public_id).order_by("pk")
    ]


@pytest.mark.parametrize(("final_action", "ended"), [("cancel", "canceled"), ("unpaid", "unpaid")])
def test_a_declined_renewal_is_retried_then_the_subscription_ends_per_the_setting(
    db: None, final_action: str, ended: str
) -> None:
    test_clock, subscription = clocked_subscription()
    with override_settings(BILLFOLD_DUNNING_FINAL_ACTION=final_action):
        advance(test_clock, RENEWAL)
        invoice = renewal_invoice(subscription)
        assert state(invoice) == ("open", 1, RENEWAL + DAY)
        subscription.refresh_from_db()
        assert subscription.status == "past_due"

        # Each advance runs the retries that fall in between, at their own times.
        for attempts, day in enumerate(DEFAULT_ATTEMPTS[1:-1], start=2):
            advance(test_clock, RENEWAL + day * DAY + HOUR)
            following = RENEWAL + DEFAULT_ATTEMPTS[attempts] * DAY
            assert state(invoice) == ("open", attempts, following)
            subscription.refresh_from_db()
            assert subscription.status == "past_due"

        advance(test_clock, RENEWAL + 14 * DAY + HOUR)
        assert state(invoice) == ("open", 8, None)
        subscription.refresh_from_db()
        assert subscription.status == ended

    charges = Charge.objects.filter(payment_intent=invoice.payment_intent).order_by("pk")
    assert [c.status for c in charges] == ["failed"] * 8
    assert [c.created for c in charges] == [RENEWAL + day * DAY for day in DEFAULT_ATTEMPTS]
    failed_at = list(
        Event.objects.filter(object_id=invoice.public_id, type="invoice.payment_failed")
        .order_by("pk")
        .values_list("created", flat=True)
    )
    assert failed_at == [RENEWAL + day * DAY for day in DEFAULT_ATTEMPTS]
    last = RENEWAL + 14 * DAY
    if ended == "canceled":
        assert (subscription.canceled_at, subscription.ended_at) == (last, last)
        assert subscription.cancellation_details["reason"] == "payment_failed"
        assert subscription_events(subscription)[-1] == ("customer.subscription.deleted", "canceled", last)
    else:
        assert subscription_events(subscription)[-1] == ("customer.subscription.updated", "unpaid", last)
    past_due = [e for e in subscription_events(subscription) if e[1] == "past_due"]
    assert past_due[0] == ("customer.subscription.updated", "past_due", RENEWAL)


def test_a_retry_that_succeeds_makes_the_subscription_active_again(db: None) -> None:
    test_clock, subscription = clocked_subscription()
    advance(test_clock, RENEWAL + DAY + HOUR)
    invoice = renewal_invoice(subscription)
    assert state(invoice) == ("open", 2, RENEWAL + 2 * DAY)
    customer = Customer.objects.get(pk=subscription.customer_id)
    with frozen_at(RENEWAL + DAY + HOUR):
        card = payment_method_attach_id(public_id="pm_card_visa", customer=customer, param="payment_method")
        customer_update(customer=customer, values={"invoice_settings": {"default_payment_method": card.public_id}})
    advance(test_clock, RENEWAL + 2 * DAY + HOUR)
    invoice.refresh_from_db()
    assert (invoice.status, invoice.attempt_count, invoice.next_payment_attempt, invoice.paid_at) == (
        "paid",
        3,
        None,
        RENEWAL + 2 * DAY,
    )
    subscription.refresh_from_db()
    assert subscription.status == "active"
    assert subscription_events(subscription)[-1] == ("customer.subscription.updated", "active", RENEWAL + 2 * DAY)
    # Nothing more is tried, and the next period renews on time.
    advance(test_clock, dt.datetime(2030, 3, 15, 12, 0, tzinfo=dt.UTC))
    assert Invoice.objects.filter(subscription_id=subscription.public_id).count() == 3
