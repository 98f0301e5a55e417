"""Taxes from tax rates: exact minor units per rate, inclusive carved out, exclusive added on top."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billfold.billing.models import TaxRate
from billfold.billing.taxes import compute_taxes


def rate(percentage: str, *, inclusive: bool = False, name: str = "Tax") -> TaxRate:
    return TaxRate(public_id=f"txr_{name}", display_name=name, percentage=Decimal(percentage), inclusive=inclusive)


def incl(percentage: str, name: str = "Incl") -> TaxRate:
    return rate(percentage, inclusive=True, name=name)


@pytest.mark.parametrize(
    ("amount", "rates", "excluding", "taxes"),
    [
        # One exclusive rate: added on top of the whole amount.
        (1000, [rate("19")], 1000, [190]),
        (1000, [rate("8.875")], 1000, [89]),  # 88.75
        (200, [rate("7.25")], 200, [15]),  # 14.5 rounds up
        (199, [rate("7.25")], 199, [14]),  # 14.4275
        (1000, [rate("0")], 1000, [0]),
        (1, [rate("49.9999")], 1, [0]),  # 0.499999
        (1, [rate("50")], 1, [1]),  # 0.5
        # One inclusive rate: amount - amount / (1 + p).
        (1190, [incl("19")], 1000, [190]),
        (60000, [incl("10")], 54545, [5455]),  # 5454.5454...
        (299, [incl("4")], 287, [12]),  # exactly 11.5: half-up
        (10000, [incl("7.7")], 9285, [715]),  # 714.9489...
        (100, [incl("100")], 50, [50]),
        # Zero-decimal and three-decimal currencies: the same arithmetic on their minor units.
        (1005, [rate("10")], 1005, [101]),  # ¥100.5
        (1100, [incl("10")], 1000, [100]),
        (1001, [rate("5")], 1001, [50]),  # 50.05 fils
        # Several exclusive rates, each rounded on its own.
        (1000, [rate("5", name="GST"), rate("9.975", name="QST")], 1000, [50, 100]),  # 99.75
        (333, [rate("5", name="GST"), rate("9.975", name="QST")], 333, [17, 33]),  # 16.65, 33.21675
        # Several inclusive rates share one carve-out.
        (1150, [incl("10", "A"), incl("5", "B")], 1000, [100, 50]),
        (1000, [incl("10", "A"), incl("5", "B")], 870, [87, 43]),  # 86.956..., 43.478...
        # Inclusive and exclusive together: exclusive taxes are on the amount without inclusive tax.
        (1200, [incl("20"), rate("5")], 1000, [200, 50]),
        (1200, [rate("5"), incl("20")], 1000, [50, 200]),  # lines keep the order of the rates
        (999, [incl("19"), rate("7.5")], 839, [160, 63]),  # 159.5042..., 62.925
        # Credits mirror charges.
        (-200, [rate("7.25")], -200, [-15]),
        (-299, [incl("4")], -287, [-12]),
        (-1200, [incl("20"), rate("5")], -1000, [-200, -50]),
        # Nothing to tax (a 100 % discount leaves 0).
        (0, [incl("20"), rate("5")], 0, [0, 0]),
    ],
)
def test_compute_taxes(amount: int, rates: list[TaxRate], excluding: int, taxes: list[int]) -> None:
    result = compute_taxes(amount=amount, rates=rates)
    assert result.amount_excluding_tax == excluding
    assert [line.amount for line in result.lines] == taxes
    assert result.total_tax == sum(taxes)
    assert [line.tax_rate for line in result.lines] == rates
    assert [line.inclusive for line in result.lines] == [r.inclusive for r in rates]
    assert all(line.taxable_amount == excluding for line in result.lines)
    inclusive_total = sum(line.amount for line in result.lines if line.inclusive)
    assert excluding + inclusive_total == amount
    assert result.exclusive_tax == result.total_tax - inclusive_total
    assert result.amount_including_tax == amount + result.exclusive_tax


def test_no_rates_no_tax() -> None:
    result = compute_taxes(amount=1999, rates=[])
    assert (result.amount_excluding_tax, result.total_tax, result.lines) == (1999, 0, [])
    assert result.amount_including_tax == 1999


def test_several_inclusive_rates_take_what_their_sum_would() -> None:
    together = compute_taxes(amount=10000, rates=[incl("12.5")])
    split = compute_taxes(amount=10000, rates=[incl("10", "A"), incl("2.5", "B")])
    assert together.total_tax == split.total_tax == 1111  # 1111.11...
    assert [line.amount for line in split.lines] == [889, 222]  # 888.88..., 222.22...
