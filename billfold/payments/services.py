"""Writes for payment methods and setup intents: one function per operation, each in one
transaction with its events.

Card numbers reach ``payment_method_create`` only to be handed to the processor; what is saved
is the processor's reference and the card's description (see ``models.PaymentMethod``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.db import transaction

from billfold.core import clock
from billfold.core.errors import InvalidParam, NotFound
from billfold.core.ids import new_id, random_string
from billfold.core.metadata import merge_metadata
from billfold.customers.models import Customer
from billfold.events.rendering import render_object
from billfold.events.services import event_record, event_record_update
from billfold.payments import selectors
from billfold.payments.cards import expiry_problem, full_year
from billfold.payments.errors import CardError, PaymentMethodStateError, SetupIntentStateError
from billfold.payments.models import PaymentMethod, SetupIntent
from billfold.payments.processors.base import CardInput, Decline, Processor, TokenizedCard
from billfold.payments.processors.registry import processor_default, processor_get

BILLING_DETAILS_FIELDS = ("address", "email", "name", "phone", "tax_id")
SUPPORTED_TYPES = ("card",)
OPEN_STATUSES = ("requires_payment_method", "requires_confirmation", "requires_action")


def _card_param(decline: Decline) -> str | None:
    return f"card[{decline.param}]" if decline.param else None


def _merge_billing_details(current: Mapping[str, Any], change: Mapping[str, Any]) -> dict[str, Any]:
    """``change`` applied to ``current``; a ``None`` value removes the key."""
    merged = dict(current)
    for key in BILLING_DETAILS_FIELDS:
        if key not in change:
            continue
        if change[key] is None:
            merged.pop(key, None)
        else:
            merged[key] = dict(change[key]) if isinstance(change[key], Mapping) else change[key]
    return merged


def _new_payment_method(
    card: TokenizedCard,
    *,
    processor: Processor,
    livemode: bool,
    billing_details: Mapping[str, Any] | None = None,
    metadata: Mapping[str, str | None] | None = None,
    allow_redisplay: str | None = None,
) -> PaymentMethod:
    payment_method = PaymentMethod(
        public_id=new_id("pm"),
        livemode=livemode,
        type="card",
        card_brand=card.brand,
        card_last4=card.last4,
        card_exp_month=card.exp_month,
        card_exp_year=card.exp_year,
        card_fingerprint=card.fingerprint,
        card_funding=card.funding,
        card_country=card.country,
        card_cvc_check=card.cvc_check,
        billing_details=_merge_billing_details({}, billing_details or {}),
        allow_redisplay=allow_redisplay or "unspecified",
        metadata=merge_metadata({}, metadata or {}),
        processor=processor.name,
        processor_reference=card.reference,
    )
    payment_method.save()
    return payment_method


@transaction.atomic
def payment_method_create(
    *,
    livemode: bool,
    card: CardInput | None = None,
    token: str | None = None,
    billing_details: Mapping[str, Any] | None = None,
    metadata: Mapping[str, str | None] | None = None,
    allow_redisplay: str | None = None,
) -> PaymentMethod:
    """A new, unattached card payment method from card details or a processor token.

    Stripe sends no event for a new payment method; attaching it sends one.
    """
    processor = processor_default()
    tokenized: TokenizedCard | Decline | None
    if card is not None and token is None:
        tokenized = processor.card_tokenize(card, livemode=livemode)
        if isinstance(tokenized, Decline):
            raise CardError(tokenized, param=_card_param(tokenized))
    elif token is not None and card is None:
        tokenized = processor.card_from_token(token, livemode=livemode)
        if tokenized is None:
            raise NotFound("token", token, param="card[token]")
    else:
        raise InvalidParam(
            "Give either the card details (card[number], card[exp_month], card[exp_year]) or a token (card[token]).",
            param="card",
        )
    return _new_payment_method(
        tokenized,
        processor=processor,
        livemode=livemode,
        billing_details=billing_details,
        metadata=metadata,
        allow_redisplay=allow_redisplay,
    )


@transaction.atomic
def payment_method_resolve(*, public_id: str, livemode: bool, param: str) -> PaymentMethod:
    """The payment method ``public_id`` names: a saved one, or, for a magic test id such as
    ``pm_card_visa``, a new payment method for that test card (as Stripe makes one each time)."""
    try:
        return selectors.payment_method_get(public_id=public_id, livemode=livemode, param=param)
    except NotFound:
        if not public_id.startswith("pm_"):
            raise
        processor = processor_default()
        tokenized = processor.card_from_token(public_id, livemode=livemode)
        if tokenized is None:
            raise
        return _new_payment_method(tokenized, processor=processor, livemode=livemode)


@transaction.atomic
def payment_method_update(*, payment_method: PaymentMethod, values: Mapping[str, Any]) -> PaymentMethod:
    """Change billing details, the card's expiry, ``allow_redisplay`` or metadata of a saved card.

    ``values`` keys: ``billing_details`` (a ``None`` value unsets a field), ``card``
    (``exp_month``, ``exp_year``), ``allow_redisplay``, ``metadata``.
    """
    payment_method = _locked_payment_method(payment_method)
    if payment_method.customer_id is None:
        raise PaymentMethodStateError(
            "You must save this PaymentMethod to a customer before you can update it: attach it first."
        )
    before = render_object(payment_method)
    card = values.get("card") or {}
    if "exp_month" in card or "exp_year" in card:
        exp_month = card.get("exp_month", payment_method.card_exp_month)
        exp_year = card.get("exp_year", payment_method.card_exp_year)
        problem = expiry_problem(exp_month, exp_year, today=clock.now().date())
        if problem is None:
            problem = _processor(payment_method).card_update(
                payment_method.processor_reference,
                exp_month=exp_month,
                exp_year=full_year(exp_year),
                livemode=payment_method.livemode,
            )
        if problem is not None:
            raise CardError(problem, param=_card_param(problem))
        payment_method.card_exp_month = exp_month
        payment_method.card_exp_year = full_year(exp_year)
    if "billing_details" in values:
        payment_method.billing_details = _merge_billing_details(
            payment_method.billing_details, values["billing_details"]
        )
    if values.get("allow_redisplay") is not None:
        payment_method.allow_redisplay = values["allow_redisplay"]
    if "metadata" in values:
        payment_method.metadata = merge_metadata(payment_method.metadata, values["metadata"])
    payment_method.save()
    event_record_update(
        type="payment_method.updated", obj=payment_method, livemode=payment_method.livemode, before=before
    )
    return payment_method


def _processor(payment_method: PaymentMethod) -> Processor:
    return processor_get(payment_method.processor)


def _locked_payment_method(payment_method: PaymentMethod) -> PaymentMethod:
    """The row re-read under a lock, so two concurrent attaches or detaches cannot both pass their checks."""
    return PaymentMethod.objects.select_for_update(of=("self",)).select_related("customer").get(pk=payment_method.pk)


def _check_reusable(payment_method: PaymentMethod, *, param: str | None = None) -> None:
    if payment_method.detached_at is not None:
        raise PaymentMethodStateError(
            "This PaymentMethod was detached from a Customer and may not be used again. "
            "Create a new PaymentMethod for the card instead.",
            param=param,
        )


def payment_method_attach_checked(*, payment_method: PaymentMethod, customer: Customer) -> PaymentMethod:
    """Save a card the processor has just accepted (a payment or a setup succeeded) to ``customer``,
    inside the caller's transaction, with its ``payment_method.attached`` event."""
    return _attach(payment_method, customer)


def _attach(payment_method: PaymentMethod, customer: Customer) -> PaymentMethod:
    payment_method.customer = customer
    if payment_method.card_cvc_check == "unchecked":
        # The processor checked the card, CVC included, before it could be saved.
        payment_method.card_cvc_check = "pass"
    payment_method.save()
    event_record(type="payment_method.attached", obj=payment_method, livemode=payment_method.livemode)
    return payment_method


@transaction.atomic
def payment_method_attach(*, payment_method: PaymentMethod, customer: Customer) -> PaymentMethod:
    """Save the card to ``customer`` after the processor checks it; a declined card is refused
    (``CardError``) and nothing changes. Attaching to the customer it already has changes nothing."""
    payment_method = _locked_payment_method(payment_method)
    if payment_method.customer_id == customer.pk:
        return payment_method
    if payment_method.customer_id is not None:
        raise PaymentMethodStateError(
            "The payment method you provided has already been attached to a customer. "
            "Detach it first, or create a new PaymentMethod for the other customer."
        )
    _check_reusable(payment_method)
    decline = _processor(payment_method).card_verify(
        payment_method.processor_reference, livemode=payment_method.livemode
    )
    if decline is not None:
        raise CardError(decline)
    return _attach(payment_method, customer)


@transaction.atomic
def payment_method_attach_id(*, public_id: str, customer: Customer, param: str) -> PaymentMethod:
    """``payment_method_attach`` for an id that may be a magic test id: attaching ``pm_card_visa``
    saves a new payment method for that card to the customer. A refusal leaves nothing behind."""
    payment_method = payment_method_resolve(public_id=public_id, livemode=customer.livemode, param=param)
    return payment_method_attach(payment_method=payment_method, customer=customer)


@transaction.atomic
def payment_method_detach(*, payment_method: PaymentMethod) -> PaymentMethod:
    """Remove the card from its customer for good; it stops being the customer's default if it was."""
    payment_method = _locked_payment_method(payment_method)
    customer = payment_method.customer
    if customer is None:
        raise PaymentMethodStateError(
            "The payment method you provided is not attached to a customer so detachment is impossible."
        )
    payment_method.customer = None
    payment_method.detached_at = clock.now()
    payment_method.save()
    event_record(
        type="payment_method.detached",
        obj=payment_method,
        livemode=payment_method.livemode,
        previous_attributes={"customer": customer.public_id},
    )
    _forget_default(customer, payment_method)
    return payment_method


def _forget_default(customer: Customer, payment_method: PaymentMethod) -> None:
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    if customer.invoice_settings.get("default_payment_method") != payment_method.public_id:
        return
    before = render_object(customer)
    customer.invoice_settings = {k: v for k, v in customer.invoice_settings.items() if k != "default_payment_method"}
    customer.save(update_fields=["invoice_settings"])
    event_record_update(type="customer.updated", obj=customer, livemode=customer.livemode, before=before)


def _check_types(payment_method_types: Sequence[str]) -> None:
    for index, type_ in enumerate(payment_method_types):
        if type_ not in SUPPORTED_TYPES:
            raise InvalidParam(
                f"The payment method type '{type_}' is not available: Billfold sets up cards only (card).",
                param=f"payment_method_types[{index}]",
            )


def payment_method_check_usable(*, payment_method: PaymentMethod, customer: Customer | None, param: str) -> None:
    """An intent for ``customer`` may use a method that is unattached or attached to that customer."""
    _check_reusable(payment_method, param=param)
    owner = payment_method.customer
    if owner is None:
        return
    if customer is None:
        raise PaymentMethodStateError(
            f"The PaymentMethod {payment_method.public_id} is attached to customer {owner.public_id}; "
            "pass that customer's id as `customer` to use it.",
            param=param,
        )
    if owner.pk != customer.pk:
        raise PaymentMethodStateError(
            f"The PaymentMethod {payment_method.public_id} is attached to another customer and cannot be used "
            f"for {customer.public_id}.",
            param=param,
        )


def _check_usable(setup_intent: SetupIntent, payment_method: PaymentMethod, *, param: str) -> None:
    payment_method_check_usable(payment_method=payment_method, customer=setup_intent.customer, param=param)


@transaction.atomic
def setup_intent_create(
    *,
    livemode: bool,
    customer: Customer | None = None,
    payment_method_id: str | None = None,
    usage: str = "off_session",
    payment_method_types: Sequence[str] = SUPPORTED_TYPES,
    description: str | None = None,
    metadata: Mapping[str, str | None] | None = None,
    confirm: bool = False,
) -> SetupIntent:
    """A new setup intent, confirmed at once when ``confirm`` (see ``setup_intent_confirm``).

    ``payment_method_id`` may be a magic test id (``pm_card_visa``)."""
    _check_types(payment_method_types)
    if confirm and payment_method_id is None:
        raise _missing_payment_method()
    payment_method = (
        payment_method_resolve(public_id=payment_method_id, livemode=livemode, param="payment_method")
        if payment_method_id is not None
        else None
    )
    public_id = new_id("seti")
    setup_intent = SetupIntent(
        public_id=public_id,
        livemode=livemode,
        client_secret=f"{public_id}_secret_{random_string(32)}",
        status="requires_confirmation" if payment_method is not None else "requires_payment_method",
        customer=customer,
        payment_method=payment_method,
        usage=usage,
        payment_method_types=list(payment_method_types),
        description=description,
        metadata=merge_metadata({}, metadata or {}),
    )
    if payment_method is not None:
        _check_usable(setup_intent, payment_method, param="payment_method")
    setup_intent.save()
    event_record(type="setup_intent.created", obj=setup_intent, livemode=livemode)
    if confirm:
        return _confirm(setup_intent)
    return setup_intent


def _locked_setup_intent(setup_intent: SetupIntent) -> SetupIntent:
    return (
        SetupIntent.objects.select_for_update(of=("self",))
        .select_related("customer", "payment_method", "payment_method__customer")
        .get(pk=setup_intent.pk)
    )


def _refuse_unless_open(setup_intent: SetupIntent, *, action: str, done: str) -> None:
    """``action`` names what was asked ("confirm"), ``done`` its past tense ("confirmed")."""
    if setup_intent.status in OPEN_STATUSES:
        return
    if setup_intent.status == "succeeded" and action == "confirm":
        raise SetupIntentStateError(
            "You cannot confirm this SetupIntent because it has already succeeded after being previously confirmed."
        )
    raise SetupIntentStateError(
        f"You cannot {action} this SetupIntent because it has a status of {setup_intent.status}. "
        f"Only a SetupIntent with one of the following statuses may be {done}: {', '.join(OPEN_STATUSES)}."
    )


@transaction.atomic
def setup_intent_update(*, setup_intent: SetupIntent, values: Mapping[str, Any]) -> SetupIntent:
    """Change ``customer``, ``payment_method`` (an id; ``None`` removes it), ``payment_method_types``,
    ``description`` or ``metadata``. Stripe sends no event for an update."""
    setup_intent = _locked_setup_intent(setup_intent)
    if {"customer", "payment_method", "payment_method_types"} & values.keys():
        _refuse_unless_open(
            setup_intent, action="change the payment method, customer or payment method types of", done="changed"
        )
    if "payment_method_types" in values:
        _check_types(values["payment_method_types"] or [])
        setup_intent.payment_method_types = list(values["payment_method_types"] or SUPPORTED_TYPES)
    if "customer" in values:
        setup_intent.customer = values["customer"]
    if "payment_method" in values:
        payment_method_id = values["payment_method"]
        setup_intent.payment_method = (
            payment_method_resolve(public_id=payment_method_id, livemode=setup_intent.livemode, param="payment_method")
            if payment_method_id is not None
            else None
        )
        setup_intent.next_action = None
        setup_intent.status = (
            "requires_confirmation" if setup_intent.payment_method is not None else "requires_payment_method"
        )
    if setup_intent.payment_method is not None and ("customer" in values or "payment_method" in values):
        _check_usable(setup_intent, setup_intent.payment_method, param="payment_method")
    if "description" in values:
        setup_intent.description = values["description"]
    if "metadata" in values:
        setup_intent.metadata = merge_metadata(setup_intent.metadata, values["metadata"])
    setup_intent.save()
    return setup_intent


def _missing_payment_method() -> SetupIntentStateError:
    return SetupIntentStateError(
        "You cannot confirm this SetupIntent because it's missing a payment method. Update the SetupIntent "
        "with a payment method and then confirm it again, or confirm it again directly with a payment method.",
        param="payment_method",
    )


@transaction.atomic
def setup_intent_confirm(*, setup_intent: SetupIntent, payment_method_id: str | None = None) -> SetupIntent:
    """Ask the processor to set the card up.

    Succeeded: the card is attached to the intent's customer, if any. The card needs
    authentication: requires_action with ``next_action``. Declined: back to
    requires_payment_method with ``last_setup_error``; that outcome is recorded (with its
    ``setup_intent.setup_failed`` event), not refused.
    """
    setup_intent = _locked_setup_intent(setup_intent)
    _refuse_unless_open(setup_intent, action="confirm", done="confirmed")
    if payment_method_id is not None:
        payment_method = payment_method_resolve(
            public_id=payment_method_id, livemode=setup_intent.livemode, param="payment_method"
        )
        _check_usable(setup_intent, payment_method, param="payment_method")
        setup_intent.payment_method = payment_method
    if setup_intent.payment_method is None:
        raise _missing_payment_method()
    return _confirm(setup_intent)


def _confirm(setup_intent: SetupIntent) -> SetupIntent:
    payment_method = setup_intent.payment_method
    assert payment_method is not None
    result = _processor(payment_method).card_setup(payment_method.processor_reference, livemode=setup_intent.livemode)
    setup_intent.last_setup_error = None
    setup_intent.next_action = None
    if result.status == "succeeded":
        if setup_intent.customer is not None and payment_method.customer_id is None:
            _attach(payment_method, setup_intent.customer)
        elif payment_method.card_cvc_check == "unchecked":
            payment_method.card_cvc_check = "pass"
            payment_method.save(update_fields=["card_cvc_check"])
        setup_intent.status = "succeeded"
        event_type = "setup_intent.succeeded"
    elif result.status == "requires_action":
        setup_intent.status = "requires_action"
        # What Stripe.js reads to run 3-D Secure; Billfold has no authentication page of its own yet.
        setup_intent.next_action = {"type": "use_stripe_sdk", "use_stripe_sdk": {"type": "three_d_secure_redirect"}}
        event_type = "setup_intent.requires_action"
    else:
        assert result.decline is not None
        setup_intent.last_setup_error = _setup_error(result.decline, payment_method)
        setup_intent.payment_method = None
        setup_intent.status = "requires_payment_method"
        event_type = "setup_intent.setup_failed"
    setup_intent.save()
    event_record(type=event_type, obj=setup_intent, livemode=setup_intent.livemode)
    return setup_intent


def _setup_error(decline: Decline, payment_method: PaymentMethod) -> dict[str, Any]:
    error: dict[str, Any] = {"code": decline.code}
    if decline.decline_code is not None:
        error["decline_code"] = decline.decline_code
    error.update({"message": decline.message, "payment_method": render_object(payment_method), "type": "card_error"})
    return error


@transaction.atomic
def setup_intent_cancel(*, setup_intent: SetupIntent, cancellation_reason: str | None = None) -> SetupIntent:
    setup_intent = _locked_setup_intent(setup_intent)
    _refuse_unless_open(setup_intent, action="cancel", done="canceled")
    setup_intent.status = "canceled"
    setup_intent.cancellation_reason = cancellation_reason
    setup_intent.next_action = None
    setup_intent.save()
    event_record(type="setup_intent.canceled", obj=setup_intent, livemode=setup_intent.livemode)
    return setup_intent
