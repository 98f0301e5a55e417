"""/v1/coupons"""

from __future__ import annotations

from typing import Any

from billfold.api.errors import ParamError
from billfold.api.lists import CREATED_FILTER, LIST_PARAMS, apply_range, paginate
from billfold.api.params import (
    DecimalStr,
    Enum,
    Field,
    Hash,
    Int,
    ListOf,
    Metadata,
    Str,
    Timestamp,
    child_name,
    validate,
)
from billfold.api.representations.common import deleted
from billfold.api.representations.coupon import render_coupon
from billfold.api.routing import ApiCall, route
from billfold.billing import coupons
from billfold.core import clock


class CurrencyAmounts(Field):
    """``currency_options[eur][amount_off]=900`` → ``{"eur": 900}``: one amount per currency code.

    The codes themselves are the service's to check (supported, not the main currency), so a
    refusal names the exact key.
    """

    def __init__(self, amount_field: str, *, minimum: int) -> None:
        super().__init__()
        self.amount_field = amount_field
        self.option = Hash({amount_field: Int(min=minimum, required=True)})

    def convert(self, value: Any, name: str) -> dict[str, int]:
        if not isinstance(value, dict):
            raise ParamError(
                f"Invalid object: {name} must be a hash (e.g. {name}[eur][{self.amount_field}]=900).", param=name
            )
        return {
            code: self.option.parse(option, child_name(name, code))[self.amount_field] for code, option in value.items()
        }


_CREATE: dict[str, Field] = {
    "amount_off": Int(min=1),
    "applies_to": Hash({"products": ListOf(Str(max_length=5000))}),
    "currency": Str(max_length=3),
    "currency_options": CurrencyAmounts("amount_off", minimum=1),
    "duration": Enum("forever", "once", "repeating"),
    "duration_in_months": Int(min=1),
    "id": Str(max_length=200),
    "max_redemptions": Int(min=1),
    "metadata": Metadata(),
    "name": Str(max_length=40),
    "percent_off": DecimalStr(),
    "redeem_by": Timestamp(),
}
_UPDATE: dict[str, Field] = {
    "currency_options": CurrencyAmounts("amount_off", minimum=1),
    "metadata": Metadata(),
    "name": Str(max_length=40, unsettable=True),
}
_LIST: dict[str, Field] = {**LIST_PARAMS, "created": CREATED_FILTER}


def coupon_create(call: ApiCall) -> dict[str, Any]:
    values = validate(_CREATE, call.params)
    redeem_by = values.get("redeem_by")
    coupon = coupons.coupon_create(
        livemode=call.livemode,
        public_id=values.get("id"),
        name=values.get("name"),
        percent_off=values.get("percent_off"),
        amount_off=values.get("amount_off"),
        currency=values.get("currency"),
        currency_options=values.get("currency_options"),
        duration=values.get("duration") or "once",
        duration_in_months=values.get("duration_in_months"),
        max_redemptions=values.get("max_redemptions"),
        redeem_by=clock.from_unix(redeem_by) if redeem_by is not None else None,
        applies_to_products=(values.get("applies_to") or {}).get("products"),
        metadata=values.get("metadata"),
    )
    return render_coupon(coupon)


def coupon_retrieve(call: ApiCall, coupon_id: str) -> dict[str, Any]:
    validate({}, call.params)
    return render_coupon(coupons.coupon_get(public_id=coupon_id, livemode=call.livemode))


def coupon_update(call: ApiCall, coupon_id: str) -> dict[str, Any]:
    values = validate(_UPDATE, call.params)
    coupon = coupons.coupon_get(public_id=coupon_id, livemode=call.livemode)
    return render_coupon(coupons.coupon_update(coupon=coupon, values=values))


def coupon_delete(call: ApiCall, coupon_id: str) -> dict[str, Any]:
    validate({}, call.params)
    coupon = coupons.coupon_get(public_id=coupon_id, livemode=call.livemode)
    coupons.coupon_delete(coupon=coupon)
    return deleted("coupon", coupon.public_id)


def coupon_list(call: ApiCall) -> dict[str, Any]:
    params = validate(_LIST, call.params)
    rows = coupons.coupon_list(livemode=call.livemode)
    if "created" in params:
        rows = apply_range(rows, "created", params["created"])
    return paginate(
        rows, params, url="/v1/coupons", kind="coupon", render=lambda page: [render_coupon(c) for c in page]
    )


urlpatterns = [
    route("coupons", GET=coupon_list, POST=coupon_create),
    route("coupons/<str:coupon_id>", GET=coupon_retrieve, POST=coupon_update, DELETE=coupon_delete),
]
