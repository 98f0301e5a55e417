"""The languages Billfold speaks to customers, and money and dates written the way each reads them.

Emails and invoices (page and PDF) pick their language as Stripe does: the first of the customer's
``preferred_locales`` that Billfold is translated into, else English. A tag matches on its own
(``pt-BR``), else on its language (``de-CH`` → German, ``pt`` and ``pt-PT`` → Brazilian Portuguese,
the only Portuguese there is); the full tag still decides how money and dates are written, so a
Swiss customer reads German texts with Swiss amounts (``CHF 1'250.00``, with a typographic apostrophe).

``Formats`` writes money, numbers and dates in one Babel locale, for emails and invoices; it has
the methods the portal pages use too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.numbers import format_currency, format_decimal, format_percent

from billfold.core import clock
from billfold.core.money import decimal_places, to_major

# The languages customers are written to in, as Django's language codes (gettext's catalogs are
# ``de``, ``pt_BR``...). English is the source language: it has no catalog.
LANGUAGES = ("en", "de", "fr", "es", "it", "nl", "pt-br", "ja", "sv", "pl")
DEFAULT_LANGUAGE = "en"
# A language subtag that stands for one of LANGUAGES when the exact tag is not one of them.
_LANGUAGE_FALLBACKS = {"pt": "pt-br"}


@dataclass(frozen=True)
class Language:
    """A language to write in: ``code`` for gettext (``translation.override``), ``locale`` (Babel) for
    money and dates."""

    code: str
    locale: Locale

    @property
    def tag(self) -> str:
        """The BCP 47 tag of the texts' language, for ``<html lang>`` and ``Content-Language``: ``pt-BR``."""
        language, _, region = self.code.partition("-")
        return f"{language}-{region.upper()}" if region else language


ENGLISH = Language(code=DEFAULT_LANGUAGE, locale=Locale.parse(DEFAULT_LANGUAGE))


def language_of_tag(tag: str) -> Language | None:
    """The language for one BCP 47 tag (``pt-BR``, ``de-CH``, ``fr``...), or None if Billfold does not
    speak it."""
    tag = str(tag).strip().replace("_", "-")
    if not tag:
        return None
    lowered = tag.lower()
    primary = lowered.split("-", 1)[0]
    code = lowered if lowered in LANGUAGES else _LANGUAGE_FALLBACKS.get(primary, primary)
    if code not in LANGUAGES:
        return None
    try:
        locale = Locale.parse(tag, sep="-")
    except (UnknownLocaleError, ValueError):
        locale = Locale.parse(code, sep="-")
    return Language(code=code, locale=locale)


def language_for(tags: Iterable[str] | None) -> Language:
    """The first of ``tags`` (most preferred first) Billfold speaks, else English."""
    for tag in tags or ():
        found = language_of_tag(tag)
        if found is not None:
            return found
    return ENGLISH


class UnitPriced(Protocol):
    """What a unit price is written from: a price, or anything with its three fields."""

    @property
    def unit_amount(self) -> int | None: ...

    @property
    def unit_amount_decimal(self) -> str | None: ...

    @property
    def currency(self) -> str: ...


class Formats:
    """Money, numbers and dates in one locale."""

    def __init__(self, locale: Locale | str) -> None:
        self.locale = locale if isinstance(locale, Locale) else Locale.parse(locale)

    def money(self, amount: int, currency: str) -> str:
        """``amount`` minor units of ``currency``: ``$1,250.00``, ``1.250,00 €``, ``￥1,250``."""
        return format_currency(to_major(amount, currency), currency.upper(), locale=self.locale)

    def decimal_money(self, unit_amount_decimal: str | Decimal, currency: str) -> str:
        """A unit price, which may carry fractions of the minor unit (half a cent shows as $0.005)."""
        major = Decimal(unit_amount_decimal).scaleb(-decimal_places(currency))
        return format_currency(major, currency.upper(), locale=self.locale, decimal_quantization=False)

    def unit_money(self, price: UnitPriced) -> str:
        if price.unit_amount_decimal is not None:
            return self.decimal_money(price.unit_amount_decimal, price.currency)
        return self.money(price.unit_amount or 0, price.currency)

    def number(self, value: int | Decimal) -> str:
        return format_decimal(value, locale=self.locale)

    def percent(self, value: Decimal) -> str:
        """``value`` percent (``Decimal("19")``): ``19%``, ``19 %``."""
        return format_percent(value / 100, locale=self.locale, decimal_quantization=False)

    def date(self, moment: dt.datetime | dt.date | int | None) -> str | None:
        """A day in the long form (``March 15, 2030``, ``15. März 2030``); a Unix time is read in UTC."""
        if moment is None:
            return None
        if isinstance(moment, int):
            moment = clock.from_unix(moment)
        day = moment.date() if isinstance(moment, dt.datetime) else moment
        return format_date(day, format="long", locale=self.locale)
