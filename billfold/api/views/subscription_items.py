"""/v1/subscription_items: each write is an update of the item's subscription (same prorations, same
payment behavior), so these handlers may charge a card and run outside a request-wide transaction."""

from __future__ import annotations

from typing import Any

from billfold.api.lists import LIST_PARAMS, paginate
from billfold.api.params import Bool, Field, Str, Timestamp, validate
from billfold.api.representations.common import deleted
from billfold.api.representations.subscription_item import render_subscription_item
from billfold.api.routing import ApiCall, commits_itself, route
from billfold.api.views.subscriptions import ITEM_FIELDS, PAYMENT_BEHAVIOR, PRORATION, item_entries, timestamp
from billfold.billing.models import SubscriptionItem
from billfold.billing.subscriptions import selectors, services
from billfold.core.request_context import current_request

_CHANGE: dict[str, Field] = {
    "off_session": Bool(),
    "payment_behavior": PAYMENT_BEHAVIOR,
    "proration_behavior": PRORATION,
    "proration_date": Timestamp(),
}
_CREATE: dict[str, Field] = {**ITEM_FIELDS, **_CHANGE, "subscription": Str(max_length=5000, required=True)}
_UPDATE: dict[str, Field] = {**ITEM_FIELDS, **_CHANGE}
_DELETE: dict[str, Field] = {
    "clear_usage": Bool(),
    "proration_behavior": PRORATION,
    "proration_date": Timestamp(),
}
_LIST: dict[str, Field] = {**LIST_PARAMS, "subscription": Str(max_length=5000, required=True)}
_ITEM_KEYS = frozenset(ITEM_FIELDS)


def _request_key() -> str | None:
    request = current_request.get()
    return request.idempotency_key if request else None


def _split(call: ApiCall, values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the item entry, the subscription update's other values)."""
    timestamp(values, "proration_date")
    entry = {key: value for key, value in values.items() if key in _ITEM_KEYS}
    rest = {key: value for key, value in values.items() if key not in _ITEM_KEYS and key != "subscription"}
    return item_entries(call, [entry])[0], rest


def _item(call: ApiCall, item_id: str) -> SubscriptionItem:
    return selectors.subscription_item_get(public_id=item_id, livemode=call.livemode)


@commits_itself
def subscription_item_create(call: ApiCall) -> dict[str, Any]:
    values = validate(_CREATE, call.params)
    subscription = selectors.subscription_get(
        public_id=values["subscription"], livemode=call.livemode, param="subscription"
    )
    entry, rest = _split(call, values)
    before = set(selectors.subscription_item_list(subscription=subscription).values_list("pk", flat=True))
    services.subscription_update(
        subscription=subscription, values={**rest, "items": [entry]}, request_key=_request_key()
    )
    added = selectors.subscription_item_list(subscription=subscription).exclude(pk__in=before).get()
    return render_subscription_item(added)


def subscription_item_retrieve(call: ApiCall, item_id: str) -> dict[str, Any]:
    validate({}, call.params)
    return render_subscription_item(_item(call, item_id))


@commits_itself
def subscription_item_update(call: ApiCall, item_id: str) -> dict[str, Any]:
    values = validate(_UPDATE, call.params)
    item = _item(call, item_id)
    entry, rest = _split(call, values)
    services.subscription_update(
        subscription=item.subscription, values={**rest, "items": [{**entry, "id": item.public_id}]},
        request_key=_request_key(),
    )  # fmt: skip
    return render_subscription_item(_item(call, item_id))


@commits_itself
def subscription_item_delete(call: ApiCall, item_id: str) -> dict[str, Any]:
    values = validate(_DELETE, call.params)
    item = _item(call, item_id)
    timestamp(values, "proration_date")
    values.pop("clear_usage", None)
    services.subscription_update(
        subscription=item.subscription,
        values={**values, "items": [{"id": item.public_id, "deleted": True}]},
        request_key=_request_key(),
    )
    return deleted("subscription_item", item.public_id)


def subscription_item_list(call: ApiCall) -> dict[str, Any]:
    params = validate(_LIST, call.params)
    subscription = selectors.subscription_get(
        public_id=params["subscription"], livemode=call.livemode, param="subscription"
    )
    return paginate(
        selectors.subscription_item_list(subscription=subscription),
        params,
        url="/v1/subscription_items",
        kind="subscription_item",
        render=lambda rows: [render_subscription_item(i) for i in rows],
    )


urlpatterns = [
    route("subscription_items", GET=subscription_item_list, POST=subscription_item_create),
    route(
        "subscription_items/<str:item_id>",
        GET=subscription_item_retrieve,
        POST=subscription_item_update,
        DELETE=subscription_item_delete,
    ),
]
