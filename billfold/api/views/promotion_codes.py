"""/v1/promotion_codes"""

from __future__ import annotations

from typing import Any

from billfold.api.errors import ParamError
from billfold.api.lists import CREATED_FILTER, LIST_PARAMS, apply_range, paginate
from billfold.api.params import Bool, Enum, Field, Hash, Int, Metadata, Str, Timestamp, validate
from billfold.api.representations.promotion_code import render_promotion_code
from billfold.api.routing import ApiCall, route
from billfold.api.views.coupons import CurrencyAmounts
from billfold.billing import coupons
from billfold.core import clock
from billfold.customers.selectors import customer_get

_CREATE: dict[str, Field] = {
    "active": Bool(),
    "code": Str(max_length=500),
    # The 2023 API named the coupon here; the current one under promotion[coupon]. Both work.
    "coupon": Str(max_length=5000),
    "customer": Str(max_length=5000),
    "expires_at": Timestamp(),
    "max_redemptions": Int(min=1),
    "metadata": Metadata(),
    "promotion": Hash({"type": Enum("coupon", required=True), "coupon": Str(max_length=5000)}),
    "restrictions": Hash(
        {
            "currency_options": CurrencyAmounts("minimum_amount", minimum=0),
            "first_time_transaction": Bool(),
            "minimum_amount": Int(min=0),
            "minimum_amount_currency": Str(max_length=3),
        }
    ),
}
_UPDATE: dict[str, Field] = {
    "active": Bool(),
    "metadata": Metadata(),
    "restrictions": Hash({"currency_options": CurrencyAmounts("minimum_amount", minimum=0)}),
}
_LIST: dict[str, Field] = {
    **LIST_PARAMS,
    "active": Bool(),
    "code": Str(max_length=500),
    "coupon": Str(max_length=5000),
    "created": CREATED_FILTER,
    "customer": Str(max_length=5000),
}


def _coupon_param(values: dict[str, Any]) -> tuple[str, str]:
    """The coupon's id and the parameter that gave it."""
    promotion = values.get("promotion")
    if promotion is not None and "coupon" in values:
        raise ParamError(
            "You may only specify one of these parameters: coupon, promotion[coupon].",
            param="promotion[coupon]",
            code="parameters_exclusive",
        )
    if promotion is not None:
        if "coupon" not in promotion:
            raise ParamError(
                "Missing required param: promotion[coupon]. A promotion of type coupon names its coupon.",
                param="promotion[coupon]",
                code="parameter_missing",
            )
        return promotion["coupon"], "promotion[coupon]"
    if "coupon" in values:
        return values["coupon"], "coupon"
    raise ParamError(
        "Missing required param: promotion. Give promotion[type]=coupon and promotion[coupon] with the coupon's id.",
        param="promotion",
        code="parameter_missing",
    )


def promotion_code_create(call: ApiCall) -> dict[str, Any]:
    values = validate(_CREATE, call.params)
    coupon_id, coupon_param = _coupon_param(values)
    coupon = coupons.coupon_get(public_id=coupon_id, livemode=call.livemode, param=coupon_param)
    customer = None
    if "customer" in values:
        customer = customer_get(public_id=values["customer"], livemode=call.livemode, param="customer")
    restrictions = values.get("restrictions") or {}
    expires_at = values.get("expires_at")
    promotion_code = coupons.promotion_code_create(
        livemode=call.livemode,
        coupon=coupon,
        coupon_param=coupon_param,
        code=values.get("code"),
        active=values.get("active", True),
        customer=customer,
        expires_at=clock.from_unix(expires_at) if expires_at is not None else None,
        max_redemptions=values.get("max_redemptions"),
        first_time_transaction=restrictions.get("first_time_transaction", False),
        minimum_amount=restrictions.get("minimum_amount"),
        minimum_amount_currency=restrictions.get("minimum_amount_currency"),
        currency_options=restrictions.get("currency_options"),
        metadata=values.get("metadata"),
    )
    return render_promotion_code(promotion_code)


def promotion_code_retrieve(call: ApiCall, promotion_code_id: str) -> dict[str, Any]:
    validate({}, call.params)
    return render_promotion_code(coupons.promotion_code_get(public_id=promotion_code_id, livemode=call.livemode))


def promotion_code_update(call: ApiCall, promotion_code_id: str) -> dict[str, Any]:
    values = validate(_UPDATE, call.params)
    promotion_code = coupons.promotion_code_get(public_id=promotion_code_id, livemode=call.livemode)
    change = {key: values[key] for key in ("active", "metadata") if key in values}
    if "currency_options" in (values.get("restrictions") or {}):
        change["currency_options"] = values["restrictions"]["currency_options"]
    return render_promotion_code(coupons.promotion_code_update(promotion_code=promotion_code, values=change))


def promotion_code_list(call: ApiCall) -> dict[str, Any]:
    params = validate(_LIST, call.params)
    rows = coupons.promotion_code_list(
        livemode=call.livemode,
        active=params.get("active"),
        code=params.get("code"),
        coupon_id=params.get("coupon"),
        customer_id=params.get("customer"),
    )
    if "created" in params:
        rows = apply_range(rows, "created", params["created"])
    return paginate(
        rows,
        params,
        url="/v1/promotion_codes",
        kind="promotion_code",
        render=lambda page: [render_promotion_code(p) for p in page],
    )


urlpatterns = [
    route("promotion_codes", GET=promotion_code_list, POST=promotion_code_create),
    route("promotion_codes/<str:promotion_code_id>", GET=promotion_code_retrieve, POST=promotion_code_update),
]
