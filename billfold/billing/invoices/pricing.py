"""What a line charges: a catalog price for a quantity, or an amount per unit given directly."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from billfold.billing.pricing import price_amount_exact, round_minor
from billfold.catalog.models import Price
from billfold.core.errors import InvalidParam


@dataclass(frozen=True)
class Charge:
    # Minor units for the whole quantity.
    amount: int
    # Minor units per unit as Stripe writes it ("12.5"), or None for tiered prices (no single unit price).
    unit_amount_decimal: str | None


def decimal_text(value: Fraction | Decimal) -> str:
    """A decimal string without exponent or trailing zeros (``12.50`` → ``"12.5"``), 12 places at most."""
    number = Decimal(value.numerator) / Decimal(value.denominator) if isinstance(value, Fraction) else value
    text = format(number.quantize(Decimal("1e-12")).normalize(), "f")
    return "0" if text in ("-0", "0") else text


def price_charge(*, price: Price, quantity: int, param: str = "price") -> Charge:
    """What ``quantity`` of ``price`` costs. Refuses prices whose amount the customer chooses."""
    if price.billing_scheme == "per_unit" and price.unit_amount is None and price.unit_amount_decimal is None:
        raise InvalidParam(
            f"The price {price.public_id} lets the customer choose the amount (custom_unit_amount), so it cannot "
            "be billed by quantity. Give an amount instead, or use a price with a unit_amount.",
            param=param,
        )
    amount = round_minor(price_amount_exact(price, quantity))
    if price.billing_scheme == "tiered":
        return Charge(amount=amount, unit_amount_decimal=None)
    unit = (
        Decimal(price.unit_amount_decimal) if price.unit_amount_decimal is not None else Decimal(price.unit_amount or 0)
    )
    return Charge(amount=amount, unit_amount_decimal=decimal_text(unit))


def unit_charge(*, unit_amount_decimal: Decimal, quantity: int) -> Charge:
    """``quantity`` units of an amount given directly (an invoice item without a price)."""
    return Charge(
        amount=round_minor(Fraction(unit_amount_decimal) * quantity),
        unit_amount_decimal=decimal_text(unit_amount_decimal),
    )
