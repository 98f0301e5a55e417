"""/v1/customers/{customer}/tax_ids and /v1/tax_ids"""

from __future__ import annotations

from typing import Any

from billfold.api.errors import ParamError
from billfold.api.lists import LIST_PARAMS, paginate
from billfold.api.params import Enum, Hash, Str, validate
from billfold.api.representations.common import deleted
from billfold.api.representations.tax_id import customer_tax_ids_url, render_tax_id
from billfold.api.routing import ApiCall, route
from billfold.customers import selectors as customer_selectors
from billfold.customers import tax_ids
from billfold.customers.models import Customer, TaxId

_CREATE = {"type": Str(max_length=20, required=True), "value": Str(max_length=200, required=True)}
_OWNER_TYPES = ("account", "application", "customer", "self")
_OWNER = Hash(
    {
        "type": Enum(*_OWNER_TYPES, required=True),
        "account": Str(max_length=255),
        "customer": Str(max_length=255),
        "customer_account": Str(max_length=255),
    }
)
_TOP_CREATE = {**_CREATE, "owner": _OWNER}
_TOP_LIST = {**LIST_PARAMS, "owner": _OWNER}


def _render_page(rows: list[TaxId]) -> list[dict[str, Any]]:
    return [render_tax_id(t) for t in rows]


def _customer(call: ApiCall, customer_id: str, *, param: str = "customer") -> Customer:
    return customer_selectors.customer_get(public_id=customer_id, livemode=call.livemode, param=param)


def customer_tax_id_create(call: ApiCall, customer_id: str) -> dict[str, Any]:
    params = validate(_CREATE, call.params)
    customer = _customer(call, customer_id)
    return render_tax_id(tax_ids.tax_id_create(customer=customer, tax_type=params["type"], value=params["value"]))


def customer_tax_id_list(call: ApiCall, customer_id: str) -> dict[str, Any]:
    params = validate(LIST_PARAMS, call.params)
    customer = _customer(call, customer_id)
    rows = tax_ids.tax_id_list(livemode=call.livemode, customer=customer)
    return paginate(rows, params, url=customer_tax_ids_url(customer_id), kind="tax_id", render=_render_page)


def customer_tax_id_retrieve(call: ApiCall, customer_id: str, tax_id: str) -> dict[str, Any]:
    validate({}, call.params)
    customer = _customer(call, customer_id)
    return render_tax_id(tax_ids.tax_id_get(public_id=tax_id, livemode=call.livemode, customer=customer))


def customer_tax_id_delete(call: ApiCall, customer_id: str, tax_id: str) -> dict[str, Any]:
    validate({}, call.params)
    customer = _customer(call, customer_id)
    found = tax_ids.tax_id_get(public_id=tax_id, livemode=call.livemode, customer=customer)
    return deleted("tax_id", tax_ids.tax_id_delete(tax_id=found).public_id)


def _owner_customer(call: ApiCall, owner: dict[str, Any]) -> Customer | None:
    """The customer ``owner`` names; None for the account's own tax IDs (``self``), which Billfold has none of."""
    if owner["type"] == "self":
        return None
    if owner["type"] != "customer":
        raise ParamError(
            f"Billfold keeps tax IDs for customers only; owner[type]={owner['type']} is not supported. "
            "Use owner[type]=customer with owner[customer].",
            param="owner[type]",
        )
    if "customer" not in owner:
        raise ParamError(
            "Missing required param: owner[customer] (required when owner[type] is customer).",
            param="owner[customer]",
            code="parameter_missing",
        )
    return _customer(call, owner["customer"], param="owner[customer]")


def tax_id_create(call: ApiCall) -> dict[str, Any]:
    params = validate(_TOP_CREATE, call.params)
    # Without ``owner`` Stripe adds an account tax ID; Billfold only has customers' tax IDs.
    customer = _owner_customer(call, params.get("owner") or {"type": "self"})
    if customer is None:
        raise ParamError(
            "Billfold keeps tax IDs for customers only. Pass owner[type]=customer and owner[customer]=cus_..., "
            "or use POST /v1/customers/{customer}/tax_ids.",
            param="owner",
        )
    return render_tax_id(tax_ids.tax_id_create(customer=customer, tax_type=params["type"], value=params["value"]))


def tax_id_list(call: ApiCall) -> dict[str, Any]:
    params = validate(_TOP_LIST, call.params)
    customer = _owner_customer(call, params.get("owner") or {"type": "self"})
    if customer is None:
        # The account's own tax IDs: Billfold has none.
        return paginate(TaxId.objects.none(), params, url="/v1/tax_ids", kind="tax_id", render=_render_page)
    rows = tax_ids.tax_id_list(livemode=call.livemode, customer=customer)
    return paginate(rows, params, url="/v1/tax_ids", kind="tax_id", render=_render_page)


def tax_id_retrieve(call: ApiCall, tax_id: str) -> dict[str, Any]:
    validate({}, call.params)
    return render_tax_id(tax_ids.tax_id_get(public_id=tax_id, livemode=call.livemode))


def tax_id_delete(call: ApiCall, tax_id: str) -> dict[str, Any]:
    validate({}, call.params)
    found = tax_ids.tax_id_get(public_id=tax_id, livemode=call.livemode)
    return deleted("tax_id", tax_ids.tax_id_delete(tax_id=found).public_id)


urlpatterns = [
    route("customers/<str:customer_id>/tax_ids", GET=customer_tax_id_list, POST=customer_tax_id_create),
    route(
        "customers/<str:customer_id>/tax_ids/<str:tax_id>",
        GET=customer_tax_id_retrieve,
        DELETE=customer_tax_id_delete,
    ),
    route("tax_ids", GET=tax_id_list, POST=tax_id_create),
    route("tax_ids/<str:tax_id>", GET=tax_id_retrieve, DELETE=tax_id_delete),
]
