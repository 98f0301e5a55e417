"""How much a coupon takes off: exact minor units, Stripe's half-up rounding, every currency kind."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from billfold.billing.discounts import (
    coupon_amount_off,
    coupon_applies_to,
    discount_allocate,
    discount_amount,
    round_half_up,
)
from billfold.billing.models import Coupon


def percent(value: str) -> Coupon:
    return Coupon(public_id="PCT", percent_off=Decimal(value), duration="once")


def fixed(amount: int, currency: str, **options: int) -> Coupon:
    return Coupon(
        public_id="FIXED",
        amount_off=amount,
        currency=currency,
        currency_options={code: {"amount_off": value} for code, value in options.items()},
        duration="once",
    )


@pytest.mark.parametrize(
    ("value", "rounded"),
    [
        (Fraction(5, 2), 3),
        (Fraction(-5, 2), -3),
        (Fraction(1, 2), 1),
        (Fraction(-1, 2), -1),
        (Fraction(24999, 10000), 2),
        (Fraction(1, 3), 0),
        (Fraction(-1, 3), 0),
        (Fraction(7), 7),
        (Fraction(0), 0),
    ],
)
def test_round_half_up_goes_away_from_zero_on_halves(value: Fraction, rounded: int) -> None:
    assert round_half_up(value) == rounded


@pytest.mark.parametrize(
    ("percent_off", "amount", "currency", "off"),
    [
        ("25", 2000, "usd", 500),
        ("25", 1999, "usd", 500),  # 499.75
        ("25.5", 1000, "usd", 255),
        ("33.33", 1000, "usd", 333),  # 333.3
        ("50", 5, "usd", 3),  # 2.5 rounds up, not to the even 2
        ("50", 1, "usd", 1),  # 0.5
        ("12.5", 4, "usd", 1),  # 0.5
        ("12.5", 12, "usd", 2),  # 1.5
        ("0.01", 4999, "usd", 0),  # 0.4999
        ("0.01", 5000, "usd", 1),  # 0.5
        ("100", 1999, "usd", 1999),
        ("100", 0, "usd", 0),
        ("15", 1005, "jpy", 151),  # ¥150.75: yen are the minor unit
        ("10", 995, "jpy", 100),  # ¥99.5
        ("20", 12345, "kwd", 2469),  # 2469.0 fils
        ("25", -2000, "usd", -500),  # a credit gets the mirror image
        ("25", -1999, "usd", -500),
        ("50", -5, "usd", -3),
    ],
)
def test_percentage_off(percent_off: str, amount: int, currency: str, off: int) -> None:
    assert discount_amount(coupon=percent(percent_off), amount=amount, currency=currency) == off


@pytest.mark.parametrize(
    ("coupon", "amount", "currency", "off"),
    [
        (fixed(500, "usd"), 1999, "usd", 500),
        (fixed(500, "usd"), 500, "usd", 500),
        (fixed(500, "usd"), 300, "usd", 300),  # never more than the amount
        (fixed(500, "usd"), 0, "usd", 0),
        (fixed(500, "usd"), -1000, "usd", 0),  # nothing off a credit
        (fixed(500, "usd"), 1999, "eur", 0),  # no amount in that currency
        (fixed(500, "usd", eur=450), 1999, "eur", 450),
        (fixed(500, "usd", eur=450), 1999, "gbp", 0),
        (fixed(1000, "jpy"), 800, "jpy", 800),
        (fixed(1000, "jpy"), 5000, "jpy", 1000),
        (fixed(1500, "kwd"), 1499, "kwd", 1499),
    ],
)
def test_amount_off(coupon: Coupon, amount: int, currency: str, off: int) -> None:
    assert discount_amount(coupon=coupon, amount=amount, currency=currency) == off


def test_coupon_amount_off_per_currency() -> None:
    coupon = fixed(500, "usd", eur=450, jpy=70)
    assert [coupon_amount_off(coupon=coupon, currency=c) for c in ("usd", "eur", "jpy", "gbp")] == [500, 450, 70, None]
    assert coupon_amount_off(coupon=percent("10"), currency="usd") is None


def test_applies_to_products() -> None:
    everything = percent("10")
    limited = Coupon(public_id="LIMITED", percent_off=Decimal(10), applies_to_products=["prod_a", "prod_b"])
    assert coupon_applies_to(coupon=everything, product_id="prod_z") is True
    assert coupon_applies_to(coupon=limited, product_id="prod_a") is True
    assert coupon_applies_to(coupon=limited, product_id="prod_b") is True
    assert coupon_applies_to(coupon=limited, product_id="prod_z") is False


@pytest.mark.parametrize(
    ("discount", "amounts", "shares"),
    [
        (1000, [1500, 500], [750, 250]),
        (100, [100, 100, 100], [34, 33, 33]),  # the leftover unit goes to the earliest on a tie
        (7, [2, 3, 5], [1, 2, 4]),  # 1.4, 2.1, 3.5: the largest remainder takes the unit
        (500, [1000, -200, 0], [500, 0, 0]),  # credits and empty lines take no share
        (10, [1, 1, 1], [1, 1, 1]),  # never more than the lines come to
        (0, [100, 200], [0, 0]),
        (300, [], []),
        (300, [-100], [0]),
        (2, [1, 1, 1, 1], [1, 1, 0, 0]),
    ],
)
def test_discount_allocate(discount: int, amounts: list[int], shares: list[int]) -> None:
    result = discount_allocate(discount=discount, amounts=amounts)
    assert result == shares
    assert sum(result) == min(discount, sum(max(a, 0) for a in amounts))


def test_discount_allocate_refuses_a_negative_discount() -> None:
    with pytest.raises(ValueError, match="cannot be negative"):
        discount_allocate(discount=-1, amounts=[100])
