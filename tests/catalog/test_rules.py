"""The catalog's rules and the money helpers, without the API around them."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billfold.catalog import rules
from billfold.core import money
from billfold.core.errors import InvalidParam
from billfold.files.services import safe_filename


@pytest.mark.parametrize("value", ["ACME", "A" * 23, "ACME <1>", "ACME\\PRO", "12345", "ÜBER SHOP", 'ACME "PRO"'])
def test_statement_descriptor_refusals(value: str) -> None:
    with pytest.raises(InvalidParam) as raised:
        rules.statement_descriptor_check(value, prefix="product_data")
    assert raised.value.param == "product_data[statement_descriptor]"


@pytest.mark.parametrize("value", ["ACME1", "A" * 22, "ACME.COM #12-PRO", "Shop & Co"])
def test_statement_descriptor_accepted(value: str) -> None:
    rules.statement_descriptor_check(value)


def test_tiers_clean_normalises_amounts() -> None:
    assert rules.tiers_clean(
        [
            {"up_to": 5, "unit_amount_decimal": Decimal("1.50")},
            {"up_to": "inf", "flat_amount_decimal": Decimal("100.0"), "unit_amount": 0},
        ]
    ) == [
        {
            "up_to": 5,
            "unit_amount": None,
            "unit_amount_decimal": "1.5",
            "flat_amount": None,
            "flat_amount_decimal": None,
        },
        {"up_to": None, "unit_amount": 0, "unit_amount_decimal": "0", "flat_amount": 100, "flat_amount_decimal": "100"},
    ]


def test_tier_param_names_carry_the_prefix() -> None:
    with pytest.raises(InvalidParam) as raised:
        rules.tiers_clean([{"up_to": 3, "unit_amount": 1}], prefix="default_price_data")
    assert raised.value.param == "default_price_data[tiers][0][up_to]"


@pytest.mark.parametrize(
    ("interval", "count", "ok"),
    [
        ("day", 1095, True),
        ("day", 1096, False),
        ("week", 156, True),
        ("week", 157, False),
        ("month", 36, True),
        ("month", 37, False),
        ("year", 3, True),
        ("year", 4, False),
        ("month", 0, False),
    ],
)
def test_interval_count_limit(interval: str, count: int, ok: bool) -> None:
    recurring = {"interval": interval, "interval_count": count}
    if ok:
        rules.recurring_check(recurring)
    else:
        with pytest.raises(InvalidParam) as raised:
            rules.recurring_check(recurring)
        assert raised.value.param == "recurring[interval_count]"


@given(st.decimals(min_value=0, max_value=10**12, places=12, allow_nan=False, allow_infinity=False))
def test_decimal_text_is_exact_and_plain(value: Decimal) -> None:
    text = rules.decimal_text(value)
    assert Decimal(text) == value
    assert "E" not in text and "e" not in text
    assert not (("." in text) and text.endswith("0"))


def test_package_dimensions() -> None:
    assert rules.package_dimensions_check({"height": Decimal("1.5"), "length": 2, "weight": "0.25", "width": 3}) == {
        "height": 1.5,
        "length": 2.0,
        "weight": 0.25,
        "width": 3.0,
    }
    with pytest.raises(InvalidParam) as raised:
        rules.package_dimensions_check({"height": 1, "length": 2, "weight": Decimal("1e30"), "width": 3})
    assert raised.value.param == "package_dimensions[weight]"


def test_money_minor_units() -> None:
    assert money.to_major(1999, "usd") == Decimal("19.99")
    assert money.to_major(1999, "jpy") == Decimal("1999")
    assert money.to_major(1999, "kwd") == Decimal("1.999")
    assert money.to_minor(Decimal("19.99"), "usd") == 1999
    assert money.to_minor(Decimal("500"), "jpy") == 500
    with pytest.raises(ValueError, match="not a whole number"):
        money.to_minor(Decimal("1.5"), "jpy")
    assert money.format_amount(1999, "usd") == "19.99 USD"
    assert money.format_amount(1999, "jpy") == "1999 JPY"
    assert money.is_zero_decimal("krw") is True
    assert money.is_zero_decimal("eur") is False
    assert money.ZERO_DECIMAL_CURRENCIES <= money.CURRENCIES
    assert money.THREE_DECIMAL_CURRENCIES <= money.CURRENCIES


def test_currency_check() -> None:
    assert money.currency_check("EUR") == "eur"
    with pytest.raises(InvalidParam) as raised:
        money.currency_check("eu", param="default_price_data[currency]")
    assert raised.value.param == "default_price_data[currency]"
    assert "Invalid currency: eu." in raised.value.message


@pytest.mark.parametrize(
    ("name", "image_format", "expected"),
    [
        ("photo.PNG", "PNG", "photo.png"),
        ("../../etc/passwd", "PNG", "passwd.png"),
        ("C:\\Users\\me\\logo final.jpeg", "JPEG", "logo-final.jpg"),
        ("<script>.png", "PNG", "script.png"),
        ("", "JPEG", "image.jpg"),
        ("...", "PNG", "image.png"),
    ],
)
def test_safe_filename(name: str, image_format: str, expected: str) -> None:
    assert safe_filename(name, image_format) == expected
