"""/v1/prices through the official stripe SDK against a live server."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import ModuleType
from typing import Any

import pytest

from billfold.catalog.models import Price, Product
from billfold.core import clock
from billfold.events.models import Event

# The keys of Stripe's price object (fixtures3.json resources["price"]); tiers only when expanded.
PRICE_KEYS = {
    "active",
    "billing_scheme",
    "created",
    "currency",
    "custom_unit_amount",
    "id",
    "livemode",
    "lookup_key",
    "metadata",
    "nickname",
    "object",
    "product",
    "recurring",
    "tax_behavior",
    "tiers_mode",
    "transform_quantity",
    "type",
    "unit_amount",
    "unit_amount_decimal",
}
T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
TIERS = [
    {"up_to": 10, "unit_amount": 1000},
    {"up_to": 50, "unit_amount_decimal": "750.5", "flat_amount": 2000},
    {"up_to": "inf", "flat_amount_decimal": "5000", "unit_amount": 500},
]


def counts() -> tuple[int, int, int]:
    return Product.objects.count(), Price.objects.count(), Event.objects.count()


@pytest.fixture
def product(sdk: ModuleType) -> Any:
    return sdk.Product.create(name="Pro")


def test_create_recurring_price_with_every_field(sdk: ModuleType, product: Any) -> None:
    with clock.frozen_at(T0):
        price = sdk.Price.create(
            product=product.id,
            currency="usd",
            unit_amount=2000,
            nickname="Pro monthly",
            lookup_key="pro_monthly",
            tax_behavior="exclusive",
            recurring={"interval": "month", "interval_count": 3, "usage_type": "licensed", "trial_period_days": 14},
            transform_quantity={"divide_by": 10, "round": "up"},
            metadata={"plan": "pro"},
        )
    data = price.to_dict()
    assert set(data) == PRICE_KEYS
    assert price.id.startswith("price_")
    assert data == {
        "id": price.id,
        "object": "price",
        "active": True,
        "billing_scheme": "per_unit",
        "created": int(T0.timestamp()),
        "currency": "usd",
        "custom_unit_amount": None,
        "livemode": False,
        "lookup_key": "pro_monthly",
        "metadata": {"plan": "pro"},
        "nickname": "Pro monthly",
        "product": product.id,
        "recurring": {
            "interval": "month",
            "interval_count": 3,
            "meter": None,
            "trial_period_days": 14,
            "usage_type": "licensed",
        },
        "tax_behavior": "exclusive",
        "tiers_mode": None,
        "transform_quantity": {"divide_by": 10, "round": "up"},
        "type": "recurring",
        "unit_amount": 2000,
        # The SDK turns decimal strings into Decimal; the JSON carries "2000".
        "unit_amount_decimal": Decimal("2000"),
    }
    assert sdk.Price.retrieve(price.id).to_dict() == data
    event = Event.objects.get(object_id=price.id)
    assert event.type == "price.created"
    assert event.data["object"] == {**data, "unit_amount_decimal": "2000"}


def test_one_time_price_defaults(sdk: ModuleType, product: Any) -> None:
    price = sdk.Price.create(product=product.id, currency="USD", unit_amount=0)
    assert price.type == "one_time"
    assert price.recurring is None
    assert price.currency == "usd"
    assert price.unit_amount == 0
    assert price.unit_amount_decimal == Decimal("0")
    assert price.tax_behavior == "unspecified"
    assert price.active is True


def test_zero_decimal_currency_and_fractional_amounts(sdk: ModuleType, product: Any) -> None:
    yen = sdk.Price.create(product=product.id, currency="jpy", unit_amount=1500)
    assert (yen.currency, yen.unit_amount) == ("jpy", 1500)
    fraction = sdk.Price.create(product=product.id, currency="usd", unit_amount_decimal="12.50")
    assert fraction.unit_amount is None
    assert str(fraction.unit_amount_decimal) == "12.5"
    whole = sdk.Price.create(product=product.id, currency="usd", unit_amount_decimal="1200.000")
    assert whole.unit_amount == 1200
    assert str(whole.unit_amount_decimal) == "1200"


def test_product_data_creates_the_product(sdk: ModuleType) -> None:
    price = sdk.Price.create(
        currency="eur",
        unit_amount=999,
        recurring={"interval": "year"},
        product_data={
            "name": "Annual",
            "unit_label": "seat",
            "statement_descriptor": "ACME ANNUAL",
            "metadata": {"k": "v"},
            "tax_code": "txcd_10000000",
        },
    )
    product = sdk.Product.retrieve(price.product)
    assert product.name == "Annual"
    assert product.unit_label == "seat"
    assert product.statement_descriptor == "ACME ANNUAL"
    assert product.tax_code == "txcd_10000000"
    assert product.metadata.to_dict() == {"k": "v"}
    assert product.default_price is None
    assert list(Event.objects.order_by("pk").values_list("type", "object_id")) == [
        ("product.created", product.id),
        ("price.created", price.id),
    ]


def test_tiered_price_and_tiers_expansion(sdk: ModuleType, product: Any) -> None:
    price = sdk.Price.create(
        product=product.id,
        currency="usd",
        billing_scheme="tiered",
        tiers_mode="graduated",
        tiers=TIERS,
        recurring={"interval": "month"},
    )
    assert price.billing_scheme == "tiered"
    assert price.tiers_mode == "graduated"
    assert price.unit_amount is None
    assert price.unit_amount_decimal is None
    assert "tiers" not in price
    expected = [
        {
            "flat_amount": None,
            "flat_amount_decimal": None,
            "unit_amount": 1000,
            "unit_amount_decimal": "1000",
            "up_to": 10,
        },
        {
            "flat_amount": 2000,
            "flat_amount_decimal": "2000",
            "unit_amount": None,
            "unit_amount_decimal": "750.5",
            "up_to": 50,
        },
        {
            "flat_amount": 5000,
            "flat_amount_decimal": "5000",
            "unit_amount": 500,
            "unit_amount_decimal": "500",
            "up_to": None,
        },
    ]

    def as_json(tier: Any) -> dict[str, Any]:
        return {k: str(v) if isinstance(v, Decimal) else v for k, v in tier.to_dict().items()}

    expanded = sdk.Price.retrieve(price.id, expand=["tiers"])
    assert [as_json(t) for t in expanded.tiers] == expected
    listed = sdk.Price.list(expand=["data.tiers"])
    assert [as_json(t) for t in listed.data[0].tiers] == expected
    volume = sdk.Price.create(
        product=product.id,
        currency="usd",
        billing_scheme="tiered",
        tiers_mode="volume",
        tiers=[{"up_to": "inf", "unit_amount": 100}],
    )
    assert volume.tiers_mode == "volume"
    assert sdk.Price.retrieve(volume.id, expand=["tiers"]).tiers[0].up_to is None


def test_custom_unit_amount(sdk: ModuleType, product: Any) -> None:
    price = sdk.Price.create(
        product=product.id, currency="usd", custom_unit_amount={"enabled": True, "minimum": 500, "preset": 1000}
    )
    assert price.custom_unit_amount.to_dict() == {"maximum": None, "minimum": 500, "preset": 1000}
    assert price.unit_amount is None


def test_expand_product(sdk: ModuleType, product: Any) -> None:
    price = sdk.Price.create(product=product.id, currency="usd", unit_amount=100)
    expanded = sdk.Price.retrieve(price.id, expand=["product"])
    assert expanded.product.id == product.id
    assert expanded.product.name == "Pro"
    listed = sdk.Price.list(expand=["data.product"])
    assert listed.data[0].product.object == "product"


def test_expand_product_with_a_custom_id(sdk: ModuleType) -> None:
    custom = sdk.Product.create(id="pro-plan", name="Pro plan")
    price = sdk.Price.create(product=custom.id, currency="usd", unit_amount=100)
    assert sdk.Price.retrieve(price.id, expand=["product"]).product.name == "Pro plan"


def test_update_and_previous_attributes(sdk: ModuleType, product: Any) -> None:
    price = sdk.Price.create(product=product.id, currency="usd", unit_amount=100, nickname="Old", metadata={"a": "1"})
    updated = sdk.Price.modify(
        price.id, nickname="", lookup_key="basic", tax_behavior="inclusive", active=False, metadata={"b": "2"}
    )
    assert updated.nickname is None
    assert updated.lookup_key == "basic"
    assert updated.tax_behavior == "inclusive"
    assert updated.active is False
    assert updated.metadata.to_dict() == {"a": "1", "b": "2"}
    event = Event.objects.get(object_id=price.id, type="price.updated")
    assert event.data["previous_attributes"] == {
        "nickname": "Old",
        "lookup_key": None,
        "tax_behavior": "unspecified",
        "active": True,
        "metadata": {"b": None},
    }
    # The same tax behavior again is no change; another one is refused once set.
    assert sdk.Price.modify(price.id, tax_behavior="inclusive").tax_behavior == "inclusive"
    before = counts()
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.Price.modify(price.id, tax_behavior="exclusive")
    assert raised.value.param == "tax_behavior"
    assert counts() == before
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.Price.modify(price.id, unit_amount=5)
    assert raised.value.code == "parameter_unknown"
    assert not hasattr(sdk.Price, "delete")


def test_lookup_key_is_unique_unless_transferred(sdk: ModuleType, product: Any) -> None:
    first = sdk.Price.create(product=product.id, currency="usd", unit_amount=100, lookup_key="standard")
    before = counts()
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.Price.create(product=product.id, currency="usd", unit_amount=200, lookup_key="standard")
    assert raised.value.param == "lookup_key"
    assert str(raised.value.user_message).startswith(f"A price (`{first.id}`) already uses that lookup key.")
    assert counts() == before
    second = sdk.Price.create(
        product=product.id, currency="usd", unit_amount=200, lookup_key="standard", transfer_lookup_key=True
    )
    assert second.lookup_key == "standard"
    assert sdk.Price.retrieve(first.id).lookup_key is None
    moved = Event.objects.get(object_id=first.id, type="price.updated")
    assert moved.data["previous_attributes"] == {"lookup_key": "standard"}
    third = sdk.Price.create(product=product.id, currency="usd", unit_amount=300)
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.Price.modify(third.id, lookup_key="standard")
    assert raised.value.param == "lookup_key"
    assert sdk.Price.modify(third.id, lookup_key="standard", transfer_lookup_key=True).lookup_key == "standard"
    assert sdk.Price.retrieve(second.id).lookup_key is None
    assert [p.id for p in sdk.Price.list(lookup_keys=["standard"]).data] == [third.id]


def test_lookup_keys_are_per_mode(sdk: ModuleType, product: Any, live_key: str) -> None:
    sdk.Price.create(product=product.id, currency="usd", unit_amount=100, lookup_key="same")
    live_product = sdk.Product.create(name="Live", api_key=live_key)
    live = sdk.Price.create(
        product=live_product.id, currency="usd", unit_amount=100, lookup_key="same", api_key=live_key
    )
    assert live.lookup_key == "same"
    assert live.livemode is True


def test_default_price_cannot_be_archived(sdk: ModuleType) -> None:
    product = sdk.Product.create(name="P", default_price_data={"currency": "usd", "unit_amount": 100})
    before = counts()
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.Price.modify(product.default_price, active=False)
    assert raised.value.param == "active"
    assert counts() == before
    sdk.Product.modify(product.id, default_price="")
    assert sdk.Price.modify(product.default_price, active=False).active is False


def test_list_filters_and_pagination(sdk: ModuleType, product: Any) -> None:
    other = sdk.Product.create(name="Other")
    with clock.frozen_at(T0):
        monthly = sdk.Price.create(product=product.id, currency="usd", unit_amount=1, recurring={"interval": "month"})
    with clock.frozen_at(T0 + dt.timedelta(days=1)):
        yearly = sdk.Price.create(product=product.id, currency="eur", unit_amount=2, recurring={"interval": "year"})
        metered = sdk.Price.create(
            product=other.id, currency="usd", unit_amount=3, recurring={"interval": "month", "usage_type": "metered"}
        )
        one_time = sdk.Price.create(product=other.id, currency="usd", unit_amount=4, lookup_key="once", active=False)
    page = sdk.Price.list(limit=3)
    assert page.url == "/v1/prices"
    assert [p.id for p in page.data] == [one_time.id, metered.id, yearly.id]
    assert page.has_more is True
    everything = [one_time.id, metered.id, yearly.id, monthly.id]
    assert [p.id for p in sdk.Price.list(limit=1).auto_paging_iter()] == everything
    assert [p.id for p in sdk.Price.list(starting_after=metered.id).data] == [yearly.id, monthly.id]
    assert [p.id for p in sdk.Price.list(active=False).data] == [one_time.id]
    assert [p.id for p in sdk.Price.list(active=True).data] == [metered.id, yearly.id, monthly.id]
    assert [p.id for p in sdk.Price.list(product=product.id).data] == [yearly.id, monthly.id]
    assert [p.id for p in sdk.Price.list(product="prod_unknown").data] == []
    assert [p.id for p in sdk.Price.list(type="one_time").data] == [one_time.id]
    assert [p.id for p in sdk.Price.list(type="recurring").data] == [metered.id, yearly.id, monthly.id]
    assert [p.id for p in sdk.Price.list(currency="eur").data] == [yearly.id]
    assert [p.id for p in sdk.Price.list(lookup_keys=["once", "missing"]).data] == [one_time.id]
    assert [p.id for p in sdk.Price.list(recurring={"interval": "month"}).data] == [metered.id, monthly.id]
    assert [p.id for p in sdk.Price.list(recurring={"usage_type": "metered"}).data] == [metered.id]
    assert [p.id for p in sdk.Price.list(created={"lte": int(T0.timestamp())}).data] == [monthly.id]
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.Price.list(recurring={"interval": "fortnight"})
    assert raised.value.param == "recurring[interval]"


def _tiered(**extra: Any) -> dict[str, Any]:
    return {"currency": "usd", "billing_scheme": "tiered", "tiers_mode": "graduated", "tiers": TIERS, **extra}


@pytest.mark.parametrize(
    ("params", "param", "code"),
    [
        ({"unit_amount": 100}, "currency", "parameter_missing"),
        ({"currency": "usd"}, "unit_amount", "parameter_missing"),
        ({"currency": "xyz", "unit_amount": 1}, "currency", "parameter_invalid"),
        ({"currency": "usd", "unit_amount": -1}, "unit_amount", None),
        (
            {"currency": "usd", "unit_amount": 1, "unit_amount_decimal": "1"},
            "unit_amount_decimal",
            "parameters_exclusive",
        ),
        ({"currency": "usd", "unit_amount_decimal": "abc"}, "unit_amount_decimal", None),
        ({"currency": "usd", "unit_amount_decimal": "1e20"}, "unit_amount_decimal", "parameter_invalid"),
        ({"currency": "usd", "unit_amount": 10**12}, "unit_amount", None),
        (
            _tiered(tiers=[{"up_to": "inf", "unit_amount_decimal": "1e13"}]),
            "tiers[0][unit_amount_decimal]",
            "parameter_invalid",
        ),
        (
            {"currency": "usd", "unit_amount": 1, "recurring": {"interval": "month", "interval_count": 37}},
            "recurring[interval_count]",
            "parameter_invalid",
        ),
        (
            {"currency": "usd", "unit_amount": 1, "recurring": {"interval": "week", "interval_count": 157}},
            "recurring[interval_count]",
            "parameter_invalid",
        ),
        (
            {"currency": "usd", "unit_amount": 1, "recurring": {"interval": "day", "interval_count": 1096}},
            "recurring[interval_count]",
            "parameter_invalid",
        ),
        (
            {"currency": "usd", "unit_amount": 1, "recurring": {"interval": "month", "trial_period_days": 731}},
            "recurring[trial_period_days]",
            "parameter_invalid",
        ),
        (
            {"currency": "usd", "unit_amount": 1, "recurring": {"interval_count": 2}},
            "recurring[interval]",
            "parameter_missing",
        ),
        ({"currency": "usd", "unit_amount": 1, "recurring": {"interval": "hour"}}, "recurring[interval]", None),
        ({"currency": "usd", "unit_amount": 1, "tax_behavior": "maybe"}, "tax_behavior", None),
        ({"currency": "usd", "unit_amount": 1, "lookup_key": "k" * 201}, "lookup_key", None),
        ({"currency": "usd", "unit_amount": 1, "tiers": TIERS}, "tiers", "parameter_invalid"),
        (_tiered(unit_amount=5), "unit_amount", "parameter_invalid"),
        (_tiered(tiers_mode=None), "tiers_mode", "parameter_missing"),
        (_tiered(tiers=None), "tiers", "parameter_missing"),
        (_tiered(transform_quantity={"divide_by": 2, "round": "up"}), "transform_quantity", "parameter_invalid"),
        (_tiered(tiers=[{"up_to": 10, "unit_amount": 1}]), "tiers[0][up_to]", "parameter_invalid"),
        (
            _tiered(tiers=[{"up_to": "inf", "unit_amount": 1}, {"up_to": "inf", "unit_amount": 1}]),
            "tiers[0][up_to]",
            "parameter_invalid",
        ),
        (
            _tiered(
                tiers=[
                    {"up_to": 10, "unit_amount": 1},
                    {"up_to": 5, "unit_amount": 1},
                    {"up_to": "inf", "unit_amount": 1},
                ]
            ),
            "tiers[1][up_to]",
            "parameter_invalid",
        ),
        (_tiered(tiers=[{"up_to": 10, "unit_amount": 1}, {"up_to": "inf"}]), "tiers[1]", "parameter_invalid"),
        (_tiered(tiers=[{"unit_amount": 1}]), "tiers[0][up_to]", "parameter_missing"),
        (_tiered(tiers=[{"up_to": "lots", "unit_amount": 1}]), "tiers[0][up_to]", "parameter_invalid_integer"),
        (
            _tiered(tiers=[{"up_to": "inf", "unit_amount": 1, "unit_amount_decimal": "1"}]),
            "tiers[0][unit_amount_decimal]",
            "parameters_exclusive",
        ),
        (
            _tiered(tiers=[{"up_to": "inf", "flat_amount_decimal": "1.5"}]),
            "tiers[0][flat_amount_decimal]",
            "parameter_invalid",
        ),
        (
            {"currency": "usd", "custom_unit_amount": {"enabled": False}},
            "custom_unit_amount[enabled]",
            "parameter_invalid",
        ),
        (
            {"currency": "usd", "custom_unit_amount": {"enabled": True, "minimum": 10, "maximum": 5}},
            "custom_unit_amount[minimum]",
            "parameter_invalid",
        ),
        (
            {"currency": "usd", "custom_unit_amount": {"enabled": True, "preset": 50, "maximum": 5}},
            "custom_unit_amount[preset]",
            "parameter_invalid",
        ),
        (
            {"currency": "usd", "custom_unit_amount": {"enabled": True}, "recurring": {"interval": "month"}},
            "custom_unit_amount",
            "parameter_invalid",
        ),
        (
            {"currency": "usd", "unit_amount": 1, "custom_unit_amount": {"enabled": True}},
            "custom_unit_amount",
            "parameters_exclusive",
        ),
        (
            {"currency": "usd", "unit_amount": 1, "transform_quantity": {"divide_by": 0, "round": "up"}},
            "transform_quantity[divide_by]",
            None,
        ),
        (
            {"currency": "usd", "unit_amount": 1, "transform_quantity": {"divide_by": 2}},
            "transform_quantity[round]",
            "parameter_missing",
        ),
        ({"currency": "usd", "unit_amount": 1, "color": "red"}, "color", "parameter_unknown"),
    ],
)
def test_create_refusals_name_the_param_and_write_nothing(
    sdk: ModuleType, product: Any, params: dict[str, Any], param: str, code: str | None
) -> None:
    clean = {k: v for k, v in params.items() if v is not None}
    before = counts()
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.Price.create(product=product.id, **clean)
    assert raised.value.http_status == 400
    assert raised.value.param == param
    assert raised.value.code == code
    assert counts() == before


def test_product_refusals(sdk: ModuleType, product: Any) -> None:
    before = counts()
    cases: list[tuple[dict[str, Any], str, str | None]] = [
        ({}, "product", "parameter_missing"),
        ({"product": "prod_missing"}, "product", "resource_missing"),
        ({"product": product.id, "product_data": {"name": "X"}}, "product_data", "parameters_exclusive"),
        ({"product_data": {"unit_label": "seat"}}, "product_data[name]", "parameter_missing"),
        (
            {"product_data": {"name": "X", "statement_descriptor": "<ACME>"}},
            "product_data[statement_descriptor]",
            "parameter_invalid",
        ),
        ({"product_data": {"name": "X", "tax_code": "txcd_nope"}}, "product_data[tax_code]", "parameter_invalid"),
        ({"product_data": {"name": "X"}, "lookup_key": "k", "currency": "zzz"}, "currency", "parameter_invalid"),
    ]
    for params, param, code in cases:
        with pytest.raises(sdk.InvalidRequestError) as raised:
            sdk.Price.create(**{"currency": "usd", "unit_amount": 100, **params})
        assert (raised.value.param, raised.value.code) == (param, code)
    assert counts() == before


def test_interval_count_limits_are_three_years(sdk: ModuleType, product: Any) -> None:
    for interval, count in (("day", 1095), ("week", 156), ("month", 36), ("year", 3)):
        price = sdk.Price.create(
            product=product.id, currency="usd", unit_amount=1, recurring={"interval": interval, "interval_count": count}
        )
        assert price.recurring.interval_count == count


def test_deleted_product_takes_no_prices(sdk: ModuleType) -> None:
    product = sdk.Product.create(name="Gone")
    sdk.Product.delete(product.id)
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.Price.create(product=product.id, currency="usd", unit_amount=1)
    assert raised.value.code == "resource_missing"
    assert raised.value.param == "product"
