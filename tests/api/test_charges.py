"""/v1/charges through the official stripe SDK against a live server."""

from __future__ import annotations

import datetime as dt
import json
from types import ModuleType
from typing import Any

import pytest

from billfold.core.clock import frozen_at, to_unix
from tests.api.test_shapes import RESOURCES, shape_differences

MOMENT = dt.datetime(2030, 6, 15, 12, 0, tzinfo=dt.UTC)
LONG_AGO = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)


def body(obj: Any) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(obj.last_response.body)
    return parsed


def test_retrieve(sdk: ModuleType) -> None:
    customer = sdk.Customer.create()
    pm = sdk.PaymentMethod.create(
        type="card",
        card={"token": "tok_visa"},
        billing_details={"name": "Jenny Rosen", "email": "jenny@example.com", "address": {"country": "US"}},
    )
    with frozen_at(MOMENT):
        intent = sdk.PaymentIntent.create(
            amount=2000,
            currency="usd",
            customer=customer.id,
            payment_method=pm.id,
            description="Order 42",
            receipt_email="jenny@example.com",
            statement_descriptor="Billfold Shop",
            setup_future_usage="off_session",
            confirm=True,
        )
    charge = sdk.Charge.retrieve(intent.latest_charge)
    assert body(charge) == {
        "id": intent.latest_charge,
        "object": "charge",
        "amount": 2000,
        "amount_captured": 2000,
        "amount_refunded": 0,
        "application": None,
        "application_fee": None,
        "application_fee_amount": None,
        "balance_transaction": None,
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
        "calculated_statement_descriptor": "BILLFOLD SHOP",
        "captured": True,
        "created": to_unix(MOMENT),
        "currency": "usd",
        "customer": customer.id,
        "description": "Order 42",
        "disputed": False,
        "failure_balance_transaction": None,
        "failure_code": None,
        "failure_message": None,
        "fraud_details": {},
        "livemode": False,
        "metadata": {},
        "on_behalf_of": None,
        "outcome": {
            "advice_code": None,
            "network_advice_code": None,
            "network_decline_code": None,
            "network_status": "approved_by_network",
            "reason": None,
            "seller_message": "Payment complete.",
            "type": "authorized",
        },
        "paid": True,
        "payment_intent": intent.id,
        "payment_method": pm.id,
        "payment_method_details": {
            "card": {
                "amount_authorized": 2000,
                "authorization_code": None,
                "brand": "visa",
                "checks": {"address_line1_check": None, "address_postal_code_check": None, "cvc_check": "pass"},
                "country": "US",
                "exp_month": pm.card.exp_month,
                "exp_year": pm.card.exp_year,
                "extended_authorization": {"status": "disabled"},
                "fingerprint": pm.card.fingerprint,
                "funding": "credit",
                "incremental_authorization": {"status": "unavailable"},
                "installments": None,
                "last4": "4242",
                "mandate": None,
                "multicapture": {"status": "unavailable"},
                "network": "visa",
                "network_token": {"used": False},
                "network_transaction_id": None,
                "overcapture": {"maximum_amount_capturable": 2000, "status": "unavailable"},
                "regulated_status": None,
                "three_d_secure": None,
                "transaction_link_id": None,
                "wallet": None,
            },
            "type": "card",
        },
        "receipt_email": "jenny@example.com",
        "receipt_number": None,
        "receipt_url": None,
        "refunded": False,
        "refunds": {"object": "list", "data": [], "has_more": False, "url": f"/v1/charges/{charge.id}/refunds"},
        "review": None,
        "shipping": None,
        "source": None,
        "source_transfer": None,
        "statement_descriptor": "Billfold Shop",
        "statement_descriptor_suffix": None,
        "status": "succeeded",
        "transfer_data": None,
        "transfer_group": None,
    }
    assert shape_differences(body(charge), RESOURCES["charge"], "charge") == []
    # The charge keeps the card as it was, whatever happens to the payment method later.
    sdk.PaymentMethod.modify(pm.id, billing_details={"name": "Someone Else"}, card={"exp_month": 1})
    sdk.PaymentMethod.detach(pm.id)
    assert sdk.Charge.retrieve(charge.id).to_dict() == charge.to_dict()
    with pytest.raises(sdk.InvalidRequestError) as missing:
        sdk.Charge.retrieve("ch_nothing")
    assert (missing.value.http_status, missing.value.user_message) == (404, "No such charge: 'ch_nothing'")


def test_a_card_with_a_wrong_cvc_fails_the_check(sdk: ModuleType) -> None:
    with pytest.raises(sdk.CardError) as raised:
        sdk.PaymentIntent.create(
            amount=2000, currency="usd", payment_method="pm_card_chargeDeclinedIncorrectCvc", confirm=True
        )
    charge = sdk.Charge.retrieve(raised.value.error.charge)
    assert (
        charge.payment_method_details.card.checks.cvc_check,
        charge.payment_method_details.card.amount_authorized,
    ) == (
        "fail",
        None,
    )
    assert charge.outcome.to_dict() == {
        "advice_code": None,
        "network_advice_code": None,
        "network_decline_code": None,
        "network_status": "declined_by_network",
        "reason": "incorrect_cvc",
        "seller_message": "The bank returned the decline code `incorrect_cvc`.",
        "type": "issuer_declined",
    }


def test_list_filters_and_pages(sdk: ModuleType) -> None:
    customer = sdk.Customer.create()
    with frozen_at(LONG_AGO):
        early = sdk.PaymentIntent.create(amount=500, currency="usd", payment_method="pm_card_visa", confirm=True)
    mine = sdk.PaymentIntent.create(
        amount=600, currency="usd", customer=customer.id, payment_method="pm_card_visa", confirm=True
    )
    with pytest.raises(sdk.CardError):
        sdk.PaymentIntent.create(amount=700, currency="usd", payment_method="pm_card_chargeDeclined", confirm=True)
    page = sdk.Charge.list(limit=2)
    assert page.url == "/v1/charges"
    assert ([c.amount for c in page.data], page.has_more) == ([700, 600], True)
    assert [c.amount for c in sdk.Charge.list(limit=1).auto_paging_iter()] == [700, 600, 500]
    assert [c.id for c in sdk.Charge.list(customer=customer.id).data] == [mine.latest_charge]
    assert [c.id for c in sdk.Charge.list(payment_intent=early.id).data] == [early.latest_charge]
    assert [c.id for c in sdk.Charge.list(created={"lte": to_unix(LONG_AGO)}).data] == [early.latest_charge]
    for params in ({"customer": "cus_nothing"}, {"payment_intent": "pi_nothing"}, {"starting_after": "ch_nothing"}):
        with pytest.raises(sdk.InvalidRequestError) as raised:
            sdk.Charge.list(**params)
        assert raised.value.code == "resource_missing"


def test_expand(sdk: ModuleType) -> None:
    customer = sdk.Customer.create(email="jenny@example.com")
    intent = sdk.PaymentIntent.create(
        amount=2000, currency="usd", customer=customer.id, payment_method="pm_card_visa", confirm=True
    )
    charge = sdk.Charge.retrieve(intent.latest_charge, expand=["customer", "payment_intent", "payment_method"])
    assert (charge.customer.email, charge.payment_intent.id, charge.payment_method.card.last4) == (
        "jenny@example.com",
        intent.id,
        "4242",
    )
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.Charge.retrieve(intent.latest_charge, expand=["balance_transaction"])
    assert raised.value.param == "expand[0]"


def test_live_and_test_data_are_apart(sdk: ModuleType, live_key: str) -> None:
    intent = sdk.PaymentIntent.create(amount=2000, currency="usd", payment_method="pm_card_visa", confirm=True)
    assert sdk.Charge.list(api_key=live_key).data == []
    with pytest.raises(sdk.InvalidRequestError):
        sdk.Charge.retrieve(intent.latest_charge, api_key=live_key)


def test_charges_are_made_by_payment_intents_only(sdk: ModuleType) -> None:
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.Charge.create(amount=2000, currency="usd", source="tok_visa")
    assert raised.value.http_status == 404
