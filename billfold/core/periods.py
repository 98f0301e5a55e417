"""Calendar arithmetic for billing periods, on aware UTC datetimes.

Every billing date of a subscription derives from one fixed moment, the billing cycle anchor
(Stripe's ``billing_cycle_anchor``, which renewals never modify). The n-th billing date is computed
from the anchor directly, ``anchor + n * interval``, never by stepping from the previous period's
end: stepping would let month-end clamping accumulate (Jan 31 → Feb 28 → Mar 28 → Apr 28...), while
counting from the anchor keeps its day (Jan 31 → Feb 28 → Mar 31 → Apr 30...), as Stripe bills.

Periods are half-open, ``[start, end)``: a period's end is the next period's start, and a moment
belongs to exactly one period.

Everything is UTC, so there are no daylight-saving jumps: a day is always 86,400 seconds and the
anchor's time of day repeats in every period. Non-UTC datetimes are refused rather than converted,
because a local-time anchor would make "the same time next month" ambiguous.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

from billfold.core.errors import InvalidParam

INTERVALS: tuple[str, ...] = ("day", "week", "month", "year")


def _require_utc(moment: dt.datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() != dt.timedelta(0):
        raise ValueError(f"{name} must be an aware UTC datetime, not {moment!r}")


def _require_count(interval: str, count: int) -> None:
    if interval not in INTERVALS:
        raise ValueError(f"interval must be one of {', '.join(INTERVALS)}, not {interval!r}")
    if count < 1:
        raise ValueError(f"interval_count must be at least 1, not {count}")


def days_in_month(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def add_months(moment: dt.datetime, months: int, *, anchor_day: int | None = None) -> dt.datetime:
    """``moment`` moved by ``months`` calendar months (negative moves back), time of day unchanged.

    The day is ``anchor_day`` (default: ``moment``'s own day), clamped to the length of the target
    month: with anchor_day 31, one month after Jan 31 is Feb 28 (Feb 29 in a leap year), and one
    month after that Feb 28 is Mar 31, because the day comes from the anchor and not from the
    clamped date. Callers that step period by period must pass the anchor's day for that reason.
    """
    _require_utc(moment, "moment")
    day = moment.day if anchor_day is None else anchor_day
    if not 1 <= day <= 31:
        raise ValueError(f"anchor_day must be from 1 to 31, not {day}")
    # Count months from year 0 so that carrying into and borrowing from years is one divmod.
    year, month_index = divmod(moment.year * 12 + moment.month - 1 + months, 12)
    month = month_index + 1
    if not dt.MINYEAR <= year <= dt.MAXYEAR:
        raise ValueError(f"{months} months from {moment.isoformat()} is outside the calendar")
    return moment.replace(year=year, month=month, day=min(day, days_in_month(year, month)))


def _months_per_cycle(interval: str, interval_count: int) -> int | None:
    """How many calendar months one cycle spans; None for day and week cycles (fixed lengths)."""
    if interval == "month":
        return interval_count
    if interval == "year":
        return 12 * interval_count
    return None


def _cycle_length(interval: str, interval_count: int) -> dt.timedelta:
    """The fixed length of a day or week cycle (UTC has no short or long days)."""
    return dt.timedelta(days=interval_count) if interval == "day" else dt.timedelta(weeks=interval_count)


def _refuse_anchor_day(anchor_day: int | None, interval: str) -> None:
    # A day of month means nothing to a cycle counted in days or weeks; passing one is a mistake
    # better caught than silently ignored.
    if anchor_day is not None:
        raise ValueError(f"anchor_day only applies to month and year intervals, not {interval!r}")


def _effective_anchor_day(anchor: dt.datetime, anchor_day: int | None) -> int:
    """The day of month the anchor stands for: its own day, or a later one it was clamped from.

    A ``billing_cycle_anchor_config`` with day_of_month 31 that lands in February gives an anchor
    on Feb 28, yet the following periods must fall on Mar 31, Apr 30...: ``anchor_day`` carries
    that 31. It has to agree with the anchor (clamping 31 to February gives 28, not 27).
    """
    if anchor_day is None:
        return anchor.day
    if not 1 <= anchor_day <= 31 or min(anchor_day, days_in_month(anchor.year, anchor.month)) != anchor.day:
        raise ValueError(f"anchor_day {anchor_day} does not clamp to the anchor's day ({anchor.date().isoformat()})")
    return anchor_day


def add_interval(
    moment: dt.datetime,
    interval: str,
    count: int,
    *,
    anchor: dt.datetime | None = None,
    anchor_day: int | None = None,
) -> dt.datetime:
    """``moment`` plus ``count`` intervals (day, week, month or year).

    Months and years keep the day of ``anchor`` (or ``anchor_day``) rather than ``moment``'s own,
    so stepping from a clamped date (Feb 28 on a Jan 31 anchor) returns to the anchor's day.
    """
    _require_utc(moment, "moment")
    _require_count(interval, count)
    months = _months_per_cycle(interval, count)
    if months is None:
        _refuse_anchor_day(anchor_day, interval)
        return moment + _cycle_length(interval, count)
    day = anchor_day if anchor_day is not None else (anchor.day if anchor is not None else None)
    return add_months(moment, months, anchor_day=day)


def cycle_date(
    *, anchor: dt.datetime, interval: str, interval_count: int, index: int, anchor_day: int | None = None
) -> dt.datetime:
    """The ``index``-th billing date of the anchor's cycle: 0 is the anchor, 1 the next, -1 the one before."""
    _require_utc(anchor, "anchor")
    _require_count(interval, interval_count)
    months = _months_per_cycle(interval, interval_count)
    if months is None:
        _refuse_anchor_day(anchor_day, interval)
        return anchor + _cycle_length(interval, interval_count) * index
    return add_months(anchor, months * index, anchor_day=_effective_anchor_day(anchor, anchor_day))


def _next_index(
    *, anchor: dt.datetime, interval: str, interval_count: int, after: dt.datetime, anchor_day: int | None
) -> int:
    """The smallest index whose billing date is strictly after ``after``."""
    _require_utc(after, "after")
    months = _months_per_cycle(interval, interval_count)
    if months is None:
        # Fixed-length cycles: floor division of timedeltas is exact (integer microseconds) and
        # floors for moments before the anchor too.
        return (after - anchor) // _cycle_length(interval, interval_count) + 1
    # Whole cycles of months between the anchor's month and ``after``'s, rounded down: billing
    # date ``index`` falls in ``after``'s month or before it, billing date ``index + 1`` in a later
    # month. So the answer is one of the two; ``index`` only when it is later in the same month.
    index = ((after.year - anchor.year) * 12 + after.month - anchor.month) // months
    date = cycle_date(
        anchor=anchor, interval=interval, interval_count=interval_count, index=index, anchor_day=anchor_day
    )
    return index if date > after else index + 1


def next_period_end(
    *,
    anchor: dt.datetime,
    interval: str,
    interval_count: int,
    after: dt.datetime,
    anchor_day: int | None = None,
) -> dt.datetime:
    """The first billing date of the anchor's cycle strictly after ``after``.

    ``after`` may lie before the anchor: the cycle extends backwards the same way.
    """
    _require_utc(anchor, "anchor")
    _require_count(interval, interval_count)
    index = _next_index(
        anchor=anchor, interval=interval, interval_count=interval_count, after=after, anchor_day=anchor_day
    )
    return cycle_date(
        anchor=anchor, interval=interval, interval_count=interval_count, index=index, anchor_day=anchor_day
    )


def period_containing(
    *,
    anchor: dt.datetime,
    interval: str,
    interval_count: int,
    moment: dt.datetime,
    anchor_day: int | None = None,
) -> tuple[dt.datetime, dt.datetime]:
    """The full cycle ``(start, end)`` with ``start <= moment < end``."""
    _require_utc(anchor, "anchor")
    _require_count(interval, interval_count)
    index = _next_index(
        anchor=anchor, interval=interval, interval_count=interval_count, after=moment, anchor_day=anchor_day
    )
    start = cycle_date(
        anchor=anchor, interval=interval, interval_count=interval_count, index=index - 1, anchor_day=anchor_day
    )
    end = cycle_date(
        anchor=anchor, interval=interval, interval_count=interval_count, index=index, anchor_day=anchor_day
    )
    return start, end


def subscription_period_at(
    *,
    start: dt.datetime,
    anchor: dt.datetime,
    interval: str,
    interval_count: int,
    moment: dt.datetime,
    anchor_day: int | None = None,
) -> tuple[dt.datetime, dt.datetime]:
    """The billing period of a subscription started at ``start`` that contains ``moment``.

    An anchor later than the start leaves a shorter first period, ``[start, anchor)``, which Stripe
    prorates; full cycles follow from the anchor. ``moment`` must not precede ``start``.
    """
    _require_utc(start, "start")
    _require_utc(moment, "moment")
    if moment < start:
        raise ValueError(f"{moment.isoformat()} is before the subscription started ({start.isoformat()})")
    if start < anchor and moment < anchor:
        return start, anchor
    return period_containing(
        anchor=anchor, interval=interval, interval_count=interval_count, moment=moment, anchor_day=anchor_day
    )


# Billing cycle anchors ------------------------------------------------------------------------


@dataclass(frozen=True)
class BillingCycleAnchorConfig:
    """Stripe's ``billing_cycle_anchor_config``: the anchor named by calendar fields, not a timestamp.

    ``month`` picks the month of the first full period (for yearly and multi-month cycles);
    unset time fields take the subscription start's time of day.
    """

    day_of_month: int
    hour: int | None = None
    minute: int | None = None
    second: int | None = None
    month: int | None = None


_CONFIG_RANGES: dict[str, tuple[int, int]] = {
    "day_of_month": (1, 31),
    "hour": (0, 23),
    "minute": (0, 59),
    "second": (0, 59),
    "month": (1, 12),
}


def _natural_billing_date(start: dt.datetime, interval: str, interval_count: int) -> dt.datetime:
    """The subscription's first billing date had it been anchored at its start."""
    return add_interval(start, interval, interval_count)


def billing_cycle_anchor_from_config(
    *,
    config: BillingCycleAnchorConfig,
    start: dt.datetime,
    interval: str,
    interval_count: int,
    param: str = "billing_cycle_anchor_config",
) -> dt.datetime:
    """The anchor Stripe derives from ``config`` for a subscription starting at ``start``.

    It is the next occurrence, at or after the start (to the second), of ``day_of_month`` (clamped
    to the month's length) at the configured time of day in UTC; with ``month`` set, of that day in
    that month. Keep ``config.day_of_month`` as the ``anchor_day`` of later period calculations:
    an anchor clamped to Feb 28 still stands for the 31st.
    """
    _require_utc(start, "start")
    _require_count(interval, interval_count)
    if _months_per_cycle(interval, interval_count) is None:
        raise InvalidParam(
            f"billing_cycle_anchor_config only works with monthly and yearly prices; this subscription bills "
            f"every {interval_count} {interval}(s). Give billing_cycle_anchor as a timestamp instead.",
            param=param,
        )
    for name, (low, high) in _CONFIG_RANGES.items():
        value = getattr(config, name)
        if value is not None and not low <= value <= high:
            raise InvalidParam(
                f"Invalid {param}[{name}]: {value}. It must be from {low} to {high}.", param=f"{param}[{name}]"
            )
    # Stripe counts in whole seconds; a start with microseconds would otherwise come after the
    # candidate at the same second and push the anchor a whole month later.
    start = start.replace(microsecond=0)
    hour = start.hour if config.hour is None else config.hour
    minute = start.minute if config.minute is None else config.minute
    second = start.second if config.second is None else config.second

    def occurrence(year: int, month: int) -> dt.datetime:
        day = min(config.day_of_month, days_in_month(year, month))
        return dt.datetime(year, month, day, hour, minute, second, tzinfo=dt.UTC)

    if config.month is None:
        following = add_months(start.replace(day=1), 1)
        candidates = [occurrence(start.year, start.month), occurrence(following.year, following.month)]
    else:
        candidates = [occurrence(start.year, config.month), occurrence(start.year + 1, config.month)]
    anchor = next(candidate for candidate in candidates if candidate >= start)
    natural = _natural_billing_date(start, interval, interval_count)
    # Compared by date: the configured hour may fall later in the day than the start's, and the
    # next occurrence of the configured day (Feb 28 01:00 after a Jan 29 00:00 start) is never a
    # reason to refuse. Only a ``month`` more than one interval ahead can overshoot by days.
    if anchor.date() > natural.date():
        raise InvalidParam(
            f"billing_cycle_anchor_config places the anchor on {anchor.date().isoformat()}, later than the "
            f"subscription's next natural billing date ({natural.date().isoformat()}). Choose a month within "
            f"one billing interval of the start.",
            param=f"{param}[month]",
        )
    return anchor


def billing_cycle_anchor_check(
    *,
    start: dt.datetime,
    anchor: dt.datetime,
    interval: str,
    interval_count: int,
    param: str = "billing_cycle_anchor",
) -> None:
    """Refuse an explicit anchor before the start or beyond the first natural billing date, as Stripe does."""
    _require_utc(start, "start")
    _require_utc(anchor, "anchor")
    _require_count(interval, interval_count)
    if anchor < start:
        raise InvalidParam(
            f"billing_cycle_anchor ({anchor.isoformat()}) is before the subscription starts "
            f"({start.isoformat()}). Give a moment at or after the start.",
            param=param,
        )
    natural = _natural_billing_date(start, interval, interval_count)
    if anchor > natural:
        raise InvalidParam(
            f"billing_cycle_anchor cannot be later than next natural billing date ({int(natural.timestamp())}) "
            f"for a price billed every {interval_count} {interval}(s).",
            param=param,
        )
