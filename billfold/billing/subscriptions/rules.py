"""Checks and conversions the subscription writes share: parameters, trials, anchors, discounts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from billfold.billing.models import Subscription
from billfold.billing.redemption import discount_events_record, discounts_redeem
from billfold.billing.subscriptions.common import MAX_TRIAL
from billfold.core.errors import DomainError, InvalidParam
from billfold.customers.models import Customer
from billfold.payments.models import PaymentMethod

PAYMENT_BEHAVIORS = ("allow_incomplete", "default_incomplete", "error_if_incomplete", "pending_if_incomplete")
MISSING_PAYMENT_METHOD = ("cancel", "create_invoice", "pause")
PAUSE_BEHAVIORS = ("keep_as_draft", "mark_uncollectible", "void")
COLLECTION_METHODS = ("charge_automatically", "send_invoice")
# What a subscription sent to the customer gives them to pay when nobody said (as its invoices).
DEFAULT_DAYS_UNTIL_DUE = 30


class SubscriptionPaymentFailed(DomainError):
    """The first (or an update's) invoice could not be paid under ``error_if_incomplete``: Stripe's 402,
    and nothing of the request is kept."""

    http_status = 402
    error_type = "card_error"

    @classmethod
    def from_error(cls, error: Mapping[str, Any] | None, *, requires_action: bool) -> SubscriptionPaymentFailed:
        if requires_action:
            refusal = cls(
                "This payment requires additional user action before it can be completed successfully (the card asks "
                "for authentication), and payment_behavior=error_if_incomplete refuses to leave it incomplete. Use "
                "default_incomplete to let the customer confirm the payment.",
                code="subscription_payment_intent_requires_action",
            )
            return refusal
        error = error or {}
        refusal = cls(str(error.get("message") or "Your card was declined."), code=error.get("code") or "card_declined")
        if error.get("decline_code"):
            refusal.extra["decline_code"] = error["decline_code"]
        return refusal


class NoPaymentMethodForSubscription(DomainError):
    def __init__(self, customer: Customer) -> None:
        super().__init__(
            f"This customer ({customer.public_id}) has no attached payment source or default payment method. Attach "
            "a card and set it as the customer's invoice_settings[default_payment_method] or the subscription's "
            "default_payment_method, use payment_behavior=default_incomplete to collect it later, or "
            "collection_method=send_invoice.",
            code="resource_missing",
        )


def enum_check(value: str, allowed: Sequence[str], *, param: str) -> str:
    if value not in allowed:
        raise InvalidParam(f"Invalid {param}: {value}. Use one of {', '.join(allowed)}.", param=param)
    return value


def collection_check(method: str, days_until_due: int | None) -> int | None:
    """The days a sent invoice gives (default 30); refuses days for invoices charged automatically."""
    enum_check(method, COLLECTION_METHODS, param="collection_method")
    if method == "charge_automatically":
        if days_until_due is not None:
            raise InvalidParam(
                "days_until_due can only be set when collection_method is send_invoice: a subscription charged "
                "automatically is paid when its invoices are finalized.",
                param="days_until_due",
            )
        return None
    return DEFAULT_DAYS_UNTIL_DUE if days_until_due is None else days_until_due


def payment_method_check(customer: Customer, payment_method: PaymentMethod | None) -> None:
    if payment_method is not None and payment_method.customer_id != customer.pk:
        raise InvalidParam(
            f"The customer does not have a payment method with the ID {payment_method.public_id}. "
            "The payment method must be attached to the customer.",
            param="default_payment_method",
            code="resource_missing",
        )


def trial_end_check(trial_end: dt.datetime, now: dt.datetime, *, param: str = "trial_end") -> dt.datetime:
    if trial_end <= now:
        raise InvalidParam(
            f"Invalid timestamp: must be an integer Unix timestamp in the future (got {int(trial_end.timestamp())}, "
            f"now is {int(now.timestamp())}). Pass trial_end=now to end a trial at once.",
            param=param,
        )
    if trial_end > now + MAX_TRIAL:
        raise InvalidParam(
            f"A trial can last at most {MAX_TRIAL.days} days; trial_end is further away than that.", param=param
        )
    return trial_end


def future_check(moment: dt.datetime, now: dt.datetime, *, param: str) -> dt.datetime:
    if moment <= now:
        raise InvalidParam(
            f"Invalid {param}: {int(moment.timestamp())} is not in the future (now is {int(now.timestamp())}).",
            param=param,
        )
    return moment


def trial_settings_clean(value: Mapping[str, Any] | None) -> dict[str, Any]:
    behavior = ((value or {}).get("end_behavior") or {}).get("missing_payment_method") or "create_invoice"
    enum_check(behavior, MISSING_PAYMENT_METHOD, param="trial_settings[end_behavior][missing_payment_method]")
    return {"end_behavior": {"missing_payment_method": behavior}}


def pause_collection_clean(value: Mapping[str, Any] | None, now: dt.datetime) -> dict[str, Any] | None:
    """``{"behavior", "resumes_at"}`` (resumes_at in Unix seconds), or None to resume collection."""
    if value is None:
        return None
    behavior = value.get("behavior")
    if behavior is None:
        raise InvalidParam(
            "Missing required param: pause_collection[behavior].",
            param="pause_collection[behavior]",
            code="parameter_missing",
        )
    enum_check(behavior, PAUSE_BEHAVIORS, param="pause_collection[behavior]")
    resumes_at = value.get("resumes_at")
    if resumes_at is not None:
        future_check(resumes_at, now, param="pause_collection[resumes_at]")
    return {"behavior": behavior, "resumes_at": int(resumes_at.timestamp()) if resumes_at is not None else None}


def cancellation_details_clean(value: Mapping[str, Any] | None, current: Mapping[str, Any]) -> dict[str, Any]:
    value = value or {}
    return {
        "comment": value.get("comment", current.get("comment")),
        "feedback": value.get("feedback", current.get("feedback")),
        "reason": current.get("reason"),
    }


def discounts_make(
    *,
    subscription: Subscription,
    entries: Sequence[Mapping[str, str]],
    amount: int,
    at: dt.datetime,
    param: str = "discounts",
    replacing: Sequence[str] = (),
) -> list[str]:
    """Discounts for a subscription (or one of its items) in place of ``replacing``, with their
    ``customer.discount.*`` events; ``amount`` is what it charges per period before discounts."""
    ids = discounts_redeem(
        customer=subscription.customer,
        currency=subscription.currency,
        amount=amount,
        entries=entries,
        param=param,
        at=at,
        subscription_id=subscription.public_id,
    )
    discount_events_record(livemode=subscription.livemode, before=replacing, after=ids, at=at)
    return ids


def legacy_discounts(values: Mapping[str, Any]) -> list[dict[str, str]] | None:
    """``discounts``, or ``coupon=`` / ``promotion_code=`` (older API versions) as its entries; None if
    none of the three was given (or ``discounts`` was unset)."""
    given = [name for name in ("discounts", "coupon", "promotion_code") if values.get(name) is not None]
    if len(given) > 1:
        raise InvalidParam(
            f"You may only specify one of these parameters: {', '.join(given)}.",
            param=given[-1],
            code="parameters_exclusive",
        )
    if values.get("coupon") is not None:
        return [{"coupon": values["coupon"]}]
    if values.get("promotion_code") is not None:
        return [{"promotion_code": values["promotion_code"]}]
    if values.get("discounts") is not None:
        return list(values["discounts"])
    return None
