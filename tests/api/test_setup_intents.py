"""/v1/setup_intents through the official stripe SDK against a live server."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest

from billfold.core.clock import frozen_at, to_unix
from billfold.customers.models import Customer
from billfold.events.models import Event
from billfold.payments.models import PaymentMethod, SetupIntent
from tests.api.test_shapes import RESOURCES, shape_differences

MOMENT = dt.datetime(2030, 6, 15, 12, 0, tzinfo=dt.UTC)
LONG_AGO = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)


def counts() -> tuple[int, int, int, int]:
    return Customer.objects.count(), PaymentMethod.objects.count(), SetupIntent.objects.count(), Event.objects.count()


def event_types(object_id: str) -> list[str]:
    return list(Event.objects.filter(object_id=object_id).order_by("pk").values_list("type", flat=True))


def body(obj: Any) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(obj.last_response.body)
    return parsed


def test_create_and_retrieve(sdk: ModuleType) -> None:
    with frozen_at(MOMENT):
        intent = sdk.SetupIntent.create(metadata={"flow": "portal"}, description="Add a card")
    assert re.fullmatch(r"seti_[A-Za-z0-9]{24}", intent.id)
    assert re.fullmatch(rf"{intent.id}_secret_[A-Za-z0-9]{{32}}", intent.client_secret)
    assert body(intent) == {
        "id": intent.id,
        "object": "setup_intent",
        "application": None,
        "automatic_payment_methods": None,
        "cancellation_reason": None,
        "client_secret": intent.client_secret,
        "created": to_unix(MOMENT),
        "customer": None,
        "description": "Add a card",
        "excluded_payment_method_types": None,
        "flow_directions": None,
        "last_setup_error": None,
        "latest_attempt": None,
        "livemode": False,
        "mandate": None,
        "metadata": {"flow": "portal"},
        "next_action": None,
        "on_behalf_of": None,
        "payment_method": None,
        "payment_method_configuration_details": None,
        "payment_method_options": {
            "card": {"mandate_options": None, "network": None, "request_three_d_secure": "automatic"}
        },
        "payment_method_types": ["card"],
        "single_use_mandate": None,
        "status": "requires_payment_method",
        "usage": "off_session",
    }
    assert shape_differences(body(intent), RESOURCES["setup_intent"], "setup_intent") == []
    assert sdk.SetupIntent.retrieve(intent.id).to_dict() == intent.to_dict()
    assert event_types(intent.id) == ["setup_intent.created"]
    assert Event.objects.get(object_id=intent.id).data == {"object": body(intent)}


def test_retrieve_checks_the_client_secret(sdk: ModuleType) -> None:
    intent = sdk.SetupIntent.create()
    assert sdk.SetupIntent.retrieve(intent.id, client_secret=intent.client_secret).id == intent.id
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.SetupIntent.retrieve(intent.id, client_secret=f"{intent.id}_secret_wrong")
    assert raised.value.param == "client_secret"
    with pytest.raises(sdk.InvalidRequestError) as missing:
        sdk.SetupIntent.retrieve("seti_nothing")
    assert (missing.value.http_status, missing.value.user_message) == (404, "No such setupintent: 'seti_nothing'")


def test_create_and_confirm_at_once_attaches_the_card(sdk: ModuleType) -> None:
    customer = sdk.Customer.create()
    intent = sdk.SetupIntent.create(
        customer=customer.id, payment_method="pm_card_visa", confirm=True, usage="on_session"
    )
    assert (intent.status, intent.customer, intent.usage, intent.last_setup_error) == (
        "succeeded",
        customer.id,
        "on_session",
        None,
    )
    pm = sdk.PaymentMethod.retrieve(intent.payment_method)
    assert (pm.customer, pm.card.last4, pm.card.checks.cvc_check) == (customer.id, "4242", "pass")
    assert event_types(intent.id) == ["setup_intent.created", "setup_intent.succeeded"]
    assert event_types(pm.id) == ["payment_method.attached"]
    succeeded = Event.objects.get(object_id=intent.id, type="setup_intent.succeeded")
    assert succeeded.data == {"object": body(intent)}
    assert shape_differences(body(intent), RESOURCES["setup_intent"], "setup_intent") == []


def test_confirm_in_steps(sdk: ModuleType) -> None:
    customer = sdk.Customer.create()
    pm = sdk.PaymentMethod.create(type="card", card={"token": "tok_mastercard"})
    intent = sdk.SetupIntent.create(customer=customer.id)
    assert intent.status == "requires_payment_method"
    updated = sdk.SetupIntent.modify(intent.id, payment_method=pm.id)
    assert (updated.status, updated.payment_method) == ("requires_confirmation", pm.id)
    confirmed = sdk.SetupIntent.confirm(intent.id, client_secret=intent.client_secret)
    assert confirmed.status == "succeeded"
    assert sdk.PaymentMethod.retrieve(pm.id).customer == customer.id


def test_confirm_with_a_payment_method(sdk: ModuleType) -> None:
    intent = sdk.SetupIntent.create()
    confirmed = sdk.SetupIntent.confirm(intent.id, payment_method="pm_card_amex")
    assert confirmed.status == "succeeded"
    # Without a customer the card is set up but saved to nobody.
    assert sdk.PaymentMethod.retrieve(confirmed.payment_method).customer is None


DECLINES = [
    ("pm_card_chargeDeclined", "card_declined", "generic_decline", "Your card was declined."),
    (
        "pm_card_visa_chargeDeclinedInsufficientFunds",
        "card_declined",
        "insufficient_funds",
        "Your card has insufficient funds.",
    ),
    ("pm_card_chargeDeclinedExpiredCard", "expired_card", "expired_card", "Your card has expired."),
    ("pm_card_chargeDeclinedIncorrectCvc", "incorrect_cvc", "incorrect_cvc", "Your card's security code is incorrect."),
]


@pytest.mark.parametrize(("magic_id", "code", "decline_code", "message"), DECLINES)
def test_a_declined_card_sends_the_intent_back_with_the_error(
    sdk: ModuleType, magic_id: str, code: str, decline_code: str, message: str
) -> None:
    customer = sdk.Customer.create()
    intent = sdk.SetupIntent.create(customer=customer.id, payment_method=magic_id)
    with pytest.raises(sdk.CardError) as raised:
        sdk.SetupIntent.confirm(intent.id)
    # As Stripe: a 402 card_error whose envelope carries the intent, which keeps the failed attempt.
    assert raised.value.http_status == 402
    assert (raised.value.code, raised.value.error.decline_code) == (code, decline_code)
    assert raised.value.user_message == message
    assert raised.value.error.setup_intent.id == intent.id
    failed = sdk.SetupIntent.retrieve(intent.id)
    assert (failed.status, failed.payment_method) == ("requires_payment_method", None)
    error = body(failed)["last_setup_error"]
    declined_pm = error.pop("payment_method")
    assert error == {"code": code, "decline_code": decline_code, "message": message, "type": "card_error"}
    assert declined_pm["object"] == "payment_method"
    assert declined_pm["customer"] is None
    assert sdk.PaymentMethod.retrieve(declined_pm["id"]).customer is None
    assert sdk.Customer.list_payment_methods(customer.id).data == []
    assert event_types(intent.id) == ["setup_intent.created", "setup_intent.setup_failed"]
    assert Event.objects.get(object_id=intent.id, type="setup_intent.setup_failed").data == {"object": body(failed)}

    # The customer tries another card on the same intent.
    retried = sdk.SetupIntent.confirm(intent.id, payment_method="pm_card_visa")
    assert (retried.status, retried.last_setup_error) == ("succeeded", None)
    assert [pm.id for pm in sdk.Customer.list_payment_methods(customer.id).data] == [retried.payment_method]


def test_the_authentication_card_requires_action_until_canceled(sdk: ModuleType) -> None:
    customer = sdk.Customer.create()
    intent = sdk.SetupIntent.create(customer=customer.id, payment_method="pm_card_authenticationRequired", confirm=True)
    assert intent.status == "requires_action"
    assert body(intent)["next_action"] == {
        "type": "use_stripe_sdk",
        "use_stripe_sdk": {"type": "three_d_secure_redirect"},
    }
    assert sdk.PaymentMethod.retrieve(intent.payment_method).customer is None
    canceled = sdk.SetupIntent.cancel(intent.id, cancellation_reason="abandoned")
    assert (canceled.status, canceled.cancellation_reason, canceled.next_action) == ("canceled", "abandoned", None)
    assert event_types(intent.id) == ["setup_intent.created", "setup_intent.requires_action", "setup_intent.canceled"]


def test_the_card_that_fails_charges_sets_up(sdk: ModuleType) -> None:
    customer = sdk.Customer.create()
    intent = sdk.SetupIntent.create(customer=customer.id, payment_method="pm_card_chargeCustomerFail", confirm=True)
    assert intent.status == "succeeded"


def test_finished_intents_refuse_changes_and_nothing_changes(sdk: ModuleType) -> None:
    customer = sdk.Customer.create()
    succeeded = sdk.SetupIntent.create(customer=customer.id, payment_method="pm_card_visa", confirm=True)
    canceled = sdk.SetupIntent.cancel(sdk.SetupIntent.create().id)
    before = counts()
    attempts: list[tuple[Callable[[], object], str]] = [
        (lambda: sdk.SetupIntent.confirm(succeeded.id), "You cannot confirm this SetupIntent because it has already"),
        (lambda: sdk.SetupIntent.cancel(succeeded.id), "You cannot cancel this SetupIntent because it has a status"),
        (lambda: sdk.SetupIntent.confirm(canceled.id, payment_method="pm_card_visa"), "You cannot confirm"),
        (lambda: sdk.SetupIntent.modify(succeeded.id, payment_method="pm_card_visa"), "You cannot change"),
    ]
    for attempt, message in attempts:
        with pytest.raises(sdk.InvalidRequestError) as raised:
            attempt()
        assert (raised.value.http_status, raised.value.code) == (400, "setup_intent_unexpected_state")
        assert raised.value.user_message.startswith(message)
    assert counts() == before
    # Metadata can still be changed.
    assert sdk.SetupIntent.modify(succeeded.id, metadata={"k": "v"}).metadata.to_dict() == {"k": "v"}


def test_confirm_without_a_payment_method_is_refused(sdk: ModuleType) -> None:
    intent = sdk.SetupIntent.create()
    before = counts()
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.SetupIntent.confirm(intent.id)
    assert (raised.value.code, raised.value.param) == ("setup_intent_unexpected_state", "payment_method")
    with pytest.raises(sdk.InvalidRequestError):
        sdk.SetupIntent.create(confirm=True)
    assert counts() == before


@pytest.mark.parametrize(
    ("params", "param", "code"),
    [
        ({"payment_method_types": ["sepa_debit"]}, "payment_method_types[0]", "parameter_invalid"),
        ({"usage": "sometimes"}, "usage", None),
        ({"customer": "cus_nothing"}, "customer", "resource_missing"),
        ({"payment_method": "pm_nothing"}, "payment_method", "resource_missing"),
        ({"payment_method": "pm_card_visa", "payment_method_types": ["card", "link"]}, "payment_method_types[1]", None),
        ({"return_url": "https://example.com"}, "return_url", "parameter_unknown"),
    ],
)
def test_create_refusals_write_nothing(sdk: ModuleType, params: dict[str, Any], param: str, code: str | None) -> None:
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.SetupIntent.create(**params)
    assert raised.value.param == param
    if code is not None:
        assert raised.value.code == code
    assert counts() == (0, 0, 0, 0)


def test_payment_methods_of_other_customers_cannot_be_used(sdk: ModuleType) -> None:
    owner = sdk.Customer.create()
    stranger = sdk.Customer.create()
    pm = sdk.PaymentMethod.attach("pm_card_visa", customer=owner.id)
    before = counts()
    for params in ({"customer": stranger.id, "payment_method": pm.id}, {"payment_method": pm.id}):
        with pytest.raises(sdk.InvalidRequestError) as raised:
            sdk.SetupIntent.create(**params)
        assert (raised.value.code, raised.value.param) == ("payment_method_unexpected_state", "payment_method")
    intent = sdk.SetupIntent.create(customer=stranger.id)
    with pytest.raises(sdk.InvalidRequestError):
        sdk.SetupIntent.confirm(intent.id, payment_method=pm.id)
    assert counts() == (before[0], before[1], before[2] + 1, before[3] + 1)
    assert sdk.SetupIntent.create(customer=owner.id, payment_method=pm.id, confirm=True).status == "succeeded"


def test_update(sdk: ModuleType) -> None:
    customer = sdk.Customer.create()
    intent = sdk.SetupIntent.create(payment_method="pm_card_visa", metadata={"a": "1"})
    updated = sdk.SetupIntent.modify(
        intent.id, customer=customer.id, description="Card for renewals", metadata={"a": "", "b": "2"}
    )
    assert (updated.customer, updated.description, updated.status) == (
        customer.id,
        "Card for renewals",
        "requires_confirmation",
    )
    assert updated.metadata.to_dict() == {"b": "2"}
    cleared = sdk.SetupIntent.modify(intent.id, payment_method="", description="")
    assert (cleared.payment_method, cleared.description, cleared.status) == (None, None, "requires_payment_method")
    # Stripe has no event for an update.
    assert event_types(intent.id) == ["setup_intent.created"]


def test_list_filters_and_pages(sdk: ModuleType) -> None:
    customer = sdk.Customer.create()
    with frozen_at(LONG_AGO):
        early = sdk.SetupIntent.create()
    mine = sdk.SetupIntent.create(customer=customer.id, payment_method="pm_card_visa")
    latest = sdk.SetupIntent.create()
    page = sdk.SetupIntent.list(limit=2)
    assert page.url == "/v1/setup_intents"
    assert ([i.id for i in page.data], page.has_more) == ([latest.id, mine.id], True)
    assert [i.id for i in sdk.SetupIntent.list(limit=1).auto_paging_iter()] == [latest.id, mine.id, early.id]
    assert [i.id for i in sdk.SetupIntent.list(customer=customer.id).data] == [mine.id]
    assert [i.id for i in sdk.SetupIntent.list(payment_method=mine.payment_method).data] == [mine.id]
    assert [i.id for i in sdk.SetupIntent.list(created={"lte": to_unix(LONG_AGO)}).data] == [early.id]
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.SetupIntent.list(starting_after="seti_nothing")
    assert raised.value.code == "resource_missing"


def test_expand(sdk: ModuleType) -> None:
    customer = sdk.Customer.create(email="jenny@example.com")
    intent = sdk.SetupIntent.create(
        customer=customer.id, payment_method="pm_card_visa", confirm=True, expand=["customer", "payment_method"]
    )
    assert intent.customer.email == "jenny@example.com"
    assert intent.payment_method.card.last4 == "4242"
    page = sdk.SetupIntent.list(expand=["data.payment_method.customer"])
    assert page.data[0].payment_method.customer.id == customer.id


def test_live_and_test_data_are_apart(sdk: ModuleType, live_key: str) -> None:
    intent = sdk.SetupIntent.create()
    live = sdk.SetupIntent.create(api_key=live_key)
    assert live.livemode is True
    assert [i.id for i in sdk.SetupIntent.list(api_key=live_key).data] == [live.id]
    with pytest.raises(sdk.InvalidRequestError):
        sdk.SetupIntent.retrieve(intent.id, api_key=live_key)
    # Magic test ids do not exist in live mode.
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.SetupIntent.confirm(live.id, payment_method="pm_card_visa", api_key=live_key)
    assert raised.value.http_status == 404


def test_create_and_confirm_with_a_declined_card_is_a_402_that_keeps_the_intent(sdk: ModuleType) -> None:
    customer = sdk.Customer.create()
    with pytest.raises(sdk.CardError) as raised:
        sdk.SetupIntent.create(customer=customer.id, payment_method="pm_card_chargeDeclined", confirm=True)
    kept = raised.value.error.setup_intent
    assert (kept.status, kept.last_setup_error.decline_code) == ("requires_payment_method", "generic_decline")
    assert sdk.SetupIntent.retrieve(kept.id).status == "requires_payment_method"
    assert event_types(kept.id) == ["setup_intent.created", "setup_intent.setup_failed"]


def test_a_declined_confirm_is_replayed_under_its_idempotency_key(sdk: ModuleType) -> None:
    intent = sdk.SetupIntent.create(customer=sdk.Customer.create().id, payment_method="pm_card_chargeDeclined")
    for _ in range(2):
        with pytest.raises(sdk.CardError):
            sdk.SetupIntent.confirm(intent.id, idempotency_key="confirm-once")
    assert event_types(intent.id) == ["setup_intent.created", "setup_intent.setup_failed"]
