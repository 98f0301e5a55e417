"""What a price costs for a quantity: per unit, sub-cent decimals, packages, graduated and volume tiers."""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billfold.billing.pricing import (
    PriceTerms,
    billed_quantity,
    price_amount,
    price_amount_exact,
    price_terms,
    round_minor,
)
from billfold.catalog.models import Price


def tier(up_to: int | None, unit: int | str | None = None, flat: int | None = None) -> dict[str, Any]:
    """A tier as the catalog stores it (an int unit amount also has its decimal form)."""
    return {
        "up_to": up_to,
        "unit_amount": unit if isinstance(unit, int) else None,
        "unit_amount_decimal": None if unit is None else str(unit),
        "flat_amount": flat,
        "flat_amount_decimal": None if flat is None else str(flat),
    }


def tiered(mode: str, *tiers: Mapping[str, Any], currency: str = "usd") -> PriceTerms:
    return PriceTerms(currency=currency, billing_scheme="tiered", tiers_mode=mode, tiers=tiers)


def per_unit(unit: int | None = None, decimal: str | None = None, **extra: Any) -> PriceTerms:
    return PriceTerms(currency=extra.pop("currency", "usd"), unit_amount=unit, unit_amount_decimal=decimal, **extra)


@pytest.mark.parametrize(
    ("price", "quantity", "amount"),
    [
        (per_unit(1000), 3, 3000),
        (per_unit(1000), 0, 0),
        (per_unit(500, currency="jpy"), 2, 1000),
        (per_unit(0), 7, 0),
        # Half a cent: exact until the end, then rounded half away from zero.
        (per_unit(decimal="0.5"), 1, 1),
        (per_unit(decimal="0.5"), 3, 2),
        (per_unit(decimal="0.5"), 4, 2),
        (per_unit(decimal="0.25"), 5, 1),
        (per_unit(decimal="0.333333333333"), 3, 1),
        (per_unit(decimal="1999.5"), 1, 2000),
        # The decimal form wins when both are present (the catalog writes both for whole amounts).
        (per_unit(12, decimal="12"), 2, 24),
    ],
)
def test_per_unit(price: PriceTerms, quantity: int, amount: int) -> None:
    assert price_amount(price, quantity) == amount


@pytest.mark.parametrize(
    ("rounding", "quantity", "packages", "amount"),
    [
        ("up", 0, 0, 0),
        ("up", 1, 1, 500),
        ("up", 10, 1, 500),
        ("up", 11, 2, 1000),
        ("down", 9, 0, 0),
        ("down", 10, 1, 500),
        ("down", 19, 1, 500),
        ("down", 20, 2, 1000),
    ],
)
def test_transform_quantity_bills_packages(rounding: str, quantity: int, packages: int, amount: int) -> None:
    price = per_unit(500, transform_quantity={"divide_by": 10, "round": rounding})
    assert billed_quantity(price, quantity) == packages
    assert price_amount(price, quantity) == amount


GRADUATED = tiered("graduated", tier(5, 1000), tier(10, 800), tier(None, 500))
VOLUME = tiered("volume", tier(5, 1000), tier(10, 800), tier(None, 500, flat=100))


@pytest.mark.parametrize(
    ("price", "quantity", "amount"),
    [
        (GRADUATED, 0, 0),
        (GRADUATED, 1, 1000),
        (GRADUATED, 5, 5000),
        (GRADUATED, 6, 5800),
        (GRADUATED, 10, 9000),
        (GRADUATED, 12, 10000),
        (VOLUME, 0, 0),
        (VOLUME, 5, 5000),
        (VOLUME, 6, 4800),
        (VOLUME, 10, 8000),
        (VOLUME, 12, 6100),
    ],
)
def test_tiers(price: PriceTerms, quantity: int, amount: int) -> None:
    assert price_amount(price, quantity) == amount


def test_graduated_flat_amounts() -> None:
    # A base fee on the first tier is charged even for no units; later tiers' fees once entered.
    base = tiered("graduated", tier(5, 0, flat=20000), tier(None, 1000))
    assert [price_amount(base, quantity) for quantity in (0, 1, 5, 7)] == [20000, 20000, 20000, 22000]
    step = tiered("graduated", tier(10, 100), tier(None, 50, flat=1000))
    assert [price_amount(step, quantity) for quantity in (10, 11, 12)] == [1000, 2050, 2100]


def test_volume_flat_amount_of_the_first_tier_applies_at_zero() -> None:
    price = tiered("volume", tier(3, 200, flat=1500), tier(None, 100, flat=1000))
    assert [price_amount(price, quantity) for quantity in (0, 3, 4)] == [1500, 2100, 1400]


def test_tiers_with_sub_cent_units_round_once() -> None:
    price = tiered("volume", tier(None, "0.333"))
    assert price_amount_exact(price, 3) == Fraction(999, 1000)
    assert (price_amount(price, 3), price_amount(price, 100)) == (1, 33)
    graduated = tiered("graduated", tier(2, "0.25"), tier(None, "0.5"))
    assert price_amount_exact(graduated, 3) == Fraction(1)


def test_a_catalog_price_row_is_priced_directly() -> None:
    price = Price(currency="eur", unit_amount=1500, unit_amount_decimal="1500")
    assert price_amount(price, 2) == 3000
    tiered_row = Price(
        currency="usd", billing_scheme="tiered", tiers_mode="graduated", tiers=[tier(5, 1000), tier(None, 500)]
    )
    assert price_amount(tiered_row, 7) == 6000
    terms = price_terms(tiered_row)
    assert terms == tiered("graduated", tier(5, 1000), tier(None, 500))
    assert price_amount(terms, 7) == 6000


def test_price_terms_is_detached_from_the_row() -> None:
    transform = {"divide_by": 2, "round": "up"}
    tiers = [tier(None, 100)]
    row = Price(currency="usd", billing_scheme="tiered", tiers_mode="volume", tiers=tiers, transform_quantity=transform)
    terms = price_terms(row)
    transform["divide_by"] = 5
    tiers[0]["unit_amount"] = 1
    assert terms.transform_quantity == {"divide_by": 2, "round": "up"}
    assert terms.tiers == (tier(None, 100),)


@pytest.mark.parametrize(
    ("value", "rounded"),
    [
        (Fraction(1, 2), 1),
        (Fraction(-1, 2), -1),
        (Fraction(149, 100), 1),
        (Fraction(-149, 100), -1),
        (Fraction(5, 2), 3),
        (Fraction(-5, 2), -3),
        (Fraction(0), 0),
        (Fraction(7), 7),
    ],
)
def test_round_minor_rounds_halves_away_from_zero(value: Fraction, rounded: int) -> None:
    assert round_minor(value) == rounded


@pytest.mark.parametrize(
    ("price", "quantity", "message"),
    [
        (per_unit(100), -1, "must not be negative"),
        (GRADUATED, -1, "must not be negative"),
        (per_unit(), 1, "no unit amount"),
        (PriceTerms(currency="usd", unit_amount=1, billing_scheme="flat"), 1, "billing_scheme"),
        (tiered("stairs", tier(None, 1)), 1, "tiers_mode"),
        (PriceTerms(currency="usd", billing_scheme="tiered", tiers_mode="volume", tiers=()), 1, "needs tiers"),
        (tiered("graduated", tier(5, 1)), 6, "no tier covers"),
        (tiered("volume", tier(5, 1)), 6, "no tier covers"),
        (per_unit(100, transform_quantity={"divide_by": 0, "round": "up"}), 1, "divide_by"),
    ],
)
def test_refusals(price: PriceTerms, quantity: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        price_amount(price, quantity)


AMOUNTS = st.integers(min_value=0, max_value=100_000)
BOUNDS = st.lists(st.integers(min_value=1, max_value=1000), min_size=0, max_size=4, unique=True).map(sorted)


@st.composite
def tier_lists(draw: st.DrawFn) -> tuple[dict[str, Any], ...]:
    bounds: list[int | None] = [*draw(BOUNDS), None]
    return tuple(tier(bound, draw(AMOUNTS), draw(st.none() | AMOUNTS)) for bound in bounds)


@given(tiers=tier_lists(), quantity=st.integers(0, 2000))
def test_graduated_never_costs_less_for_more(tiers: tuple[dict[str, Any], ...], quantity: int) -> None:
    price = tiered("graduated", *tiers)
    assert price_amount(price, quantity + 1) >= price_amount(price, quantity) >= 0


@given(unit=AMOUNTS, flat=AMOUNTS, quantity=st.integers(0, 10_000))
def test_one_unbounded_tier_is_per_unit_plus_flat(unit: int, flat: int, quantity: int) -> None:
    expected = unit * quantity + flat
    assert price_amount(tiered("graduated", tier(None, unit, flat)), quantity) == expected
    assert price_amount(tiered("volume", tier(None, unit, flat)), quantity) == expected


@given(divide_by=st.integers(1, 100), quantity=st.integers(0, 10_000))
def test_packages_cover_the_quantity(divide_by: int, quantity: int) -> None:
    up = billed_quantity(per_unit(1, transform_quantity={"divide_by": divide_by, "round": "up"}), quantity)
    down = billed_quantity(per_unit(1, transform_quantity={"divide_by": divide_by, "round": "down"}), quantity)
    assert (up - 1) * divide_by < quantity <= up * divide_by
    assert down * divide_by <= quantity < (down + 1) * divide_by
