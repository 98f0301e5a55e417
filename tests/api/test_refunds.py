"""/v1/refunds (and a charge's refunds) through the official stripe SDK against a live server."""

from __future__ import annotations

import datetime as dt
import json
from types import ModuleType
from typing import Any

import pytest

from billfold.core.clock import frozen_at, to_unix
from billfold.events.models import Event
from billfold.payments import refunds
from billfold.payments.models import Refund
from tests.api.test_shapes import RESOURCES, shape_differences

MOMENT = dt.datetime(2030, 6, 15, 12, 0, tzinfo=dt.UTC)
LONG_AGO = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)


def body(obj: Any) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(obj.last_response.body)
    return parsed


def event_types(object_id: str) -> list[str]:
    return list(Event.objects.filter(object_id=object_id).order_by("pk").values_list("type", flat=True))


def paid(sdk: ModuleType, amount: int = 2000, **params: Any) -> Any:
    return sdk.PaymentIntent.create(
        amount=amount, currency="usd", payment_method="pm_card_visa", confirm=True, **params
    )


def test_a_partial_then_a_full_refund(sdk: ModuleType) -> None:
    customer = sdk.Customer.create()
    intent = paid(sdk, customer=customer.id)
    with frozen_at(MOMENT):
        partial = sdk.Refund.create(
            charge=intent.latest_charge, amount=500, reason="requested_by_customer", metadata={"k": "v"}
        )
    assert body(partial) == {
        "id": partial.id,
        "object": "refund",
        "amount": 500,
        "balance_transaction": None,
        "charge": intent.latest_charge,
        "created": to_unix(MOMENT),
        "currency": "usd",
        "customer": customer.id,
        "customer_account": None,
        "destination_details": {"card": {"type": "refund"}, "type": "card"},
        "metadata": {"k": "v"},
        "payment_intent": intent.id,
        "payment_method": intent.payment_method,
        "reason": "requested_by_customer",
        "receipt_number": None,
        "source_transfer_reversal": None,
        "status": "succeeded",
        "transfer_reversal": None,
    }
    assert shape_differences(body(partial), RESOURCES["refund"], "refund") == []
    charge = sdk.Charge.retrieve(intent.latest_charge)
    assert (charge.amount_refunded, charge.refunded, [r.id for r in charge.refunds.data]) == (500, False, [partial.id])

    rest = sdk.Refund.create(payment_intent=intent.id)
    assert (rest.amount, rest.charge, rest.reason) == (1500, intent.latest_charge, None)
    charge = sdk.Charge.retrieve(intent.latest_charge)
    assert (charge.amount_refunded, charge.refunded) == (2000, True)
    assert [r.id for r in charge.refunds.data] == [rest.id, partial.id]
    assert [r.id for r in sdk.Charge.list_refunds(charge.id).data] == [rest.id, partial.id]
    assert shape_differences(body(charge), RESOURCES["charge"], "charge") == []
    # The payment intent still shows what it received.
    assert sdk.PaymentIntent.retrieve(intent.id).amount_received == 2000

    assert event_types(partial.id) == ["refund.created"]
    assert event_types(charge.id) == ["charge.succeeded", "charge.refunded", "charge.refunded"]
    last = Event.objects.filter(type="charge.refunded").order_by("pk").last()
    assert last is not None
    assert last.data["object"] == body(charge)
    assert last.data["previous_attributes"]["amount_refunded"] == 500
    assert last.data["previous_attributes"]["refunded"] is False
    assert Event.objects.get(object_id=partial.id).data == {"object": body(partial)}


def refund_counts() -> tuple[int, int]:
    return Refund.objects.count(), Event.objects.count()


def test_refusals_write_nothing(sdk: ModuleType) -> None:
    intent = paid(sdk, 1000)
    sdk.Refund.create(charge=intent.latest_charge, amount=600)
    with pytest.raises(sdk.CardError) as declined:
        sdk.PaymentIntent.create(amount=1000, currency="usd", payment_method="pm_card_chargeDeclined", confirm=True)
    failed_charge = declined.value.error.charge
    unpaid = sdk.PaymentIntent.create(amount=1000, currency="usd")
    before = refund_counts()
    cases: list[tuple[dict[str, Any], str, str | None, str]] = [
        (
            {"charge": intent.latest_charge, "amount": 401},
            "amount",
            "amount_too_large",
            "Refund amount (4.01 USD) is greater than unrefunded amount on charge (4.00 USD).",
        ),
        (
            {"charge": failed_charge},
            "charge",
            "charge_not_refundable",
            f"Charge {failed_charge} failed, so there is nothing",
        ),
        ({"payment_intent": unpaid.id}, "payment_intent", "charge_not_refundable", f"PaymentIntent {unpaid.id} does"),
        ({}, "charge", "parameter_invalid", "Name what to refund: pass either `charge` or `payment_intent`."),
        ({"charge": "ch_nothing"}, "charge", "resource_missing", "No such charge: 'ch_nothing'"),
        (
            {"charge": intent.latest_charge, "amount": 0},
            "amount",
            None,
            "This value must be greater than or equal to 1",
        ),
        ({"charge": intent.latest_charge, "reason": "changed_mind"}, "reason", None, "Invalid reason"),
        ({"charge": intent.latest_charge, "expand": ["charge.nothing"]}, "expand[0]", None, "This property cannot"),
    ]
    for params, param, code, message in cases:
        with pytest.raises(sdk.InvalidRequestError) as raised:
            sdk.Refund.create(**params)
        assert (raised.value.param or "", raised.value.code) == (param, code or raised.value.code)
        assert raised.value.user_message.startswith(message)
    assert refund_counts() == before
    sdk.Refund.create(charge=intent.latest_charge)
    with pytest.raises(sdk.InvalidRequestError) as already:
        sdk.Refund.create(charge=intent.latest_charge)
    assert (already.value.code, already.value.user_message) == (
        "charge_already_refunded",
        f"Charge {intent.latest_charge} has already been refunded.",
    )


def test_retrieve_update_and_expand(sdk: ModuleType) -> None:
    intent = paid(sdk)
    refund = sdk.Refund.create(payment_intent=intent.id, metadata={"a": "1"})
    fetched = sdk.Refund.retrieve(refund.id, expand=["charge", "payment_intent"])
    assert (fetched.charge.id, fetched.charge.refunded, fetched.payment_intent.id) == (
        intent.latest_charge,
        True,
        intent.id,
    )
    updated = sdk.Refund.modify(refund.id, metadata={"a": "", "b": "2"})
    assert updated.metadata.to_dict() == {"b": "2"}
    assert event_types(refund.id) == ["refund.created", "refund.updated"]
    assert Event.objects.get(type="refund.updated").data["previous_attributes"] == {"metadata": {"a": "1", "b": None}}
    with pytest.raises(sdk.InvalidRequestError) as missing:
        sdk.Refund.retrieve("re_nothing")
    assert (missing.value.http_status, missing.value.user_message) == (404, "No such refund: 're_nothing'")


def test_list_filters_and_pages(sdk: ModuleType) -> None:
    first, second = paid(sdk), paid(sdk)
    with frozen_at(LONG_AGO):
        early = sdk.Refund.create(charge=first.latest_charge, amount=100)
    middle = sdk.Refund.create(charge=first.latest_charge, amount=200)
    latest = sdk.Refund.create(charge=second.latest_charge, amount=300)
    page = sdk.Refund.list(limit=2)
    assert page.url == "/v1/refunds"
    assert ([r.id for r in page.data], page.has_more) == ([latest.id, middle.id], True)
    assert [r.id for r in sdk.Refund.list(limit=1).auto_paging_iter()] == [latest.id, middle.id, early.id]
    assert [r.id for r in sdk.Refund.list(charge=first.latest_charge).data] == [middle.id, early.id]
    assert [r.id for r in sdk.Refund.list(payment_intent=second.id).data] == [latest.id]
    assert [r.id for r in sdk.Refund.list(created={"lte": to_unix(LONG_AGO)}).data] == [early.id]


def test_a_charge_shows_its_ten_latest_refunds(sdk: ModuleType) -> None:
    intent = paid(sdk)
    made = [sdk.Refund.create(charge=intent.latest_charge, amount=100).id for _ in range(11)]
    charge = sdk.Charge.retrieve(intent.latest_charge)
    assert ([r.id for r in charge.refunds.data], charge.refunds.has_more) == (made[::-1][:10], True)
    assert [r.id for r in sdk.Charge.list_refunds(charge.id, limit=100).data] == made[::-1]


def test_a_request_that_died_before_recording_is_finished_by_its_retry(
    sdk: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    intent = paid(sdk)
    real_record = refunds._record

    def dying_record(*args: Any) -> Refund:
        monkeypatch.setattr(refunds, "_record", real_record)
        raise RuntimeError("the process died here")

    monkeypatch.setattr(refunds, "_record", dying_record)
    with pytest.raises(sdk.APIError):
        sdk.Refund.create(charge=intent.latest_charge, amount=700, idempotency_key="refund-42")
    assert Refund.objects.get().status == "pending"
    # A pending refund shows as such, and counts against what is left.
    with pytest.raises(sdk.InvalidRequestError):
        sdk.Refund.create(charge=intent.latest_charge, amount=1301)
    retried = sdk.Refund.create(charge=intent.latest_charge, amount=700, idempotency_key="refund-42")
    assert (retried.status, Refund.objects.count()) == ("succeeded", 1)
    assert sdk.Charge.retrieve(intent.latest_charge).amount_refunded == 700
