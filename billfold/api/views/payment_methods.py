"""/v1/payment_methods and /v1/customers/{customer}/payment_methods"""

from __future__ import annotations

from typing import Any

from billfold.api.errors import ParamError
from billfold.api.lists import LIST_PARAMS, paginate
from billfold.api.params import Enum, Field, Hash, Int, Metadata, Str, validate
from billfold.api.representations.payment_method import render_payment_method
from billfold.api.routing import ApiCall, route
from billfold.api.shapes import address
from billfold.customers import selectors as customer_selectors
from billfold.customers.models import Customer
from billfold.payments import selectors, services
from billfold.payments.models import PaymentMethod
from billfold.payments.processors.base import CardInput


class CardSecret(Field):
    """A card number or CVC: a string, checked without ever repeating it in an error message."""

    def __init__(self, *, max_length: int) -> None:
        super().__init__()
        self.max_length = max_length

    def convert(self, value: Any, name: str) -> str:
        text = self._want_string(value, name, "string")
        if len(text) > self.max_length:
            raise ParamError(f"Invalid {name}: it can be at most {self.max_length} characters long.", param=name)
        return text


_CARD: dict[str, Field] = {
    "number": CardSecret(max_length=30),
    "exp_month": Int(),
    "exp_year": Int(min=0),
    "cvc": CardSecret(max_length=10),
    "token": Str(max_length=5000),
}
_BILLING_DETAILS = Hash(
    {
        "address": address(),
        "email": Str(max_length=800, unsettable=True),
        "name": Str(max_length=5000, unsettable=True),
        "phone": Str(max_length=5000, unsettable=True),
        "tax_id": Str(max_length=5000, unsettable=True),
    }
)
_ALLOW_REDISPLAY = Enum("always", "limited", "unspecified")
# ``card`` is optional in the schema so that other ``type``s get a message about the type.
_CREATE: dict[str, Field] = {
    "type": Str(max_length=100, required=True),
    "card": Hash(_CARD),
    "billing_details": _BILLING_DETAILS,
    "metadata": Metadata(),
    "allow_redisplay": _ALLOW_REDISPLAY,
}
_UPDATE: dict[str, Field] = {
    "billing_details": _BILLING_DETAILS,
    "card": Hash({"exp_month": Int(), "exp_year": Int(min=0)}),
    "metadata": Metadata(),
    "allow_redisplay": _ALLOW_REDISPLAY,
}
_LIST: dict[str, Field] = {**LIST_PARAMS, "customer": Str(max_length=5000), "type": Str(max_length=100)}
_CUSTOMER_LIST: dict[str, Field] = {**LIST_PARAMS, "type": Str(max_length=100), "allow_redisplay": _ALLOW_REDISPLAY}


def _card_source(values: dict[str, Any]) -> dict[str, Any]:
    """``card=...`` or ``token=...`` for ``services.payment_method_create`` from validated create values."""
    if values["type"] != "card":
        raise ParamError(
            f"Billfold supports card payment methods only; type={values['type']} is not available. Use type=card.",
            param="type",
        )
    card = values.get("card")
    if not card:
        raise ParamError("Missing required param: card.", param="card", code="parameter_missing")
    if "token" in card:
        others = sorted(set(card) - {"token"})
        if others:
            raise ParamError(
                f"You may only specify one of these parameters: card[token], card[{others[0]}]. "
                "Give the card details or a token, not both.",
                param=f"card[{others[0]}]",
                code="parameters_exclusive",
            )
        return {"token": card["token"]}
    for key in ("number", "exp_month", "exp_year"):
        if key not in card:
            raise ParamError(f"Missing required param: card[{key}].", param=f"card[{key}]", code="parameter_missing")
    return {
        "card": CardInput(
            number=card["number"], exp_month=card["exp_month"], exp_year=card["exp_year"], cvc=card.get("cvc")
        )
    }


def _render_page(rows: list[PaymentMethod]) -> list[dict[str, Any]]:
    return [render_payment_method(pm) for pm in rows]


def _customer(call: ApiCall, customer_id: str, *, param: str = "customer") -> Customer:
    return customer_selectors.customer_get(public_id=customer_id, livemode=call.livemode, param=param)


def payment_method_create(call: ApiCall) -> dict[str, Any]:
    values = validate(_CREATE, call.params)
    payment_method = services.payment_method_create(
        livemode=call.livemode,
        **_card_source(values),
        billing_details=values.get("billing_details"),
        metadata=values.get("metadata"),
        allow_redisplay=values.get("allow_redisplay"),
    )
    return render_payment_method(payment_method)


def payment_method_retrieve(call: ApiCall, payment_method_id: str) -> dict[str, Any]:
    validate({}, call.params)
    # Retrieving a magic test id (pm_card_visa) gives a new payment method for that card, as on Stripe.
    return render_payment_method(
        services.payment_method_resolve(public_id=payment_method_id, livemode=call.livemode, param="payment_method")
    )


def payment_method_update(call: ApiCall, payment_method_id: str) -> dict[str, Any]:
    values = validate(_UPDATE, call.params)
    payment_method = selectors.payment_method_get(public_id=payment_method_id, livemode=call.livemode)
    return render_payment_method(services.payment_method_update(payment_method=payment_method, values=values))


def payment_method_list(call: ApiCall) -> dict[str, Any]:
    params = validate(_LIST, call.params)
    customer = _customer(call, params["customer"]) if "customer" in params else None
    rows = selectors.payment_method_list(livemode=call.livemode, customer=customer, type=params.get("type"))
    return paginate(rows, params, url="/v1/payment_methods", kind="PaymentMethod", render=_render_page)


def payment_method_attach(call: ApiCall, payment_method_id: str) -> dict[str, Any]:
    params = validate({"customer": Str(max_length=5000, required=True)}, call.params)
    customer = _customer(call, params["customer"])
    payment_method = services.payment_method_attach_id(
        public_id=payment_method_id, customer=customer, param="payment_method"
    )
    return render_payment_method(payment_method)


def payment_method_detach(call: ApiCall, payment_method_id: str) -> dict[str, Any]:
    validate({}, call.params)
    payment_method = selectors.payment_method_get(public_id=payment_method_id, livemode=call.livemode)
    return render_payment_method(services.payment_method_detach(payment_method=payment_method))


def customer_payment_method_list(call: ApiCall, customer_id: str) -> dict[str, Any]:
    params = validate(_CUSTOMER_LIST, call.params)
    customer = _customer(call, customer_id)
    rows = selectors.payment_method_list(
        livemode=call.livemode,
        customer=customer,
        type=params.get("type"),
        allow_redisplay=params.get("allow_redisplay"),
    )
    url = f"/v1/customers/{customer_id}/payment_methods"
    return paginate(rows, params, url=url, kind="PaymentMethod", render=_render_page)


def customer_payment_method_retrieve(call: ApiCall, customer_id: str, payment_method_id: str) -> dict[str, Any]:
    validate({}, call.params)
    customer = _customer(call, customer_id)
    return render_payment_method(
        selectors.payment_method_get(public_id=payment_method_id, livemode=call.livemode, customer=customer)
    )


urlpatterns = [
    route("payment_methods", GET=payment_method_list, POST=payment_method_create),
    route("payment_methods/<str:payment_method_id>", GET=payment_method_retrieve, POST=payment_method_update),
    route("payment_methods/<str:payment_method_id>/attach", POST=payment_method_attach),
    route("payment_methods/<str:payment_method_id>/detach", POST=payment_method_detach),
    route("customers/<str:customer_id>/payment_methods", GET=customer_payment_method_list),
    route("customers/<str:customer_id>/payment_methods/<str:payment_method_id>", GET=customer_payment_method_retrieve),
]
