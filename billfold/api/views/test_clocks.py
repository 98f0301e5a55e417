"""/v1/test_helpers/test_clocks (test mode only)"""

from __future__ import annotations

from typing import Any

from billfold.api.expand import expand_result
from billfold.api.lists import LIST_PARAMS, paginate
from billfold.api.params import Str, Timestamp, validate
from billfold.api.representations.test_clock import render_test_clock
from billfold.api.routing import ApiCall, commits_itself, route
from billfold.clocks import selectors, services
from billfold.core.clock import from_unix

_CREATE = {"frozen_time": Timestamp(required=True), "name": Str(max_length=300)}
_ADVANCE = {"frozen_time": Timestamp(required=True)}


def test_clock_create(call: ApiCall) -> dict[str, Any]:
    services.require_test_mode(call.livemode)
    values = validate(_CREATE, call.params)
    created = services.test_clock_create(
        livemode=call.livemode, frozen_time=from_unix(values["frozen_time"]), name=values.get("name")
    )
    return render_test_clock(created)


def test_clock_retrieve(call: ApiCall, test_clock_id: str) -> dict[str, Any]:
    services.require_test_mode(call.livemode)
    validate({}, call.params)
    return render_test_clock(
        selectors.test_clock_get(public_id=test_clock_id, livemode=call.livemode, include_deleted=True)
    )


def test_clock_list(call: ApiCall) -> dict[str, Any]:
    services.require_test_mode(call.livemode)
    params = validate(LIST_PARAMS, call.params)
    return paginate(
        selectors.test_clock_list(livemode=call.livemode),
        params,
        url="/v1/test_helpers/test_clocks",
        kind="test_clock",
        render=lambda rows: [render_test_clock(c) for c in rows],
    )


def test_clock_delete(call: ApiCall, test_clock_id: str) -> dict[str, Any]:
    services.require_test_mode(call.livemode)
    validate({}, call.params)
    found = selectors.test_clock_get(public_id=test_clock_id, livemode=call.livemode)
    return render_test_clock(services.test_clock_delete(test_clock=found))


# The billing engine's advance hook charges cards, which must happen outside any transaction.
@commits_itself
def test_clock_advance(call: ApiCall, test_clock_id: str) -> dict[str, Any]:
    services.require_test_mode(call.livemode)
    values = validate(_ADVANCE, call.params)
    found = selectors.test_clock_get(public_id=test_clock_id, livemode=call.livemode)
    if call.expand:
        expand_result(render_test_clock(found), call.expand, call.livemode)
    return render_test_clock(
        services.test_clock_advance(test_clock=found, frozen_time=from_unix(values["frozen_time"]))
    )


urlpatterns = [
    route("test_helpers/test_clocks", GET=test_clock_list, POST=test_clock_create),
    route("test_helpers/test_clocks/<str:test_clock_id>", GET=test_clock_retrieve, DELETE=test_clock_delete),
    route("test_helpers/test_clocks/<str:test_clock_id>/advance", POST=test_clock_advance),
]
