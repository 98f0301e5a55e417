"""Coupons, promotion codes and discounts: writes (each in one transaction with its events) and reads.

Every rule is checked before the first write, so a refusal leaves nothing behind. Redeeming
(``coupon_redeem``, ``promotion_code_redeem``, ``discount_create``) counts under a row lock so
two customers cannot both take the last redemption.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import string
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet

from billfold.billing.models import Coupon, Discount, PromotionCode
from billfold.billing.models.coupons import DURATIONS
from billfold.catalog.models import Product
from billfold.clocks.selectors import customer_now
from billfold.core import clock
from billfold.core.errors import DomainError, InvalidParam, NotFound
from billfold.core.ids import new_id, random_string
from billfold.core.metadata import merge_metadata
from billfold.core.money import currency_check, format_amount
from billfold.core.periods import add_months
from billfold.customers.models import Customer
from billfold.events.rendering import render_object
from billfold.events.services import event_record, event_record_update

COUPON_ID = re.compile(r"[A-Za-z0-9_-]{1,200}")
PROMOTION_CODE = re.compile(r"[A-Za-z0-9-]{1,500}")
_GENERATED_CODE_ALPHABET = string.ascii_uppercase + string.digits
MAX_AMOUNT = 999_999_999_999
# A hundred years: beyond any real offer, and well inside the dates a database can store.
MAX_DURATION_IN_MONTHS = 1200


class PromotionCodeRefused(DomainError):
    """A promotion code that cannot be redeemed here; ``restriction`` names the rule that failed.

    One of: ``inactive``, ``expired``, ``max_redemptions``, ``coupon``, ``customer``,
    ``first_time_transaction``, ``minimum_amount``, ``currency``.
    """

    def __init__(self, message: str, *, restriction: str, param: str) -> None:
        super().__init__(message, param=param)
        self.restriction = restriction


def _exclusive(values: Mapping[str, Any], *names: str) -> None:
    given = [name for name in names if values.get(name) is not None]
    if len(given) > 1:
        raise InvalidParam(
            f"You may only specify one of these parameters: {', '.join(given)}.",
            param=given[-1],
            code="parameters_exclusive",
        )


def _amount_check(amount: int, *, param: str, minimum: int = 1) -> None:
    if not minimum <= amount <= MAX_AMOUNT:
        raise InvalidParam(
            f"{param} must be a whole number of minor units from {minimum} to {MAX_AMOUNT}.", param=param
        )


# Coupons ----------------------------------------------------------------------------------


def _percent_off_check(value: Decimal) -> None:
    exponent = value.as_tuple().exponent
    if not Decimal(0) < value <= Decimal(100) or (isinstance(exponent, int) and exponent < -2):
        raise InvalidParam(
            f"Invalid percent_off: {value}. Give a number greater than 0 and at most 100, with at most two "
            "decimal places (e.g. 25 or 12.5).",
            param="percent_off",
        )


def _currency_options_clean(
    options: Mapping[str, int], *, base: str | None, field: str, name: str = "currency_options"
) -> dict[str, dict[str, int]]:
    """``{"eur": 900}`` → ``{"eur": {field: 900}}``, checked; ``base`` is the currency already covered
    and ``name`` the parameter the options came in."""
    cleaned: dict[str, dict[str, int]] = {}
    for code, amount in options.items():
        param = f"{name}[{code}]"
        currency = currency_check(code, param=param)
        if currency == base:
            raise InvalidParam(
                f"currency_options cannot repeat the main currency ({currency}); change {field} itself instead.",
                param=param,
            )
        _amount_check(amount, param=f"{param}[{field}]", minimum=1 if field == "amount_off" else 0)
        cleaned[currency] = {field: amount}
    return cleaned


def _products_check(product_ids: Sequence[str], *, livemode: bool) -> list[str]:
    found = set(
        Product.objects.filter(livemode=livemode, deleted=False, public_id__in=product_ids).values_list(
            "public_id", flat=True
        )
    )
    for index, product_id in enumerate(product_ids):
        if product_id not in found:
            raise NotFound("product", product_id, param=f"applies_to[products][{index}]")
    return list(dict.fromkeys(product_ids))


def _coupon_exists(public_id: str) -> InvalidParam:
    return InvalidParam(
        f"A coupon with the id '{public_id}' already exists. Choose another id or leave id out to get one.",
        param="id",
        code="resource_already_exists",
    )


@transaction.atomic
def coupon_create(
    *,
    livemode: bool,
    public_id: str | None = None,
    name: str | None = None,
    percent_off: Decimal | None = None,
    amount_off: int | None = None,
    currency: str | None = None,
    currency_options: Mapping[str, int] | None = None,
    duration: str = "once",
    duration_in_months: int | None = None,
    max_redemptions: int | None = None,
    redeem_by: dt.datetime | None = None,
    applies_to_products: Sequence[str] | None = None,
    metadata: Mapping[str, str | None] | None = None,
) -> Coupon:
    """Create a coupon: ``percent_off`` or ``amount_off`` + ``currency``; ``currency_options`` maps
    other currencies to their amount_off (minor units)."""
    _exclusive({"amount_off": amount_off, "percent_off": percent_off}, "amount_off", "percent_off")
    if percent_off is None and amount_off is None:
        raise InvalidParam(
            "Missing required param: percent_off. Give percent_off (e.g. 25), or amount_off with currency.",
            param="percent_off",
            code="parameter_missing",
        )
    if percent_off is not None:
        _percent_off_check(percent_off)
    if currency is not None:
        currency = currency_check(currency)
    if amount_off is not None:
        _amount_check(amount_off, param="amount_off")
        if currency is None:
            raise InvalidParam(
                "Missing required param: currency. An amount_off coupon needs the currency of its amount.",
                param="currency",
                code="parameter_missing",
            )
    options: dict[str, dict[str, int]] = {}
    if currency_options:
        if amount_off is None:
            raise InvalidParam(
                "currency_options only applies to amount_off coupons; a percentage works in every currency.",
                param="currency_options",
            )
        options = _currency_options_clean(currency_options, base=currency, field="amount_off")
    if duration not in DURATIONS:
        raise InvalidParam("Invalid duration: must be forever, once or repeating.", param="duration")
    if duration == "repeating":
        if duration_in_months is None:
            raise InvalidParam(
                "Missing required param: duration_in_months. A repeating coupon lasts a number of months.",
                param="duration_in_months",
                code="parameter_missing",
            )
        if not 1 <= duration_in_months <= MAX_DURATION_IN_MONTHS:
            raise InvalidParam(
                f"duration_in_months must be from 1 to {MAX_DURATION_IN_MONTHS}.", param="duration_in_months"
            )
    elif duration_in_months is not None:
        raise InvalidParam(
            f"duration_in_months only applies when duration is repeating (this coupon is {duration}).",
            param="duration_in_months",
        )
    if max_redemptions is not None and max_redemptions < 1:
        raise InvalidParam("max_redemptions must be at least 1.", param="max_redemptions")
    now = clock.now()
    if redeem_by is not None and redeem_by <= now:
        raise InvalidParam(
            "redeem_by must be in the future: it is the last moment the coupon can be redeemed.", param="redeem_by"
        )
    products = _products_check(applies_to_products, livemode=livemode) if applies_to_products is not None else None
    if public_id is not None:
        if not COUPON_ID.fullmatch(public_id):
            raise InvalidParam(
                f"Invalid id: '{public_id[:80]}'. A coupon id has 1 to 200 letters, digits, '_' or '-'.", param="id"
            )
        if Coupon.objects.filter(livemode=livemode, public_id=public_id, deleted=False).exists():
            raise _coupon_exists(public_id)
    coupon = Coupon(
        public_id=public_id or random_string(8),
        livemode=livemode,
        created=now,
        name=name,
        percent_off=percent_off,
        amount_off=amount_off,
        currency=currency,
        currency_options=options,
        duration=duration,
        duration_in_months=duration_in_months,
        max_redemptions=max_redemptions,
        redeem_by=redeem_by,
        applies_to_products=products,
        metadata=merge_metadata({}, metadata or {}),
    )
    try:
        with transaction.atomic():
            coupon.save(force_insert=True)
    except IntegrityError:
        raise _coupon_exists(coupon.public_id) from None
    event_record(type="coupon.created", obj=coupon, livemode=livemode)
    return coupon


def _coupon_locked(coupon: Coupon) -> Coupon:
    locked = Coupon.objects.select_for_update().filter(pk=coupon.pk, deleted=False).first()
    if locked is None:
        raise NotFound("coupon", coupon.public_id)
    return locked


@transaction.atomic
def coupon_update(*, coupon: Coupon, values: Mapping[str, Any]) -> Coupon:
    """Change what a coupon may change: ``name`` (None unsets), ``metadata``, ``currency_options``."""
    coupon = _coupon_locked(coupon)
    options = coupon.currency_options
    if values.get("currency_options"):
        if coupon.amount_off is None:
            raise InvalidParam(
                "currency_options only applies to amount_off coupons; a percentage works in every currency.",
                param="currency_options",
            )
        options = {
            **options,
            **_currency_options_clean(values["currency_options"], base=coupon.currency, field="amount_off"),
        }
    before = render_object(coupon)
    if "name" in values:
        coupon.name = values["name"]
    if "metadata" in values:
        coupon.metadata = merge_metadata(coupon.metadata, values["metadata"])
    coupon.currency_options = options
    coupon.save()
    event_record_update(type="coupon.updated", obj=coupon, livemode=coupon.livemode, before=before)
    return coupon


@transaction.atomic
def coupon_delete(*, coupon: Coupon) -> Coupon:
    """Stop a coupon from being redeemed; discounts already made from it keep running."""
    coupon = _coupon_locked(coupon)
    coupon.deleted = True
    coupon.save(update_fields=["deleted"])
    event_record(type="coupon.deleted", obj=coupon, livemode=coupon.livemode)
    return coupon


def _coupon_problem(coupon: Coupon, *, at: dt.datetime) -> str | None:
    """Why the coupon cannot be redeemed at ``at``, or None."""
    if coupon.deleted:
        return f"the coupon {coupon.public_id} has been deleted."
    if coupon.redeem_by is not None and at > coupon.redeem_by:
        return (
            f"the coupon {coupon.public_id} expired: it could be redeemed until {coupon.redeem_by:%Y-%m-%d %H:%M} UTC."
        )
    if coupon.max_redemptions is not None and coupon.times_redeemed >= coupon.max_redemptions:
        return f"the coupon {coupon.public_id} has been redeemed its maximum of {coupon.max_redemptions} times."
    return None


def _currency_problem(coupon: Coupon, *, currency: str) -> str | None:
    """Why the coupon cannot discount a purchase in ``currency``, or None."""
    if coupon.amount_off is None or currency == coupon.currency or currency in coupon.currency_options:
        return None
    return (
        f"the coupon {coupon.public_id} takes an amount off in {coupon.currency} only (currency_options: "
        f"{', '.join(sorted(coupon.currency_options)) or 'none'}), and this purchase is in {currency}. Use a "
        f"percentage coupon or add a {currency} amount to its currency_options."
    )


def _coupon_validity_check(coupon: Coupon, *, at: dt.datetime, param: str) -> None:
    problem = _coupon_problem(coupon, at=at)
    if problem is not None:
        raise DomainError(f"This coupon cannot be redeemed: {problem}", code="coupon_expired", param=param)


def coupon_redeemable_check(
    *, coupon: Coupon, currency: str, at: dt.datetime | None = None, param: str = "coupon"
) -> None:
    """Refuse a coupon that cannot be applied at ``at`` (default now) to a purchase in ``currency``."""
    _coupon_validity_check(coupon, at=at or clock.now(), param=param)
    problem = _currency_problem(coupon, currency=currency)
    if problem is not None:
        raise InvalidParam(f"This coupon cannot be applied: {problem}", param=param)


@transaction.atomic
def coupon_redeem(*, coupon: Coupon, at: dt.datetime | None = None) -> Coupon:
    """Count one redemption; refuses a deleted, expired or used-up coupon."""
    locked = Coupon.objects.select_for_update().get(pk=coupon.pk)
    _coupon_validity_check(locked, at=at or clock.now(), param="coupon")
    locked.times_redeemed += 1
    locked.save(update_fields=["times_redeemed"])
    return locked


def coupon_get(*, public_id: str, livemode: bool, param: str = "id") -> Coupon:
    """The coupon with this id in this mode; deleted coupons are gone, as in Stripe."""
    coupon = Coupon.objects.filter(public_id=public_id, livemode=livemode, deleted=False).first()
    if coupon is None:
        raise NotFound("coupon", public_id, param=param)
    return coupon


def coupon_list(*, livemode: bool) -> QuerySet[Coupon]:
    return Coupon.objects.filter(livemode=livemode, deleted=False)


# Promotion codes --------------------------------------------------------------------------


def _code_taken(*, livemode: bool, code: str, customer: Customer | None, exclude: PromotionCode | None) -> bool:
    """Whether an active code with this text (any case) is already redeemable by someone this one would be."""
    clashes = PromotionCode.objects.filter(livemode=livemode, active=True, code__iexact=code)
    if customer is not None:
        clashes = clashes.filter(Q(customer__isnull=True) | Q(customer=customer))
    if exclude is not None:
        clashes = clashes.exclude(pk=exclude.pk)
    return clashes.exists()


def _code_taken_error(code: str) -> InvalidParam:
    return InvalidParam(
        f"An active promotion code '{code}' already exists (codes are compared regardless of case). Choose another "
        "code, or deactivate the existing one first.",
        param="code",
        code="resource_already_exists",
    )


def _code_generate(*, livemode: bool, customer: Customer | None) -> str:
    for _ in range(10):
        code = "".join(secrets.choice(_GENERATED_CODE_ALPHABET) for _ in range(8))
        if not _code_taken(livemode=livemode, code=code, customer=customer, exclude=None):
            return code
    raise DomainError("Could not find a free promotion code; please retry or choose one with code.")


def _promotion_code_save(promotion_code: PromotionCode) -> None:
    # The partial unique indexes settle two requests taking the same code at the same moment.
    try:
        with transaction.atomic():
            promotion_code.save()
    except IntegrityError:
        raise _code_taken_error(promotion_code.code) from None


@transaction.atomic
def promotion_code_create(
    *,
    livemode: bool,
    coupon: Coupon,
    code: str | None = None,
    active: bool = True,
    customer: Customer | None = None,
    expires_at: dt.datetime | None = None,
    max_redemptions: int | None = None,
    first_time_transaction: bool = False,
    minimum_amount: int | None = None,
    minimum_amount_currency: str | None = None,
    currency_options: Mapping[str, int] | None = None,
    metadata: Mapping[str, str | None] | None = None,
    coupon_param: str = "coupon",
) -> PromotionCode:
    """Create a code for ``coupon``; ``currency_options`` maps other currencies to their minimum amount."""
    coupon = Coupon.objects.select_for_update().get(pk=coupon.pk)
    if not coupon.valid:
        raise InvalidParam(
            f"The coupon {coupon.public_id} can no longer be redeemed (past redeem_by or used up), so a promotion "
            "code for it would never work.",
            param=coupon_param,
        )
    if code is not None and not PROMOTION_CODE.fullmatch(code):
        raise InvalidParam(
            f"Invalid code: '{code[:80]}'. A promotion code has 1 to 500 letters (a-z, A-Z), digits and dashes (-).",
            param="code",
        )
    now = clock.now()
    if expires_at is not None:
        if expires_at <= now:
            raise InvalidParam("expires_at must be in the future.", param="expires_at")
        if coupon.redeem_by is not None and expires_at > coupon.redeem_by:
            raise InvalidParam(
                f"expires_at cannot be after the coupon's redeem_by ({clock.to_unix(coupon.redeem_by)}).",
                param="expires_at",
            )
    if max_redemptions is not None:
        if max_redemptions < 1:
            raise InvalidParam("max_redemptions must be at least 1.", param="max_redemptions")
        if coupon.max_redemptions is not None and max_redemptions > coupon.max_redemptions:
            raise InvalidParam(
                f"max_redemptions cannot be more than the coupon's max_redemptions ({coupon.max_redemptions}).",
                param="max_redemptions",
            )
    if minimum_amount is not None:
        _amount_check(minimum_amount, param="restrictions[minimum_amount]", minimum=0)
        if minimum_amount_currency is None:
            raise InvalidParam(
                "Missing required param: restrictions[minimum_amount_currency]. Say which currency the minimum "
                "amount is in.",
                param="restrictions[minimum_amount_currency]",
                code="parameter_missing",
            )
    if minimum_amount_currency is not None:
        minimum_amount_currency = currency_check(minimum_amount_currency, param="restrictions[minimum_amount_currency]")
        if minimum_amount is None:
            raise InvalidParam(
                "Missing required param: restrictions[minimum_amount]. minimum_amount_currency is the currency of "
                "a minimum amount.",
                param="restrictions[minimum_amount]",
                code="parameter_missing",
            )
    options = _minimum_options_clean(currency_options or {}, minimum_amount_currency=minimum_amount_currency)
    if customer is not None and customer.livemode != livemode:
        raise NotFound("customer", customer.public_id, param="customer")
    if code is None:
        code = _code_generate(livemode=livemode, customer=customer)
    elif active and _code_taken(livemode=livemode, code=code, customer=customer, exclude=None):
        raise _code_taken_error(code)
    promotion_code = PromotionCode(
        public_id=new_id("promo"),
        livemode=livemode,
        created=now,
        code=code,
        coupon=coupon,
        active=active,
        customer=customer,
        expires_at=expires_at,
        max_redemptions=max_redemptions,
        first_time_transaction=first_time_transaction,
        minimum_amount=minimum_amount,
        minimum_amount_currency=minimum_amount_currency,
        currency_options=options,
        metadata=merge_metadata({}, metadata or {}),
    )
    _promotion_code_save(promotion_code)
    event_record(type="promotion_code.created", obj=promotion_code, livemode=livemode)
    return promotion_code


def _minimum_options_clean(options: Mapping[str, int], *, minimum_amount_currency: str | None) -> dict[str, Any]:
    if not options:
        return {}
    if minimum_amount_currency is None:
        raise InvalidParam(
            "restrictions[currency_options] gives the minimum amount in other currencies; set "
            "restrictions[minimum_amount] and restrictions[minimum_amount_currency] first.",
            param="restrictions[currency_options]",
        )
    cleaned = _currency_options_clean(
        options, base=minimum_amount_currency, field="minimum_amount", name="restrictions[currency_options]"
    )
    return {currency: {"minimum_amount": value["minimum_amount"]} for currency, value in cleaned.items()}


def _reactivation_check(promotion_code: PromotionCode) -> None:
    """A code is switched back on only if it could then be redeemed, as Stripe requires."""
    now = clock.now()
    if not promotion_code.coupon.valid:
        raise InvalidParam(
            f"This promotion code's coupon ({promotion_code.coupon.public_id}) can no longer be redeemed, so the "
            "code cannot be reactivated.",
            param="active",
        )
    if promotion_code.expires_at is not None and promotion_code.expires_at <= now:
        raise InvalidParam("This promotion code has expired and cannot be reactivated.", param="active")
    limit = promotion_code.max_redemptions
    if limit is not None and promotion_code.times_redeemed >= limit:
        raise InvalidParam(
            f"This promotion code has been redeemed its maximum of {limit} times and cannot be reactivated.",
            param="active",
        )
    if _code_taken(
        livemode=promotion_code.livemode,
        code=promotion_code.code,
        customer=promotion_code.customer,
        exclude=promotion_code,
    ):
        raise InvalidParam(
            f"Another active promotion code already uses '{promotion_code.code}'. Deactivate it first.",
            param="active",
        )


@transaction.atomic
def promotion_code_update(*, promotion_code: PromotionCode, values: Mapping[str, Any]) -> PromotionCode:
    """Change ``active``, ``metadata`` and ``currency_options`` (other currencies' minimum amounts)."""
    promotion_code = (
        PromotionCode.objects.select_for_update(of=("self",))
        .select_related("coupon", "customer")
        .get(pk=promotion_code.pk)
    )
    options = promotion_code.currency_options
    if values.get("currency_options"):
        options = {
            **options,
            **_minimum_options_clean(
                values["currency_options"], minimum_amount_currency=promotion_code.minimum_amount_currency
            ),
        }
    if values.get("active") is True and not promotion_code.active:
        _reactivation_check(promotion_code)
    before = render_object(promotion_code)
    if values.get("active") is not None:
        promotion_code.active = values["active"]
    if "metadata" in values:
        promotion_code.metadata = merge_metadata(promotion_code.metadata, values["metadata"])
    promotion_code.currency_options = options
    _promotion_code_save(promotion_code)
    event_record_update(
        type="promotion_code.updated", obj=promotion_code, livemode=promotion_code.livemode, before=before
    )
    return promotion_code


def _minimum_for(promotion_code: PromotionCode, currency: str) -> int | None:
    if promotion_code.minimum_amount_currency == currency:
        return promotion_code.minimum_amount
    option = promotion_code.currency_options.get(currency)
    return int(option["minimum_amount"]) if option else None


def _code_problem(code: PromotionCode, *, at: dt.datetime) -> tuple[str, str] | None:
    """The restriction (and why) that stops the code itself being redeemed at ``at``, whatever the purchase."""
    if not code.active:
        return "inactive", f"The promotion code {code.code} is inactive."
    if code.expires_at is not None and at >= code.expires_at:
        return "expired", f"The promotion code {code.code} expired on {code.expires_at:%Y-%m-%d %H:%M} UTC."
    if code.max_redemptions is not None and code.times_redeemed >= code.max_redemptions:
        return (
            "max_redemptions",
            f"The promotion code {code.code} has been redeemed its maximum of {code.max_redemptions} times.",
        )
    return None


def promotion_code_check(
    *,
    code: PromotionCode,
    customer: Customer | None,
    amount: int,
    currency: str,
    first_time: bool,
    param: str = "promotion_code",
) -> None:
    """Refuse, naming the restriction, a code that cannot be redeemed on this purchase.

    ``amount`` is the purchase before discounts, in minor units of ``currency``; ``first_time``
    says the customer has no successful payment or paid invoice yet. Time is the customer's.
    """
    now = customer_now(customer) if customer is not None else clock.now()
    shown = code.code
    refusal = _code_problem(code, at=now)
    if refusal is not None:
        raise PromotionCodeRefused(refusal[1], restriction=refusal[0], param=param)
    for restriction, coupon_problem in (
        ("coupon", _coupon_problem(code.coupon, at=now)),
        ("currency", _currency_problem(code.coupon, currency=currency)),
    ):
        if coupon_problem is not None:
            raise PromotionCodeRefused(
                f"The promotion code {shown} cannot be used: {coupon_problem}", restriction=restriction, param=param
            )
    if code.customer_id is not None and (customer is None or customer.pk != code.customer_id):
        raise PromotionCodeRefused(
            f"The promotion code {shown} is reserved for another customer.", restriction="customer", param=param
        )
    if code.first_time_transaction and not first_time:
        raise PromotionCodeRefused(
            f"The promotion code {shown} is only for a customer's first purchase, and this customer has paid before.",
            restriction="first_time_transaction",
            param=param,
        )
    if code.minimum_amount is not None:
        minimum = _minimum_for(code, currency)
        if minimum is None:
            raise PromotionCodeRefused(
                f"The promotion code {shown} needs a purchase of at least "
                f"{format_amount(code.minimum_amount, code.minimum_amount_currency or currency)} and has no minimum "
                f"for purchases in {currency.upper()}.",
                restriction="minimum_amount",
                param=param,
            )
        if amount < minimum:
            raise PromotionCodeRefused(
                f"The promotion code {shown} needs a purchase of at least {format_amount(minimum, currency)}; this one "
                f"comes to {format_amount(amount, currency)}.",
                restriction="minimum_amount",
                param=param,
            )


@transaction.atomic
def promotion_code_redeem(*, promotion_code: PromotionCode, at: dt.datetime | None = None) -> PromotionCode:
    """Count one redemption of the code and of its coupon; refuses an inactive, expired or used-up code."""
    moment = at or clock.now()
    # Coupon first, then code: the same order everywhere, so two redemptions never wait on each other.
    coupon = Coupon.objects.select_for_update().get(pk=promotion_code.coupon_id)
    locked = PromotionCode.objects.select_for_update().get(pk=promotion_code.pk)
    refusal = _code_problem(locked, at=moment)
    if refusal is not None:
        restriction, problem = refusal
        raise PromotionCodeRefused(problem, restriction=restriction, param="promotion_code")
    locked.coupon = coupon_redeem(coupon=coupon, at=moment)
    locked.times_redeemed += 1
    locked.save(update_fields=["times_redeemed"])
    return locked


def promotion_code_get(*, public_id: str, livemode: bool, param: str = "id") -> PromotionCode:
    promotion_code = (
        PromotionCode.objects.select_related("coupon", "customer")
        .filter(public_id=public_id, livemode=livemode)
        .first()
    )
    if promotion_code is None:
        raise NotFound("promotion_code", public_id, param=param)
    return promotion_code


def promotion_code_find(
    *, livemode: bool, code: str, customer: Customer | None, param: str = "promotion_code"
) -> PromotionCode:
    """The active code a customer typed, regardless of case, among everyone's codes and their own."""
    found = PromotionCode.objects.select_related("coupon", "customer").filter(
        livemode=livemode, active=True, code__iexact=code
    )
    if customer is None:
        found = found.filter(customer__isnull=True)
    else:
        found = found.filter(Q(customer__isnull=True) | Q(customer=customer))
    # The uniqueness rule leaves at most one active code a given customer could mean.
    promotion_code = found.first()
    if promotion_code is None:
        raise NotFound("promotion_code", code, param=param)
    return promotion_code


def promotion_code_list(
    *,
    livemode: bool,
    active: bool | None = None,
    code: str | None = None,
    coupon_id: str | None = None,
    customer_id: str | None = None,
) -> QuerySet[PromotionCode]:
    codes = PromotionCode.objects.filter(livemode=livemode).select_related("coupon", "customer")
    if active is not None:
        codes = codes.filter(active=active)
    if code is not None:
        codes = codes.filter(code__iexact=code)
    if coupon_id is not None:
        codes = codes.filter(coupon__public_id=coupon_id, coupon__deleted=False)
    if customer_id is not None:
        codes = codes.filter(customer__public_id=customer_id)
    return codes


# Discounts --------------------------------------------------------------------------------


@transaction.atomic
def discount_create(
    *,
    coupon: Coupon | None = None,
    promotion_code: PromotionCode | None = None,
    customer: Customer | None,
    start: dt.datetime | None = None,
    subscription_id: str | None = None,
    subscription_item_id: str | None = None,
    invoice_id: str | None = None,
    invoice_item_id: str | None = None,
) -> Discount:
    """Apply a coupon (directly or through a promotion code), counting the redemption.

    Restrictions that depend on the purchase (``promotion_code_check``) are the caller's to
    check first; this refuses only what no purchase could make right (deleted, expired, used up).
    A repeating coupon's discount ends ``duration_in_months`` calendar months after ``start``.
    """
    if (coupon is None) == (promotion_code is None):
        raise ValueError("discount_create needs exactly one of coupon and promotion_code")
    moment = start or (customer_now(customer) if customer is not None else clock.now())
    if promotion_code is not None:
        promotion_code = promotion_code_redeem(promotion_code=promotion_code, at=moment)
        coupon = promotion_code.coupon
    else:
        assert coupon is not None
        coupon = coupon_redeem(coupon=coupon, at=moment)
    end = None
    if coupon.duration == "repeating" and coupon.duration_in_months is not None:
        end = add_months(moment, coupon.duration_in_months)
    discount = Discount(
        public_id=new_id("di"),
        livemode=coupon.livemode,
        coupon=coupon,
        promotion_code=promotion_code,
        customer=customer,
        start=moment,
        end=end,
        subscription_id=subscription_id,
        subscription_item_id=subscription_item_id,
        invoice_id=invoice_id,
        invoice_item_id=invoice_item_id,
    )
    discount.save(force_insert=True)
    return discount
