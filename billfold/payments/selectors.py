"""Reads for payment methods, setup intents, payment intents, charges and refunds.

Every query is scoped to one mode (test or live)."""

from __future__ import annotations

from django.db.models import QuerySet

from billfold.core.errors import InvalidParam, NotFound
from billfold.core.models import stripe_object_get
from billfold.customers.models import Customer
from billfold.payments.models import Charge, PaymentIntent, PaymentMethod, Refund, SetupIntent


def payment_method_get(
    *, public_id: str, livemode: bool, customer: Customer | None = None, param: str = "payment_method"
) -> PaymentMethod:
    """The payment method with this id in this mode (attached to ``customer``, when one is given)."""
    payment_methods = PaymentMethod.objects.select_related("customer").filter(public_id=public_id, livemode=livemode)
    if customer is not None:
        payment_methods = payment_methods.filter(customer=customer)
    found = payment_methods.first()
    if found is None:
        raise NotFound("PaymentMethod", public_id, param=param)
    return found


def payment_method_list(
    *,
    livemode: bool,
    customer: Customer | None = None,
    type: str | None = None,
    allow_redisplay: str | None = None,
) -> QuerySet[PaymentMethod]:
    payment_methods = PaymentMethod.objects.select_related("customer").filter(livemode=livemode)
    if customer is not None:
        payment_methods = payment_methods.filter(customer=customer)
    if type is not None:
        payment_methods = payment_methods.filter(type=type)
    if allow_redisplay is not None:
        payment_methods = payment_methods.filter(allow_redisplay=allow_redisplay)
    return payment_methods


def payment_method_of_customer(*, public_id: str, customer: Customer, param: str) -> PaymentMethod:
    """The payment method ``public_id`` if it is attached to ``customer``; a refusal naming ``param`` if not."""
    found = (
        PaymentMethod.objects.select_related("customer")
        .filter(public_id=public_id, livemode=customer.livemode, customer=customer)
        .first()
    )
    if found is None:
        raise InvalidParam(
            f"The customer does not have a payment method with the ID {public_id}. "
            "The payment method must be attached to the customer.",
            param=param,
            code="resource_missing",
        )
    return found


def setup_intent_get(*, public_id: str, livemode: bool, param: str = "intent") -> SetupIntent:
    return stripe_object_get(
        SetupIntent.objects.select_related("customer", "payment_method"),
        resource="setupintent",
        public_id=public_id,
        livemode=livemode,
        param=param,
    )


def setup_intent_list(
    *, livemode: bool, customer: Customer | None = None, payment_method: PaymentMethod | None = None
) -> QuerySet[SetupIntent]:
    setup_intents = SetupIntent.objects.select_related("customer", "payment_method").filter(livemode=livemode)
    if customer is not None:
        setup_intents = setup_intents.filter(customer=customer)
    if payment_method is not None:
        setup_intents = setup_intents.filter(payment_method=payment_method)
    return setup_intents


def payment_intent_get(*, public_id: str, livemode: bool, param: str = "intent") -> PaymentIntent:
    return stripe_object_get(
        PaymentIntent.objects.select_related("customer", "payment_method", "latest_charge"),
        resource="payment_intent",
        public_id=public_id,
        livemode=livemode,
        param=param,
    )


def payment_intent_list(*, livemode: bool, customer: Customer | None = None) -> QuerySet[PaymentIntent]:
    intents = PaymentIntent.objects.select_related("customer", "payment_method", "latest_charge").filter(
        livemode=livemode
    )
    if customer is not None:
        intents = intents.filter(customer=customer)
    return intents


def charge_get(*, public_id: str, livemode: bool, param: str = "charge") -> Charge:
    return stripe_object_get(
        Charge.objects.select_related("customer", "payment_intent", "payment_method"),
        resource="charge",
        public_id=public_id,
        livemode=livemode,
        param=param,
    )


def charge_list(
    *, livemode: bool, customer: Customer | None = None, payment_intent: PaymentIntent | None = None
) -> QuerySet[Charge]:
    charges = Charge.objects.select_related("customer", "payment_intent", "payment_method").filter(livemode=livemode)
    if customer is not None:
        charges = charges.filter(customer=customer)
    if payment_intent is not None:
        charges = charges.filter(payment_intent=payment_intent)
    return charges


def refund_get(*, public_id: str, livemode: bool, param: str = "refund") -> Refund:
    return stripe_object_get(
        Refund.objects.select_related("charge__customer", "charge__payment_method", "payment_intent"),
        resource="refund",
        public_id=public_id,
        livemode=livemode,
        param=param,
    )


def refund_list(
    *, livemode: bool, charge: Charge | None = None, payment_intent: PaymentIntent | None = None
) -> QuerySet[Refund]:
    refunds = Refund.objects.select_related("charge__customer", "charge__payment_method", "payment_intent").filter(
        livemode=livemode
    )
    if charge is not None:
        refunds = refunds.filter(charge=charge)
    if payment_intent is not None:
        refunds = refunds.filter(payment_intent=payment_intent)
    return refunds
