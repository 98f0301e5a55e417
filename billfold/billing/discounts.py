"""How much a coupon takes off an amount: pure arithmetic on minor units, no database.

Stripe rounds each percentage discount to the nearest minor unit, halves away from zero, so a
credit (a negative proration line) gets exactly the mirror image of the matching charge.
Fractions keep every intermediate value exact: no float, no decimal context to run out of.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

from billfold.billing.models import Coupon


def round_half_up(value: Fraction) -> int:
    """The nearest integer; exact halves go away from zero (2.5 → 3, -2.5 → -3)."""
    magnitude = (abs(value) * 2 + 1) // 2
    return int(magnitude) if value >= 0 else -int(magnitude)


def coupon_amount_off(*, coupon: Coupon, currency: str) -> int | None:
    """The fixed amount a coupon takes off in ``currency`` (minor units), or None when it has none there."""
    if coupon.amount_off is None:
        return None
    if coupon.currency == currency:
        return coupon.amount_off
    option = coupon.currency_options.get(currency)
    return int(option["amount_off"]) if option else None


def discount_amount(*, coupon: Coupon, amount: int, currency: str) -> int:
    """Minor units the coupon takes off ``amount`` (in ``currency``), never more than ``amount``.

    A percentage applies to any amount, credits included (the result then has the credit's sign).
    A fixed amount applies only in a currency the coupon has an amount for, and only to a
    positive amount: taking money off a credit would pay the customer more.
    """
    if coupon.percent_off is not None:
        return round_half_up(Fraction(amount) * Fraction(coupon.percent_off) / 100)
    fixed = coupon_amount_off(coupon=coupon, currency=currency)
    if fixed is None or amount <= 0:
        return 0
    return min(fixed, amount)


def coupon_applies_to(*, coupon: Coupon, product_id: str) -> bool:
    """Whether the coupon discounts lines of this product (``applies_to.products``; unset means all)."""
    return coupon.applies_to_products is None or product_id in coupon.applies_to_products


def discount_allocate(*, discount: int, amounts: Sequence[int]) -> list[int]:
    """Split a discount over line amounts in proportion to each, summing exactly to ``discount``.

    How a fixed-amount coupon on a whole invoice becomes each line's share: every line gets its
    proportional share rounded down, and the minor units left over go one each to the lines with
    the largest remainders (the earlier line on a tie). Lines of zero or less get nothing.
    """
    if discount < 0:
        raise ValueError(f"A discount to share out cannot be negative (got {discount}).")
    weights = [max(amount, 0) for amount in amounts]
    total = sum(weights)
    if total == 0 or discount == 0:
        return [0 for _ in amounts]
    discount = min(discount, total)
    exact = [Fraction(discount * weight, total) for weight in weights]
    shares = [int(share) for share in exact]
    leftover = discount - sum(shares)
    by_remainder = sorted(range(len(amounts)), key=lambda i: (-(exact[i] - shares[i]), i))
    for index in by_remainder[:leftover]:
        shares[index] += 1
    return shares
