"""/v1/subscription_schedules (create, retrieve, update, list, cancel, release)

Creating with ``customer`` + ``phases``, updating and canceling may charge a card (a new
subscription's first invoice, an immediate change of the current phase, a final invoice), so
those handlers run outside a request-wide transaction (``commits_itself``): the services refuse
before their first write, and ``expand[]`` is checked before acting.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from billfold.api.errors import ParamError
from billfold.api.expand import expand_result
from billfold.api.lists import CREATED_FILTER, LIST_PARAMS, apply_range, paginate
from billfold.api.params import Bool, Enum, Field, Hash, Int, ListOf, Metadata, RangeFilter, Str, Timestamp, validate
from billfold.api.representations.subscription_schedule import render_subscription_schedule
from billfold.api.routing import ApiCall, commits_itself, route
from billfold.api.views.subscriptions import PRICE_DATA, PRORATION, TAX_RATES, item_entries
from billfold.billing.models import SubscriptionSchedule
from billfold.billing.schedules import selectors, services
from billfold.billing.schedules.phases import MAX_PHASES
from billfold.billing.subscriptions import selectors as subscription_selectors
from billfold.core import clock
from billfold.core.request_context import current_request
from billfold.customers import selectors as customer_selectors


class NotInBillfold(Field):
    """A Stripe parameter Billfold does not offer: refused by name, with what to do instead, rather
    than as an unknown parameter."""

    def __init__(self, instead: str) -> None:
        super().__init__()
        self.instead = instead

    def parse(self, value: Any, name: str) -> Any:
        raise ParamError(f"{name} is not available in Billfold's subscription schedules. {self.instead}", param=name)


_SET_ON_SUBSCRIPTION = NotInBillfold(
    "Set it on the subscription itself (POST /v1/subscriptions/{id}); phases change items, dates and metadata."
)
_NO_DISCOUNTS = NotInBillfold("Apply discounts to the subscription itself (POST /v1/subscriptions/{id}).")
_NO_TRIALS = NotInBillfold("Give the subscription its trial itself (trial_end on POST /v1/subscriptions/{id}).")
_PHASE_ITEM = Hash(
    {
        "billing_thresholds": NotInBillfold("Billfold bills licensed prices by period only."),
        "discounts": _NO_DISCOUNTS,
        "metadata": Metadata(),
        "plan": Str(max_length=5000),
        "price": Str(max_length=5000),
        "price_data": PRICE_DATA,
        "quantity": Int(min=0),
        "tax_rates": TAX_RATES,
    }
)
_PHASE = Hash(
    {
        "add_invoice_items": NotInBillfold("Add one-time charges with POST /v1/invoiceitems instead."),
        "application_fee_percent": _SET_ON_SUBSCRIPTION,
        "automatic_tax": NotInBillfold("Billfold computes taxes from tax rates: give items[][tax_rates]."),
        "billing_cycle_anchor": Enum("automatic", "phase_start"),
        "billing_thresholds": NotInBillfold("Billfold bills licensed prices by period only."),
        "collection_method": _SET_ON_SUBSCRIPTION,
        "coupon": _NO_DISCOUNTS,
        "currency": Str(max_length=3),
        "default_payment_method": _SET_ON_SUBSCRIPTION,
        "default_tax_rates": NotInBillfold("Give the phase's items their tax rates (items[][tax_rates])."),
        "description": Str(max_length=500, unsettable=True),
        "discounts": _NO_DISCOUNTS,
        "duration": Hash(
            {"interval": Enum("day", "month", "week", "year", required=True), "interval_count": Int(min=1)}
        ),
        "end_date": Timestamp(allow_now=True),
        "invoice_settings": _SET_ON_SUBSCRIPTION,
        "items": ListOf(_PHASE_ITEM, max_items=20, required=True),
        "iterations": Int(min=1),
        "metadata": Metadata(),
        "on_behalf_of": _SET_ON_SUBSCRIPTION,
        "proration_behavior": PRORATION,
        "start_date": Timestamp(allow_now=True),
        "transfer_data": _SET_ON_SUBSCRIPTION,
        "trial": _NO_TRIALS,
        "trial_continuation": _NO_TRIALS,
        "trial_end": _NO_TRIALS,
    }
)
_PHASES = ListOf(_PHASE, max_items=MAX_PHASES)
_END_BEHAVIOR = Enum("cancel", "none", "release", "renew")
_DEFAULT_SETTINGS = NotInBillfold(
    "The schedule keeps the subscription's own settings; change them on the subscription (POST /v1/subscriptions/{id})."
)
_CREATE: dict[str, Field] = {
    "billing_mode": Hash({"type": Enum("classic", required=True)}),
    "customer": Str(max_length=5000),
    "default_settings": _DEFAULT_SETTINGS,
    "end_behavior": _END_BEHAVIOR,
    "from_subscription": Str(max_length=5000),
    "metadata": Metadata(),
    "phases": _PHASES,
    "start_date": Timestamp(allow_now=True),
}
_UPDATE: dict[str, Field] = {
    "default_settings": _DEFAULT_SETTINGS,
    "end_behavior": _END_BEHAVIOR,
    "metadata": Metadata(),
    "phases": _PHASES,
    "proration_behavior": PRORATION,
}
_CANCEL: dict[str, Field] = {"invoice_now": Bool(), "prorate": Bool()}
_RELEASE: dict[str, Field] = {"preserve_cancel_date": Bool()}
_LIST: dict[str, Field] = {
    **LIST_PARAMS,
    "canceled_at": RangeFilter(),
    "completed_at": RangeFilter(),
    "created": CREATED_FILTER,
    "customer": Str(max_length=5000),
    "released_at": RangeFilter(),
    "scheduled": Bool(),
}


def _request_key() -> str | None:
    request = current_request.get()
    return request.idempotency_key if request else None


def _end_behavior(values: dict[str, Any]) -> str | None:
    behavior: str | None = values.get("end_behavior")
    if behavior in ("none", "renew"):
        raise ParamError(
            f"end_behavior={behavior} is a legacy value Billfold does not offer: use release (the subscription goes "
            "on after the last phase) or cancel (it ends with the last phase).",
            param="end_behavior",
        )
    return behavior


def _phase_entries(call: ApiCall, phases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Phases as the services take them: dates as moments, price ids looked up (``plan`` is ``price``)."""
    entries = []
    for index, given in enumerate(phases):
        phase = dict(given)
        for name in ("start_date", "end_date"):
            if isinstance(phase.get(name), int):
                phase[name] = clock.from_unix(phase[name])
        items = []
        for item in phase.get("items") or []:
            item = dict(item)
            plan = item.pop("plan", None)
            if plan is not None and "price" not in item:
                item["price"] = plan
            items.append(item)
        phase["items"] = item_entries(call, items, param=f"phases[{index}][items]")
        entries.append(phase)
    return entries


def _schedule(call: ApiCall, schedule_id: str) -> SubscriptionSchedule:
    return selectors.subscription_schedule_get(public_id=schedule_id, livemode=call.livemode)


def _check_expand(call: ApiCall, rendered: dict[str, Any]) -> None:
    # Nothing can be rolled back once a card is charged: refuse a bad expand[] before acting.
    if call.expand:
        expand_result(rendered, call.expand, call.livemode)


@commits_itself
def subscription_schedule_create(call: ApiCall) -> dict[str, Any]:
    values = validate(_CREATE, call.params)
    behavior = _end_behavior(values)
    _check_expand(call, {"object": "subscription_schedule"})
    if "from_subscription" in values:
        for name in ("customer", "default_settings", "end_behavior", "phases", "start_date"):
            if name in values:
                raise ParamError(
                    f"You cannot set `{name}` if `from_subscription` is set: the schedule starts from the "
                    "subscription as it is. Create it, then update its phases (POST /v1/subscription_schedules/{id}).",
                    param=name,
                )
        subscription = subscription_selectors.subscription_get(
            public_id=values["from_subscription"], livemode=call.livemode, param="from_subscription"
        )
        schedule = services.subscription_schedule_create(subscription=subscription, metadata=values.get("metadata"))
        return render_subscription_schedule(schedule)
    if "customer" not in values:
        raise ParamError(
            "Missing required param: customer. Pass customer and phases to start a new subscription on a "
            "schedule, or from_subscription to put an existing subscription on one.",
            param="customer",
            code="parameter_missing",
        )
    if not values.get("phases"):
        raise ParamError(
            "Missing required param: phases. A schedule for a customer starts a subscription to its first phase.",
            param="phases",
            code="parameter_missing",
        )
    customer = customer_selectors.customer_get(public_id=values["customer"], livemode=call.livemode, param="customer")
    start = values.get("start_date")
    schedule = services.subscription_schedule_create_for_customer(
        customer=customer,
        livemode=call.livemode,
        phases=_phase_entries(call, values["phases"]),
        end_behavior=behavior,
        metadata=values.get("metadata"),
        start_date=clock.from_unix(start) if isinstance(start, int) else start,
        request_key=_request_key(),
    )
    return render_subscription_schedule(schedule)


def subscription_schedule_retrieve(call: ApiCall, schedule_id: str) -> dict[str, Any]:
    validate({}, call.params)
    return render_subscription_schedule(_schedule(call, schedule_id))


@commits_itself
def subscription_schedule_update(call: ApiCall, schedule_id: str) -> dict[str, Any]:
    values = validate(_UPDATE, call.params)
    _end_behavior(values)
    schedule = _schedule(call, schedule_id)
    _check_expand(call, render_subscription_schedule(schedule))
    if "phases" in values:
        values["phases"] = _phase_entries(call, values["phases"] or [])
    updated = services.subscription_schedule_update(schedule=schedule, values=values, request_key=_request_key())
    return render_subscription_schedule(updated)


@commits_itself
def subscription_schedule_cancel(call: ApiCall, schedule_id: str) -> dict[str, Any]:
    values = validate(_CANCEL, call.params)
    schedule = _schedule(call, schedule_id)
    _check_expand(call, render_subscription_schedule(schedule))
    canceled = services.subscription_schedule_cancel(
        schedule=schedule,
        invoice_now=values.get("invoice_now", True),
        prorate=values.get("prorate", True),
        request_key=_request_key(),
    )
    return render_subscription_schedule(canceled)


def subscription_schedule_release(call: ApiCall, schedule_id: str) -> dict[str, Any]:
    values = validate(_RELEASE, call.params)
    released = services.subscription_schedule_release(
        schedule=_schedule(call, schedule_id), preserve_cancel_date=values.get("preserve_cancel_date") or False
    )
    return render_subscription_schedule(released)


def _filtered(call: ApiCall, params: dict[str, Any]) -> QuerySet[SubscriptionSchedule]:
    customer = (
        customer_selectors.customer_get(
            public_id=params["customer"], livemode=call.livemode, include_deleted=True, param="customer"
        )
        if "customer" in params
        else None
    )
    found = selectors.subscription_schedule_list(
        livemode=call.livemode, customer=customer, scheduled=params.get("scheduled")
    )
    for name in ("canceled_at", "completed_at", "created", "released_at"):
        if name in params:
            found = apply_range(found, name, params[name])
    return found


def subscription_schedule_list(call: ApiCall) -> dict[str, Any]:
    params = validate(_LIST, call.params)
    return paginate(
        _filtered(call, params),
        params,
        url="/v1/subscription_schedules",
        kind="subscription_schedule",
        render=lambda rows: [render_subscription_schedule(s) for s in rows],
    )


urlpatterns = [
    route("subscription_schedules", GET=subscription_schedule_list, POST=subscription_schedule_create),
    route(
        "subscription_schedules/<str:schedule_id>",
        GET=subscription_schedule_retrieve,
        POST=subscription_schedule_update,
    ),
    route("subscription_schedules/<str:schedule_id>/cancel", POST=subscription_schedule_cancel),
    route("subscription_schedules/<str:schedule_id>/release", POST=subscription_schedule_release),
]
