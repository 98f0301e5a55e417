"""/v1/customers"""

from __future__ import annotations

from typing import Any

from billfold.api.lists import CREATED_FILTER, LIST_PARAMS, apply_range, paginate
from billfold.api.params import Enum, Field, Hash, Int, ListOf, Metadata, Str, validate
from billfold.api.representations.customer import render_customer
from billfold.api.routing import ApiCall, route
from billfold.api.shapes import address, shipping
from billfold.clocks import selectors as clock_selectors
from billfold.customers import selectors, services
from billfold.customers.tax_ids import MAX_PER_CUSTOMER as MAX_TAX_IDS_PER_CUSTOMER

_WRITABLE: dict[str, Field] = {
    "address": address(),
    "balance": Int(),
    "description": Str(max_length=350, unsettable=True),
    "email": Str(max_length=512, unsettable=True),
    "invoice_prefix": Str(max_length=12),
    "invoice_settings": Hash(
        {
            "custom_fields": ListOf(
                Hash({"name": Str(max_length=40, required=True), "value": Str(max_length=140, required=True)}),
                max_items=4,
                unsettable=True,
            ),
            "default_payment_method": Str(max_length=5000, unsettable=True),
            "footer": Str(max_length=5000, unsettable=True),
            "rendering_options": Hash(
                {"amount_tax_display": Enum("exclude_tax", "include_inclusive_tax", unsettable=True)},
                unsettable=True,
            ),
        }
    ),
    "metadata": Metadata(),
    "name": Str(max_length=256, unsettable=True),
    "next_invoice_sequence": Int(min=1, max=1_000_000_000),
    "phone": Str(max_length=20, unsettable=True),
    "preferred_locales": ListOf(Str(max_length=20), max_items=20, unsettable=True),
    "shipping": shipping(),
    "tax_exempt": Enum("exempt", "none", "reverse", unsettable=True),
}
_CREATE = {
    **_WRITABLE,
    "payment_method": Str(max_length=5000),
    # Only at creation: a customer never moves to or off a test clock.
    "test_clock": Str(max_length=5000),
    "tax_id_data": ListOf(
        Hash({"type": Str(max_length=20, required=True), "value": Str(max_length=200, required=True)}),
        max_items=MAX_TAX_IDS_PER_CUSTOMER,
    ),
}
_UPDATE = _WRITABLE
_LIST = {**LIST_PARAMS, "email": Str(max_length=512), "created": CREATED_FILTER, "test_clock": Str(max_length=5000)}


def customer_create(call: ApiCall) -> dict[str, Any]:
    values = validate(_CREATE, call.params)
    return render_customer(services.customer_create(livemode=call.livemode, values=values))


def customer_retrieve(call: ApiCall, customer_id: str) -> dict[str, Any]:
    validate({}, call.params)
    return render_customer(selectors.customer_get(public_id=customer_id, livemode=call.livemode, include_deleted=True))


def customer_update(call: ApiCall, customer_id: str) -> dict[str, Any]:
    values = validate(_UPDATE, call.params)
    customer = selectors.customer_get(public_id=customer_id, livemode=call.livemode)
    return render_customer(services.customer_update(customer=customer, values=values))


def customer_delete(call: ApiCall, customer_id: str) -> dict[str, Any]:
    validate({}, call.params)
    customer = selectors.customer_get(public_id=customer_id, livemode=call.livemode)
    return render_customer(services.customer_delete(customer=customer))


def customer_list(call: ApiCall) -> dict[str, Any]:
    params = validate(_LIST, call.params)
    test_clock = (
        clock_selectors.test_clock_get(public_id=params["test_clock"], livemode=call.livemode, param="test_clock")
        if "test_clock" in params
        else None
    )
    customers = selectors.customer_list(
        livemode=call.livemode,
        email=params.get("email"),
        test_clock=test_clock,
        exclude_test_clocks=test_clock is None,
    )
    if "created" in params:
        customers = apply_range(customers, "created", params["created"])
    return paginate(
        customers, params, url="/v1/customers", kind="customer", render=lambda rows: [render_customer(c) for c in rows]
    )


urlpatterns = [
    route("customers", GET=customer_list, POST=customer_create),
    route("customers/<str:customer_id>", GET=customer_retrieve, POST=customer_update, DELETE=customer_delete),
]
