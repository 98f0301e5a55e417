"""Payment intents, charges and refunds as services: outcomes, events, refusals and crash safety."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import transaction

from billfold.clocks import services as clock_services
from billfold.core.clock import frozen_at
from billfold.core.errors import DomainError, InvalidParam
from billfold.customers.models import Customer
from billfold.customers.services import customer_create
from billfold.events.models import Event
from billfold.events.rendering import render_object
from billfold.payments import intents, refunds
from billfold.payments.errors import PaymentIntentStateError, RefundRefused
from billfold.payments.models import Charge, PaymentAttempt, PaymentIntent, PaymentMethod, Refund
from billfold.payments.processors.base import ChargeResult
from billfold.payments.processors.registry import processor_get
from billfold.payments.processors.test_cards import LedgerEntry, TestCardProcessor
from billfold.payments.services import payment_method_resolve

MOMENT = dt.datetime(2030, 6, 15, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def frozen() -> Iterator[None]:
    with frozen_at(MOMENT):
        yield


def card_processor() -> TestCardProcessor:
    processor = processor_get("test")
    assert isinstance(processor, TestCardProcessor)
    return processor


def ledger_of(intent: PaymentIntent) -> list[LedgerEntry]:
    keys = set(PaymentAttempt.objects.filter(payment_intent=intent).values_list("processor_key", flat=True))
    return [entry for entry in card_processor().ledger() if entry.idempotency_key in keys]


def types(object_id: str) -> list[str]:
    return list(Event.objects.filter(object_id=object_id).order_by("pk").values_list("type", flat=True))


def counts() -> tuple[int, int, int, int, int, int]:
    return (
        PaymentIntent.objects.count(),
        PaymentAttempt.objects.count(),
        Charge.objects.count(),
        Refund.objects.count(),
        PaymentMethod.objects.count(),
        Event.objects.count(),
    )


def customer() -> Customer:
    return customer_create(livemode=False, values={"email": "jenny@example.com"})


def intent_for(
    magic_id: str | None = "pm_card_visa", *, amount: int = 2000, with_customer: bool = False, **kwargs: Any
) -> PaymentIntent:
    return intents.payment_intent_create(
        livemode=False,
        customer=customer() if with_customer else None,
        amount=amount,
        currency="usd",
        payment_method=magic_id,
        **kwargs,
    )


def test_create(db: None, frozen: None) -> None:
    buyer = customer()
    intent = intents.payment_intent_create(
        livemode=False,
        customer=buyer,
        amount=1999,
        currency="EUR",
        description="Order 42",
        metadata={"order": "42"},
        statement_descriptor="BILLFOLD SHOP",
        receipt_email="jenny@example.com",
        setup_future_usage="off_session",
    )
    assert (intent.status, intent.amount, intent.currency, intent.customer, intent.payment_method) == (
        "requires_payment_method",
        1999,
        "eur",
        buyer,
        None,
    )
    assert intent.client_secret.startswith(f"{intent.public_id}_secret_")
    assert len(intent.client_secret) == len(intent.public_id) + len("_secret_") + 25
    assert (intent.created, intent.metadata, intent.capture_method, intent.automatic_payment_methods) == (
        MOMENT,
        {"order": "42"},
        "automatic_async",
        True,
    )
    assert types(intent.public_id) == ["payment_intent.created"]
    with_card = intent_for("pm_card_visa")
    assert (with_card.status, with_card.payment_method is not None) == ("requires_confirmation", True)


@pytest.mark.parametrize(
    ("changes", "param", "code", "message"),
    [
        ({"amount": 49}, "amount", "amount_too_small", "Amount must be at least 0.50 USD"),
        ({"amount": 100_000_000}, "amount", "amount_too_large", "Amount must be no more than 999999.99 USD."),
        ({"currency": "xyz"}, "currency", "parameter_invalid", "Invalid currency: xyz."),
        ({"capture_method": "manual"}, "capture_method", "parameter_invalid", "capture_method=manual is not"),
        ({"payment_method_types": ["sepa_debit"]}, "payment_method_types[0]", "parameter_invalid", "The payment"),
        ({"statement_descriptor": "<shop>"}, "statement_descriptor", "parameter_invalid", "The statement"),
        ({"receipt_email": "nobody"}, "receipt_email", "email_invalid", "Invalid email address: nobody"),
        ({"payment_method": "pm_nothing"}, "payment_method", "resource_missing", "No such PaymentMethod"),
    ],
)
def test_create_refusals_write_nothing(db: None, changes: dict[str, Any], param: str, code: str, message: str) -> None:
    arguments: dict[str, Any] = {"livemode": False, "customer": None, "amount": 2000, "currency": "usd", **changes}
    with pytest.raises(DomainError) as raised:
        intents.payment_intent_create(**arguments)
    assert (raised.value.param, raised.value.code) == (param, code)
    assert raised.value.message.startswith(message)
    assert counts() == (0, 0, 0, 0, 0, 0)


def test_a_successful_payment(db: None, frozen: None) -> None:
    intent = intent_for("pm_card_visa", description="Order 42", statement_descriptor="BILLFOLD SHOP")
    paid = intents.payment_intent_confirm(payment_intent=intent)
    assert (paid.status, paid.amount_received, paid.last_payment_error, paid.next_action) == (
        "succeeded",
        2000,
        None,
        None,
    )
    charge = Charge.objects.get()
    assert paid.latest_charge == charge
    assert (charge.status, charge.amount, charge.amount_captured, charge.amount_refunded, charge.paid) == (
        "succeeded",
        2000,
        2000,
        0,
        True,
    )
    assert (charge.created, charge.description, charge.statement_descriptor, charge.failure_code) == (
        MOMENT,
        "Order 42",
        "BILLFOLD SHOP",
        None,
    )
    assert charge.outcome == {
        "advice_code": None,
        "network_advice_code": None,
        "network_decline_code": None,
        "network_status": "approved_by_network",
        "reason": None,
        "seller_message": "Payment complete.",
        "type": "authorized",
    }
    pm = paid.payment_method
    assert pm is not None
    assert charge.payment_method_details == {
        "brand": "visa",
        "last4": "4242",
        "exp_month": 6,
        "exp_year": 2031,
        "fingerprint": pm.card_fingerprint,
        "funding": "credit",
        "country": "US",
        "cvc_check": "pass",
    }
    attempt = PaymentAttempt.objects.get()
    assert (attempt.status, attempt.charge, attempt.amount, attempt.off_session) == ("succeeded", charge, 2000, False)
    assert [(e.kind, e.amount, e.currency, e.reference) for e in ledger_of(paid)] == [
        ("charge", 2000, "usd", pm.processor_reference)
    ]
    assert charge.processor_reference == ledger_of(paid)[0].result.reference
    assert types(paid.public_id) == ["payment_intent.created", "payment_intent.succeeded"]
    assert types(charge.public_id) == ["charge.succeeded"]
    succeeded = Event.objects.get(type="payment_intent.succeeded")
    assert succeeded.data == {"object": render_object(paid)}
    # The charge's event comes first, as Stripe sends them.
    assert Event.objects.get(type="charge.succeeded").pk < succeeded.pk


DECLINES = [
    ("pm_card_chargeDeclined", "card_declined", "generic_decline", "Your card was declined."),
    (
        "pm_card_chargeDeclinedInsufficientFunds",
        "card_declined",
        "insufficient_funds",
        "Your card has insufficient funds.",
    ),
    ("pm_card_chargeDeclinedLostCard", "card_declined", "lost_card", "Your card was declined."),
    ("pm_card_chargeDeclinedStolenCard", "card_declined", "stolen_card", "Your card was declined."),
    ("pm_card_chargeDeclinedExpiredCard", "expired_card", "expired_card", "Your card has expired."),
    ("pm_card_chargeDeclinedIncorrectCvc", "incorrect_cvc", "incorrect_cvc", "Your card's security code is incorrect."),
    (
        "pm_card_chargeDeclinedProcessingError",
        "processing_error",
        "processing_error",
        "An error occurred while processing your card. Try again in a little bit.",
    ),
    ("pm_card_chargeCustomerFail", "card_declined", "generic_decline", "Your card was declined."),
]


@pytest.mark.parametrize(("magic_id", "code", "decline_code", "message"), DECLINES)
def test_a_declined_payment_is_recorded_and_can_be_retried(
    db: None, magic_id: str, code: str, decline_code: str, message: str
) -> None:
    intent = intent_for(magic_id)
    declined_pm = intent.payment_method
    assert declined_pm is not None
    failed = intents.payment_intent_confirm(payment_intent=intent)
    charge = Charge.objects.get()
    assert (failed.status, failed.payment_method, failed.latest_charge, failed.amount_received) == (
        "requires_payment_method",
        None,
        charge,
        0,
    )
    assert failed.last_payment_error == {
        "charge": charge.public_id,
        "code": code,
        "decline_code": decline_code,
        "message": message,
        "payment_method": render_object(declined_pm),
        "type": "card_error",
    }
    assert (charge.status, charge.paid, charge.amount_captured, charge.failure_code, charge.failure_message) == (
        "failed",
        False,
        0,
        code,
        message,
    )
    assert charge.outcome["type"] == "issuer_declined"
    assert charge.outcome["reason"] == decline_code
    assert charge.outcome["network_status"] == "declined_by_network"
    assert charge.payment_method_details["cvc_check"] == ("fail" if code == "incorrect_cvc" else "pass")
    assert types(intent.public_id) == ["payment_intent.created", "payment_intent.payment_failed"]
    assert types(charge.public_id) == ["charge.failed"]

    retried = intents.payment_intent_confirm(payment_intent=failed, payment_method="pm_card_visa")
    assert (retried.status, retried.last_payment_error, retried.amount_received) == ("succeeded", None, 2000)
    assert Charge.objects.filter(payment_intent=intent).count() == 2
    assert len(ledger_of(intent)) == 2


def test_the_generic_decline_says_the_bank_gave_no_details(db: None) -> None:
    intents.payment_intent_confirm(payment_intent=intent_for("pm_card_chargeDeclined"))
    assert (
        Charge.objects.get().outcome["seller_message"]
        == "The bank did not return any further details with this decline."
    )
    intents.payment_intent_confirm(payment_intent=intent_for("pm_card_chargeDeclinedInsufficientFunds"))
    assert Charge.objects.order_by("pk").last().outcome["seller_message"] == (  # type: ignore[union-attr]
        "The bank returned the decline code `insufficient_funds`."
    )


def test_the_authentication_card_requires_action_on_session_and_declines_off_session(db: None) -> None:
    on_session = intents.payment_intent_confirm(payment_intent=intent_for("pm_card_authenticationRequired"))
    assert (on_session.status, on_session.next_action, on_session.latest_charge) == (
        "requires_action",
        {"type": "use_stripe_sdk", "use_stripe_sdk": {"type": "three_d_secure_redirect"}},
        None,
    )
    assert PaymentAttempt.objects.get().status == "requires_action"
    assert Charge.objects.count() == 0
    assert types(on_session.public_id) == ["payment_intent.created", "payment_intent.requires_action"]

    off_session = intents.payment_intent_confirm(
        payment_intent=intent_for("pm_card_authenticationRequired"), off_session=True
    )
    assert off_session.status == "requires_payment_method"
    assert off_session.last_payment_error is not None
    assert (off_session.last_payment_error["code"], off_session.last_payment_error["decline_code"]) == (
        "authentication_required",
        "authentication_required",
    )
    assert Charge.objects.get().outcome["reason"] == "authentication_required"


def test_confirming_again_from_requires_action_asks_again(db: None) -> None:
    intent = intents.payment_intent_confirm(payment_intent=intent_for("pm_card_authenticationRequired"))
    again = intents.payment_intent_confirm(payment_intent=intent, payment_method="pm_card_visa")
    assert (again.status, again.next_action) == ("succeeded", None)


def test_setup_future_usage_saves_the_card_to_the_customer(db: None) -> None:
    intent = intent_for("pm_card_mastercard", with_customer=True, setup_future_usage="off_session")
    paid = intents.payment_intent_confirm(payment_intent=intent)
    pm = PaymentMethod.objects.get()
    assert (paid.status, pm.customer, pm.card_cvc_check) == ("succeeded", intent.customer, "pass")
    assert types(pm.public_id) == ["payment_method.attached"]
    # A card that is declined is not saved.
    declined = intents.payment_intent_confirm(
        payment_intent=intent_for("pm_card_chargeCustomerFail", with_customer=True, setup_future_usage="on_session")
    )
    assert declined.status == "requires_payment_method"
    assert PaymentMethod.objects.filter(customer__isnull=False).count() == 1


def test_payment_methods_of_other_customers_cannot_be_used(db: None) -> None:
    owner = customer()
    pm = payment_method_resolve(public_id="pm_card_visa", livemode=False, param="payment_method")
    pm.customer = owner
    pm.save()
    stranger = intents.payment_intent_create(livemode=False, customer=customer(), amount=500, currency="usd")
    before = counts()
    with pytest.raises(DomainError) as raised:
        intents.payment_intent_confirm(payment_intent=stranger, payment_method=pm)
    assert (raised.value.code, raised.value.param) == ("payment_method_unexpected_state", "payment_method")
    assert counts() == before


def test_finished_intents_refuse_to_be_confirmed_or_canceled_and_nothing_changes(db: None) -> None:
    paid = intents.payment_intent_confirm(payment_intent=intent_for("pm_card_visa"))
    canceled = intents.payment_intent_cancel(payment_intent=intent_for(None), cancellation_reason="abandoned")
    no_method = intent_for(None)
    attempts: list[tuple[Callable[[], object], str]] = [
        (lambda: intents.payment_intent_confirm(payment_intent=paid), "You cannot confirm this PaymentIntent because"),
        (lambda: intents.payment_intent_cancel(payment_intent=paid), "You cannot cancel this PaymentIntent because it"),
        (lambda: intents.payment_intent_confirm(payment_intent=canceled, payment_method="pm_card_visa"), "You cannot"),
        (lambda: intents.payment_intent_update(payment_intent=paid, values={"amount": 100}), "You cannot update"),
        (lambda: intents.payment_intent_confirm(payment_intent=no_method), "You cannot confirm this PaymentIntent"),
    ]
    before = counts()
    for attempt, message in attempts:
        with pytest.raises(PaymentIntentStateError) as raised:
            attempt()
        assert raised.value.message.startswith(message)
    assert counts() == before
    assert intents.payment_intent_update(payment_intent=paid, values={"metadata": {"k": "v"}}).metadata == {"k": "v"}


def test_cancel(db: None, frozen: None) -> None:
    canceled = intents.payment_intent_cancel(
        payment_intent=intents.payment_intent_confirm(payment_intent=intent_for("pm_card_authenticationRequired")),
        cancellation_reason="requested_by_customer",
    )
    assert (canceled.status, canceled.canceled_at, canceled.cancellation_reason, canceled.next_action) == (
        "canceled",
        MOMENT,
        "requested_by_customer",
        None,
    )
    assert types(canceled.public_id)[-1] == "payment_intent.canceled"
    with pytest.raises(InvalidParam):
        intents.payment_intent_cancel(payment_intent=intent_for(None), cancellation_reason="bored")


def test_update(db: None) -> None:
    waiting = intents.payment_intent_confirm(payment_intent=intent_for("pm_card_authenticationRequired"))
    updated = intents.payment_intent_update(
        payment_intent=waiting, values={"amount": 3000, "description": "Bigger order", "metadata": {"a": "1"}}
    )
    assert (updated.status, updated.amount, updated.next_action, updated.description, updated.metadata) == (
        "requires_confirmation",
        3000,
        None,
        "Bigger order",
        {"a": "1"},
    )
    cleared = intents.payment_intent_update(payment_intent=updated, values={"payment_method": None})
    assert (cleared.status, cleared.payment_method) == ("requires_payment_method", None)
    # Stripe sends no event for an update.
    assert types(updated.public_id) == ["payment_intent.created", "payment_intent.requires_action"]


def test_an_invoice_payment_follows_its_invoice(db: None) -> None:
    intent = intent_for(None, invoice_id="in_123")
    with pytest.raises(PaymentIntentStateError, match="pays invoice in_123"):
        intents.payment_intent_update(payment_intent=intent, values={"amount": 100})
    assert (
        intents.payment_intent_update(payment_intent=intent, values={"description": "Invoice"}).invoice_id == "in_123"
    )


def test_a_customer_on_a_test_clock_pays_on_the_clock_time(db: None) -> None:
    clock_time = dt.datetime(2031, 1, 1, tzinfo=dt.UTC)
    test_clock = clock_services.test_clock_create(livemode=False, frozen_time=clock_time)
    buyer = customer_create(livemode=False, values={"test_clock": test_clock.public_id})
    intent = intents.payment_intent_create(
        livemode=False, customer=buyer, amount=500, currency="usd", payment_method="pm_card_visa"
    )
    paid = intents.payment_intent_confirm(payment_intent=intent)
    assert paid.latest_charge is not None
    assert (intent.created, paid.latest_charge.created) == (clock_time, clock_time)
    assert set(Event.objects.filter(object_id=paid.public_id).values_list("created", flat=True)) == {clock_time}


# ---- Crash safety ---------------------------------------------------------------------------


class Crash(BaseException):
    """The process dying between two statements."""


@pytest.fixture
def crash_once(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Make the next recording of an outcome die after the processor answered; calls are logged."""
    calls: list[str] = []
    real_charge = TestCardProcessor.charge
    real_record = intents._record_outcome

    def spying_charge(self: TestCardProcessor, **kwargs: Any) -> ChargeResult:
        calls.append(kwargs["idempotency_key"])
        return real_charge(self, **kwargs)

    def dying_record(attempt: PaymentAttempt, result: ChargeResult) -> PaymentIntent:
        monkeypatch.setattr(intents, "_record_outcome", real_record)
        raise Crash

    monkeypatch.setattr(TestCardProcessor, "charge", spying_charge)
    monkeypatch.setattr(intents, "_record_outcome", dying_record)
    return calls


def test_a_crash_after_the_charge_never_charges_twice(transactional_db: None, crash_once: list[str]) -> None:
    intent = intent_for("pm_card_visa")
    with pytest.raises(Crash):
        intents.payment_intent_confirm(payment_intent=intent)
    # What the crash left committed: the attempt, with the key the processor was given.
    attempt = PaymentAttempt.objects.get()
    assert (attempt.status, PaymentIntent.objects.get().status, Charge.objects.count()) == (
        "attempting",
        "processing",
        0,
    )
    assert crash_once == [attempt.processor_key]
    assert len(ledger_of(intent)) == 1

    # Confirming again finishes that attempt with the same key instead of making a new one.
    finished = intents.payment_intent_confirm(payment_intent=intent, payment_method="pm_card_mastercard")
    assert finished.status == "succeeded"
    assert crash_once == [attempt.processor_key, attempt.processor_key]
    assert len(ledger_of(intent)) == 1
    assert PaymentAttempt.objects.get().status == "succeeded"
    charge = Charge.objects.get()
    assert (charge.amount, charge.payment_method_details["brand"]) == (2000, "visa")
    assert types(intent.public_id) == ["payment_intent.created", "payment_intent.succeeded"]


def test_a_worker_resumes_attempts_left_by_a_crash(transactional_db: None, crash_once: list[str]) -> None:
    with frozen_at(MOMENT):
        intent = intent_for("pm_card_chargeDeclined")
        with pytest.raises(Crash):
            intents.payment_intent_confirm(payment_intent=intent)
        # An attempt still young may be a live request: left alone.
        assert intents.payment_attempts_resume(older_than=dt.timedelta(minutes=1)) == 0
    with frozen_at(MOMENT + dt.timedelta(minutes=2)):
        assert intents.payment_attempts_resume(older_than=dt.timedelta(minutes=1)) == 1
    assert PaymentIntent.objects.get().status == "requires_payment_method"
    assert (len(crash_once), len(set(crash_once)), len(ledger_of(intent))) == (2, 1, 1)
    assert Charge.objects.get().status == "failed"
    assert intents.payment_attempts_resume(older_than=dt.timedelta(0)) == 0


def test_an_intent_being_processed_cannot_be_changed(transactional_db: None, crash_once: list[str]) -> None:
    intent = intent_for("pm_card_visa")
    with pytest.raises(Crash):
        intents.payment_intent_confirm(payment_intent=intent)
    changes: list[Callable[[], object]] = [
        lambda: intents.payment_intent_cancel(payment_intent=intent),
        lambda: intents.payment_intent_update(payment_intent=intent, values={"amount": 100}),
    ]
    for attempt in changes:
        with pytest.raises(PaymentIntentStateError, match="while a payment attempt for it is being processed"):
            attempt()
    assert intents.payment_intent_resume(payment_intent=intent).status == "succeeded"
    assert len(ledger_of(intent)) == 1


def test_a_rerun_of_the_same_request_does_not_confirm_again(db: None) -> None:
    intent = intent_for("pm_card_chargeDeclined")
    first = intents.payment_intent_confirm(payment_intent=intent, request_key="key-1")
    again = intents.payment_intent_confirm(payment_intent=first, request_key="key-1")
    assert (again.status, PaymentAttempt.objects.count()) == ("requires_payment_method", 1)
    with pytest.raises(PaymentIntentStateError, match="missing a payment method"):
        intents.payment_intent_confirm(payment_intent=first, request_key="key-2")


def test_the_processor_is_never_called_inside_a_transaction(transactional_db: None) -> None:
    intent = intent_for("pm_card_visa")
    with transaction.atomic(), pytest.raises(RuntimeError, match="must run outside any database transaction"):
        intents.payment_intent_confirm(payment_intent=intent)
    assert (PaymentAttempt.objects.count(), PaymentIntent.objects.get().status) == (0, "requires_confirmation")


# ---- Refunds ----------------------------------------------------------------------------------


def paid_charge(amount: int = 2000) -> Charge:
    paid = intents.payment_intent_confirm(payment_intent=intent_for("pm_card_visa", amount=amount, with_customer=True))
    assert paid.latest_charge is not None
    return paid.latest_charge


def test_partial_then_full_refund(db: None, frozen: None) -> None:
    charge = paid_charge()
    partial = refunds.refund_create(charge=charge, amount=500, reason="requested_by_customer", metadata={"k": "v"})
    assert (partial.status, partial.amount, partial.currency, partial.reason, partial.metadata) == (
        "succeeded",
        500,
        "usd",
        "requested_by_customer",
        {"k": "v"},
    )
    assert (partial.payment_intent, partial.created) == (charge.payment_intent, MOMENT)
    charge.refresh_from_db()
    assert (charge.amount_refunded, charge.refunded) == (500, False)
    rest = refunds.refund_create(payment_intent=charge.payment_intent)
    charge.refresh_from_db()
    assert (rest.amount, charge.amount_refunded, charge.refunded) == (1500, 2000, True)
    assert types(partial.public_id) == ["refund.created"]
    assert types(charge.public_id) == ["charge.succeeded", "charge.refunded", "charge.refunded"]
    first_refunded = Event.objects.filter(type="charge.refunded").order_by("pk").first()
    assert first_refunded is not None
    assert first_refunded.data["previous_attributes"]["amount_refunded"] == 0
    assert first_refunded.data["object"]["amount_refunded"] == 500
    assert [e.kind for e in card_processor().ledger()[-2:]] == ["refund", "refund"]


def test_refund_refusals_write_nothing(db: None) -> None:
    charge = paid_charge(1000)
    refunds.refund_create(charge=charge, amount=600)
    declined = intents.payment_intent_confirm(payment_intent=intent_for("pm_card_chargeDeclined"))
    unpaid = intent_for(None)
    before = counts()
    cases: list[tuple[dict[str, Any], str | None, str]] = [
        ({"charge": charge, "amount": 401}, "amount_too_large", "Refund amount (4.01 USD) is greater than unrefunded"),
        ({"charge": declined.latest_charge}, "charge_not_refundable", "Charge"),
        ({"payment_intent": unpaid}, "charge_not_refundable", f"PaymentIntent {unpaid.public_id} does not have"),
        ({}, "parameter_invalid", "Name what to refund"),
        ({"charge": charge, "reason": "changed_mind"}, "parameter_invalid", "Invalid reason"),
    ]
    for arguments, code, message in cases:
        with pytest.raises(DomainError) as raised:
            refunds.refund_create(**arguments)
        assert (raised.value.code, raised.value.message[: len(message)]) == (code, message)
    refunds.refund_create(charge=charge)
    with pytest.raises(RefundRefused, match="has already been refunded") as already:
        refunds.refund_create(charge=charge)
    assert already.value.code == "charge_already_refunded"
    assert Refund.objects.count() == before[3] + 1


def test_a_crash_during_a_refund_never_refunds_twice(transactional_db: None, monkeypatch: pytest.MonkeyPatch) -> None:
    charge = paid_charge()
    real_record = refunds._record

    def dying_record(refund: Refund, result: Any) -> Refund:
        monkeypatch.setattr(refunds, "_record", real_record)
        raise Crash

    monkeypatch.setattr(refunds, "_record", dying_record)
    with pytest.raises(Crash):
        refunds.refund_create(charge=charge, amount=700)
    pending = Refund.objects.get()
    assert pending.status == "pending"
    # The pending refund counts against what is left.
    with pytest.raises(InvalidParam, match=r"unrefunded amount on charge \(13\.00 USD\)"):
        refunds.refund_create(charge=charge, amount=1301)
    assert refunds.refunds_resume(older_than=dt.timedelta(0)) == 1
    pending.refresh_from_db()
    charge.refresh_from_db()
    assert (pending.status, charge.amount_refunded) == ("succeeded", 700)
    assert [e.idempotency_key for e in card_processor().ledger()].count(pending.processor_key) == 1
    assert refunds.refund_resume(refund=pending).status == "succeeded"


def test_a_refund_the_processor_refuses_is_recorded_as_failed(db: None) -> None:
    charge = paid_charge()
    # A charge the processor does not know (made before a change of processor, say).
    Charge.objects.filter(pk=charge.pk).update(processor_reference="ch_elsewhere")
    failed = refunds.refund_create(charge=charge, amount=500)
    charge.refresh_from_db()
    assert (failed.status, failed.failure_reason, charge.amount_refunded) == ("failed", "unknown", 0)
    assert render_object(failed)["failure_reason"] == "unknown"
    assert types(failed.public_id) == ["refund.created", "refund.failed"]
    assert types(charge.public_id) == ["charge.succeeded"]
    # What failed is still refundable.
    assert refunds._refundable(charge) == 2000


def test_refund_metadata_update(db: None) -> None:
    refund = refunds.refund_create(charge=paid_charge(), metadata={"a": "1"})
    updated = refunds.refund_update(refund=refund, metadata={"a": None, "b": "2"})
    assert updated.metadata == {"b": "2"}
    assert types(refund.public_id) == ["refund.created", "refund.updated"]
