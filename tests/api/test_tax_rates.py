"""/v1/tax_rates through the official stripe SDK."""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any

import pytest

from billfold.billing.models import TaxRate
from billfold.billing.tax_rates import tax_rates_for_use
from billfold.core.errors import DomainError
from billfold.events.models import Event
from tests.api.test_shapes import RESOURCES, shape_differences


def body(obj: Any) -> dict[str, Any]:
    sent: dict[str, Any] = json.loads(obj.last_response.body)
    return sent


def test_create_retrieve_update(sdk: ModuleType) -> None:
    rate = sdk.TaxRate.create(
        display_name="VAT",
        description="VAT Germany",
        percentage=19,
        inclusive=False,
        country="de",
        jurisdiction="DE",
        tax_type="vat",
        metadata={"ledger": "4400"},
    )
    assert rate.id.startswith("txr_")
    assert body(rate) == {
        "id": rate.id,
        "object": "tax_rate",
        "active": True,
        "country": "DE",
        "created": body(rate)["created"],
        "description": "VAT Germany",
        "display_name": "VAT",
        "effective_percentage": None,
        "flat_amount": None,
        "inclusive": False,
        "jurisdiction": "DE",
        "jurisdiction_level": None,
        "livemode": False,
        "metadata": {"ledger": "4400"},
        "percentage": 19.0,
        "rate_type": None,
        "state": None,
        "tax_type": "vat",
    }
    assert shape_differences(body(rate), RESOURCES["tax_rate"], "tax_rate") == []
    assert sdk.TaxRate.retrieve(rate.id).to_dict() == rate.to_dict()

    updated = sdk.TaxRate.modify(
        rate.id, display_name="USt", description="", active=False, country="AT", tax_type="", metadata={"ledger": ""}
    )
    assert (updated.display_name, updated.description, updated.active, updated.country) == ("USt", None, False, "AT")
    assert (updated.tax_type, updated.metadata.to_dict(), updated.percentage) == (None, {}, 19.0)
    events = list(Event.objects.filter(object_id=rate.id).order_by("pk"))
    assert [e.type for e in events] == ["tax_rate.created", "tax_rate.updated"]
    assert events[1].data["previous_attributes"] == {
        "active": True,
        "country": "DE",
        "description": "VAT Germany",
        "display_name": "VAT",
        "metadata": {"ledger": "4400"},
        "tax_type": "vat",
    }


def test_fractional_and_inclusive_rates(sdk: ModuleType) -> None:
    rate = sdk.TaxRate.create(
        display_name="Sales tax", percentage="8.875", inclusive=True, country="US", state="ny", jurisdiction="NYC"
    )
    assert (rate.percentage, rate.inclusive, rate.state) == (8.875, True, "NY")
    assert body(rate)["percentage"] == 8.875
    assert TaxRate.objects.get(public_id=rate.id).percentage == pytest.approx(8.875)


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"percentage": 20}, "inclusive"),
        ({"inclusive": True}, "percentage"),
        ({"display_name": "VAT", "percentage": 20}, "inclusive"),
    ],
)
def test_update_cannot_change_percentage_or_inclusive(sdk: ModuleType, params: dict[str, Any], param: str) -> None:
    rate = sdk.TaxRate.create(display_name="VAT", percentage=19, inclusive=False)
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.TaxRate.modify(rate.id, **params)
    assert raised.value.code == "parameter_unknown"
    assert raised.value.param in {"percentage", "inclusive"}
    fetched = sdk.TaxRate.retrieve(rate.id)
    assert (fetched.percentage, fetched.inclusive, fetched.display_name) == (19.0, False, "VAT")
    assert Event.objects.filter(type="tax_rate.updated").count() == 0


@pytest.mark.parametrize(
    ("params", "param", "code"),
    [
        ({"percentage": 19, "inclusive": False}, "display_name", "parameter_missing"),
        ({"display_name": "VAT", "inclusive": False}, "percentage", "parameter_missing"),
        ({"display_name": "VAT", "percentage": 19}, "inclusive", "parameter_missing"),
        ({"display_name": "VAT", "percentage": 100.5, "inclusive": False}, "percentage", "parameter_invalid"),
        ({"display_name": "VAT", "percentage": "12.34567", "inclusive": False}, "percentage", "parameter_invalid"),
        ({"display_name": "VAT", "percentage": "-1", "inclusive": False}, "percentage", None),
        ({"display_name": "VAT", "percentage": "abc", "inclusive": False}, "percentage", None),
        (
            {"display_name": "   ", "percentage": 19, "inclusive": False},
            "display_name",
            "parameter_invalid_string_blank",
        ),
        ({"display_name": "V" * 51, "percentage": 19, "inclusive": False}, "display_name", None),
        (
            {"display_name": "VAT", "percentage": 19, "inclusive": False, "country": "DEU"},
            "country",
            "parameter_invalid",
        ),
        ({"display_name": "VAT", "percentage": 19, "inclusive": False, "state": "NYC1"}, "state", "parameter_invalid"),
        (
            {"display_name": "VAT", "percentage": 19, "inclusive": False, "tax_type": "bogus"},
            "tax_type",
            "parameter_invalid",
        ),
        ({"display_name": "VAT", "percentage": 19, "inclusive": "maybe"}, "inclusive", None),
        (
            {"display_name": "VAT", "percentage": 19, "inclusive": False, "rate_type": "x"},
            "rate_type",
            "parameter_unknown",
        ),
    ],
)
def test_create_refusals_name_the_param(sdk: ModuleType, params: dict[str, Any], param: str, code: str | None) -> None:
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.TaxRate.create(**params)
    assert raised.value.http_status == 400
    assert (raised.value.param, raised.value.code) == (param, code)
    assert TaxRate.objects.count() == 0
    assert Event.objects.count() == 0


def test_update_refusals_change_nothing(sdk: ModuleType) -> None:
    rate = sdk.TaxRate.create(display_name="VAT", percentage=19, inclusive=False, country="DE")
    for params, param in (({"display_name": ""}, "display_name"), ({"country": "Germany"}, "country")):
        with pytest.raises(sdk.InvalidRequestError) as raised:
            sdk.TaxRate.modify(rate.id, description="changed", **params)
        assert raised.value.param == param
    fetched = sdk.TaxRate.retrieve(rate.id)
    assert (fetched.description, fetched.country, fetched.display_name) == (None, "DE", "VAT")
    assert [e.type for e in Event.objects.filter(object_id=rate.id)] == ["tax_rate.created"]


def test_list_filters_and_pagination(sdk: ModuleType) -> None:
    made = [
        sdk.TaxRate.create(display_name=f"Rate {i}", percentage=i, inclusive=i % 2 == 0, active=i < 3).id
        for i in range(5)
    ]

    def ids(**filters: Any) -> list[str]:
        return [t.id for t in sdk.TaxRate.list(**filters).data]

    assert ids() == made[::-1]
    assert ids(active=True) == [made[2], made[1], made[0]]
    assert ids(active=False) == [made[4], made[3]]
    assert ids(inclusive=True) == [made[4], made[2], made[0]]
    assert ids(inclusive=False, active=True) == [made[1]]
    assert ids(limit=2, ending_before=made[0]) == [made[2], made[1]]
    assert sdk.TaxRate.list().url == "/v1/tax_rates"


def test_live_and_test_rates_are_apart(sdk: ModuleType, live_key: str) -> None:
    test_rate = sdk.TaxRate.create(display_name="VAT", percentage=19, inclusive=False)
    live_rate = sdk.TaxRate.create(display_name="VAT", percentage=20, inclusive=False, api_key=live_key)
    assert live_rate.livemode is True
    assert [t.id for t in sdk.TaxRate.list(api_key=live_key).data] == [live_rate.id]
    with pytest.raises(sdk.InvalidRequestError):
        sdk.TaxRate.retrieve(test_rate.id, api_key=live_key)


def test_rates_for_use_keep_order_and_refuse_archived_repeated_and_unknown(sdk: ModuleType) -> None:
    vat = sdk.TaxRate.create(display_name="VAT", percentage=19, inclusive=True).id
    city = sdk.TaxRate.create(display_name="City", percentage=2, inclusive=False).id
    old = sdk.TaxRate.create(display_name="Old", percentage=16, inclusive=True, active=False).id
    rates = tax_rates_for_use(public_ids=[city, vat], livemode=False, param="tax_rates")
    assert [r.public_id for r in rates] == [city, vat]
    for ids, livemode, param, message in (
        ([vat, old], False, "tax_rates[1]", "archived"),
        ([vat, city, vat], False, "tax_rates[2]", "given twice"),
        (["txr_missing"], False, "tax_rates[0]", "No such tax_rate"),
        ([vat], True, "tax_rates[0]", "No such tax_rate"),
    ):
        with pytest.raises(DomainError, match=message) as raised:
            tax_rates_for_use(public_ids=ids, livemode=livemode, param="tax_rates")
        assert raised.value.param == param
