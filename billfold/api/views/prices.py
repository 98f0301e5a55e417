"""/v1/prices (never deleted: a price is archived with active=false)."""

from __future__ import annotations

from typing import Any

from billfold.api.lists import CREATED_FILTER, LIST_PARAMS, apply_range, paginate
from billfold.api.params import (
    Bool,
    DecimalStr,
    Enum,
    Field,
    Hash,
    Int,
    ListOf,
    Metadata,
    OneOf,
    Str,
    exclusive,
    validate,
)
from billfold.api.representations.price import render_price
from billfold.api.routing import ApiCall, route
from billfold.catalog import selectors, services
from billfold.catalog.rules import MAX_AMOUNT

INTERVALS = ("day", "week", "month", "year")
TAX_BEHAVIORS = ("exclusive", "inclusive", "unspecified")


def amount(*, required: bool = False) -> Int:
    return Int(min=0, max=MAX_AMOUNT, required=required)


CUSTOM_UNIT_AMOUNT = Hash(
    {"enabled": Bool(required=True), "maximum": amount(), "minimum": amount(), "preset": amount()}
)

# What ``product[default_price_data]`` accepts: a price without a product of its own.
PRICE_DATA: dict[str, Field] = {
    "currency": Str(max_length=3, required=True),
    "custom_unit_amount": CUSTOM_UNIT_AMOUNT,
    "metadata": Metadata(),
    "recurring": Hash({"interval": Enum(*INTERVALS, required=True), "interval_count": Int(min=1)}),
    "tax_behavior": Enum(*TAX_BEHAVIORS),
    "unit_amount": amount(),
    "unit_amount_decimal": DecimalStr(),
}

_TIER = Hash(
    {
        "up_to": OneOf(Int(min=1), Enum("inf"), required=True),
        "flat_amount": amount(),
        "flat_amount_decimal": DecimalStr(),
        "unit_amount": amount(),
        "unit_amount_decimal": DecimalStr(),
    }
)
_PRODUCT_DATA = Hash(
    {
        "active": Bool(),
        "id": Str(max_length=64),
        "metadata": Metadata(),
        "name": Str(max_length=250, required=True),
        # Lengths of these are the domain's rules, so its messages explain them.
        "statement_descriptor": Str(),
        "tax_code": Str(max_length=100),
        "unit_label": Str(),
    }
)
_CREATE: dict[str, Field] = {
    **PRICE_DATA,
    "active": Bool(),
    "billing_scheme": Enum("per_unit", "tiered"),
    "lookup_key": Str(max_length=200),
    "nickname": Str(max_length=5000),
    "product": Str(max_length=64),
    "product_data": _PRODUCT_DATA,
    "recurring": Hash(
        {
            "interval": Enum(*INTERVALS, required=True),
            "interval_count": Int(min=1),
            "trial_period_days": Int(min=0),
            "usage_type": Enum("licensed", "metered"),
        }
    ),
    "tiers": ListOf(_TIER, max_items=250),
    "tiers_mode": Enum("graduated", "volume"),
    "transfer_lookup_key": Bool(),
    "transform_quantity": Hash({"divide_by": Int(min=1, required=True), "round": Enum("down", "up", required=True)}),
}
_UPDATE: dict[str, Field] = {
    "active": Bool(),
    "lookup_key": Str(max_length=200, unsettable=True),
    "metadata": Metadata(),
    "nickname": Str(max_length=5000, unsettable=True),
    "tax_behavior": Enum(*TAX_BEHAVIORS),
    "transfer_lookup_key": Bool(),
}
_LIST: dict[str, Field] = {
    **LIST_PARAMS,
    "active": Bool(),
    "created": CREATED_FILTER,
    "currency": Str(max_length=3),
    "lookup_keys": ListOf(Str(max_length=200), max_items=10),
    "product": Str(max_length=64),
    "recurring": Hash({"interval": Enum(*INTERVALS), "usage_type": Enum("licensed", "metered")}),
    "type": Enum("one_time", "recurring"),
}


def price_create(call: ApiCall) -> dict[str, Any]:
    values = validate(_CREATE, call.params)
    exclusive(values, "unit_amount", "unit_amount_decimal")
    exclusive(values, "product", "product_data")
    return render_price(services.price_create(livemode=call.livemode, values=values))


def price_retrieve(call: ApiCall, price_id: str) -> dict[str, Any]:
    validate({}, call.params)
    return render_price(selectors.price_get(public_id=price_id, livemode=call.livemode))


def price_update(call: ApiCall, price_id: str) -> dict[str, Any]:
    values = validate(_UPDATE, call.params)
    price = selectors.price_get(public_id=price_id, livemode=call.livemode)
    return render_price(services.price_update(price=price, values=values))


def price_list(call: ApiCall) -> dict[str, Any]:
    params = validate(_LIST, call.params)
    recurring = params.get("recurring") or {}
    prices = selectors.price_list(
        livemode=call.livemode,
        active=params.get("active"),
        product_id=params.get("product"),
        type=params.get("type"),
        currency=params["currency"].lower() if "currency" in params else None,
        lookup_keys=params.get("lookup_keys"),
        interval=recurring.get("interval"),
        usage_type=recurring.get("usage_type"),
    )
    if "created" in params:
        prices = apply_range(prices, "created", params["created"])
    return paginate(prices, params, url="/v1/prices", kind="price", render=lambda rows: [render_price(p) for p in rows])


urlpatterns = [
    route("prices", GET=price_list, POST=price_create),
    route("prices/<str:price_id>", GET=price_retrieve, POST=price_update),
]
