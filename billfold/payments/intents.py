"""Payment intents and their charges: collecting an amount from a card.

Charging a card moves money, so the processor is never called inside a database transaction:
1. a committed ``PaymentAttempt`` row says what is being attempted and carries the idempotency
   key the processor will receive (the intent shows ``processing``);
2. the processor is called with no transaction open;
3. the outcome is recorded in a second transaction, with the charge and the events.
A crash between 1 and 3 leaves the attempt ``attempting``. Confirming the intent again, or
``payment_attempts_resume`` from a worker, asks the processor again with the same key, and the
processor answers with the first outcome instead of charging a second time. This is why
``payment_intent_confirm`` refuses to run inside a transaction (``require_no_transaction``).

Stripe sends no ``payment_intent.processing`` event for cards, whose outcome arrives within the
confirmation; Billfold's short ``processing`` status writes none either.

The authentication test card leaves an on-session payment in ``requires_action`` with Stripe's
``next_action``. Billfold has no authentication page yet, so such a payment can only be
confirmed again (with another card) or canceled.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ParamSpec

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from billfold.catalog.rules import statement_descriptor_check
from billfold.clocks.selectors import customer_now
from billfold.core import clock
from billfold.core.errors import InvalidParam, NotFound
from billfold.core.ids import new_id, random_string
from billfold.core.metadata import merge_metadata
from billfold.core.money import currency_check, format_amount
from billfold.customers.models import Customer
from billfold.events.rendering import render_object, rows_known
from billfold.events.services import event_record
from billfold.payments.errors import PaymentIntentStateError
from billfold.payments.models import Charge, PaymentAttempt, PaymentIntent, PaymentMethod
from billfold.payments.processors.base import ChargeResult, Decline
from billfold.payments.processors.registry import processor_get
from billfold.payments.services import (
    payment_method_attach_checked,
    payment_method_check_usable,
    payment_method_resolve,
)

# The arguments of a ``*_build`` function, which its ``*_create`` takes too.
P = ParamSpec("P")

SUPPORTED_TYPES = ("card",)
OPEN_STATUSES = ("requires_payment_method", "requires_confirmation", "requires_action")
CAPTURE_METHODS = ("automatic", "automatic_async")
CANCELLATION_REASONS = (
    "abandoned",
    "duplicate",
    "fraudulent",
    "requested_by_customer",
    # Set by the billing engine, never by a caller of the API.
    "automatic",
    "failed_invoice",
    "void_invoice",
)
# The smallest charge card networks accept, in minor units; other currencies need at least one unit.
MINIMUM_AMOUNTS = {
    "usd": 50, "aed": 200, "aud": 50, "bgn": 100, "brl": 50, "cad": 50, "chf": 50, "czk": 1500,
    "dkk": 250, "eur": 50, "gbp": 30, "hkd": 400, "huf": 17500, "inr": 50, "jpy": 50, "mxn": 1000,
    "myr": 200, "nok": 300, "nzd": 50, "pln": 200, "ron": 200, "sek": 300, "sgd": 50, "thb": 1000,
}  # fmt: skip
# Eight digits: 999,999.99 in a two-decimal currency.
MAXIMUM_AMOUNT = 99_999_999
# What Stripe.js reads to run 3-D Secure.
AUTHENTICATION_ACTION = {"type": "use_stripe_sdk", "use_stripe_sdk": {"type": "three_d_secure_redirect"}}


def customer_moment(customer: Customer | None) -> dt.datetime:
    """Now, as the customer lives it (a customer on a test clock lives on the clock's time)."""
    return customer_now(customer) if customer is not None else clock.now()


def require_no_transaction(operation: str) -> None:
    """Refuse to call the processor from inside a transaction: its commit would come after the
    processor moved money, so a crash could lose the record of a charge and charge again."""
    blocks = transaction.get_connection().atomic_blocks
    # A test case's own wrapping transaction stands for "no transaction" (as for atomic(durable=True)).
    if blocks and not getattr(blocks[-1], "_from_testcase", False):
        raise RuntimeError(
            f"{operation} calls the payment processor and must run outside any database transaction. "
            "Call it after your transaction commits; an API handler doing so must be marked "
            "billfold.api.routing.commits_itself."
        )


def amount_check(amount: int, currency: str, *, param: str = "amount") -> None:
    minimum = MINIMUM_AMOUNTS.get(currency, 1)
    if amount < minimum:
        raise InvalidParam(
            f"Amount must be at least {format_amount(minimum, currency)}: card networks refuse smaller charges.",
            param=param,
            code="amount_too_small",
        )
    if amount > MAXIMUM_AMOUNT:
        raise InvalidParam(
            f"Amount must be no more than {format_amount(MAXIMUM_AMOUNT, currency)}.",
            param=param,
            code="amount_too_large",
        )


def _check_capture_method(capture_method: str) -> None:
    if capture_method not in CAPTURE_METHODS:
        raise InvalidParam(
            f"capture_method={capture_method} is not available: Billfold captures card payments as soon as they "
            "are authorised. Use capture_method=automatic or automatic_async (the default).",
            param="capture_method",
        )


def _check_types(payment_method_types: Sequence[str]) -> None:
    for index, type_ in enumerate(payment_method_types):
        if type_ not in SUPPORTED_TYPES:
            raise InvalidParam(
                f"The payment method type '{type_}' is not available: Billfold takes card payments only (card).",
                param=f"payment_method_types[{index}]",
            )


def _check_email(email: str | None) -> None:
    if email is None:
        return
    try:
        validate_email(email)
    except ValidationError:
        raise InvalidParam(
            f"Invalid email address: {email[:100]}", param="receipt_email", code="email_invalid"
        ) from None


def _payment_method(value: PaymentMethod | str, *, livemode: bool) -> PaymentMethod:
    """A saved payment method, or one made for a magic test id such as ``pm_card_visa``."""
    if isinstance(value, str):
        return payment_method_resolve(public_id=value, livemode=livemode, param="payment_method")
    if value.livemode != livemode:
        raise NotFound("PaymentMethod", value.public_id, param="payment_method")
    return value


def payment_intent_build(
    *,
    livemode: bool,
    customer: Customer | None,
    amount: int,
    currency: str,
    payment_method: PaymentMethod | str | None = None,
    description: str | None = None,
    metadata: Mapping[str, str | None] | None = None,
    statement_descriptor: str | None = None,
    setup_future_usage: str | None = None,
    receipt_email: str | None = None,
    capture_method: str = "automatic_async",
    confirmation_method: str = "automatic",
    payment_method_types: Sequence[str] | None = None,
    invoice_id: str | None = None,
    request_key: str | None = None,
) -> PaymentIntent:
    """``payment_intent_create``'s intent, checked and built but not saved (no event): for callers
    that write many rows at once and record ``payment_intent.created`` themselves."""
    currency = currency_check(currency)
    amount_check(amount, currency)
    _check_capture_method(capture_method)
    _check_types(payment_method_types or SUPPORTED_TYPES)
    if statement_descriptor is not None:
        statement_descriptor_check(statement_descriptor)
    _check_email(receipt_email)
    if customer is not None and customer.livemode != livemode:
        raise NotFound("customer", customer.public_id, param="customer")
    resolved = _payment_method(payment_method, livemode=livemode) if payment_method is not None else None
    if resolved is not None:
        payment_method_check_usable(payment_method=resolved, customer=customer, param="payment_method")
    moment = customer_moment(customer)
    public_id = new_id("pi")
    return PaymentIntent(
        public_id=public_id,
        livemode=livemode,
        created=moment,
        amount=amount,
        currency=currency,
        status="requires_confirmation" if resolved is not None else "requires_payment_method",
        customer=customer,
        payment_method=resolved,
        capture_method=capture_method,
        confirmation_method=confirmation_method,
        client_secret=f"{public_id}_secret_{random_string(25)}",
        description=description,
        statement_descriptor=statement_descriptor,
        receipt_email=receipt_email,
        setup_future_usage=setup_future_usage,
        payment_method_types=list(payment_method_types or SUPPORTED_TYPES),
        automatic_payment_methods=payment_method_types is None,
        metadata=merge_metadata({}, metadata or {}),
        invoice_id=invoice_id,
        request_key=request_key,
    )


def _saved(build: Callable[P, PaymentIntent]) -> Callable[P, PaymentIntent]:
    """``build``'s intent saved, with its ``payment_intent.created`` event, in one transaction."""

    @transaction.atomic
    def create(*args: P.args, **kwargs: P.kwargs) -> PaymentIntent:
        intent = build(*args, **kwargs)
        intent.save(force_insert=True)
        event_record(type="payment_intent.created", obj=intent, livemode=intent.livemode, created=intent.created)
        return intent

    create.__doc__ = """A new payment intent for ``amount`` minor units of ``currency``; confirm it to charge.

    ``payment_method`` may be a magic test id (``pm_card_visa``). ``request_key`` is the
    Idempotency-Key of the API request creating it (see ``payment_intent_of_request``).
    """
    return create


# Takes ``payment_intent_build``'s arguments.
payment_intent_create = _saved(payment_intent_build)


def request_window_start() -> dt.datetime:
    """Idempotency-Keys name one request for this long; an older use of a key is another request."""
    return clock.now() - dt.timedelta(seconds=settings.BILLFOLD_IDEMPOTENCY_TTL)


def payment_intent_of_request(*, livemode: bool, request_key: str) -> PaymentIntent | None:
    """The intent an API request with this Idempotency-Key created, when that request is being run
    again because it died before answering (the key's record was taken over)."""
    return (
        PaymentIntent.objects.select_related("customer", "payment_method")
        .filter(livemode=livemode, request_key=request_key, requested_at__gte=request_window_start())
        .order_by("pk")
        .first()
    )


def payment_intent_locked(intent: PaymentIntent | int) -> PaymentIntent:
    """The intent re-read under a row lock, with its customer, card and latest charge."""
    return _locked(intent)


def _locked(intent: PaymentIntent | int) -> PaymentIntent:
    return (
        PaymentIntent.objects.select_for_update(of=("self",))
        .select_related("customer", "payment_method", "payment_method__customer", "latest_charge")
        .get(pk=intent if isinstance(intent, int) else intent.pk)
    )


def _refuse_unless_open(intent: PaymentIntent, *, action: str, done: str) -> None:
    """``action`` names what was asked ("confirm"), ``done`` its past tense ("confirmed")."""
    if intent.status in OPEN_STATUSES:
        return
    if intent.status == "processing":
        raise PaymentIntentStateError(
            f"You cannot {action} this PaymentIntent while a payment attempt for it is being processed. "
            "Confirm it again to finish that attempt, then retry if it did not succeed."
        )
    if intent.status == "succeeded" and action == "confirm":
        raise PaymentIntentStateError(
            "You cannot confirm this PaymentIntent because it has already succeeded after being previously confirmed."
        )
    raise PaymentIntentStateError(
        f"You cannot {action} this PaymentIntent because it has a status of {intent.status}. "
        f"Only a PaymentIntent with one of the following statuses may be {done}: {', '.join(OPEN_STATUSES)}."
    )


def _missing_payment_method() -> PaymentIntentStateError:
    return PaymentIntentStateError(
        "You cannot confirm this PaymentIntent because it's missing a payment method. Update the PaymentIntent "
        "with a payment method and then confirm it again, or confirm it again directly with a payment method.",
        param="payment_method",
    )


def payment_intent_confirm(
    *,
    payment_intent: PaymentIntent,
    payment_method: PaymentMethod | str | None = None,
    off_session: bool = False,
    request_key: str | None = None,
) -> PaymentIntent:
    """Charge the intent's card (or ``payment_method``, which then becomes the intent's).

    Returns the intent: succeeded; requires_action (the card wants authentication); or, declined,
    back to requires_payment_method with ``last_payment_error`` and a failed charge — a decline
    is an outcome recorded with its events, not a refusal. Refusals (wrong status, no payment
    method) change nothing. An intent left ``processing`` by a crash is finished, not charged again.

    Must be called outside any transaction: the attempt is committed before the processor is asked.
    """
    require_no_transaction("payment_intent_confirm")
    attempt = _begin_attempt(payment_intent, payment_method, off_session=off_session, request_key=request_key)
    if attempt is None:
        return PaymentIntent.objects.select_related("customer", "payment_method", "latest_charge").get(
            pk=payment_intent.pk
        )
    return _finish_attempt(attempt)


def _begin_attempt(
    payment_intent: PaymentIntent,
    payment_method: PaymentMethod | str | None,
    *,
    off_session: bool,
    request_key: str | None,
) -> PaymentAttempt | None:
    """The attempt to make now (an interrupted one first), or None when ``request_key``'s request already made it."""
    with transaction.atomic(durable=True):
        return payment_intent_attempt_begin(
            payment_intent=_locked(payment_intent),
            payment_method=payment_method,
            off_session=off_session,
            request_key=request_key,
        )


def payment_intent_attempt_begin(
    *,
    payment_intent: PaymentIntent,
    payment_method: PaymentMethod | str | None = None,
    off_session: bool = False,
    request_key: str | None = None,
) -> PaymentAttempt | None:
    """The first half of ``payment_intent_confirm``, in the caller's transaction: the attempt row to
    make now (an interrupted one first), or None when ``request_key``'s request already made it.

    ``payment_intent`` must be locked by the caller (or made in its transaction). The caller commits,
    then calls ``payment_attempt_finish`` with no transaction open: the committed attempt is what
    keeps a crash from charging twice.
    """
    intent = payment_intent
    interrupted = intent.attempts.filter(status="attempting").first()
    if interrupted is not None:
        return interrupted
    if request_key is not None:
        latest = intent.attempts.order_by("-pk").first()
        if latest is not None and latest.request_key == request_key and latest.created >= request_window_start():
            return None
    _refuse_unless_open(intent, action="confirm", done="confirmed")
    if payment_method is not None:
        intent.payment_method = _payment_method(payment_method, livemode=intent.livemode)
    if intent.payment_method is None:
        raise _missing_payment_method()
    payment_method_check_usable(payment_method=intent.payment_method, customer=intent.customer, param="payment_method")
    attempt = attempt_build(intent, off_session=off_session, request_key=request_key)
    attempt.save(force_insert=True)
    intent.save()
    return attempt


def attempt_build(intent: PaymentIntent, *, off_session: bool, request_key: str | None = None) -> PaymentAttempt:
    """The attempt row for charging the intent's (checked) card, not saved; the intent, in memory, is
    ``processing`` from then on. Both must commit before the processor is asked."""
    assert intent.payment_method is not None
    attempt = PaymentAttempt(
        payment_intent=intent,
        payment_method=intent.payment_method,
        amount=intent.amount,
        currency=intent.currency,
        off_session=off_session,
        processor=intent.payment_method.processor,
        processor_key=f"billfold_pa_{random_string(32)}",
        request_key=request_key,
    )
    intent.status = "processing"
    intent.next_action = None
    return attempt


def payment_attempt_finish(*, attempt: PaymentAttempt) -> PaymentIntent:
    """The second half of ``payment_intent_confirm``: ask the processor about an attempt begun and
    committed by ``payment_intent_attempt_begin``, then record its answer. Outside any transaction."""
    require_no_transaction("payment_attempt_finish")
    return _finish_attempt(attempt)


def _finish_attempt(attempt: PaymentAttempt) -> PaymentIntent:
    """Ask the processor (no transaction open), then record what it answered."""
    return _record_outcome(attempt, attempt_charge(attempt))


def attempt_charge(attempt: PaymentAttempt) -> ChargeResult:
    """Ask the processor to charge a committed attempt, with its idempotency key (no transaction open):
    asked again after a crash, the processor answers with the first outcome instead of charging twice."""
    require_no_transaction("attempt_charge")
    payment_method = attempt.payment_method
    return processor_get(attempt.processor).charge(
        reference=payment_method.processor_reference,
        amount=attempt.amount,
        currency=attempt.currency,
        idempotency_key=attempt.processor_key,
        off_session=attempt.off_session,
        livemode=payment_method.livemode,
    )


def succeeded_apply(
    attempt: PaymentAttempt, intent: PaymentIntent, result: ChargeResult, moment: dt.datetime
) -> Charge:
    """What a successful charge changes, in memory: the new charge (not saved), the intent succeeded,
    the attempt finished. The caller saves them and records charge.succeeded and
    payment_intent.succeeded, in that order."""
    charge = _charge_build(attempt, intent, result, moment)
    intent.status = "succeeded"
    intent.amount_received = attempt.amount
    intent.latest_charge = charge
    intent.last_payment_error = None
    _attempt_finished(attempt, result, charge)
    return charge


def _attempt_finished(attempt: PaymentAttempt, result: ChargeResult, charge: Charge | None) -> None:
    attempt.status = result.status
    attempt.charge = charge
    attempt.finished_at = clock.now()


def payment_attempt_record(*, attempt: PaymentAttempt, result: ChargeResult) -> PaymentIntent:
    """Record the processor's answer to a committed attempt, in a transaction of its own (outside any)."""
    return _record_outcome(attempt, result)


def payment_intent_resume(*, payment_intent: PaymentIntent) -> PaymentIntent:
    """Finish the attempt a crash left open on this intent, if any; outside any transaction."""
    require_no_transaction("payment_intent_resume")
    attempt = (
        PaymentAttempt.objects.select_related("payment_method")
        .filter(payment_intent=payment_intent, status="attempting")
        .first()
    )
    if attempt is not None:
        return _finish_attempt(attempt)
    return PaymentIntent.objects.select_related("customer", "payment_method", "latest_charge").get(pk=payment_intent.pk)


def payment_attempts_resume(*, older_than: dt.timedelta) -> int:
    """Finish every attempt left open for longer than ``older_than`` (a worker's crash recovery).

    Safe beside live requests: finishing an attempt twice asks the processor twice with the same
    key and records the outcome once. Returns how many attempts were finished.
    """
    require_no_transaction("payment_attempts_resume")
    cutoff = clock.now() - older_than
    finished = 0
    open_ids = list(PaymentAttempt.objects.filter(status="attempting", created__lt=cutoff).values_list("pk", flat=True))
    for attempt_id in open_ids:
        attempt = PaymentAttempt.objects.select_related("payment_method").get(pk=attempt_id)
        if attempt.status == "attempting":
            _finish_attempt(attempt)
            finished += 1
    return finished


def _outcome(result: ChargeResult) -> dict[str, Any]:
    """Stripe's ``charge.outcome`` for what the processor answered."""
    outcome: dict[str, Any] = {
        "advice_code": None,
        "network_advice_code": None,
        "network_decline_code": None,
        "network_status": "approved_by_network",
        "reason": None,
        "seller_message": "Payment complete.",
        "type": "authorized",
    }
    decline = result.decline
    if decline is None:
        return outcome
    reason = decline.decline_code
    if reason is None or reason in {"test_mode_live_card", "live_mode_test_card"}:
        # Refused before reaching the card network.
        outcome.update(
            network_status="not_sent_to_network", reason=reason, seller_message=decline.message, type="invalid"
        )
    elif reason == "generic_decline":
        outcome.update(
            network_status="declined_by_network",
            reason=reason,
            seller_message="The bank did not return any further details with this decline.",
            type="issuer_declined",
        )
    else:
        outcome.update(
            network_status="declined_by_network",
            reason=reason,
            seller_message=f"The bank returned the decline code `{reason}`.",
            type="issuer_declined",
        )
    return outcome


def _card_snapshot(payment_method: PaymentMethod, decline: Decline | None) -> dict[str, Any]:
    cvc_check = payment_method.card_cvc_check
    if decline is not None and decline.code == "incorrect_cvc":
        cvc_check = "fail"
    elif cvc_check == "unchecked":
        cvc_check = "pass"
    return {
        "brand": payment_method.card_brand,
        "last4": payment_method.card_last4,
        "exp_month": payment_method.card_exp_month,
        "exp_year": payment_method.card_exp_year,
        "fingerprint": payment_method.card_fingerprint,
        "funding": payment_method.card_funding,
        "country": payment_method.card_country,
        "cvc_check": cvc_check,
    }


def _new_charge(attempt: PaymentAttempt, intent: PaymentIntent, result: ChargeResult, moment: dt.datetime) -> Charge:
    charge = _charge_build(attempt, intent, result, moment)
    charge.save(force_insert=True)
    return charge


def _charge_build(attempt: PaymentAttempt, intent: PaymentIntent, result: ChargeResult, moment: dt.datetime) -> Charge:
    payment_method = attempt.payment_method
    succeeded = result.status == "succeeded"
    return Charge(
        public_id=new_id("ch"),
        livemode=intent.livemode,
        created=moment,
        payment_intent=intent,
        customer=intent.customer,
        payment_method=payment_method,
        amount=attempt.amount,
        amount_captured=attempt.amount if succeeded else 0,
        currency=attempt.currency,
        status="succeeded" if succeeded else "failed",
        failure_code=None if result.decline is None else result.decline.code,
        failure_message=None if result.decline is None else result.decline.message,
        outcome=_outcome(result),
        payment_method_details=_card_snapshot(payment_method, result.decline),
        billing_details=dict(payment_method.billing_details),
        description=intent.description,
        receipt_email=intent.receipt_email,
        statement_descriptor=intent.statement_descriptor,
        processor=attempt.processor,
        processor_reference=result.reference,
    )


def _payment_error(decline: Decline, charge: Charge, payment_method: PaymentMethod) -> dict[str, Any]:
    error: dict[str, Any] = {"charge": charge.public_id, "code": decline.code}
    if decline.decline_code is not None:
        error["decline_code"] = decline.decline_code
    error.update({"message": decline.message, "payment_method": render_object(payment_method), "type": "card_error"})
    return error


def _record_outcome(attempt: PaymentAttempt, result: ChargeResult) -> PaymentIntent:
    with transaction.atomic(durable=True):
        attempt = (
            PaymentAttempt.objects.select_for_update(of=("self",)).select_related("payment_method").get(pk=attempt.pk)
        )
        intent = _locked(attempt.payment_intent_id)
        if attempt.status != "attempting":
            return intent  # another resumer recorded it first
        moment = customer_moment(intent.customer)
        livemode = intent.livemode
        charge = None
        if result.status == "requires_action":
            intent.status = "requires_action"
            intent.next_action = AUTHENTICATION_ACTION
            intent.save()
            event_record(type="payment_intent.requires_action", obj=intent, livemode=livemode, created=moment)
            _attempt_finished(attempt, result, None)
        elif result.status == "succeeded":
            charge = succeeded_apply(attempt, intent, result, moment)
            charge.save(force_insert=True)
            _save_for_future_use(intent, attempt.payment_method)
            intent.save()
            with rows_known(charge, "refunds", ()):  # a charge just made has none
                event_record(type="charge.succeeded", obj=charge, livemode=livemode, created=moment)
            event_record(type="payment_intent.succeeded", obj=intent, livemode=livemode, created=moment)
        else:
            assert result.decline is not None
            charge = _new_charge(attempt, intent, result, moment)
            intent.status = "requires_payment_method"
            intent.latest_charge = charge
            intent.last_payment_error = _payment_error(result.decline, charge, attempt.payment_method)
            # As Stripe: the declined card is named in the error, and the intent waits for another.
            intent.payment_method = None
            intent.save()
            with rows_known(charge, "refunds", ()):
                event_record(type="charge.failed", obj=charge, livemode=livemode, created=moment)
            event_record(type="payment_intent.payment_failed", obj=intent, livemode=livemode, created=moment)
            _attempt_finished(attempt, result, charge)
        attempt.save()
        return intent


def _save_for_future_use(intent: PaymentIntent, payment_method: PaymentMethod) -> None:
    """``setup_future_usage``: a card that has just paid is saved to the intent's customer."""
    if intent.setup_future_usage is None or intent.customer is None:
        return
    locked = PaymentMethod.objects.select_for_update(of=("self",)).select_related("customer").get(pk=payment_method.pk)
    if locked.customer_id is None and locked.detached_at is None:
        payment_method_attach_checked(payment_method=locked, customer=intent.customer)


_ANYTIME_FIELDS = frozenset({"description", "metadata", "receipt_email"})


@transaction.atomic
def payment_intent_update(*, payment_intent: PaymentIntent, values: Mapping[str, Any]) -> PaymentIntent:
    """Change an intent. Keys of ``values``: ``amount``, ``currency``, ``customer`` (a Customer),
    ``payment_method`` (an id or PaymentMethod; None removes it), ``payment_method_types``,
    ``setup_future_usage``, ``statement_descriptor``, ``capture_method`` — while the intent is
    open — and ``description``, ``metadata``, ``receipt_email`` at any time. Stripe sends no
    event for an update.
    """
    intent = _locked(payment_intent)
    payment_changes = set(values) - _ANYTIME_FIELDS
    if payment_changes:
        _refuse_unless_open(intent, action=f"update {', '.join(sorted(payment_changes))} of", done="updated")
    if intent.invoice_id is not None and payment_changes & {"amount", "currency", "customer"}:
        raise PaymentIntentStateError(
            f"This PaymentIntent pays invoice {intent.invoice_id}: its amount, currency and customer follow the "
            "invoice. Change the invoice instead."
        )
    if "currency" in values:
        intent.currency = currency_check(values["currency"])
    if "amount" in values or "currency" in values:
        intent.amount = values.get("amount", intent.amount)
        amount_check(intent.amount, intent.currency)
    if "capture_method" in values:
        _check_capture_method(values["capture_method"])
        intent.capture_method = values["capture_method"]
    if "payment_method_types" in values:
        types = values["payment_method_types"] or SUPPORTED_TYPES
        _check_types(types)
        intent.payment_method_types = list(types)
        intent.automatic_payment_methods = False
    if "customer" in values:
        customer = values["customer"]
        if intent.customer is not None and (customer is None or customer.pk != intent.customer.pk):
            raise InvalidParam(
                "You cannot change the customer of a PaymentIntent once it has one. Create a new PaymentIntent.",
                param="customer",
            )
        intent.customer = customer
    if "payment_method" in values:
        value = values["payment_method"]
        intent.payment_method = _payment_method(value, livemode=intent.livemode) if value is not None else None
    if intent.payment_method is not None and ({"customer", "payment_method"} & values.keys()):
        payment_method_check_usable(
            payment_method=intent.payment_method, customer=intent.customer, param="payment_method"
        )
    if payment_changes & {"amount", "currency", "payment_method"}:
        # What was asked of the cardholder no longer matches the payment: it must be confirmed again.
        intent.next_action = None
        intent.status = "requires_confirmation" if intent.payment_method is not None else "requires_payment_method"
    if "setup_future_usage" in values:
        intent.setup_future_usage = values["setup_future_usage"]
    if "statement_descriptor" in values:
        if values["statement_descriptor"] is not None:
            statement_descriptor_check(values["statement_descriptor"])
        intent.statement_descriptor = values["statement_descriptor"]
    if "description" in values:
        intent.description = values["description"]
    if "receipt_email" in values:
        _check_email(values["receipt_email"])
        intent.receipt_email = values["receipt_email"]
    if "metadata" in values:
        intent.metadata = merge_metadata(intent.metadata, values["metadata"])
    intent.save()
    return intent


@transaction.atomic
def payment_intent_cancel(*, payment_intent: PaymentIntent, cancellation_reason: str | None = None) -> PaymentIntent:
    """Give up collecting the payment; an open intent only, never one being processed or paid."""
    if cancellation_reason is not None and cancellation_reason not in CANCELLATION_REASONS:
        raise InvalidParam(
            f"Invalid cancellation_reason: must be one of {', '.join(CANCELLATION_REASONS)}.",
            param="cancellation_reason",
        )
    intent = _locked(payment_intent)
    _refuse_unless_open(intent, action="cancel", done="canceled")
    moment = customer_moment(intent.customer)
    intent.status = "canceled"
    intent.canceled_at = moment
    intent.cancellation_reason = cancellation_reason
    intent.next_action = None
    intent.save()
    event_record(type="payment_intent.canceled", obj=intent, livemode=intent.livemode, created=moment)
    return intent
