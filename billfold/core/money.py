"""Currencies and minor units.

Money in Billfold is an ``int`` of minor units plus a lowercase ISO 4217 code. How many minor
units make a major one depends on the currency: 100 for most, 1 for the zero-decimal ones
(¥100 is ``100``, not ``10000``), 1000 for the three-decimal ones.
"""

from __future__ import annotations

from decimal import Decimal

from billfold.core.errors import InvalidParam

# The currencies Stripe accepts for prices and charges (lowercase ISO 4217).
CURRENCIES: frozenset[str] = frozenset(
    """
    aed afn all amd ang aoa ars aud awg azn bam bbd bdt bgn bhd bif bmd bnd bob brl bsd bwp byn bzd
    cad cdf chf clp cny cop crc cve czk djf dkk dop dzd egp etb eur fjd fkp gbp gel gip gmd gnf gtq
    gyd hkd hnl htg huf idr ils inr isk jmd jod jpy kes kgs khr kmf krw kwd kyd kzt lak lbp lkr lrd
    lsl mad mdl mga mkd mmk mnt mop mur mvr mwk mxn myr mzn nad ngn nio nok npr nzd omr pab pen pgk
    php pkr pln pyg qar ron rsd rub rwf sar sbd scr sek sgd shp sle sos srd std szl thb tjs tnd top
    try ttd twd tzs uah ugx usd uyu uzs vnd vuv wst xaf xcd xof xpf yer zar zmw
    """.split()  # noqa: SIM905 (a table reads better than 140 quoted strings)
)

# Amounts in these are whole units: there is no smaller unit to count in.
ZERO_DECIMAL_CURRENCIES: frozenset[str] = frozenset(
    "bif clp djf gnf jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof xpf".split()  # noqa: SIM905
)

# Amounts in these count thousandths of the major unit.
THREE_DECIMAL_CURRENCIES: frozenset[str] = frozenset({"bhd", "jod", "kwd", "omr", "tnd"})


def is_zero_decimal(currency: str) -> bool:
    return currency in ZERO_DECIMAL_CURRENCIES


def decimal_places(currency: str) -> int:
    """How many digits follow the decimal point when ``currency`` is written in major units."""
    if currency in ZERO_DECIMAL_CURRENCIES:
        return 0
    if currency in THREE_DECIMAL_CURRENCIES:
        return 3
    return 2


def to_major(amount: int, currency: str) -> Decimal:
    """Minor units → major units: ``to_major(1999, "usd") == Decimal("19.99")``, ``("jpy") → 1999``."""
    return Decimal(amount).scaleb(-decimal_places(currency))


def to_minor(value: Decimal, currency: str) -> int:
    """Major units → minor units; refuses values finer than the currency's smallest unit."""
    scaled = value.scaleb(decimal_places(currency))
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{value} {currency.upper()} is not a whole number of minor units")
    return int(scaled)


def format_amount(amount: int, currency: str) -> str:
    """A plain, locale-neutral rendering such as ``19.99 USD`` or ``1999 JPY``."""
    return f"{to_major(amount, currency):.{decimal_places(currency)}f} {currency.upper()}"


def currency_check(code: str, *, param: str = "currency") -> str:
    """The lowercase form of a supported currency code; refuses anything else naming ``param``."""
    currency = code.strip().lower()
    if currency not in CURRENCIES:
        raise InvalidParam(
            f"Invalid currency: {code[:20]}. Use a lowercase three-letter ISO 4217 code that Billfold supports, "
            f"such as usd, eur, gbp or jpy (supported: {', '.join(sorted(CURRENCIES))}).",
            param=param,
        )
    return currency
