"""/v1/charges: the outcome of each payment attempt, read-only (payments are made with payment intents)."""

from __future__ import annotations

from typing import Any

from billfold.api.lists import CREATED_FILTER, LIST_PARAMS, apply_range, paginate
from billfold.api.params import Field, Str, validate
from billfold.api.representations.charge import render_charge
from billfold.api.representations.refund import render_refund
from billfold.api.routing import ApiCall, route
from billfold.customers import selectors as customer_selectors
from billfold.payments import selectors

_LIST: dict[str, Field] = {
    **LIST_PARAMS,
    "created": CREATED_FILTER,
    "customer": Str(max_length=5000),
    "payment_intent": Str(max_length=5000),
}


def charge_retrieve(call: ApiCall, charge_id: str) -> dict[str, Any]:
    validate({}, call.params)
    return render_charge(selectors.charge_get(public_id=charge_id, livemode=call.livemode, param="id"))


def charge_list(call: ApiCall) -> dict[str, Any]:
    params = validate(_LIST, call.params)
    customer = (
        customer_selectors.customer_get(public_id=params["customer"], livemode=call.livemode, param="customer")
        if "customer" in params
        else None
    )
    payment_intent = (
        selectors.payment_intent_get(public_id=params["payment_intent"], livemode=call.livemode, param="payment_intent")
        if "payment_intent" in params
        else None
    )
    rows = selectors.charge_list(livemode=call.livemode, customer=customer, payment_intent=payment_intent)
    if "created" in params:
        rows = apply_range(rows, "created", params["created"])
    return paginate(
        rows, params, url="/v1/charges", kind="charge", render=lambda page: [render_charge(c) for c in page]
    )


def charge_refund_list(call: ApiCall, charge_id: str) -> dict[str, Any]:
    params = validate(LIST_PARAMS, call.params)
    charge = selectors.charge_get(public_id=charge_id, livemode=call.livemode, param="charge")
    return paginate(
        selectors.refund_list(livemode=call.livemode, charge=charge),
        params,
        url=f"/v1/charges/{charge.public_id}/refunds",
        kind="refund",
        render=lambda page: [render_refund(r) for r in page],
    )


urlpatterns = [
    route("charges", GET=charge_list),
    route("charges/<str:charge_id>", GET=charge_retrieve),
    route("charges/<str:charge_id>/refunds", GET=charge_refund_list),
]
