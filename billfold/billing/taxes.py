"""Tax on an amount from tax rates: pure arithmetic on minor units, no database.

Inclusive rates are carved out of the amount (for one rate, tax = amount - amount / (1 + p));
exclusive rates are added on top of what remains once the inclusive taxes are out. Several
inclusive rates share one carve-out: each takes ``amount * p_i / (1 + sum(p))``, so before
rounding they take together exactly what one rate of their sum would. Each tax is rounded on
its own to the nearest minor unit, halves away from zero, as Stripe does. ``taxable_amount`` is
the amount without its inclusive taxes: the base every rate is a percentage of.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from billfold.billing.discounts import round_half_up
from billfold.billing.models import TaxRate


@dataclass(frozen=True)
class TaxLine:
    """One rate's tax on one amount (Stripe's ``tax_amounts[]`` / ``taxes[]`` entry)."""

    tax_rate: TaxRate
    # Minor units of tax.
    amount: int
    # Minor units the tax was computed on.
    taxable_amount: int
    inclusive: bool


@dataclass(frozen=True)
class TaxResult:
    # ``amount`` less its inclusive taxes.
    amount_excluding_tax: int
    # Every tax, inclusive and exclusive.
    total_tax: int
    # In the order the rates were given.
    lines: list[TaxLine]

    @property
    def exclusive_tax(self) -> int:
        """What the customer pays on top of the amount."""
        return sum(line.amount for line in self.lines if not line.inclusive)

    @property
    def amount_including_tax(self) -> int:
        """The amount plus its exclusive taxes: what the customer pays for it."""
        return self.amount_excluding_tax + self.total_tax


def compute_taxes(*, amount: int, rates: Sequence[TaxRate]) -> TaxResult:
    """The taxes ``rates`` put on ``amount`` (minor units; negative for credits, which mirror charges)."""
    inclusive_share = sum((Fraction(rate.percentage) / 100 for rate in rates if rate.inclusive), Fraction(0))
    inclusive_taxes = {
        index: round_half_up(Fraction(amount) * (Fraction(rate.percentage) / 100) / (1 + inclusive_share))
        for index, rate in enumerate(rates)
        if rate.inclusive
    }
    excluding = amount - sum(inclusive_taxes.values())
    lines = []
    for index, rate in enumerate(rates):
        if rate.inclusive:
            tax = inclusive_taxes[index]
        else:
            tax = round_half_up(Fraction(excluding) * Fraction(rate.percentage) / 100)
        lines.append(TaxLine(tax_rate=rate, amount=tax, taxable_amount=excluding, inclusive=rate.inclusive))
    return TaxResult(amount_excluding_tax=excluding, total_tax=sum(line.amount for line in lines), lines=lines)
