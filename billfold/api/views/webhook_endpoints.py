"""/v1/webhook_endpoints"""

from __future__ import annotations

from typing import Any

from billfold.api.lists import LIST_PARAMS, paginate
from billfold.api.params import Bool, Field, ListOf, Metadata, Str, validate
from billfold.api.representations.common import deleted
from billfold.api.representations.webhook_endpoint import render_webhook_endpoint
from billfold.api.routing import ApiCall, route
from billfold.core.errors import InvalidParam
from billfold.events import endpoints

_EVENTS = ListOf(Str(max_length=100), max_items=300)
_CREATE: dict[str, Field] = {
    "api_version": Str(max_length=40),
    # Connect does not exist in Billfold: only ``false`` (the default) is accepted.
    "connect": Bool(),
    "description": Str(unsettable=True),
    "enabled_events": ListOf(Str(max_length=100), max_items=300, required=True),
    "metadata": Metadata(),
    "url": Str(required=True),
}
_UPDATE: dict[str, Field] = {
    "description": Str(unsettable=True),
    "disabled": Bool(),
    "enabled_events": _EVENTS,
    "metadata": Metadata(),
    "url": Str(),
}


def webhook_endpoint_create(call: ApiCall) -> dict[str, Any]:
    values = validate(_CREATE, call.params)
    if values.get("connect"):
        raise InvalidParam("Billfold has no connected accounts: leave connect out or pass false.", param="connect")
    created = endpoints.webhook_endpoint_create(
        livemode=call.livemode,
        url=values["url"],
        enabled_events=values["enabled_events"],
        description=values.get("description"),
        api_version=values.get("api_version"),
        metadata=values.get("metadata"),
    )
    return render_webhook_endpoint(created.endpoint, secret=created.secret)


def webhook_endpoint_retrieve(call: ApiCall, endpoint_id: str) -> dict[str, Any]:
    validate({}, call.params)
    return render_webhook_endpoint(endpoints.webhook_endpoint_get(public_id=endpoint_id, livemode=call.livemode))


def webhook_endpoint_update(call: ApiCall, endpoint_id: str) -> dict[str, Any]:
    values = validate(_UPDATE, call.params)
    endpoint = endpoints.webhook_endpoint_get(public_id=endpoint_id, livemode=call.livemode)
    return render_webhook_endpoint(endpoints.webhook_endpoint_update(endpoint=endpoint, values=values))


def webhook_endpoint_delete(call: ApiCall, endpoint_id: str) -> dict[str, Any]:
    validate({}, call.params)
    endpoint = endpoints.webhook_endpoint_get(public_id=endpoint_id, livemode=call.livemode)
    endpoints.webhook_endpoint_delete(endpoint=endpoint)
    return deleted("webhook_endpoint", endpoint.public_id)


def webhook_endpoint_list(call: ApiCall) -> dict[str, Any]:
    params = validate(LIST_PARAMS, call.params)
    return paginate(
        endpoints.webhook_endpoint_list(livemode=call.livemode),
        params,
        url="/v1/webhook_endpoints",
        kind="webhook_endpoint",
        render=lambda page: [render_webhook_endpoint(e) for e in page],
    )


urlpatterns = [
    route("webhook_endpoints", GET=webhook_endpoint_list, POST=webhook_endpoint_create),
    route(
        "webhook_endpoints/<str:endpoint_id>",
        GET=webhook_endpoint_retrieve,
        POST=webhook_endpoint_update,
        DELETE=webhook_endpoint_delete,
    ),
]
