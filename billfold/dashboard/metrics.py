"""Read-only figures for the dashboard's home page, aggregated in SQL.

Every series is one query whatever the number of subscriptions: each bucket of the range is one
conditional aggregate (``Sum``/``Count`` with a ``filter``) of the same query, so the database
returns one row of at most a few dozen numbers and no subscription is loaded into Python.

What the history is made of: Billfold keeps each subscription's start (``start_date``), trial end
and end (``ended_at``), but not a history of its items, so a past day's MRR is computed from the
items a subscription has now. MRR counts per-unit prices (amount times quantity, brought to a month:
a yearly price counts a twelfth) of subscriptions that had started, were out of trial and had not
ended at that moment, as Stripe counts it; tiered prices are not included (their amount depends on
usage the history does not keep). Subscriptions that never started (``incomplete``,
``incomplete_expired``) count nowhere.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Case, Count, F, FloatField, Q, Sum, Value, When
from django.db.models.functions import Cast

from billfold.billing.models import Subscription, SubscriptionItem
from billfold.core import clock
from billfold.core.periods import add_months
from billfold.payments.models import Charge

NEVER_STARTED = ("incomplete", "incomplete_expired")
# Months per billing interval unit, to bring a price to a monthly amount.
_MONTHS_PER = {"day": 12 / 365, "week": 12 / 52, "month": 1.0, "year": 12.0}


@dataclass(frozen=True)
class Range:
    key: str
    label: str


RANGES: tuple[Range, ...] = (
    Range("30d", "30 days"),
    Range("90d", "90 days"),
    Range("12m", "12 months"),
)


@dataclass(frozen=True)
class Bucket:
    """A stretch of time ``[start, end)``, named in full (tables) and briefly (under a chart's axis)."""

    start: dt.datetime
    end: dt.datetime
    label: str
    short: str


def buckets(range_key: str, now: dt.datetime | None = None) -> list[Bucket]:
    """The range as chart buckets, oldest first, the last one ending now: 30 days, 13 weeks, or
    12 calendar months (the current one so far)."""
    now = now or clock.now()
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if range_key == "12m":
        month = today.replace(day=1)
        starts = [add_months(month, -back) for back in range(11, -1, -1)]
        return [
            Bucket(
                start, starts[i + 1] if i + 1 < len(starts) else now, start.strftime("%b %Y"), start.strftime("%b %Y")
            )
            for i, start in enumerate(starts)
        ]
    if range_key == "90d":
        first = today - dt.timedelta(days=7 * 12 + 6)
        starts = [first + dt.timedelta(days=7 * i) for i in range(13)]
        return [
            Bucket(
                start,
                starts[i + 1] if i + 1 < len(starts) else now,
                f"Week of {start:%b} {start.day}",
                f"{start:%b} {start.day}",
            )
            for i, start in enumerate(starts)
        ]
    starts = [today - dt.timedelta(days=back) for back in range(29, -1, -1)]
    return [
        Bucket(
            start, starts[i + 1] if i + 1 < len(starts) else now, f"{start:%b} {start.day}", f"{start:%b} {start.day}"
        )
        for i, start in enumerate(starts)
    ]


def _running_at(moment: dt.datetime, prefix: str = "") -> Q:
    """Subscriptions (through ``prefix``) that had started and not ended at ``moment``."""
    return Q(**{f"{prefix}start_date__lte": moment}) & (
        Q(**{f"{prefix}ended_at__isnull": True}) | Q(**{f"{prefix}ended_at__gt": moment})
    )


def currencies(*, livemode: bool) -> list[str]:
    """The currencies subscriptions are billed in, the most used first (a handful of rows)."""
    rows = (
        Subscription.objects.filter(livemode=livemode)
        .exclude(status__in=NEVER_STARTED)
        .values("currency")
        .annotate(n=Count("pk"))
        .order_by("-n", "currency")
    )
    return [row["currency"] for row in rows]


def _monthly_amount() -> Any:
    """One item's amount per month, in minor units, as a float SQL expression."""
    per_month = Case(
        *(When(price__recurring_interval=unit, then=Value(1 / months)) for unit, months in _MONTHS_PER.items()),
        default=Value(0.0),
        output_field=FloatField(),
    )
    return (
        Cast(F("price__unit_amount"), FloatField())
        * Cast(F("quantity"), FloatField())
        * per_month
        / Cast(F("price__recurring_interval_count"), FloatField())
    )


def mrr_series(*, livemode: bool, currency: str, moments: list[dt.datetime]) -> list[int]:
    """Monthly recurring revenue in minor units of ``currency`` at each of ``moments``."""
    items = SubscriptionItem.objects.filter(
        livemode=livemode,
        deleted=False,
        price__billing_scheme="per_unit",
        price__unit_amount__isnull=False,
        price__recurring_interval__isnull=False,
        subscription__currency=currency,
    ).exclude(subscription__status__in=NEVER_STARTED)
    amount = _monthly_amount()
    sums = {
        f"m{i}": Sum(
            amount,
            filter=_running_at(moment, "subscription__")
            & (Q(subscription__trial_end__isnull=True) | Q(subscription__trial_end__lte=moment)),
            output_field=FloatField(),
        )
        for i, moment in enumerate(moments)
    }
    row = items.aggregate(**sums)
    return [round(row[f"m{i}"] or 0) for i in range(len(moments))]


def active_series(*, livemode: bool, moments: list[dt.datetime]) -> list[int]:
    """How many subscriptions (trials included) were running at each of ``moments``."""
    subscriptions = Subscription.objects.filter(livemode=livemode).exclude(status__in=NEVER_STARTED)
    row = subscriptions.aggregate(**{f"a{i}": Count("pk", filter=_running_at(m)) for i, m in enumerate(moments)})
    return [row[f"a{i}"] for i in range(len(moments))]


def new_and_churned(*, livemode: bool, spans: list[Bucket]) -> tuple[list[int], list[int]]:
    """Subscriptions started, and canceled ones that ended, in each bucket."""
    subscriptions = Subscription.objects.filter(livemode=livemode).exclude(status__in=NEVER_STARTED)
    counts: dict[str, Any] = {}
    for i, span in enumerate(spans):
        counts[f"n{i}"] = Count("pk", filter=Q(start_date__gte=span.start, start_date__lt=span.end))
        counts[f"c{i}"] = Count("pk", filter=Q(status="canceled", ended_at__gte=span.start, ended_at__lt=span.end))
    row = subscriptions.aggregate(**counts)
    return [row[f"n{i}"] for i in range(len(spans))], [row[f"c{i}"] for i in range(len(spans))]


def failed_payments(*, livemode: bool, spans: list[Bucket]) -> list[int]:
    """Declined card charges in each bucket."""
    charges = Charge.objects.filter(livemode=livemode, status="failed")
    row = charges.aggregate(
        **{f"f{i}": Count("pk", filter=Q(created__gte=s.start, created__lt=s.end)) for i, s in enumerate(spans)}
    )
    return [row[f"f{i}"] for i in range(len(spans))]
