"""/v1/refunds

Creating a refund calls the payment processor, so it runs outside a request-wide transaction
(``commits_itself``, as confirming a payment intent does).
"""

from __future__ import annotations

from typing import Any

from billfold.api.lists import CREATED_FILTER, LIST_PARAMS, apply_range, paginate
from billfold.api.params import Enum, Field, Int, Metadata, Str, validate
from billfold.api.representations.refund import render_refund
from billfold.api.routing import ApiCall, commits_itself, route
from billfold.api.views.payment_intents import check_expand, request_key
from billfold.payments import refunds, selectors

_CREATE: dict[str, Field] = {
    "amount": Int(min=1),
    "charge": Str(max_length=5000),
    "metadata": Metadata(),
    "payment_intent": Str(max_length=5000),
    "reason": Enum(*refunds.REASONS),
}
_LIST: dict[str, Field] = {
    **LIST_PARAMS,
    "charge": Str(max_length=5000),
    "created": CREATED_FILTER,
    "payment_intent": Str(max_length=5000),
}
_EXPANSION_STUBS = {
    "charge": {"object": "charge", "id": "ch_expand_check"},
    "payment_intent": {"object": "payment_intent", "id": "pi_expand_check"},
}


@commits_itself
def refund_create(call: ApiCall) -> dict[str, Any]:
    values = validate(_CREATE, call.params)
    charge = (
        selectors.charge_get(public_id=values["charge"], livemode=call.livemode, param="charge")
        if "charge" in values
        else None
    )
    payment_intent = (
        selectors.payment_intent_get(public_id=values["payment_intent"], livemode=call.livemode, param="payment_intent")
        if "payment_intent" in values
        else None
    )
    check_expand(call, _EXPANSION_STUBS, {"object": "refund"})
    key = request_key()
    earlier = refunds.refund_of_request(livemode=call.livemode, request_key=key) if key else None
    if earlier is not None:
        return render_refund(refunds.refund_resume(refund=earlier))
    refund = refunds.refund_create(
        charge=charge,
        payment_intent=payment_intent,
        amount=values.get("amount"),
        reason=values.get("reason"),
        metadata=values.get("metadata"),
        request_key=key,
    )
    return render_refund(refund)


def refund_retrieve(call: ApiCall, refund_id: str) -> dict[str, Any]:
    validate({}, call.params)
    return render_refund(selectors.refund_get(public_id=refund_id, livemode=call.livemode, param="id"))


def refund_update(call: ApiCall, refund_id: str) -> dict[str, Any]:
    values = validate({"metadata": Metadata()}, call.params)
    refund = selectors.refund_get(public_id=refund_id, livemode=call.livemode, param="id")
    if "metadata" not in values:
        return render_refund(refund)
    return render_refund(refunds.refund_update(refund=refund, metadata=values["metadata"]))


def refund_list(call: ApiCall) -> dict[str, Any]:
    params = validate(_LIST, call.params)
    charge = (
        selectors.charge_get(public_id=params["charge"], livemode=call.livemode, param="charge")
        if "charge" in params
        else None
    )
    payment_intent = (
        selectors.payment_intent_get(public_id=params["payment_intent"], livemode=call.livemode, param="payment_intent")
        if "payment_intent" in params
        else None
    )
    rows = selectors.refund_list(livemode=call.livemode, charge=charge, payment_intent=payment_intent)
    if "created" in params:
        rows = apply_range(rows, "created", params["created"])
    return paginate(
        rows, params, url="/v1/refunds", kind="refund", render=lambda page: [render_refund(r) for r in page]
    )


urlpatterns = [
    route("refunds", GET=refund_list, POST=refund_create),
    route("refunds/<str:refund_id>", GET=refund_retrieve, POST=refund_update),
]
