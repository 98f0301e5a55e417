"""/v1/subscriptions (+ search, resume; DELETE cancels)

Creating, updating, canceling and resuming may charge a card, so those handlers run outside a
request-wide transaction (``commits_itself``): the services refuse before their first write and
commit each step themselves. Updates check ``expand[]`` on the subscription before acting.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import QuerySet

from billfold.api.errors import ParamError
from billfold.api.expand import expand_result
from billfold.api.lists import CREATED_FILTER, LIST_PARAMS, apply_range, paginate
from billfold.api.params import (
    Bool,
    DecimalStr,
    Enum,
    Field,
    Hash,
    Int,
    ListOf,
    Metadata,
    RangeFilter,
    Str,
    Timestamp,
    validate,
)
from billfold.api.representations.subscription import render_subscription
from billfold.api.routing import ApiCall, commits_itself, route
from billfold.api.search import CREATED, SearchField, SearchSpec, metadata_field, search_page
from billfold.api.views.search import total_count_wanted
from billfold.billing.models import Subscription
from billfold.billing.subscriptions import selectors, services
from billfold.billing.subscriptions.creation import NewSubscription
from billfold.billing.subscriptions.rules import legacy_discounts
from billfold.catalog import selectors as catalog_selectors
from billfold.clocks import selectors as clock_selectors
from billfold.core import clock
from billfold.core.periods import BillingCycleAnchorConfig
from billfold.core.request_context import current_request
from billfold.customers import selectors as customer_selectors
from billfold.customers.models import Customer
from billfold.payments import selectors as payment_selectors
from billfold.payments.models import PaymentMethod

PRORATION = Enum("always_invoice", "create_prorations", "none")
PAYMENT_BEHAVIOR = Enum("allow_incomplete", "default_incomplete", "error_if_incomplete", "pending_if_incomplete")
COLLECTION = Enum("charge_automatically", "send_invoice")
DISCOUNTS = ListOf(
    Hash({"coupon": Str(max_length=5000), "discount": Str(max_length=5000), "promotion_code": Str(max_length=5000)}),
    max_items=20,
    unsettable=True,
)
TAX_RATES = ListOf(Str(max_length=5000), max_items=10, unsettable=True)
PRICE_DATA = Hash(
    {
        "currency": Str(max_length=3, required=True),
        "product": Str(max_length=5000, required=True),
        "recurring": Hash(
            {"interval": Enum("day", "month", "week", "year", required=True), "interval_count": Int(min=1)},
            required=True,
        ),
        "tax_behavior": Enum("exclusive", "inclusive", "unspecified"),
        "unit_amount": Int(min=0),
        "unit_amount_decimal": DecimalStr(),
    }
)
ITEM_FIELDS: dict[str, Field] = {
    "discounts": DISCOUNTS,
    "metadata": Metadata(),
    "price": Str(max_length=5000),
    "price_data": PRICE_DATA,
    "quantity": Int(min=0),
    "tax_rates": TAX_RATES,
}
UPDATE_ITEM = Hash({**ITEM_FIELDS, "id": Str(max_length=5000), "deleted": Bool(), "clear_usage": Bool()})
_PAYMENT_SETTINGS = Hash(
    {
        "payment_method_types": ListOf(Enum("card"), unsettable=True),
        "save_default_payment_method": Enum("off", "on_subscription"),
    }
)
_TRIAL_SETTINGS = Hash(
    {"end_behavior": Hash({"missing_payment_method": Enum("cancel", "create_invoice", "pause", required=True)})}
)
_CANCELLATION_DETAILS = Hash(
    {
        "comment": Str(max_length=5000, unsettable=True),
        "feedback": Enum(
            "customer_service",
            "low_quality",
            "missing_features",
            "other",
            "switched_service",
            "too_complex",
            "too_expensive",
            "unused",
            unsettable=True,
        ),
    }
)
_COMMON: dict[str, Field] = {
    "automatic_tax": Hash({"enabled": Bool(required=True)}),
    "cancel_at_period_end": Bool(),
    "collection_method": COLLECTION,
    "coupon": Str(max_length=5000),
    "days_until_due": Int(min=0, max=3650),
    "default_tax_rates": TAX_RATES,
    "discounts": DISCOUNTS,
    "metadata": Metadata(),
    "off_session": Bool(),
    "payment_behavior": PAYMENT_BEHAVIOR,
    "payment_settings": _PAYMENT_SETTINGS,
    "promotion_code": Str(max_length=5000),
    "proration_behavior": PRORATION,
    "trial_settings": _TRIAL_SETTINGS,
}
_CREATE: dict[str, Field] = {
    **_COMMON,
    "billing_cycle_anchor": Timestamp(),
    "billing_cycle_anchor_config": Hash(
        {
            "day_of_month": Int(min=1, max=31, required=True),
            "hour": Int(min=0, max=23),
            "minute": Int(min=0, max=59),
            "month": Int(min=1, max=12),
            "second": Int(min=0, max=59),
        }
    ),
    "cancel_at": Timestamp(),
    "currency": Str(max_length=3),
    "customer": Str(max_length=5000, required=True),
    "default_payment_method": Str(max_length=5000),
    "description": Str(max_length=500),
    "items": ListOf(Hash(ITEM_FIELDS), max_items=20, required=True),
    "trial_end": Timestamp(allow_now=True),
    "trial_from_plan": Bool(),
    "trial_period_days": Int(min=0, max=730),
}
_UPDATE: dict[str, Field] = {
    **_COMMON,
    "billing_cycle_anchor": Enum("now", "unchanged"),
    "cancel_at": Timestamp(unsettable=True),
    "cancellation_details": _CANCELLATION_DETAILS,
    "default_payment_method": Str(max_length=5000, unsettable=True),
    "description": Str(max_length=500, unsettable=True),
    "items": ListOf(UPDATE_ITEM, max_items=20),
    "pause_collection": Hash(
        {"behavior": Enum("keep_as_draft", "mark_uncollectible", "void", required=True), "resumes_at": Timestamp()},
        unsettable=True,
    ),
    "proration_date": Timestamp(),
    "trial_end": Timestamp(allow_now=True),
}
_CANCEL: dict[str, Field] = {
    "cancellation_details": _CANCELLATION_DETAILS,
    "invoice_now": Bool(),
    "prorate": Bool(),
}
_RESUME: dict[str, Field] = {
    "billing_cycle_anchor": Enum("now", "unchanged"),
    "proration_behavior": PRORATION,
    "proration_date": Timestamp(),
}
_LIST: dict[str, Field] = {
    **LIST_PARAMS,
    "automatic_tax": Hash({"enabled": Bool(required=True)}),
    "collection_method": COLLECTION,
    "created": CREATED_FILTER,
    "current_period_end": RangeFilter(),
    "current_period_start": RangeFilter(),
    "customer": Str(max_length=5000),
    "price": Str(max_length=5000),
    "status": Enum(*selectors.LIST_STATUSES),
    "test_clock": Str(max_length=5000),
}
_SEARCH: dict[str, Field] = {
    "query": Str(max_length=5000, required=True),
    "limit": Int(min=1, max=100),
    "page": Str(max_length=5000),
}
SUBSCRIPTIONS = SearchSpec(
    "subscriptions",
    {
        "created": CREATED,
        "metadata": metadata_field(),
        "status": SearchField("token", "status"),
    },
)


def _refuse_automatic_tax(values: Mapping[str, Any]) -> None:
    if (values.get("automatic_tax") or {}).get("enabled"):
        raise ParamError(
            "automatic_tax[enabled]=true is not available: Billfold computes taxes from tax rates only. Pass "
            "default_tax_rates or items[][tax_rates] instead.",
            param="automatic_tax[enabled]",
        )


def item_entries(call: ApiCall, raw: list[dict[str, Any]], *, param: str = "items") -> list[dict[str, Any]]:
    """Items as the services take them: price ids looked up (a missing one answers 404 naming it)."""
    entries = []
    for index, given in enumerate(raw):
        entry = dict(given)
        if entry.get("price") is not None:
            entry["price"] = catalog_selectors.price_get(
                public_id=entry["price"], livemode=call.livemode, param=f"{param}[{index}][price]"
            )
        entry.pop("clear_usage", None)
        entries.append(entry)
    return entries


def timestamp(values: dict[str, Any], name: str) -> None:
    if isinstance(values.get(name), int):
        values[name] = clock.from_unix(values[name])


def _payment_method(customer: Customer, value: str | None) -> PaymentMethod | None:
    if value is None:
        return None
    return payment_selectors.payment_method_of_customer(
        public_id=value, customer=customer, param="default_payment_method"
    )


def _request_key() -> str | None:
    request = current_request.get()
    return request.idempotency_key if request else None


def _subscription(call: ApiCall, subscription_id: str) -> Subscription:
    return selectors.subscription_get(public_id=subscription_id, livemode=call.livemode)


def _check_expand(call: ApiCall, subscription: Subscription) -> None:
    # Nothing can be rolled back once the card is charged: refuse a bad expand[] before acting.
    if call.expand:
        expand_result(render_subscription(subscription), call.expand, call.livemode)


@commits_itself
def subscription_create(call: ApiCall) -> dict[str, Any]:
    values = validate(_CREATE, call.params)
    _refuse_automatic_tax(values)
    if call.expand:
        # No subscription exists yet: this catches fields that cannot be expanded before any is made.
        expand_result({"object": "subscription"}, call.expand, call.livemode)
    customer = customer_selectors.customer_get(public_id=values["customer"], livemode=call.livemode, param="customer")
    for name in ("billing_cycle_anchor", "cancel_at", "trial_end"):
        timestamp(values, name)
    config = values.get("billing_cycle_anchor_config")
    spec = NewSubscription(
        items=item_entries(call, values["items"]),
        collection_method=values.get("collection_method") or "charge_automatically",
        days_until_due=values.get("days_until_due"),
        default_payment_method=_payment_method(customer, values.get("default_payment_method")),
        payment_behavior=values.get("payment_behavior") or "allow_incomplete",
        trial_period_days=values.get("trial_period_days"),
        trial_end=values.get("trial_end"),
        trial_from_plan=values.get("trial_from_plan") or False,
        trial_settings=values.get("trial_settings"),
        billing_cycle_anchor=values.get("billing_cycle_anchor"),
        billing_cycle_anchor_config=BillingCycleAnchorConfig(**config) if config is not None else None,
        proration_behavior=values.get("proration_behavior") or "create_prorations",
        cancel_at=values.get("cancel_at"),
        cancel_at_period_end=values.get("cancel_at_period_end") or False,
        discounts=legacy_discounts(values) or (),
        default_tax_rates=values.get("default_tax_rates") or (),
        description=values.get("description"),
        metadata=values.get("metadata"),
        currency=values.get("currency"),
        payment_settings=values.get("payment_settings") or {},
    )
    subscription = services.subscription_create(
        customer=customer, livemode=call.livemode, spec=spec, request_key=_request_key()
    )
    return render_subscription(subscription)


def subscription_retrieve(call: ApiCall, subscription_id: str) -> dict[str, Any]:
    validate({}, call.params)
    return render_subscription(_subscription(call, subscription_id))


def update_values(call: ApiCall, values: dict[str, Any], subscription: Subscription) -> dict[str, Any]:
    """Request values as ``services.subscription_update`` takes them."""
    for name in ("cancel_at", "proration_date", "trial_end"):
        timestamp(values, name)
    if values.get("pause_collection") is not None:
        timestamp(values["pause_collection"], "resumes_at")
    if "items" in values:
        values["items"] = item_entries(call, values["items"] or [])
    if "default_payment_method" in values:
        values["default_payment_method"] = _payment_method(subscription.customer, values["default_payment_method"])
    values.pop("automatic_tax", None)
    return values


@commits_itself
def subscription_update(call: ApiCall, subscription_id: str) -> dict[str, Any]:
    values = validate(_UPDATE, call.params)
    _refuse_automatic_tax(values)
    subscription = _subscription(call, subscription_id)
    _check_expand(call, subscription)
    values = update_values(call, values, subscription)
    updated = services.subscription_update(subscription=subscription, values=values, request_key=_request_key())
    return render_subscription(updated)


@commits_itself
def subscription_cancel(call: ApiCall, subscription_id: str) -> dict[str, Any]:
    values = validate(_CANCEL, call.params)
    subscription = _subscription(call, subscription_id)
    _check_expand(call, subscription)
    canceled = services.subscription_cancel(
        subscription=subscription,
        invoice_now=values.get("invoice_now") or False,
        prorate=values.get("prorate") or False,
        cancellation_details=values.get("cancellation_details"),
        request_key=_request_key(),
    )
    return render_subscription(canceled)


@commits_itself
def subscription_resume(call: ApiCall, subscription_id: str) -> dict[str, Any]:
    values = validate(_RESUME, call.params)
    subscription = _subscription(call, subscription_id)
    _check_expand(call, subscription)
    timestamp(values, "proration_date")
    resumed = services.subscription_resume(
        subscription=subscription,
        billing_cycle_anchor=values.get("billing_cycle_anchor") or "now",
        proration_behavior=values.get("proration_behavior") or "create_prorations",
        proration_date=values.get("proration_date"),
        request_key=_request_key(),
    )
    return render_subscription(resumed)


def _filtered(call: ApiCall, params: dict[str, Any]) -> QuerySet[Subscription]:
    customer = (
        customer_selectors.customer_get(
            public_id=params["customer"], livemode=call.livemode, include_deleted=True, param="customer"
        )
        if "customer" in params
        else None
    )
    price = (
        catalog_selectors.price_get(public_id=params["price"], livemode=call.livemode, param="price")
        if "price" in params
        else None
    )
    test_clock = (
        clock_selectors.test_clock_get(public_id=params["test_clock"], livemode=call.livemode, param="test_clock")
        if "test_clock" in params
        else None
    )
    found = selectors.subscription_list(
        livemode=call.livemode,
        customer=customer,
        price=price,
        status=params.get("status"),
        collection_method=params.get("collection_method"),
        test_clock=test_clock,
    )
    if "created" in params:
        found = apply_range(found, "created", params["created"])
    for name in ("current_period_end", "current_period_start"):
        if name in params:
            matching = apply_range(
                selectors.subscription_items_live(livemode=call.livemode), name, params[name]
            ).values("subscription_id")
            found = found.filter(pk__in=matching)
    return found


def subscription_list(call: ApiCall) -> dict[str, Any]:
    params = validate(_LIST, call.params)
    return paginate(
        _filtered(call, params),
        params,
        url="/v1/subscriptions",
        kind="subscription",
        render=lambda rows: [render_subscription(s) for s in rows],
    )


def subscription_search(call: ApiCall) -> dict[str, Any]:
    params = validate(_SEARCH, call.params)
    total_count = total_count_wanted(call)
    return search_page(
        selectors.subscription_list(livemode=call.livemode, status="all"),
        livemode=call.livemode,
        spec=SUBSCRIPTIONS,
        query=params["query"],
        params=params,
        url="/v1/subscriptions/search",
        render=lambda rows: [render_subscription(s) for s in rows],
        total_count=total_count,
    )


urlpatterns = [
    # Before subscriptions/<id>, so that "search" is not read as a subscription id.
    route("subscriptions/search", GET=subscription_search),
    route("subscriptions", GET=subscription_list, POST=subscription_create),
    route(
        "subscriptions/<str:subscription_id>",
        GET=subscription_retrieve,
        POST=subscription_update,
        DELETE=subscription_cancel,
    ),
    route("subscriptions/<str:subscription_id>/resume", POST=subscription_resume),
]
