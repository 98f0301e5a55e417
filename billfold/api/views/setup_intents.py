"""/v1/setup_intents"""

from __future__ import annotations

from typing import Any

from billfold.api.errors import ParamError, RecordedCardError
from billfold.api.lists import CREATED_FILTER, LIST_PARAMS, apply_range, paginate
from billfold.api.params import Bool, Enum, Field, ListOf, Metadata, Str, validate
from billfold.api.representations.setup_intent import render_setup_intent
from billfold.api.routing import ApiCall, route
from billfold.core.crypto import constant_time_equals
from billfold.customers import selectors as customer_selectors
from billfold.customers.models import Customer
from billfold.payments import selectors, services
from billfold.payments.models import SetupIntent

_TYPES = ListOf(Str(max_length=5000), max_items=20)
_CREATE: dict[str, Field] = {
    "confirm": Bool(),
    "customer": Str(max_length=5000),
    "description": Str(max_length=1000),
    "metadata": Metadata(),
    "payment_method": Str(max_length=5000),
    "payment_method_types": _TYPES,
    "usage": Enum("off_session", "on_session"),
}
_UPDATE: dict[str, Field] = {
    "customer": Str(max_length=5000),
    "description": Str(max_length=1000, unsettable=True),
    "metadata": Metadata(),
    "payment_method": Str(max_length=5000, unsettable=True),
    "payment_method_types": _TYPES,
}
_CONFIRM: dict[str, Field] = {"client_secret": Str(max_length=5000), "payment_method": Str(max_length=5000)}
_CANCEL: dict[str, Field] = {"cancellation_reason": Enum("abandoned", "duplicate", "requested_by_customer")}
_LIST: dict[str, Field] = {
    **LIST_PARAMS,
    "created": CREATED_FILTER,
    "customer": Str(max_length=5000),
    "payment_method": Str(max_length=5000),
}


def _customer(call: ApiCall, customer_id: str) -> Customer:
    return customer_selectors.customer_get(public_id=customer_id, livemode=call.livemode, param="customer")


def _setup_intent(call: ApiCall, setup_intent_id: str, params: dict[str, Any]) -> SetupIntent:
    setup_intent = selectors.setup_intent_get(public_id=setup_intent_id, livemode=call.livemode)
    secret = params.get("client_secret")
    if secret is not None and not constant_time_equals(secret, setup_intent.client_secret):
        raise ParamError(
            "The client_secret provided does not match the client_secret of this SetupIntent.", param="client_secret"
        )
    return setup_intent


def _confirmed(setup_intent: SetupIntent) -> dict[str, Any]:
    rendered = render_setup_intent(setup_intent)
    if setup_intent.status == "requires_payment_method" and rendered["last_setup_error"]:
        raise RecordedCardError.from_intent(rendered, error_field="last_setup_error")
    return rendered


def setup_intent_create(call: ApiCall) -> dict[str, Any]:
    values = validate(_CREATE, call.params)
    setup_intent = services.setup_intent_create(
        livemode=call.livemode,
        customer=_customer(call, values["customer"]) if "customer" in values else None,
        payment_method_id=values.get("payment_method"),
        usage=values.get("usage") or "off_session",
        payment_method_types=values.get("payment_method_types") or ["card"],
        description=values.get("description"),
        metadata=values.get("metadata"),
        confirm=values.get("confirm") or False,
    )
    return _confirmed(setup_intent)


def setup_intent_retrieve(call: ApiCall, setup_intent_id: str) -> dict[str, Any]:
    params = validate({"client_secret": Str(max_length=5000)}, call.params)
    return render_setup_intent(_setup_intent(call, setup_intent_id, params))


def setup_intent_update(call: ApiCall, setup_intent_id: str) -> dict[str, Any]:
    values = validate(_UPDATE, call.params)
    setup_intent = _setup_intent(call, setup_intent_id, {})
    if "customer" in values:
        values["customer"] = _customer(call, values["customer"])
    return render_setup_intent(services.setup_intent_update(setup_intent=setup_intent, values=values))


def setup_intent_confirm(call: ApiCall, setup_intent_id: str) -> dict[str, Any]:
    params = validate(_CONFIRM, call.params)
    setup_intent = _setup_intent(call, setup_intent_id, params)
    confirmed = services.setup_intent_confirm(setup_intent=setup_intent, payment_method_id=params.get("payment_method"))
    return _confirmed(confirmed)


def setup_intent_cancel(call: ApiCall, setup_intent_id: str) -> dict[str, Any]:
    params = validate(_CANCEL, call.params)
    setup_intent = _setup_intent(call, setup_intent_id, {})
    canceled = services.setup_intent_cancel(
        setup_intent=setup_intent, cancellation_reason=params.get("cancellation_reason")
    )
    return render_setup_intent(canceled)


def setup_intent_list(call: ApiCall) -> dict[str, Any]:
    params = validate(_LIST, call.params)
    customer = _customer(call, params["customer"]) if "customer" in params else None
    payment_method = (
        selectors.payment_method_get(public_id=params["payment_method"], livemode=call.livemode)
        if "payment_method" in params
        else None
    )
    rows = selectors.setup_intent_list(livemode=call.livemode, customer=customer, payment_method=payment_method)
    if "created" in params:
        rows = apply_range(rows, "created", params["created"])
    return paginate(
        rows,
        params,
        url="/v1/setup_intents",
        kind="setupintent",
        render=lambda page: [render_setup_intent(si) for si in page],
    )


urlpatterns = [
    route("setup_intents", GET=setup_intent_list, POST=setup_intent_create),
    route("setup_intents/<str:setup_intent_id>", GET=setup_intent_retrieve, POST=setup_intent_update),
    route("setup_intents/<str:setup_intent_id>/confirm", POST=setup_intent_confirm),
    route("setup_intents/<str:setup_intent_id>/cancel", POST=setup_intent_cancel),
]
