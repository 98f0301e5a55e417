"""/v1/tax_codes: Stripe's product tax codes, a static list that is the same in test and live mode."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from billfold.api.lists import LIST_PARAMS, list_object
from billfold.api.params import exclusive, validate
from billfold.api.representations.tax_code import render_tax_code
from billfold.api.routing import ApiCall, route
from billfold.catalog.tax_codes import TaxCode, tax_code_get, tax_code_list
from billfold.core.errors import NotFound

_URL = "/v1/tax_codes"


def _page(codes: list[TaxCode], params: Mapping[str, Any]) -> tuple[list[TaxCode], bool]:
    """One page of ``codes`` (in id order) with the cursor rules of database lists.

    ``starting_after`` gives the codes that follow the cursor; ``ending_before`` the ones just
    before it, still in list order. ``has_more`` says whether codes remain beyond the page in the
    direction of travel.
    """
    exclusive(params, "starting_after", "ending_before")
    limit: int = params.get("limit") or 10
    after: str | None = params.get("starting_after")
    before: str | None = params.get("ending_before")
    cursor = after or before
    if cursor is None:
        return codes[:limit], len(codes) > limit
    position = next((index for index, code in enumerate(codes) if code.id == cursor), None)
    if position is None:
        raise NotFound("tax_code", cursor, param="starting_after" if after else "ending_before")
    if after:
        end = position + 1 + limit
        return codes[position + 1 : end], len(codes) > end
    start = max(position - limit, 0)
    return codes[start:position], start > 0


def tax_code_list_view(call: ApiCall) -> dict[str, Any]:
    params = validate(LIST_PARAMS, call.params)
    page, has_more = _page(tax_code_list(), params)
    return list_object([render_tax_code(code) for code in page], url=_URL, has_more=has_more)


def tax_code_retrieve(call: ApiCall, tax_code_id: str) -> dict[str, Any]:
    validate({}, call.params)
    code = tax_code_get(tax_code_id)
    if code is None:
        raise NotFound("tax_code", tax_code_id)
    return render_tax_code(code)


urlpatterns = [
    route("tax_codes", GET=tax_code_list_view),
    route("tax_codes/<str:tax_code_id>", GET=tax_code_retrieve),
]
