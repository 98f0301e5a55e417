"""What a price costs for a quantity: per unit, tiered (graduated or volume), transformed quantities.

Pure arithmetic on anything shaped like a catalog Price (``PriceLike``), so it runs on model rows
and on plain values alike without importing models. Amounts are minor units of the price's currency;
zero-decimal currencies need nothing special because their minor unit is the whole unit.

Sub-minor-unit prices (``unit_amount_decimal`` such as ``"0.5"``, half a cent) are carried exactly,
as fractions, and rounded once at the end to a whole minor unit, half away from zero: 3 units at
0.5¢ cost 2¢ (1.5 rounded up), not three separately rounded 1¢ units.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any, Protocol


class PriceLike(Protocol):
    """The fields of a price that decide its amount (the catalog ``Price`` model has them all)."""

    @property
    def currency(self) -> str: ...

    @property
    def billing_scheme(self) -> str: ...

    @property
    def unit_amount(self) -> int | None: ...

    @property
    def unit_amount_decimal(self) -> str | None: ...

    @property
    def tiers_mode(self) -> str | None: ...

    # Ascending tiers as the catalog stores them: {"up_to": int | None (the last, unbounded),
    # "unit_amount", "unit_amount_decimal", "flat_amount", "flat_amount_decimal"}.
    @property
    def tiers(self) -> Sequence[Mapping[str, Any]] | None: ...

    # {"divide_by": int, "round": "up" | "down"} or None.
    @property
    def transform_quantity(self) -> Mapping[str, Any] | None: ...


@dataclass(frozen=True)
class PriceTerms:
    """A price's amount-deciding fields as plain values; satisfies ``PriceLike``."""

    currency: str
    unit_amount: int | None = None
    unit_amount_decimal: str | None = None
    billing_scheme: str = "per_unit"
    tiers_mode: str | None = None
    tiers: tuple[Mapping[str, Any], ...] | None = None
    transform_quantity: Mapping[str, Any] | None = None


def price_terms(price: PriceLike) -> PriceTerms:
    """A detached copy of ``price``'s terms (later edits to a model row do not reach it)."""
    return PriceTerms(
        currency=price.currency,
        unit_amount=price.unit_amount,
        unit_amount_decimal=price.unit_amount_decimal,
        billing_scheme=price.billing_scheme,
        tiers_mode=price.tiers_mode,
        tiers=None if price.tiers is None else tuple(dict(tier) for tier in price.tiers),
        transform_quantity=None if price.transform_quantity is None else dict(price.transform_quantity),
    )


def round_minor(value: Fraction) -> int:
    """``value`` rounded to a whole minor unit, halves away from zero.

    Symmetric around zero on purpose: a credit rounds to exactly the negation of the matching
    debit, so crediting and re-charging the same thing nets to zero.
    """
    magnitude = math.floor(abs(value) + Fraction(1, 2))
    return -magnitude if value < 0 else magnitude


def _exact(amount: int | None, amount_decimal: str | None) -> Fraction | None:
    # The decimal string is the precise form (the catalog writes it for whole amounts too).
    if amount_decimal is not None:
        return Fraction(Decimal(amount_decimal))
    if amount is not None:
        return Fraction(amount)
    return None


def _tier_amount(tier: Mapping[str, Any], name: str) -> Fraction:
    return _exact(tier.get(name), tier.get(f"{name}_decimal")) or Fraction(0)


def billed_quantity(price: PriceLike, quantity: int) -> int:
    """The quantity the price charges for: ``quantity`` after ``transform_quantity``.

    ``divide_by`` bills packages (10 seats per package: 11 seats are 2 packages rounding up, 1
    rounding down).
    """
    if quantity < 0:
        raise ValueError(f"quantity must not be negative, not {quantity}")
    transform = price.transform_quantity
    if transform is None:
        return quantity
    divide_by = int(transform["divide_by"])
    if divide_by < 1:
        raise ValueError(f"transform_quantity[divide_by] must be at least 1, not {divide_by}")
    packages, rest = divmod(quantity, divide_by)
    if transform.get("round") == "up" and rest:
        packages += 1
    return packages


def _graduated(tiers: Sequence[Mapping[str, Any]], quantity: int) -> Fraction:
    """Each tier charges the units that fall inside it, plus its flat amount once entered.

    The first tier counts as entered at quantity 0, so a flat fee on it is charged even for no
    units (a base fee); later tiers only once a unit reaches them.
    """
    total = Fraction(0)
    floor = 0
    for index, tier in enumerate(tiers):
        up_to = tier.get("up_to")
        ceiling = quantity if up_to is None else min(quantity, int(up_to))
        units = max(ceiling - floor, 0)
        if units > 0 or index == 0:
            total += units * _tier_amount(tier, "unit_amount") + _tier_amount(tier, "flat_amount")
        if up_to is None or quantity <= int(up_to):
            return total
        floor = int(up_to)
    raise ValueError(f"no tier covers quantity {quantity}: the last tier must have up_to=None (inf)")


def _volume(tiers: Sequence[Mapping[str, Any]], quantity: int) -> Fraction:
    """All units at the rate of the one tier the total quantity falls in, plus that tier's flat amount."""
    for tier in tiers:
        up_to = tier.get("up_to")
        if up_to is None or quantity <= int(up_to):
            return quantity * _tier_amount(tier, "unit_amount") + _tier_amount(tier, "flat_amount")
    raise ValueError(f"no tier covers quantity {quantity}: the last tier must have up_to=None (inf)")


def price_amount_exact(price: PriceLike, quantity: int) -> Fraction:
    """The unrounded cost of ``quantity`` units, in minor units (proration scales this before rounding)."""
    if price.billing_scheme == "tiered":
        if quantity < 0:
            raise ValueError(f"quantity must not be negative, not {quantity}")
        if not price.tiers:
            raise ValueError("a tiered price needs tiers")
        if price.tiers_mode == "graduated":
            return _graduated(price.tiers, quantity)
        if price.tiers_mode == "volume":
            return _volume(price.tiers, quantity)
        raise ValueError(f"tiers_mode must be graduated or volume, not {price.tiers_mode!r}")
    if price.billing_scheme != "per_unit":
        raise ValueError(f"billing_scheme must be per_unit or tiered, not {price.billing_scheme!r}")
    unit = _exact(price.unit_amount, price.unit_amount_decimal)
    if unit is None:
        raise ValueError("the price has no unit amount (a pay-what-you-want price is charged what the customer chose)")
    return billed_quantity(price, quantity) * unit


def price_amount(price: PriceLike, quantity: int) -> int:
    """What ``quantity`` units of ``price`` cost, in whole minor units of ``price.currency``."""
    return round_minor(price_amount_exact(price, quantity))
