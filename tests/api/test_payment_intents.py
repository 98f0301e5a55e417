"""/v1/payment_intents through the official stripe SDK against a live server."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest

from billfold.core.clock import frozen_at, to_unix
from billfold.events.models import Event
from billfold.payments import intents
from billfold.payments.models import Charge, PaymentAttempt, PaymentIntent, PaymentMethod
from billfold.payments.processors.registry import processor_get
from billfold.payments.processors.test_cards import TestCardProcessor
from tests.api.test_shapes import RESOURCES, shape_differences

MOMENT = dt.datetime(2030, 6, 15, 12, 0, tzinfo=dt.UTC)
LONG_AGO = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)


def body(obj: Any) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(obj.last_response.body)
    return parsed


def event_types(object_id: str) -> list[str]:
    return list(Event.objects.filter(object_id=object_id).order_by("pk").values_list("type", flat=True))


def counts() -> tuple[int, int, int, int, int]:
    return (
        PaymentIntent.objects.count(),
        PaymentAttempt.objects.count(),
        Charge.objects.count(),
        PaymentMethod.objects.count(),
        Event.objects.count(),
    )


def charges_taken(intent_id: str) -> int:
    """How many charges the test processor carried out for this intent."""
    processor = processor_get("test")
    assert isinstance(processor, TestCardProcessor)
    keys = set(
        PaymentAttempt.objects.filter(payment_intent__public_id=intent_id).values_list("processor_key", flat=True)
    )
    return sum(1 for entry in processor.ledger() if entry.idempotency_key in keys)


def test_create_and_retrieve(sdk: ModuleType) -> None:
    customer = sdk.Customer.create()
    with frozen_at(MOMENT):
        intent = sdk.PaymentIntent.create(
            amount=2000,
            currency="usd",
            customer=customer.id,
            description="Order 42",
            metadata={"order": "42"},
            receipt_email="jenny@example.com",
            statement_descriptor="BILLFOLD SHOP",
            setup_future_usage="off_session",
        )
    assert re.fullmatch(r"pi_[A-Za-z0-9]{24}", intent.id)
    assert re.fullmatch(rf"{intent.id}_secret_[A-Za-z0-9]{{25}}", intent.client_secret)
    assert body(intent) == {
        "id": intent.id,
        "object": "payment_intent",
        "amount": 2000,
        "amount_capturable": 0,
        "amount_details": {"tip": {}},
        "amount_received": 0,
        "application": None,
        "application_fee_amount": None,
        "automatic_payment_methods": {"enabled": True},
        "canceled_at": None,
        "cancellation_reason": None,
        "capture_method": "automatic_async",
        "client_secret": intent.client_secret,
        "confirmation_method": "automatic",
        "created": to_unix(MOMENT),
        "currency": "usd",
        "customer": customer.id,
        "customer_account": None,
        "description": "Order 42",
        "excluded_payment_method_types": None,
        "last_payment_error": None,
        "latest_charge": None,
        "livemode": False,
        "managed_payments": None,
        "metadata": {"order": "42"},
        "next_action": None,
        "on_behalf_of": None,
        "payment_method": None,
        "payment_method_configuration_details": None,
        "payment_method_options": {
            "card": {
                "installments": None,
                "mandate_options": None,
                "network": None,
                "request_three_d_secure": "automatic",
            }
        },
        "payment_method_types": ["card"],
        "processing": None,
        "receipt_email": "jenny@example.com",
        "review": None,
        "setup_future_usage": "off_session",
        "shipping": None,
        "source": None,
        "statement_descriptor": "BILLFOLD SHOP",
        "statement_descriptor_suffix": None,
        "status": "requires_payment_method",
        "transfer_data": None,
        "transfer_group": None,
    }
    assert shape_differences(body(intent), RESOURCES["payment_intent"], "payment_intent") == []
    assert sdk.PaymentIntent.retrieve(intent.id).to_dict() == intent.to_dict()
    assert event_types(intent.id) == ["payment_intent.created"]
    assert Event.objects.get(object_id=intent.id).data == {"object": body(intent)}


def test_retrieve_checks_the_client_secret(sdk: ModuleType) -> None:
    intent = sdk.PaymentIntent.create(amount=500, currency="eur")
    assert sdk.PaymentIntent.retrieve(intent.id, client_secret=intent.client_secret).id == intent.id
    with pytest.raises(sdk.InvalidRequestError) as wrong:
        sdk.PaymentIntent.retrieve(intent.id, client_secret=f"{intent.id}_secret_wrong")
    assert wrong.value.param == "client_secret"
    with pytest.raises(sdk.InvalidRequestError) as missing:
        sdk.PaymentIntent.retrieve("pi_nothing")
    assert (missing.value.http_status, missing.value.user_message) == (404, "No such payment_intent: 'pi_nothing'")


def test_create_and_confirm_at_once(sdk: ModuleType) -> None:
    customer = sdk.Customer.create()
    with frozen_at(MOMENT):
        intent = sdk.PaymentIntent.create(
            amount=1999, currency="eur", customer=customer.id, payment_method="pm_card_visa", confirm=True
        )
    assert (intent.status, intent.amount_received, intent.last_payment_error) == ("succeeded", 1999, None)
    assert shape_differences(body(intent), RESOURCES["payment_intent"], "payment_intent") == []
    charge = sdk.Charge.retrieve(intent.latest_charge)
    assert (charge.status, charge.amount, charge.paid, charge.captured, charge.payment_intent) == (
        "succeeded",
        1999,
        True,
        True,
        intent.id,
    )
    assert (charge.customer, charge.payment_method, charge.created) == (
        customer.id,
        intent.payment_method,
        to_unix(MOMENT),
    )
    assert event_types(intent.id) == ["payment_intent.created", "payment_intent.succeeded"]
    assert event_types(charge.id) == ["charge.succeeded"]
    assert Event.objects.get(type="payment_intent.succeeded").data == {"object": body(intent)}
    assert charges_taken(intent.id) == 1


def test_confirm_in_steps_with_the_client_secret(sdk: ModuleType) -> None:
    intent = sdk.PaymentIntent.create(amount=500, currency="usd", payment_method_types=["card"])
    assert (intent.status, intent.automatic_payment_methods) == ("requires_payment_method", None)
    pm = sdk.PaymentMethod.create(type="card", card={"token": "tok_mastercard"})
    updated = sdk.PaymentIntent.modify(intent.id, payment_method=pm.id)
    assert (updated.status, updated.payment_method) == ("requires_confirmation", pm.id)
    with pytest.raises(sdk.InvalidRequestError) as wrong:
        sdk.PaymentIntent.confirm(intent.id, client_secret="pi_x_secret_y")
    assert wrong.value.param == "client_secret"
    confirmed = sdk.PaymentIntent.confirm(intent.id, client_secret=intent.client_secret)
    assert (confirmed.status, confirmed.payment_method) == ("succeeded", pm.id)


# magic id → (code, decline_code, message)
DECLINES = [
    ("pm_card_chargeDeclined", "card_declined", "generic_decline", "Your card was declined."),
    ("pm_card_visa_chargeDeclined", "card_declined", "generic_decline", "Your card was declined."),
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
def test_a_declined_card_is_a_402_that_keeps_the_attempt(
    sdk: ModuleType, magic_id: str, code: str, decline_code: str, message: str
) -> None:
    intent = sdk.PaymentIntent.create(amount=2000, currency="usd", payment_method=magic_id)
    with pytest.raises(sdk.CardError) as raised:
        sdk.PaymentIntent.confirm(intent.id)
    error = raised.value.error
    assert raised.value.http_status == 402
    assert (raised.value.code, error.decline_code, raised.value.user_message) == (code, decline_code, message)
    failed = sdk.PaymentIntent.retrieve(intent.id)
    assert (error.payment_intent.id, error.payment_intent.status) == (intent.id, "requires_payment_method")
    assert (error.charge, error.payment_method.id) == (failed.latest_charge, intent.payment_method)
    assert (failed.status, failed.payment_method, failed.amount_received) == ("requires_payment_method", None, 0)
    last_error = body(failed)["last_payment_error"]
    declined_pm = last_error.pop("payment_method")
    assert last_error == {
        "charge": failed.latest_charge,
        "code": code,
        "decline_code": decline_code,
        "message": message,
        "type": "card_error",
    }
    assert (declined_pm["id"], declined_pm["object"]) == (intent.payment_method, "payment_method")
    charge = sdk.Charge.retrieve(failed.latest_charge)
    assert (charge.status, charge.paid, charge.captured, charge.failure_code, charge.failure_message) == (
        "failed",
        False,
        False,
        code,
        message,
    )
    assert (charge.outcome.type, charge.outcome.reason) == ("issuer_declined", decline_code)
    assert shape_differences(body(charge), RESOURCES["charge"], "charge") == []
    assert event_types(intent.id) == ["payment_intent.created", "payment_intent.payment_failed"]
    assert event_types(charge.id) == ["charge.failed"]
    assert Event.objects.get(type="payment_intent.payment_failed").data == {"object": body(failed)}

    # The customer tries another card on the same intent.
    retried = sdk.PaymentIntent.confirm(intent.id, payment_method="pm_card_visa")
    assert (retried.status, retried.last_payment_error) == ("succeeded", None)
    assert [c.status for c in sdk.Charge.list(payment_intent=intent.id).data] == ["succeeded", "failed"]


@pytest.mark.parametrize("magic_id", ["pm_card_visa", "pm_card_mastercard", "pm_card_amex", "pm_card_visa_debit"])
def test_cards_that_pay(sdk: ModuleType, magic_id: str) -> None:
    intent = sdk.PaymentIntent.create(amount=700, currency="gbp", payment_method=magic_id, confirm=True)
    assert intent.status == "succeeded"
    charge = sdk.Charge.retrieve(intent.latest_charge)
    assert charge.payment_method_details.card.brand == sdk.PaymentMethod.retrieve(intent.payment_method).card.brand


def test_the_authentication_card(sdk: ModuleType) -> None:
    customer = sdk.Customer.create()
    on_session = sdk.PaymentIntent.create(
        amount=2000, currency="usd", customer=customer.id, payment_method="pm_card_authenticationRequired", confirm=True
    )
    assert (on_session.status, on_session.latest_charge) == ("requires_action", None)
    assert body(on_session)["next_action"] == {
        "type": "use_stripe_sdk",
        "use_stripe_sdk": {"type": "three_d_secure_redirect"},
    }
    assert event_types(on_session.id) == ["payment_intent.created", "payment_intent.requires_action"]
    canceled = sdk.PaymentIntent.cancel(on_session.id, cancellation_reason="abandoned")
    assert (canceled.status, canceled.next_action, canceled.cancellation_reason) == ("canceled", None, "abandoned")

    with pytest.raises(sdk.CardError) as raised:
        sdk.PaymentIntent.create(
            amount=2000,
            currency="usd",
            customer=customer.id,
            payment_method="pm_card_authenticationRequired",
            confirm=True,
            off_session=True,
        )
    assert (raised.value.code, raised.value.error.decline_code) == (
        "authentication_required",
        "authentication_required",
    )
    assert raised.value.error.payment_intent.status == "requires_payment_method"


def test_setup_future_usage_saves_the_card(sdk: ModuleType) -> None:
    customer = sdk.Customer.create()
    intent = sdk.PaymentIntent.create(
        amount=2000,
        currency="usd",
        customer=customer.id,
        payment_method="pm_card_visa",
        setup_future_usage="off_session",
        confirm=True,
    )
    assert [pm.id for pm in sdk.Customer.list_payment_methods(customer.id).data] == [intent.payment_method]
    # The saved card pays later without the customer.
    later = sdk.PaymentIntent.create(
        amount=900,
        currency="usd",
        customer=customer.id,
        payment_method=intent.payment_method,
        confirm=True,
        off_session="recurring",
    )
    assert later.status == "succeeded"


def test_update(sdk: ModuleType) -> None:
    customer = sdk.Customer.create()
    intent = sdk.PaymentIntent.create(amount=2000, currency="usd", metadata={"a": "1"})
    updated = sdk.PaymentIntent.modify(
        intent.id,
        amount=2500,
        currency="eur",
        customer=customer.id,
        description="Bigger order",
        receipt_email="jenny@example.com",
        metadata={"a": "", "b": "2"},
        payment_method="pm_card_visa",
    )
    assert (updated.amount, updated.currency, updated.customer, updated.status) == (
        2500,
        "eur",
        customer.id,
        "requires_confirmation",
    )
    assert (updated.description, updated.receipt_email, updated.metadata.to_dict()) == (
        "Bigger order",
        "jenny@example.com",
        {"b": "2"},
    )
    cleared = sdk.PaymentIntent.modify(intent.id, payment_method="", description="", receipt_email="")
    assert (cleared.payment_method, cleared.description, cleared.receipt_email, cleared.status) == (
        None,
        None,
        None,
        "requires_payment_method",
    )
    # Stripe has no event for an update.
    assert event_types(intent.id) == ["payment_intent.created"]


def test_finished_intents_refuse_changes_and_nothing_changes(sdk: ModuleType) -> None:
    paid = sdk.PaymentIntent.create(amount=2000, currency="usd", payment_method="pm_card_visa", confirm=True)
    canceled = sdk.PaymentIntent.cancel(sdk.PaymentIntent.create(amount=2000, currency="usd").id)
    waiting = sdk.PaymentIntent.create(amount=2000, currency="usd")
    before = counts()
    attempts: list[tuple[Callable[[], object], str]] = [
        (lambda: sdk.PaymentIntent.confirm(paid.id), "You cannot confirm this PaymentIntent because it has already"),
        (lambda: sdk.PaymentIntent.cancel(paid.id), "You cannot cancel this PaymentIntent because it has a status"),
        (lambda: sdk.PaymentIntent.confirm(canceled.id, payment_method="pm_card_visa"), "You cannot confirm"),
        (lambda: sdk.PaymentIntent.modify(paid.id, amount=100), "You cannot update amount of this PaymentIntent"),
        (lambda: sdk.PaymentIntent.confirm(waiting.id), "You cannot confirm this PaymentIntent because it's missing"),
    ]
    for attempt, message in attempts:
        with pytest.raises(sdk.InvalidRequestError) as raised:
            attempt()
        assert (raised.value.http_status, raised.value.code) == (400, "payment_intent_unexpected_state")
        assert raised.value.user_message.startswith(message)
    assert counts() == before
    assert sdk.PaymentIntent.modify(paid.id, metadata={"k": "v"}).metadata.to_dict() == {"k": "v"}


@pytest.mark.parametrize(
    ("params", "param", "code"),
    [
        ({"amount": 49}, "amount", "amount_too_small"),
        ({"amount": 100_000_000}, "amount", "amount_too_large"),
        ({"currency": "xyz"}, "currency", "parameter_invalid"),
        ({"capture_method": "manual"}, "capture_method", "parameter_invalid"),
        ({"payment_method_types": ["sepa_debit"]}, "payment_method_types[0]", "parameter_invalid"),
        (
            {"payment_method_types": ["card"], "automatic_payment_methods": {"enabled": True}},
            "payment_method_types",
            "parameters_exclusive",
        ),
        ({"customer": "cus_nothing"}, "customer", "resource_missing"),
        ({"payment_method": "pm_nothing"}, "payment_method", "resource_missing"),
        ({"confirm": True}, "payment_method", "payment_intent_unexpected_state"),
        ({"off_session": True}, "off_session", None),
        ({"return_url": "https://example.com"}, "return_url", "parameter_unknown"),
        ({"payment_method": "pm_card_visa", "confirm": True, "expand": ["latest_charge.nothing"]}, "expand[0]", None),
        ({"payment_method": "pm_card_visa", "confirm": True, "expand": ["invoice"]}, "expand[0]", None),
    ],
)
def test_create_refusals_write_nothing(sdk: ModuleType, params: dict[str, Any], param: str, code: str | None) -> None:
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.PaymentIntent.create(**{"amount": 2000, "currency": "usd", **params})
    assert raised.value.param == param
    if code is not None:
        assert raised.value.code == code
    assert counts() == (0, 0, 0, 0, 0)


def test_manual_capture_is_refused_with_a_reason(sdk: ModuleType) -> None:
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.PaymentIntent.create(amount=2000, currency="usd", capture_method="manual")
    assert raised.value.user_message == (
        "capture_method=manual is not available: Billfold captures card payments as soon as they are authorised. "
        "Use capture_method=automatic or automatic_async (the default)."
    )


def test_minimum_amounts_follow_the_currency(sdk: ModuleType) -> None:
    assert sdk.PaymentIntent.create(amount=30, currency="gbp").amount == 30
    assert sdk.PaymentIntent.create(amount=50, currency="jpy").amount == 50
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.PaymentIntent.create(amount=29, currency="gbp")
    assert raised.value.user_message == "Amount must be at least 0.30 GBP: card networks refuse smaller charges."


def test_list_filters_and_pages(sdk: ModuleType) -> None:
    customer = sdk.Customer.create()
    with frozen_at(LONG_AGO):
        early = sdk.PaymentIntent.create(amount=500, currency="usd")
    mine = sdk.PaymentIntent.create(amount=500, currency="usd", customer=customer.id)
    latest = sdk.PaymentIntent.create(amount=500, currency="usd")
    page = sdk.PaymentIntent.list(limit=2)
    assert page.url == "/v1/payment_intents"
    assert ([i.id for i in page.data], page.has_more) == ([latest.id, mine.id], True)
    assert [i.id for i in sdk.PaymentIntent.list(limit=1).auto_paging_iter()] == [latest.id, mine.id, early.id]
    assert [i.id for i in sdk.PaymentIntent.list(customer=customer.id).data] == [mine.id]
    assert [i.id for i in sdk.PaymentIntent.list(created={"lte": to_unix(LONG_AGO)}).data] == [early.id]
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.PaymentIntent.list(starting_after="pi_nothing")
    assert raised.value.code == "resource_missing"


def test_expand(sdk: ModuleType) -> None:
    customer = sdk.Customer.create(email="jenny@example.com")
    intent = sdk.PaymentIntent.create(
        amount=2000,
        currency="usd",
        customer=customer.id,
        payment_method="pm_card_visa",
        confirm=True,
        expand=["customer", "payment_method", "latest_charge.payment_intent"],
    )
    assert intent.customer.email == "jenny@example.com"
    assert intent.payment_method.card.last4 == "4242"
    assert (intent.latest_charge.object, intent.latest_charge.payment_intent.id) == ("charge", intent.id)
    page = sdk.PaymentIntent.list(expand=["data.latest_charge.customer"])
    assert page.data[0].latest_charge.customer.id == customer.id


def test_live_and_test_data_are_apart(sdk: ModuleType, live_key: str) -> None:
    intent = sdk.PaymentIntent.create(amount=500, currency="usd")
    live = sdk.PaymentIntent.create(amount=500, currency="usd", api_key=live_key)
    assert live.livemode is True
    assert [i.id for i in sdk.PaymentIntent.list(api_key=live_key).data] == [live.id]
    with pytest.raises(sdk.InvalidRequestError):
        sdk.PaymentIntent.retrieve(intent.id, api_key=live_key)
    # Magic test ids do not exist in live mode.
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.PaymentIntent.confirm(live.id, payment_method="pm_card_visa", api_key=live_key)
    assert raised.value.http_status == 404


def test_a_declined_confirm_is_replayed_under_its_idempotency_key(sdk: ModuleType) -> None:
    intent = sdk.PaymentIntent.create(amount=2000, currency="usd", payment_method="pm_card_chargeDeclined")
    for _ in range(2):
        with pytest.raises(sdk.CardError):
            sdk.PaymentIntent.confirm(intent.id, idempotency_key="confirm-once")
    assert event_types(intent.id) == ["payment_intent.created", "payment_intent.payment_failed"]
    assert PaymentAttempt.objects.count() == 1


def test_a_request_that_died_after_charging_is_finished_by_its_retry(
    sdk: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_record = intents._record_outcome

    def dying_record(*args: Any) -> PaymentIntent:
        monkeypatch.setattr(intents, "_record_outcome", real_record)
        raise RuntimeError("the process died here")

    monkeypatch.setattr(intents, "_record_outcome", dying_record)
    params: dict[str, Any] = {"amount": 2000, "currency": "usd", "payment_method": "pm_card_visa", "confirm": True}
    with pytest.raises(sdk.APIError):
        sdk.PaymentIntent.create(**params, idempotency_key="pay-order-42")
    left = PaymentIntent.objects.get()
    assert (left.status, PaymentAttempt.objects.get().status) == ("processing", "attempting")
    assert charges_taken(left.public_id) == 1

    # The client retries the same request: the same intent is finished, not a second one charged.
    retried = sdk.PaymentIntent.create(**params, idempotency_key="pay-order-42")
    assert (retried.id, retried.status) == (left.public_id, "succeeded")
    assert (PaymentIntent.objects.count(), Charge.objects.count(), charges_taken(retried.id)) == (1, 1, 1)
    assert event_types(retried.id) == ["payment_intent.created", "payment_intent.succeeded"]
    # Another request is another payment.
    assert sdk.PaymentIntent.create(**params, idempotency_key="pay-order-43").id != retried.id
