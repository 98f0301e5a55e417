"""/v1/invoiceitems"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from billfold.api.errors import ParamError
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
    Str,
    Timestamp,
    exclusive,
    validate,
)
from billfold.api.representations.invoice_item import render_invoice_item
from billfold.api.routing import ApiCall, route
from billfold.billing import invoices as services
from billfold.billing.invoices import selectors
from billfold.catalog import selectors as catalog_selectors
from billfold.core import clock
from billfold.customers import selectors as customer_selectors

_DISCOUNTS = ListOf(
    Hash(
        {
            "coupon": Str(max_length=5000),
            "discount": Str(max_length=5000),
            "promotion_code": Str(max_length=5000),
        }
    ),
    max_items=20,
    unsettable=True,
)
_PERIOD = Hash({"end": Timestamp(required=True), "start": Timestamp(required=True)})
_PRICE_DATA = Hash(
    {
        "currency": Str(max_length=3, required=True),
        "product": Str(max_length=5000, required=True),
        "tax_behavior": Enum("exclusive", "inclusive", "unspecified"),
        "unit_amount": Int(min=0),
        "unit_amount_decimal": DecimalStr(),
    }
)
_WRITABLE: dict[str, Field] = {
    "amount": Int(),
    "description": Str(max_length=5000, unsettable=True),
    "discountable": Bool(),
    "discounts": _DISCOUNTS,
    "metadata": Metadata(),
    "period": _PERIOD,
    # ``price`` and ``unit_amount`` are how API versions before 2025 named ``pricing[price]`` and
    # ``unit_amount_decimal``; older SDKs still send them.
    "price": Str(max_length=5000),
    "price_data": _PRICE_DATA,
    "pricing": Hash({"price": Str(max_length=5000)}),
    "quantity": Int(min=0),
    "tax_behavior": Enum("exclusive", "inclusive", "unspecified"),
    "tax_rates": ListOf(Str(max_length=5000), max_items=10, unsettable=True),
    "unit_amount": Int(),
    "unit_amount_decimal": DecimalStr(),
}
_CREATE: dict[str, Field] = {
    **_WRITABLE,
    "currency": Str(max_length=3),
    "customer": Str(max_length=5000, required=True),
    "invoice": Str(max_length=5000),
}
_LIST: dict[str, Field] = {
    **LIST_PARAMS,
    "created": CREATED_FILTER,
    "customer": Str(max_length=5000),
    "invoice": Str(max_length=5000),
    "pending": Bool(),
}


def _price(call: ApiCall, values: dict[str, Any]) -> None:
    """Replace ``pricing[price]`` (or the older ``price``) by the Price it names; keep ``price_data``."""
    pricing = values.pop("pricing", None) or {}
    named = pricing.get("price") or values.pop("price", None)
    if named is not None and "price_data" in values:
        raise ParamError(
            "You may only specify one of these parameters: pricing[price], price_data.",
            param="price_data",
            code="parameters_exclusive",
        )
    if named is not None:
        values["price"] = catalog_selectors.price_get(public_id=named, livemode=call.livemode, param="pricing[price]")


def _amounts(values: dict[str, Any]) -> None:
    """``unit_amount`` (older API versions) is ``unit_amount_decimal`` for a whole number of minor units."""
    exclusive(values, "unit_amount", "unit_amount_decimal")
    if "unit_amount" in values:
        values["unit_amount_decimal"] = Decimal(values.pop("unit_amount"))


def _period(values: dict[str, Any]) -> None:
    period = values.pop("period", None)
    if period is not None:
        values["period_start"] = clock.from_unix(period["start"])
        values["period_end"] = clock.from_unix(period["end"])


def invoice_item_create(call: ApiCall) -> dict[str, Any]:
    values = validate(_CREATE, call.params)
    values.pop("tax_behavior", None)  # Stripe Tax only; manual tax rates say inclusive or exclusive
    customer = customer_selectors.customer_get(
        public_id=values.pop("customer"), livemode=call.livemode, param="customer"
    )
    invoice_id = values.pop("invoice", None)
    invoice = (
        selectors.invoice_get(public_id=invoice_id, livemode=call.livemode, param="invoice") if invoice_id else None
    )
    _price(call, values)
    _amounts(values)
    _period(values)
    item = services.invoiceitem_create(
        customer=customer,
        livemode=call.livemode,
        invoice=invoice,
        price=values.get("price"),
        price_data=values.get("price_data"),
        quantity=values.get("quantity", 1),
        amount=values.get("amount"),
        unit_amount_decimal=values.get("unit_amount_decimal"),
        currency=values.get("currency"),
        description=values.get("description"),
        period_start=values.get("period_start"),
        period_end=values.get("period_end"),
        discountable=values.get("discountable"),
        discounts=values.get("discounts"),
        tax_rates=values.get("tax_rates"),
        metadata=values.get("metadata"),
    )
    return render_invoice_item(item)


def invoice_item_retrieve(call: ApiCall, item_id: str) -> dict[str, Any]:
    validate({}, call.params)
    return render_invoice_item(
        selectors.invoiceitem_get(public_id=item_id, livemode=call.livemode, include_deleted=True)
    )


def invoice_item_update(call: ApiCall, item_id: str) -> dict[str, Any]:
    values = validate(_WRITABLE, call.params)
    values.pop("tax_behavior", None)
    item = selectors.invoiceitem_get(public_id=item_id, livemode=call.livemode)
    _price(call, values)
    _amounts(values)
    _period(values)
    return render_invoice_item(services.invoiceitem_update(invoice_item=item, values=values))


def invoice_item_delete(call: ApiCall, item_id: str) -> dict[str, Any]:
    validate({}, call.params)
    item = selectors.invoiceitem_get(public_id=item_id, livemode=call.livemode)
    return render_invoice_item(services.invoiceitem_delete(invoice_item=item))


def invoice_item_list(call: ApiCall) -> dict[str, Any]:
    params = validate(_LIST, call.params)
    customer = (
        customer_selectors.customer_get(
            public_id=params["customer"], livemode=call.livemode, include_deleted=True, param="customer"
        )
        if "customer" in params
        else None
    )
    invoice = (
        selectors.invoice_get(public_id=params["invoice"], livemode=call.livemode, param="invoice")
        if "invoice" in params
        else None
    )
    items = selectors.invoiceitem_list(
        livemode=call.livemode, customer=customer, invoice=invoice, pending=params.get("pending")
    )
    if "created" in params:
        items = apply_range(items, "created", params["created"])
    return paginate(
        items,
        params,
        url="/v1/invoiceitems",
        kind="invoiceitem",
        render=lambda rows: [render_invoice_item(i) for i in rows],
    )


urlpatterns = [
    route("invoiceitems", GET=invoice_item_list, POST=invoice_item_create),
    route(
        "invoiceitems/<str:item_id>",
        GET=invoice_item_retrieve,
        POST=invoice_item_update,
        DELETE=invoice_item_delete,
    ),
]
