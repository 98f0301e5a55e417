"""The Stripe JSON of a promotion code, and its includable ``restrictions.currency_options``."""

from __future__ import annotations

from typing import Any

from billfold.api.representations.common import unix
from billfold.billing.models import PromotionCode


def render_promotion_code(promotion_code: PromotionCode) -> dict[str, Any]:
    customer = promotion_code.customer
    return {
        "id": promotion_code.public_id,
        "object": "promotion_code",
        "active": promotion_code.active,
        "code": promotion_code.code,
        "created": unix(promotion_code.created),
        "customer": customer.public_id if customer is not None else None,
        "customer_account": None,
        "expires_at": unix(promotion_code.expires_at),
        "livemode": promotion_code.livemode,
        "max_redemptions": promotion_code.max_redemptions,
        "metadata": promotion_code.metadata,
        "promotion": {"coupon": promotion_code.coupon.public_id, "type": "coupon"},
        "restrictions": {
            "first_time_transaction": promotion_code.first_time_transaction,
            "minimum_amount": promotion_code.minimum_amount,
            "minimum_amount_currency": promotion_code.minimum_amount_currency,
        },
        "times_redeemed": promotion_code.times_redeemed,
    }


def load_promotion_codes(ids: list[str], livemode: bool) -> dict[str, dict[str, Any]]:
    codes = PromotionCode.objects.filter(public_id__in=ids, livemode=livemode).select_related("coupon", "customer")
    return {code.public_id: render_promotion_code(code) for code in codes}


def include_restriction_currency_options(objects: list[dict[str, Any]], livemode: bool) -> None:
    """Fill ``restrictions.currency_options`` (minimums per currency) with one query."""
    stored = dict(
        PromotionCode.objects.filter(public_id__in=[obj["id"] for obj in objects], livemode=livemode).values_list(
            "public_id", "currency_options"
        )
    )
    for obj in objects:
        restrictions = obj["restrictions"]
        options = stored.get(obj["id"]) or {}
        currency, minimum = restrictions.get("minimum_amount_currency"), restrictions.get("minimum_amount")
        if currency is None or minimum is None:
            restrictions["currency_options"] = {}
            continue
        restrictions["currency_options"] = {
            currency: {"minimum_amount": minimum},
            **{code: {"minimum_amount": option["minimum_amount"]} for code, option in sorted(options.items())},
        }
