"""/v1/events"""

from __future__ import annotations

from typing import Any

from billfold.api.lists import CREATED_FILTER, LIST_PARAMS, apply_range, paginate
from billfold.api.params import Bool, ListOf, Str, exclusive, validate
from billfold.api.representations.event import render_event
from billfold.api.routing import ApiCall, route
from billfold.core.errors import NotFound
from billfold.events.models import Event

_LIST = {
    **LIST_PARAMS,
    "created": CREATED_FILTER,
    "type": Str(max_length=100),
    "types": ListOf(Str(max_length=100), max_items=20),
    "delivery_success": Bool(),
}


def event_retrieve(call: ApiCall, event_id: str) -> dict[str, Any]:
    validate({}, call.params)
    event = Event.objects.filter(public_id=event_id, livemode=call.livemode).first()
    if event is None:
        raise NotFound("event", event_id)
    return render_event(event)


def event_list(call: ApiCall) -> dict[str, Any]:
    params = validate(_LIST, call.params)
    exclusive(params, "type", "types")
    events = Event.objects.filter(livemode=call.livemode)
    if "type" in params:
        pattern: str = params["type"]
        # ``customer.*`` matches every customer event, as Stripe allows.
        wildcard = pattern.endswith(".*")
        events = events.filter(type__startswith=pattern[:-1]) if wildcard else events.filter(type=pattern)
    if "types" in params:
        events = events.filter(type__in=params["types"])
    if "created" in params:
        events = apply_range(events, "created", params["created"])
    if "delivery_success" in params:
        # Stripe's meaning: true, every webhook of the event was delivered; false, some are still
        # pending or failed (``pending_webhooks`` counts both).
        success = params["delivery_success"]
        events = events.filter(pending_webhooks=0) if success else events.filter(pending_webhooks__gt=0)
    return paginate(events, params, url="/v1/events", kind="event", render=lambda rows: [render_event(e) for e in rows])


urlpatterns = [
    route("events", GET=event_list),
    route("events/<str:event_id>", GET=event_retrieve),
]
