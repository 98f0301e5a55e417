"""/v1/products"""

from __future__ import annotations

from typing import Any

from billfold.api.lists import CREATED_FILTER, LIST_PARAMS, apply_range, paginate
from billfold.api.params import Bool, DecimalStr, Enum, Field, Hash, ListOf, Metadata, Str, exclusive, validate
from billfold.api.representations.common import deleted
from billfold.api.representations.product import render_product
from billfold.api.routing import ApiCall, route
from billfold.api.views.prices import PRICE_DATA
from billfold.catalog import selectors, services


def _package_dimensions(*, unsettable: bool) -> Hash:
    return Hash(
        {
            "height": DecimalStr(required=True),
            "length": DecimalStr(required=True),
            "weight": DecimalStr(required=True),
            "width": DecimalStr(required=True),
        },
        unsettable=unsettable,
    )


# Lengths of statement_descriptor, unit_label, images and marketing_features are the catalog's
# rules (billfold.catalog.rules), so their refusals come with its explanations.
_COMMON: dict[str, Field] = {
    "active": Bool(),
    "metadata": Metadata(),
    "name": Str(max_length=250),
    "shippable": Bool(),
}
_CREATE: dict[str, Field] = {
    **_COMMON,
    "name": Str(max_length=250, required=True),
    "default_price_data": Hash(PRICE_DATA),
    "description": Str(max_length=40000),
    "id": Str(max_length=64),
    "images": ListOf(Str(max_length=2048)),
    "marketing_features": ListOf(Hash({"name": Str(required=True)})),
    "package_dimensions": _package_dimensions(unsettable=False),
    "statement_descriptor": Str(),
    "tax_code": Str(max_length=100),
    "type": Enum("good", "service"),
    "unit_label": Str(),
    "url": Str(max_length=2048),
}
_UPDATE: dict[str, Field] = {
    **_COMMON,
    "default_price": Str(max_length=64, unsettable=True),
    "description": Str(max_length=40000, unsettable=True),
    "images": ListOf(Str(max_length=2048), unsettable=True),
    "marketing_features": ListOf(Hash({"name": Str(required=True)}), unsettable=True),
    "package_dimensions": _package_dimensions(unsettable=True),
    "statement_descriptor": Str(unsettable=True),
    "tax_code": Str(max_length=100, unsettable=True),
    "unit_label": Str(unsettable=True),
    "url": Str(max_length=2048, unsettable=True),
}
_LIST: dict[str, Field] = {
    **LIST_PARAMS,
    "active": Bool(),
    "created": CREATED_FILTER,
    "ids": ListOf(Str(max_length=64)),
    "shippable": Bool(),
    "type": Enum("good", "service"),
    "url": Str(max_length=2048),
}


def product_create(call: ApiCall) -> dict[str, Any]:
    values = validate(_CREATE, call.params)
    if "default_price_data" in values:
        exclusive(values["default_price_data"], "unit_amount", "unit_amount_decimal")
    return render_product(services.product_create(livemode=call.livemode, values=values))


def product_retrieve(call: ApiCall, product_id: str) -> dict[str, Any]:
    validate({}, call.params)
    return render_product(selectors.product_get(public_id=product_id, livemode=call.livemode))


def product_update(call: ApiCall, product_id: str) -> dict[str, Any]:
    values = validate(_UPDATE, call.params)
    product = selectors.product_get(public_id=product_id, livemode=call.livemode)
    return render_product(services.product_update(product=product, values=values))


def product_delete(call: ApiCall, product_id: str) -> dict[str, Any]:
    validate({}, call.params)
    product = selectors.product_get(public_id=product_id, livemode=call.livemode)
    services.product_delete(product=product)
    return deleted("product", product.public_id)


def product_list(call: ApiCall) -> dict[str, Any]:
    params = validate(_LIST, call.params)
    products = selectors.product_list(
        livemode=call.livemode,
        active=params.get("active"),
        ids=params.get("ids"),
        shippable=params.get("shippable"),
        type=params.get("type"),
        url=params.get("url"),
    ).select_related("default_price")
    if "created" in params:
        products = apply_range(products, "created", params["created"])
    return paginate(
        products, params, url="/v1/products", kind="product", render=lambda rows: [render_product(p) for p in rows]
    )


urlpatterns = [
    route("products", GET=product_list, POST=product_create),
    route("products/<str:product_id>", GET=product_retrieve, POST=product_update, DELETE=product_delete),
]
