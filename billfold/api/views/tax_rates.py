"""/v1/tax_rates"""

from __future__ import annotations

from typing import Any

from billfold.api.lists import CREATED_FILTER, LIST_PARAMS, apply_range, paginate
from billfold.api.params import Bool, DecimalStr, Field, Metadata, Str, validate
from billfold.api.representations.tax_rate import render_tax_rate
from billfold.api.routing import ApiCall, route
from billfold.billing import tax_rates

# Enum values and country/state formats are the service's rules, refused with its explanations.
_DESCRIPTIVE: dict[str, Field] = {
    "active": Bool(),
    "country": Str(max_length=5000, unsettable=True),
    "description": Str(max_length=5000, unsettable=True),
    "display_name": Str(max_length=50),
    "jurisdiction": Str(max_length=50, unsettable=True),
    "metadata": Metadata(),
    "state": Str(max_length=5000, unsettable=True),
    "tax_type": Str(max_length=100, unsettable=True),
}
_CREATE: dict[str, Field] = {
    **_DESCRIPTIVE,
    "display_name": Str(max_length=50, required=True),
    "inclusive": Bool(required=True),
    "percentage": DecimalStr(required=True),
}
_UPDATE = _DESCRIPTIVE
_LIST: dict[str, Field] = {**LIST_PARAMS, "active": Bool(), "created": CREATED_FILTER, "inclusive": Bool()}


def tax_rate_create(call: ApiCall) -> dict[str, Any]:
    values = validate(_CREATE, call.params)
    tax_rate = tax_rates.tax_rate_create(
        livemode=call.livemode,
        display_name=values.pop("display_name"),
        percentage=values.pop("percentage"),
        inclusive=values.pop("inclusive"),
        metadata=values.pop("metadata", None),
        values=values,
    )
    return render_tax_rate(tax_rate)


def tax_rate_retrieve(call: ApiCall, tax_rate_id: str) -> dict[str, Any]:
    validate({}, call.params)
    return render_tax_rate(tax_rates.tax_rate_get(public_id=tax_rate_id, livemode=call.livemode))


def tax_rate_update(call: ApiCall, tax_rate_id: str) -> dict[str, Any]:
    values = validate(_UPDATE, call.params)
    tax_rate = tax_rates.tax_rate_get(public_id=tax_rate_id, livemode=call.livemode)
    return render_tax_rate(tax_rates.tax_rate_update(tax_rate=tax_rate, values=values))


def tax_rate_list(call: ApiCall) -> dict[str, Any]:
    params = validate(_LIST, call.params)
    rows = tax_rates.tax_rate_list(
        livemode=call.livemode, active=params.get("active"), inclusive=params.get("inclusive")
    )
    if "created" in params:
        rows = apply_range(rows, "created", params["created"])
    return paginate(
        rows, params, url="/v1/tax_rates", kind="tax_rate", render=lambda page: [render_tax_rate(t) for t in page]
    )


urlpatterns = [
    route("tax_rates", GET=tax_rate_list, POST=tax_rate_create),
    route("tax_rates/<str:tax_rate_id>", GET=tax_rate_retrieve, POST=tax_rate_update),
]
