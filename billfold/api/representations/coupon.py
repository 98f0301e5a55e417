"""The Stripe JSON of a coupon, and its includable ``applies_to`` and ``currency_options``."""

from __future__ import annotations

from typing import Any

from billfold.api.representations.common import unix
from billfold.billing.models import Coupon


def render_coupon(coupon: Coupon) -> dict[str, Any]:
    """The whole coupon, deleted or not: discounts made from a deleted coupon still show it (valid=false)."""
    return {
        "id": coupon.public_id,
        "object": "coupon",
        "amount_off": coupon.amount_off,
        "created": unix(coupon.created),
        "currency": coupon.currency,
        "duration": coupon.duration,
        "duration_in_months": coupon.duration_in_months,
        "livemode": coupon.livemode,
        "max_redemptions": coupon.max_redemptions,
        "metadata": coupon.metadata,
        "name": coupon.name,
        "percent_off": float(coupon.percent_off) if coupon.percent_off is not None else None,
        "redeem_by": unix(coupon.redeem_by),
        "times_redeemed": coupon.times_redeemed,
        "valid": coupon.valid,
    }


def _coupons(ids: list[str], livemode: bool) -> dict[str, Coupon]:
    """By id; a deleted coupon only where no coupon has taken its id since (ids are reusable)."""
    found: dict[str, Coupon] = {}
    for coupon in Coupon.objects.filter(public_id__in=ids, livemode=livemode).order_by("deleted", "-pk"):
        found.setdefault(coupon.public_id, coupon)
    return found


def load_coupons(ids: list[str], livemode: bool) -> dict[str, dict[str, Any]]:
    return {public_id: render_coupon(coupon) for public_id, coupon in _coupons(ids, livemode).items()}


def render_applies_to(coupon: Coupon) -> dict[str, Any] | None:
    if coupon.applies_to_products is None:
        return None
    return {"products": list(coupon.applies_to_products)}


def render_currency_options(coupon: Coupon) -> dict[str, Any] | None:
    if coupon.amount_off is None or coupon.currency is None:
        return None
    options = {coupon.currency: {"amount_off": coupon.amount_off}}
    for currency, option in sorted(coupon.currency_options.items()):
        options[currency] = {"amount_off": option["amount_off"]}
    return options


def include_applies_to(objects: list[dict[str, Any]], livemode: bool) -> None:
    """Fill ``applies_to`` (``expand[]=applies_to``) into rendered coupons with one query."""
    coupons = _coupons([obj["id"] for obj in objects], livemode)
    for obj in objects:
        coupon = coupons.get(obj["id"])
        obj["applies_to"] = render_applies_to(coupon) if coupon is not None else None


def include_currency_options(objects: list[dict[str, Any]], livemode: bool) -> None:
    """Fill ``currency_options`` (``expand[]=currency_options``) into rendered coupons with one query."""
    coupons = _coupons([obj["id"] for obj in objects], livemode)
    for obj in objects:
        coupon = coupons.get(obj["id"])
        obj["currency_options"] = render_currency_options(coupon) if coupon is not None else None
