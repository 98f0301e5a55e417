"""/v1/payment_methods and a customer's payment methods, through the official stripe SDK."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import re
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
from django.core.management import call_command

from billfold.core.clock import frozen_at, to_unix
from billfold.customers.models import Customer
from billfold.events.models import Event
from billfold.payments.cards import card_fingerprint
from billfold.payments.models import PaymentMethod
from tests.api.test_shapes import RESOURCES, shape_differences

MOMENT = dt.datetime(2030, 6, 15, 12, 0, tzinfo=dt.UTC)
VISA = "4242424242424242"


def counts() -> tuple[int, int, int]:
    return Customer.objects.count(), PaymentMethod.objects.count(), Event.objects.count()


def card(number: str = VISA, **overrides: Any) -> dict[str, Any]:
    return {"number": number, "exp_month": 8, "exp_year": 2031, "cvc": "123", **overrides}


def event_types(object_id: str) -> list[str]:
    return list(Event.objects.filter(object_id=object_id).order_by("pk").values_list("type", flat=True))


def test_create_from_card_details(sdk: ModuleType) -> None:
    with frozen_at(MOMENT):
        pm = sdk.PaymentMethod.create(
            type="card",
            card=card(),
            billing_details={"name": "Jenny Rosen", "email": "jenny@example.com", "address": {"country": "US"}},
            metadata={"source": "signup"},
        )
    assert re.fullmatch(r"pm_[A-Za-z0-9]{24}", pm.id)
    assert json.loads(pm.last_response.body) == {
        "id": pm.id,
        "object": "payment_method",
        "allow_redisplay": "unspecified",
        "billing_details": {
            "address": {
                "city": None,
                "country": "US",
                "line1": None,
                "line2": None,
                "postal_code": None,
                "state": None,
            },
            "email": "jenny@example.com",
            "name": "Jenny Rosen",
            "phone": None,
            "tax_id": None,
        },
        "card": {
            "brand": "visa",
            "checks": {"address_line1_check": None, "address_postal_code_check": None, "cvc_check": "unchecked"},
            "country": "US",
            "display_brand": "visa",
            "exp_month": 8,
            "exp_year": 2031,
            "fingerprint": card_fingerprint(VISA),
            "funding": "credit",
            "generated_from": None,
            "last4": "4242",
            "networks": {"available": ["visa"], "preferred": None},
            "regulated_status": None,
            "three_d_secure_usage": {"supported": True},
            "wallet": None,
        },
        "created": to_unix(MOMENT),
        "customer": None,
        "customer_account": None,
        "livemode": False,
        "metadata": {"source": "signup"},
        "type": "card",
    }
    # Stripe's example carries its own metadata keys; metadata is free-form, so it is left out.
    example = {**RESOURCES["payment_method"], "metadata": {}}
    assert shape_differences(json.loads(pm.last_response.body), example, "payment_method") == []
    assert sdk.PaymentMethod.retrieve(pm.id).to_dict() == pm.to_dict()
    # Stripe has no event for a payment method that is not attached to anyone.
    assert event_types(pm.id) == []


@pytest.mark.parametrize(
    ("number", "cvc", "brand", "display_brand", "funding"),
    [
        ("5555555555554444", "123", "mastercard", "mastercard", "credit"),
        ("5200828282828210", "123", "mastercard", "mastercard", "debit"),
        ("5105105105105100", "123", "mastercard", "mastercard", "prepaid"),
        ("4000056655665556", "123", "visa", "visa", "debit"),
        ("378282246310005", "1234", "amex", "american_express", "credit"),
        ("6011111111111117", "123", "discover", "discover", "credit"),
        ("3056930009020004", "123", "diners", "diners_club", "credit"),
        ("3566002020360505", "123", "jcb", "jcb", "credit"),
        ("6200000000000005", "123", "unionpay", "union_pay", "credit"),
    ],
)
def test_brands(sdk: ModuleType, number: str, cvc: str, brand: str, display_brand: str, funding: str) -> None:
    pm = sdk.PaymentMethod.create(type="card", card=card(number, cvc=cvc))
    assert (pm.card.brand, pm.card.display_brand, pm.card.funding, pm.card.last4) == (
        brand,
        display_brand,
        funding,
        number[-4:],
    )
    assert pm.card.networks.available == [brand]


def test_create_from_a_token_matches_the_card(sdk: ModuleType) -> None:
    with frozen_at(MOMENT):
        from_token = sdk.PaymentMethod.create(type="card", card={"token": "tok_visa"})
    from_number = sdk.PaymentMethod.create(type="card", card=card())
    assert (from_token.card.last4, from_token.card.exp_month, from_token.card.exp_year) == ("4242", 6, 2031)
    assert from_token.card.fingerprint == from_number.card.fingerprint
    assert sdk.PaymentMethod.create(type="card", card={"token": "tok_amex"}).card.brand == "amex"


@pytest.mark.parametrize(
    ("card_params", "code", "param", "message"),
    [
        (card("4242424242424241"), "incorrect_number", "card[number]", "Your card number is incorrect."),
        (card("4242"), "invalid_number", "card[number]", "Your card number is not a valid card number."),
        (card(exp_month=13), "invalid_expiry_month", "card[exp_month]", "Your card's expiration month is invalid."),
        (card(exp_month=5, exp_year=2030), "invalid_expiry_month", "card[exp_month]", None),
        (card(exp_year=2029), "invalid_expiry_year", "card[exp_year]", "Your card's expiration year is invalid."),
        (card(cvc="12"), "invalid_cvc", "card[cvc]", "Your card's security code is invalid."),
        (card("378282246310005", cvc="123"), "invalid_cvc", "card[cvc]", None),
        (card("4111111111111111"), "card_declined", None, None),
    ],
)
def test_card_details_refused_and_nothing_written(
    sdk: ModuleType, card_params: dict[str, Any], code: str, param: str | None, message: str | None
) -> None:
    with frozen_at(MOMENT), pytest.raises(sdk.CardError) as raised:
        sdk.PaymentMethod.create(type="card", card=card_params)
    assert raised.value.http_status == 402
    assert (raised.value.code, raised.value.param) == (code, param)
    if message is not None:
        assert raised.value.user_message == message
    assert counts() == (0, 0, 0)


def test_a_real_card_number_is_refused_in_test_mode(sdk: ModuleType) -> None:
    with pytest.raises(sdk.CardError) as raised:
        sdk.PaymentMethod.create(type="card", card=card("4111111111111111"))
    assert raised.value.error.decline_code == "test_mode_live_card"
    assert "4111111111111111" not in raised.value.user_message


@pytest.mark.parametrize(
    ("params", "param", "code"),
    [
        ({"type": "card"}, "card", "parameter_missing"),
        ({"type": "sepa_debit", "card": card()}, "type", None),
        ({"card": card()}, "type", "parameter_missing"),
        ({"type": "card", "card": {"number": VISA, "exp_month": 8}}, "card[exp_year]", "parameter_missing"),
        ({"type": "card", "card": {"token": "tok_visa", "number": VISA}}, "card[number]", "parameters_exclusive"),
        ({"type": "card", "card": {"token": "tok_nothing"}}, "card[token]", "resource_missing"),
        ({"type": "card", "card": card(), "allow_redisplay": "sometimes"}, "allow_redisplay", None),
        ({"type": "card", "card": {**card(), "number": ["4242"]}}, "card[number]", None),
    ],
)
def test_create_refusals_name_the_param(sdk: ModuleType, params: dict[str, Any], param: str, code: str | None) -> None:
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.PaymentMethod.create(**params)
    assert (raised.value.param, raised.value.code) == (param, code)
    assert VISA not in str(raised.value.user_message)
    assert counts() == (0, 0, 0)


DECLINES = [
    ("4000000000000002", "pm_card_chargeDeclined", "card_declined", "generic_decline", "Your card was declined."),
    (
        "4000000000009995",
        "pm_card_chargeDeclinedInsufficientFunds",
        "card_declined",
        "insufficient_funds",
        "Your card has insufficient funds.",
    ),
    ("4000000000009987", "pm_card_chargeDeclinedLostCard", "card_declined", "lost_card", "Your card was declined."),
    ("4000000000009979", "pm_card_chargeDeclinedStolenCard", "card_declined", "stolen_card", "Your card was declined."),
    ("4000000000000069", "pm_card_chargeDeclinedExpiredCard", "expired_card", "expired_card", "Your card has expired."),
    (
        "4000000000000127",
        "pm_card_chargeDeclinedIncorrectCvc",
        "incorrect_cvc",
        "incorrect_cvc",
        "Your card's security code is incorrect.",
    ),
    (
        "4000000000000119",
        "pm_card_chargeDeclinedProcessingError",
        "processing_error",
        "processing_error",
        "An error occurred while processing your card. Try again in a little bit.",
    ),
]


@pytest.mark.parametrize(("number", "magic_id", "code", "decline_code", "message"), DECLINES)
def test_declining_cards_cannot_be_attached(
    sdk: ModuleType, number: str, magic_id: str, code: str, decline_code: str, message: str
) -> None:
    customer = sdk.Customer.create()
    pm = sdk.PaymentMethod.create(type="card", card=card(number))
    before = counts()
    for attempt in (pm.id, magic_id):
        with pytest.raises(sdk.CardError) as raised:
            sdk.PaymentMethod.attach(attempt, customer=customer.id)
        assert raised.value.http_status == 402
        assert (raised.value.code, raised.value.error.decline_code, raised.value.user_message) == (
            code,
            decline_code,
            message,
        )
        assert raised.value.error.type == "card_error"
        assert counts() == before
    assert sdk.PaymentMethod.retrieve(pm.id).customer is None
    assert sdk.Customer.list_payment_methods(customer.id).data == []


@pytest.mark.parametrize("magic_id", ["pm_card_chargeCustomerFail", "pm_card_authenticationRequired"])
def test_cards_that_fail_only_later_can_be_attached(sdk: ModuleType, magic_id: str) -> None:
    customer = sdk.Customer.create()
    pm = sdk.PaymentMethod.attach(magic_id, customer=customer.id)
    assert pm.customer == customer.id
    assert pm.card.last4 == {"pm_card_chargeCustomerFail": "0341", "pm_card_authenticationRequired": "3184"}[magic_id]


def test_magic_ids_attach_a_new_payment_method(sdk: ModuleType) -> None:
    customer = sdk.Customer.create()
    first = sdk.PaymentMethod.attach("pm_card_visa", customer=customer.id)
    second = sdk.PaymentMethod.attach("pm_card_visa", customer=customer.id)
    assert first.id != second.id
    assert first.id.startswith("pm_") and first.id != "pm_card_visa"
    assert (first.customer, first.card.brand, first.card.last4) == (customer.id, "visa", "4242")
    assert first.card.checks.cvc_check == "pass"
    assert event_types(first.id) == ["payment_method.attached"]
    attached = Event.objects.get(object_id=first.id)
    assert attached.data == {"object": json.loads(first.last_response.body)}
    assert [pm.id for pm in sdk.Customer.list_payment_methods(customer.id).data] == [second.id, first.id]


def test_retrieving_a_magic_id_gives_a_usable_payment_method(sdk: ModuleType) -> None:
    pm = sdk.PaymentMethod.retrieve("pm_card_mastercard")
    assert pm.id != "pm_card_mastercard"
    assert (pm.card.brand, pm.customer) == ("mastercard", None)
    assert sdk.PaymentMethod.retrieve(pm.id).to_dict() == pm.to_dict()
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.PaymentMethod.retrieve("pm_card_nothing")
    assert (raised.value.http_status, raised.value.code, raised.value.param) == (
        404,
        "resource_missing",
        "payment_method",
    )
    assert raised.value.user_message == "No such PaymentMethod: 'pm_card_nothing'"


def test_attach_detach_and_list(sdk: ModuleType) -> None:
    customer = sdk.Customer.create()
    other = sdk.Customer.create()
    visa = sdk.PaymentMethod.create(type="card", card=card())
    mastercard = sdk.PaymentMethod.create(type="card", card=card("5555555555554444"))
    loose = sdk.PaymentMethod.create(type="card", card=card("6011111111111117"))
    assert sdk.PaymentMethod.attach(visa.id, customer=customer.id).customer == customer.id
    sdk.PaymentMethod.attach(mastercard.id, customer=customer.id)
    # Attaching again to the same customer changes nothing.
    assert sdk.PaymentMethod.attach(visa.id, customer=customer.id).customer == customer.id
    assert event_types(visa.id) == ["payment_method.attached"]

    listed = sdk.Customer.list_payment_methods(customer.id)
    assert listed.url == f"/v1/customers/{customer.id}/payment_methods"
    assert [pm.id for pm in listed.data] == [mastercard.id, visa.id]
    assert [pm.id for pm in sdk.PaymentMethod.list(customer=customer.id, type="card").data] == [mastercard.id, visa.id]
    assert sdk.PaymentMethod.list(customer=customer.id, type="sepa_debit").data == []
    assert [pm.id for pm in sdk.PaymentMethod.list(limit=100).data] == [loose.id, mastercard.id, visa.id]
    assert sdk.Customer.retrieve_payment_method(customer.id, visa.id).id == visa.id
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.Customer.retrieve_payment_method(other.id, visa.id)
    assert raised.value.http_status == 404

    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.PaymentMethod.attach(visa.id, customer=other.id)
    assert raised.value.code == "payment_method_unexpected_state"

    detached = sdk.PaymentMethod.detach(visa.id)
    assert detached.customer is None
    assert event_types(visa.id) == ["payment_method.attached", "payment_method.detached"]
    detach_event = Event.objects.get(object_id=visa.id, type="payment_method.detached")
    assert detach_event.data["previous_attributes"] == {"customer": customer.id}
    assert detach_event.data["object"]["customer"] is None
    assert [pm.id for pm in sdk.Customer.list_payment_methods(customer.id).data] == [mastercard.id]

    before = counts()
    refusals: list[Callable[[], object]] = [
        lambda: sdk.PaymentMethod.detach(visa.id),
        lambda: sdk.PaymentMethod.attach(visa.id, customer=customer.id),
    ]
    for refused in refusals:
        with pytest.raises(sdk.InvalidRequestError) as raised:
            refused()
        assert (raised.value.http_status, raised.value.code) == (400, "payment_method_unexpected_state")
    assert counts() == before


def test_attach_to_a_missing_customer_writes_nothing(sdk: ModuleType) -> None:
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.PaymentMethod.attach("pm_card_visa", customer="cus_nothing")
    assert (raised.value.http_status, raised.value.param) == (404, "customer")
    assert counts() == (0, 0, 0)


def test_update(sdk: ModuleType) -> None:
    customer = sdk.Customer.create()
    pm = sdk.PaymentMethod.create(type="card", card=card(), billing_details={"name": "Jenny", "phone": "+1555"})
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.PaymentMethod.modify(pm.id, metadata={"a": "b"})
    assert raised.value.code == "payment_method_unexpected_state"
    sdk.PaymentMethod.attach(pm.id, customer=customer.id)
    with frozen_at(MOMENT):
        updated = sdk.PaymentMethod.modify(
            pm.id,
            billing_details={"name": "Jenny Rosen", "phone": "", "address": {"city": "Berlin"}},
            card={"exp_month": 1, "exp_year": 33},
            allow_redisplay="always",
            metadata={"note": "renewed"},
        )
    assert updated.billing_details.to_dict() == {
        "address": {
            "city": "Berlin",
            "country": None,
            "line1": None,
            "line2": None,
            "postal_code": None,
            "state": None,
        },
        "email": None,
        "name": "Jenny Rosen",
        "phone": None,
        "tax_id": None,
    }
    assert (updated.card.exp_month, updated.card.exp_year, updated.allow_redisplay) == (1, 2033, "always")
    assert updated.metadata.to_dict() == {"note": "renewed"}
    event = Event.objects.get(object_id=pm.id, type="payment_method.updated")
    assert event.data["previous_attributes"] == {
        "allow_redisplay": "unspecified",
        "billing_details": json.loads(pm.last_response.body)["billing_details"],
        "card": {
            **json.loads(pm.last_response.body)["card"],
            "checks": {"address_line1_check": None, "address_postal_code_check": None, "cvc_check": "pass"},
        },
        "metadata": {"note": None},
    }

    before = counts()
    with frozen_at(MOMENT), pytest.raises(sdk.CardError) as card_error:
        sdk.PaymentMethod.modify(pm.id, card={"exp_year": 2029})
    assert (card_error.value.code, card_error.value.param) == ("invalid_expiry_year", "card[exp_year]")
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.PaymentMethod.modify(pm.id, card={"number": VISA})
    assert (raised.value.code, raised.value.param) == ("parameter_unknown", "card[number]")
    assert counts() == before
    assert sdk.PaymentMethod.retrieve(pm.id).card.exp_year == 2033


def test_default_payment_method_on_create(sdk: ModuleType) -> None:
    customer = sdk.Customer.create(
        payment_method="pm_card_visa", invoice_settings={"default_payment_method": "pm_card_visa"}
    )
    default = customer.invoice_settings.default_payment_method
    assert default.startswith("pm_") and default != "pm_card_visa"
    assert [pm.id for pm in sdk.Customer.list_payment_methods(customer.id).data] == [default]
    assert event_types(customer.id) == ["customer.created"]
    assert event_types(default) == ["payment_method.attached"]
    created_event = Event.objects.get(object_id=customer.id)
    assert created_event.pk < Event.objects.get(object_id=default).pk
    expanded = sdk.Customer.retrieve(customer.id, expand=["invoice_settings.default_payment_method"])
    assert expanded.invoice_settings.default_payment_method.card.last4 == "4242"


def test_payment_method_on_create_only_attaches(sdk: ModuleType) -> None:
    # As on Stripe: making it the default takes invoice_settings[default_payment_method] too.
    pm = sdk.PaymentMethod.create(type="card", card=card())
    customer = sdk.Customer.create(payment_method=pm.id)
    assert customer.invoice_settings.default_payment_method is None
    assert sdk.PaymentMethod.retrieve(pm.id).customer == customer.id


@pytest.mark.parametrize(
    ("params", "error", "code", "param"),
    [
        ({"payment_method": "pm_card_chargeDeclined"}, "CardError", "card_declined", None),
        ({"payment_method": "pm_nothing"}, "InvalidRequestError", "resource_missing", "payment_method"),
        (
            {"invoice_settings": {"default_payment_method": "pm_card_visa"}},
            "InvalidRequestError",
            "resource_missing",
            "invoice_settings[default_payment_method]",
        ),
        (
            {"payment_method": "pm_card_visa", "invoice_settings": {"default_payment_method": "pm_card_mastercard"}},
            "InvalidRequestError",
            "resource_missing",
            "invoice_settings[default_payment_method]",
        ),
    ],
)
def test_customer_create_refusals_write_nothing(
    sdk: ModuleType, params: dict[str, Any], error: str, code: str, param: str | None
) -> None:
    with pytest.raises(getattr(sdk, error)) as raised:
        sdk.Customer.create(**params)
    assert (raised.value.code, raised.value.param) == (code, param)
    assert counts() == (0, 0, 0)


def test_default_payment_method_on_update(sdk: ModuleType) -> None:
    customer = sdk.Customer.create()
    other = sdk.Customer.create()
    mine = sdk.PaymentMethod.attach("pm_card_visa", customer=customer.id)
    theirs = sdk.PaymentMethod.attach("pm_card_mastercard", customer=other.id)
    loose = sdk.PaymentMethod.create(type="card", card=card())
    before = counts()
    for candidate in (theirs.id, loose.id, "pm_nothing"):
        with pytest.raises(sdk.InvalidRequestError) as raised:
            sdk.Customer.modify(customer.id, invoice_settings={"default_payment_method": candidate})
        assert (raised.value.http_status, raised.value.code, raised.value.param) == (
            400,
            "resource_missing",
            "invoice_settings[default_payment_method]",
        )
        assert raised.value.user_message == (
            f"The customer does not have a payment method with the ID {candidate}. "
            "The payment method must be attached to the customer."
        )
    assert counts() == before

    updated = sdk.Customer.modify(customer.id, invoice_settings={"default_payment_method": mine.id})
    assert updated.invoice_settings.default_payment_method == mine.id
    update_event = Event.objects.filter(object_id=customer.id, type="customer.updated").get()
    assert update_event.data["previous_attributes"]["invoice_settings"]["default_payment_method"] is None

    # Detaching the default leaves the customer without one, with its own event.
    sdk.PaymentMethod.detach(mine.id)
    assert sdk.Customer.retrieve(customer.id).invoice_settings.default_payment_method is None
    assert event_types(customer.id) == ["customer.created", "customer.updated", "customer.updated"]
    last = Event.objects.filter(object_id=customer.id).order_by("-pk").first()
    assert last is not None
    assert last.data["previous_attributes"]["invoice_settings"]["default_payment_method"] == mine.id

    sdk.Customer.modify(other.id, invoice_settings={"default_payment_method": theirs.id})
    cleared = sdk.Customer.modify(other.id, invoice_settings={"default_payment_method": ""})
    assert cleared.invoice_settings.default_payment_method is None


def test_expand_customer(sdk: ModuleType) -> None:
    customer = sdk.Customer.create(email="jenny@example.com")
    pm = sdk.PaymentMethod.attach("pm_card_visa", customer=customer.id)
    expanded = sdk.PaymentMethod.retrieve(pm.id, expand=["customer"])
    assert expanded.customer.email == "jenny@example.com"
    page = sdk.Customer.list_payment_methods(customer.id, expand=["data.customer"])
    assert page.data[0].customer.id == customer.id


def test_live_mode(sdk: ModuleType, live_key: str) -> None:
    test_pm = sdk.PaymentMethod.create(type="card", card=card())
    with pytest.raises(sdk.CardError) as raised:
        sdk.PaymentMethod.create(type="card", card=card(), api_key=live_key)
    assert raised.value.error.decline_code == "live_mode_test_card"
    with pytest.raises(sdk.InvalidRequestError) as missing:
        sdk.PaymentMethod.retrieve(test_pm.id, api_key=live_key)
    assert missing.value.http_status == 404
    with pytest.raises(sdk.InvalidRequestError):
        sdk.PaymentMethod.retrieve("pm_card_visa", api_key=live_key)
    assert sdk.PaymentMethod.list(api_key=live_key).data == []


def test_no_card_number_or_cvc_is_stored_or_logged(sdk: ModuleType, caplog: pytest.LogCaptureFixture) -> None:
    numbers = ["4000056655665556", "378282246310005", "4000000000000002", "4242424242424241"]
    caplog.set_level(logging.DEBUG)
    customer = sdk.Customer.create()
    debit = sdk.PaymentMethod.create(type="card", card=card(numbers[0], cvc="987"))
    sdk.PaymentMethod.attach(debit.id, customer=customer.id)
    amex = sdk.PaymentMethod.create(type="card", card=card(numbers[1], cvc="9876"), idempotency_key="amex-1")
    sdk.PaymentMethod.create(type="card", card=card(numbers[1], cvc="9876"), idempotency_key="amex-1")
    declining = sdk.PaymentMethod.create(type="card", card=card(numbers[2], cvc="987"))
    with pytest.raises(sdk.CardError):
        sdk.PaymentMethod.attach(declining.id, customer=customer.id)
    with pytest.raises(sdk.CardError):
        sdk.PaymentMethod.create(type="card", card=card(numbers[3], cvc="987"))
    sdk.SetupIntent.create(customer=customer.id, payment_method=amex.id, confirm=True)

    dump = io.StringIO()
    call_command("dumpdata", stdout=dump)
    stored = dump.getvalue()
    assert '"card_last4": "5556"' in stored  # the dump does hold the payment methods
    # The SDK logs what it sends at DEBUG, which shows these logs are captured; the server must log none of it.
    client = ("stripe", "urllib3")
    assert any(numbers[0] in r.getMessage() for r in caplog.records if r.name.startswith(client))
    server_log = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith(client))
    for number in numbers:
        assert number not in stored
        assert number not in server_log
    assert not re.search(r'"cvc"\s*:', stored)
