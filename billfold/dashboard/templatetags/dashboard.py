"""Template filters for money, prices, times and statuses as the dashboard shows them."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlparse

from babel.numbers import format_currency
from django import template
from django.conf import settings

from billfold.catalog.models import Price
from billfold.core.money import to_major

register = template.Library()

_INTERVAL_PLURALS = {"day": "days", "week": "weeks", "month": "months", "year": "years"}


@register.filter
def money(amount: int | None, currency: str | None) -> str:
    """Minor units as a person reads them: ``money(2900, "usd")`` → ``$29.00``, ``(500, "jpy")`` → ``¥500``."""
    if amount is None or not currency:
        return "—"
    return str(format_currency(to_major(amount, currency), currency.upper(), locale="en_US"))


def interval_text(interval: str, count: int) -> str:
    return interval if count == 1 else f"{count} {_INTERVAL_PLURALS[interval]}"


@register.filter
def price_text(price: Price) -> str:
    """``$29.00 / month``, ``$90.00 every 3 months``, ``Volume tiers from $8.00 / month``, ``$250.00 one time``."""
    if price.billing_scheme == "tiered":
        amounts = [t["unit_amount"] for t in price.tiers or [] if t.get("unit_amount") is not None]
        lowest = f" from {money(min(amounts), price.currency)}" if amounts else ""
        amount = f"{(price.tiers_mode or '').capitalize()} tiers{lowest}"
    elif price.unit_amount is None:
        amount = "Customer chooses"
    else:
        amount = money(price.unit_amount, price.currency)
    if not price.recurring_interval:
        return f"{amount} one time"
    count = price.recurring_interval_count or 1
    if count == 1:
        return f"{amount} / {price.recurring_interval}"
    return f"{amount} every {interval_text(price.recurring_interval, count)}"


@register.filter
def when(moment: dt.datetime | None) -> str:
    """``Nov 24, 2026, 23:10`` in UTC (the dashboard's one time zone, said in the page footer)."""
    if moment is None:
        return "—"
    return moment.astimezone(dt.UTC).strftime("%b %-d, %Y, %H:%M")


@register.filter
def day(moment: dt.datetime | None) -> str:
    if moment is None:
        return "—"
    return moment.astimezone(dt.UTC).strftime("%b %-d, %Y")


@register.filter
def status_label(status: str) -> str:
    return status.replace("_", " ").capitalize()


@register.filter
def local_url(url: str) -> str:
    """A URL Billfold serves, as a path on this site: product images are stored as absolute URLs
    under ``SITE_URL``, and the dashboard may be reached by another host name (and a strict CSP
    allows images from this origin only)."""
    site = urlparse(settings.SITE_URL)
    parsed = urlparse(url)
    if (parsed.scheme, parsed.netloc) == (site.scheme, site.netloc) and parsed.path.startswith("/files/"):
        return parsed.path
    return url


@register.filter
def get(mapping: dict[str, Any] | None, key: str) -> Any:
    return (mapping or {}).get(key)


@register.filter
def split_pairs(spec: str) -> list[tuple[str, str]]:
    """``"active:Active,all:All"`` → ``[("active", "Active"), ("all", "All")]``, for filter buttons."""
    return [(pair.split(":", 1)[0], pair.split(":", 1)[1]) for pair in spec.split(",")]


@register.filter
def split_words(spec: str) -> list[str]:
    return spec.split()
