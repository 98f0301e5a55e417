"""/v1/payment_intents

Creating with ``confirm=true`` and confirming call the payment processor, so those two
endpoints run outside a request-wide transaction (``commits_itself``): they refuse before the
first write, check ``expand[]`` before acting, and a retry of a request that died half-way
(same Idempotency-Key) finishes that request's work instead of charging again.
"""

from __future__ import annotations

from typing import Any

from billfold.api.errors import ParamError, RecordedCardError
from billfold.api.expand import expand_result
from billfold.api.lists import CREATED_FILTER, LIST_PARAMS, apply_range, paginate
from billfold.api.params import Bool, Enum, Field, Hash, Int, ListOf, Metadata, OneOf, Str, exclusive, validate
from billfold.api.representations.payment_intent import render_payment_intent
from billfold.api.routing import ApiCall, commits_itself, route
from billfold.billing.invoices import invoice_payment_intent_confirm
from billfold.core.crypto import constant_time_equals
from billfold.core.request_context import current_request
from billfold.customers import selectors as customer_selectors
from billfold.customers.models import Customer
from billfold.payments import intents, selectors
from billfold.payments.errors import PaymentIntentStateError
from billfold.payments.models import PaymentIntent

_TYPES = ListOf(Str(max_length=5000), max_items=20)
_CAPTURE = Enum("automatic", "automatic_async", "manual")
_SETUP_FUTURE_USAGE = Enum("off_session", "on_session", unsettable=True)
# ``true``/``false``, or Stripe's reasons for a payment made without the cardholder.
_OFF_SESSION = OneOf(Bool(), Enum("one_off", "recurring"))
_CREATE: dict[str, Field] = {
    "amount": Int(required=True),
    "automatic_payment_methods": Hash({"enabled": Bool(required=True), "allow_redirects": Enum("always", "never")}),
    "capture_method": _CAPTURE,
    "confirm": Bool(),
    "confirmation_method": Enum("automatic", "manual"),
    "currency": Str(max_length=3, required=True),
    "customer": Str(max_length=5000),
    "description": Str(max_length=1000),
    "metadata": Metadata(),
    "off_session": _OFF_SESSION,
    "payment_method": Str(max_length=5000),
    "payment_method_types": _TYPES,
    "receipt_email": Str(max_length=800),
    "setup_future_usage": Enum("off_session", "on_session"),
    "statement_descriptor": Str(max_length=5000),
}
_UPDATE: dict[str, Field] = {
    "amount": Int(),
    "capture_method": _CAPTURE,
    "currency": Str(max_length=3),
    "customer": Str(max_length=5000),
    "description": Str(max_length=1000, unsettable=True),
    "metadata": Metadata(),
    "payment_method": Str(max_length=5000, unsettable=True),
    "payment_method_types": _TYPES,
    "receipt_email": Str(max_length=800, unsettable=True),
    "setup_future_usage": _SETUP_FUTURE_USAGE,
    "statement_descriptor": Str(max_length=5000, unsettable=True),
}
_CONFIRM: dict[str, Field] = {
    "client_secret": Str(max_length=5000),
    "off_session": _OFF_SESSION,
    "payment_method": Str(max_length=5000),
}
_CANCEL: dict[str, Field] = {
    "cancellation_reason": Enum("abandoned", "duplicate", "fraudulent", "requested_by_customer")
}
_LIST: dict[str, Field] = {**LIST_PARAMS, "created": CREATED_FILTER, "customer": Str(max_length=5000)}
# Stand-ins for the objects an intent's fields can expand to, to check expand[] before any work.
_EXPANSION_STUBS = {
    "customer": {"object": "customer", "id": "cus_expand_check"},
    "payment_method": {"object": "payment_method", "id": "pm_expand_check"},
    "latest_charge": {"object": "charge", "id": "ch_expand_check"},
}


def _confirmed(intent: PaymentIntent) -> dict[str, Any]:
    rendered = render_payment_intent(intent)
    if intent.status == "requires_payment_method" and rendered["last_payment_error"]:
        raise RecordedCardError.from_intent(rendered, error_field="last_payment_error")
    return rendered


def check_expand(call: ApiCall, stubs: dict[str, dict[str, Any]], sample: dict[str, Any]) -> None:
    """Refuse a bad ``expand[]`` before a handler that ``commits_itself`` does its work."""
    if call.expand:
        expand_result({**sample, **stubs}, call.expand, call.livemode)


def request_key() -> str | None:
    """The Idempotency-Key of the request being served."""
    request = current_request.get()
    return request.idempotency_key if request else None


def _customer(call: ApiCall, customer_id: str) -> Customer:
    return customer_selectors.customer_get(public_id=customer_id, livemode=call.livemode, param="customer")


def _payment_intent(call: ApiCall, intent_id: str, params: dict[str, Any]) -> PaymentIntent:
    intent = selectors.payment_intent_get(public_id=intent_id, livemode=call.livemode)
    secret = params.get("client_secret")
    if secret is not None and not constant_time_equals(secret, intent.client_secret):
        raise ParamError(
            "The client_secret provided does not match the client_secret of this PaymentIntent.",
            param="client_secret",
        )
    return intent


def _off_session(values: dict[str, Any]) -> bool:
    return values.get("off_session") not in (None, False)


def _types(values: dict[str, Any]) -> list[str] | None:
    """The payment method types asked for, or None to follow the account (automatic payment methods)."""
    exclusive(values, "automatic_payment_methods", "payment_method_types")
    if "payment_method_types" in values:
        return list(values["payment_method_types"] or ["card"])
    automatic = values.get("automatic_payment_methods")
    if automatic is not None and not automatic["enabled"]:
        return ["card"]
    return None


@commits_itself
def payment_intent_create(call: ApiCall) -> dict[str, Any]:
    values = validate(_CREATE, call.params)
    confirm = values.get("confirm") or False
    if "off_session" in values and not confirm:
        raise ParamError("off_session can only be set when confirm=true.", param="off_session")
    if confirm and "payment_method" not in values:
        raise PaymentIntentStateError(
            "You cannot confirm this PaymentIntent because it's missing a payment method. "
            "Pass payment_method together with confirm=true.",
            param="payment_method",
        )
    payment_method_types = _types(values)
    customer = _customer(call, values["customer"]) if "customer" in values else None
    check_expand(call, _EXPANSION_STUBS, {"object": "payment_intent"})
    key = request_key()
    intent = intents.payment_intent_of_request(livemode=call.livemode, request_key=key) if key else None
    if intent is None:
        intent = intents.payment_intent_create(
            livemode=call.livemode,
            customer=customer,
            amount=values["amount"],
            currency=values["currency"],
            payment_method=values.get("payment_method"),
            description=values.get("description"),
            metadata=values.get("metadata"),
            statement_descriptor=values.get("statement_descriptor"),
            setup_future_usage=values.get("setup_future_usage"),
            receipt_email=values.get("receipt_email"),
            capture_method=values.get("capture_method") or "automatic_async",
            confirmation_method=values.get("confirmation_method") or "automatic",
            payment_method_types=payment_method_types,
            request_key=key,
        )
    if confirm:
        intent = intents.payment_intent_confirm(
            payment_intent=intent, off_session=_off_session(values), request_key=key
        )
    return _confirmed(intent)


def payment_intent_retrieve(call: ApiCall, intent_id: str) -> dict[str, Any]:
    params = validate({"client_secret": Str(max_length=5000)}, call.params)
    return render_payment_intent(_payment_intent(call, intent_id, params))


def payment_intent_update(call: ApiCall, intent_id: str) -> dict[str, Any]:
    values = validate(_UPDATE, call.params)
    intent = _payment_intent(call, intent_id, {})
    if "customer" in values:
        values["customer"] = _customer(call, values["customer"])
    return render_payment_intent(intents.payment_intent_update(payment_intent=intent, values=values))


@commits_itself
def payment_intent_confirm(call: ApiCall, intent_id: str) -> dict[str, Any]:
    params = validate(_CONFIRM, call.params)
    intent = _payment_intent(call, intent_id, params)
    check_expand(call, _EXPANSION_STUBS, render_payment_intent(intent))
    # An invoice's intent is confirmed through billing, which records the outcome on the invoice.
    confirm = intents.payment_intent_confirm if intent.invoice_id is None else invoice_payment_intent_confirm
    confirmed = confirm(
        payment_intent=intent,
        payment_method=params.get("payment_method"),
        off_session=_off_session(params),
        request_key=request_key(),
    )
    return _confirmed(confirmed)


def payment_intent_cancel(call: ApiCall, intent_id: str) -> dict[str, Any]:
    params = validate(_CANCEL, call.params)
    intent = _payment_intent(call, intent_id, {})
    canceled = intents.payment_intent_cancel(
        payment_intent=intent, cancellation_reason=params.get("cancellation_reason")
    )
    return render_payment_intent(canceled)


def payment_intent_list(call: ApiCall) -> dict[str, Any]:
    params = validate(_LIST, call.params)
    customer = _customer(call, params["customer"]) if "customer" in params else None
    rows = selectors.payment_intent_list(livemode=call.livemode, customer=customer)
    if "created" in params:
        rows = apply_range(rows, "created", params["created"])
    return paginate(
        rows,
        params,
        url="/v1/payment_intents",
        kind="payment_intent",
        render=lambda page: [render_payment_intent(intent) for intent in page],
    )


urlpatterns = [
    route("payment_intents", GET=payment_intent_list, POST=payment_intent_create),
    route("payment_intents/<str:intent_id>", GET=payment_intent_retrieve, POST=payment_intent_update),
    route("payment_intents/<str:intent_id>/confirm", POST=payment_intent_confirm),
    route("payment_intents/<str:intent_id>/cancel", POST=payment_intent_cancel),
]
