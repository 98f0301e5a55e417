"""Billing-period calendar arithmetic: month-end anchors, leap years, every interval, Stripe's anchor config."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import NotRequired, TypedDict

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billfold.core.errors import InvalidParam
from billfold.core.periods import (
    BillingCycleAnchorConfig,
    add_interval,
    add_months,
    billing_cycle_anchor_check,
    billing_cycle_anchor_from_config,
    cycle_date,
    days_in_month,
    next_period_end,
    period_containing,
    subscription_period_at,
)

UTC = dt.UTC
SECOND = dt.timedelta(seconds=1)


class Cycle(TypedDict):
    anchor: dt.datetime
    interval: str
    interval_count: int
    anchor_day: NotRequired[int]


class SubscriptionCycle(TypedDict):
    start: dt.datetime
    anchor: dt.datetime
    interval: str
    interval_count: int


def at(text: str) -> dt.datetime:
    """``"2024-02-29"`` or ``"2024-02-29 13:45:10"`` as an aware UTC datetime."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


# add_months / add_interval ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "months", "anchor_day", "expected"),
    [
        ("2024-01-31 08:15:00", 1, None, "2024-02-29 08:15:00"),
        ("2023-01-31 08:15:00", 1, None, "2023-02-28 08:15:00"),
        ("2024-03-31", -1, None, "2024-02-29"),
        ("2024-12-15", 1, None, "2025-01-15"),
        ("2025-01-15", -1, None, "2024-12-15"),
        ("2024-02-29", 12, None, "2025-02-28"),
        ("2024-02-29", 48, None, "2028-02-29"),
        ("2024-05-31", -15, None, "2023-02-28"),
        # The anchor's day comes back after a clamped month.
        ("2023-02-28", 1, 31, "2023-03-31"),
        ("2023-02-28", 1, 30, "2023-03-30"),
        ("2023-02-28", 2, 31, "2023-04-30"),
        ("2023-02-28", 0, 31, "2023-02-28"),
        ("2023-04-30", 10, 31, "2024-02-29"),
    ],
)
def test_add_months(moment: str, months: int, anchor_day: int | None, expected: str) -> None:
    assert add_months(at(moment), months, anchor_day=anchor_day) == at(expected)


def test_stepping_month_by_month_drifts_but_counting_from_the_anchor_does_not() -> None:
    jan31 = at("2023-01-31")
    stepped = add_months(add_months(jan31, 1), 1)
    assert stepped == at("2023-03-28")
    assert add_interval(add_months(jan31, 1), "month", 1, anchor=jan31) == at("2023-03-31")
    assert add_months(jan31, 2) == at("2023-03-31")


def test_add_months_keeps_microseconds_and_time() -> None:
    moment = dt.datetime(2023, 10, 31, 23, 59, 59, 999_999, tzinfo=UTC)
    assert add_months(moment, 1) == dt.datetime(2023, 11, 30, 23, 59, 59, 999_999, tzinfo=UTC)


@pytest.mark.parametrize(
    "moment",
    [
        dt.datetime(2024, 1, 31),  # noqa: DTZ001 (naive on purpose)
        dt.datetime(2024, 1, 31, tzinfo=dt.timezone(dt.timedelta(hours=1))),
    ],
    ids=["naive", "not-utc"],
)
def test_add_months_refuses_naive_and_local_times(moment: dt.datetime) -> None:
    with pytest.raises(ValueError, match="aware UTC"):
        add_months(moment, 1)


def test_add_months_accepts_any_utc_tzinfo() -> None:
    assert add_months(dt.datetime(2024, 1, 31, tzinfo=dt.timezone(dt.timedelta(0))), 1).day == 29


@pytest.mark.parametrize("anchor_day", [0, 32])
def test_add_months_refuses_impossible_anchor_days(anchor_day: int) -> None:
    with pytest.raises(ValueError, match="anchor_day"):
        add_months(at("2024-01-15"), 1, anchor_day=anchor_day)


def test_add_months_refuses_leaving_the_calendar() -> None:
    with pytest.raises(ValueError, match="outside the calendar"):
        add_months(at("9999-12-01"), 1)
    with pytest.raises(ValueError, match="outside the calendar"):
        add_months(at("0001-01-01"), -1)


@pytest.mark.parametrize(
    ("moment", "interval", "count", "anchor", "anchor_day", "expected"),
    [
        ("2024-02-28 10:00:00", "day", 1, None, None, "2024-02-29 10:00:00"),
        ("2024-02-28 10:00:00", "day", 2, None, None, "2024-03-01 10:00:00"),
        ("2023-02-28 10:00:00", "day", 1, None, None, "2023-03-01 10:00:00"),
        ("2026-01-02 09:30:00", "week", 1, None, None, "2026-01-09 09:30:00"),
        ("2026-12-28", "week", 2, None, None, "2027-01-11"),
        ("2024-01-31", "month", 1, None, None, "2024-02-29"),
        ("2024-02-29", "month", 1, "2024-01-31", None, "2024-03-31"),
        ("2024-02-29", "month", 1, None, 30, "2024-03-30"),
        ("2024-02-29", "month", 3, "2023-11-30", None, "2024-05-30"),
        ("2024-02-29", "year", 1, None, None, "2025-02-28"),
        ("2025-02-28", "year", 3, "2024-02-29", None, "2028-02-29"),
        # An anchor means nothing to a cycle counted in days.
        ("2024-02-29", "day", 1, "2024-01-31", None, "2024-03-01"),
    ],
)
def test_add_interval(
    moment: str, interval: str, count: int, anchor: str | None, anchor_day: int | None, expected: str
) -> None:
    anchor_at = None if anchor is None else at(anchor)
    assert add_interval(at(moment), interval, count, anchor=anchor_at, anchor_day=anchor_day) == at(expected)


@pytest.mark.parametrize(
    ("interval", "count", "anchor_day", "message"),
    [
        ("fortnight", 1, None, "interval must be one of"),
        ("month", 0, None, "interval_count must be at least 1"),
        ("week", 1, 15, "anchor_day only applies"),
    ],
)
def test_add_interval_refusals(interval: str, count: int, anchor_day: int | None, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        add_interval(at("2024-01-15"), interval, count, anchor_day=anchor_day)


def test_days_in_month() -> None:
    assert [days_in_month(2024, month) for month in range(1, 13)] == [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    assert (days_in_month(2023, 2), days_in_month(2000, 2), days_in_month(2100, 2)) == (28, 29, 28)


# Billing dates from an anchor --------------------------------------------------------------------

# (anchor, interval, interval_count, the billing dates after the anchor, in order)
SCHEDULES = [
    pytest.param(
        "2023-01-31 14:05:09",
        "month",
        1,
        "2023-02-28 2023-03-31 2023-04-30 2023-05-31 2023-06-30 2023-07-31 "
        "2023-08-31 2023-09-30 2023-10-31 2023-11-30 2023-12-31 2024-01-31 "
        "2024-02-29 2024-03-31 2024-04-30 2024-05-31 2024-06-30 2024-07-31 "
        "2024-08-31 2024-09-30 2024-10-31 2024-11-30 2024-12-31 2025-01-31 "
        "2025-02-28 2025-03-31",
        id="monthly-31st-across-leap-year",
    ),
    pytest.param(
        "2024-01-30 00:00:00",
        "month",
        1,
        "2024-02-29 2024-03-30 2024-04-30 2024-05-30 2024-06-30 2024-07-30 "
        "2024-08-30 2024-09-30 2024-10-30 2024-11-30 2024-12-30 2025-01-30 "
        "2025-02-28 2025-03-30 2025-04-30 2025-05-30 2025-06-30 2025-07-30 "
        "2025-08-30 2025-09-30 2025-10-30 2025-11-30 2025-12-30 2026-01-30 "
        "2026-02-28 2026-03-30",
        id="monthly-30th-leap-then-not",
    ),
    pytest.param(
        "2023-01-29 23:59:59",
        "month",
        1,
        "2023-02-28 2023-03-29 2023-04-29 2023-05-29 2023-06-29 2023-07-29 "
        "2023-08-29 2023-09-29 2023-10-29 2023-11-29 2023-12-29 2024-01-29 "
        "2024-02-29 2024-03-29 2024-04-29 2024-05-29 2024-06-29 2024-07-29 "
        "2024-08-29 2024-09-29 2024-10-29 2024-11-29 2024-12-29 2025-01-29 "
        "2025-02-28 2025-03-29",
        id="monthly-29th-non-leap-then-leap",
    ),
    pytest.param(
        "2024-02-29 06:00:00",
        "month",
        1,
        "2024-03-29 2024-04-29 2024-05-29 2024-06-29 2024-07-29 2024-08-29 "
        "2024-09-29 2024-10-29 2024-11-29 2024-12-29 2025-01-29 2025-02-28 "
        "2025-03-29 2025-04-29 2025-05-29 2025-06-29 2025-07-29 2025-08-29 "
        "2025-09-29 2025-10-29 2025-11-29 2025-12-29 2026-01-29 2026-02-28 "
        "2026-03-29 2026-04-29",
        id="monthly-from-leap-day",
    ),
    pytest.param(
        "2023-11-30 12:00:00",
        "month",
        3,
        "2024-02-29 2024-05-30 2024-08-30 2024-11-30 2025-02-28 2025-05-30 "
        "2025-08-30 2025-11-30 2026-02-28 2026-05-30 2026-08-30 2026-11-30",
        id="quarterly-30th",
    ),
    pytest.param(
        "2023-08-31 12:00:00",
        "month",
        6,
        "2024-02-29 2024-08-31 2025-02-28 2025-08-31 2026-02-28 2026-08-31 2027-02-28 2027-08-31 2028-02-29 2028-08-31",
        id="half-yearly-31st",
    ),
    pytest.param(
        "2024-02-29 10:00:00",
        "year",
        1,
        "2025-02-28 2026-02-28 2027-02-28 2028-02-29 2029-02-28 2030-02-28 2031-02-28 2032-02-29 2033-02-28",
        id="yearly-leap-day",
    ),
    pytest.param(
        "2024-02-29 10:00:00",
        "year",
        2,
        "2026-02-28 2028-02-29 2030-02-28 2032-02-29",
        id="two-yearly-leap-day",
    ),
    pytest.param(
        "2096-02-29 10:00:00",
        "year",
        4,
        "2100-02-28 2104-02-29",
        id="every-four-years-skips-the-century",
    ),
    pytest.param(
        "2026-01-02 09:30:00",
        "week",
        1,
        "2026-01-09 2026-01-16 2026-01-23 2026-01-30 2026-02-06 2026-02-13 2026-02-20 2026-02-27 2026-03-06",
        id="weekly-fridays",
    ),
    pytest.param(
        "2024-12-23 09:30:00",
        "week",
        2,
        "2025-01-06 2025-01-20 2025-02-03 2025-02-17 2025-03-03",
        id="fortnightly-across-new-year",
    ),
    pytest.param(
        "2024-02-26 18:00:00",
        "day",
        1,
        "2024-02-27 2024-02-28 2024-02-29 2024-03-01 2024-03-02",
        id="daily-across-leap-day",
    ),
    pytest.param(
        "2023-02-25 18:00:00",
        "day",
        3,
        "2023-02-28 2023-03-03 2023-03-06",
        id="every-three-days-non-leap",
    ),
]


def _schedule(anchor: str, dates: str) -> list[dt.datetime]:
    """The listed dates at the anchor's time of day."""
    time = at(anchor).timetz()
    return [dt.datetime.combine(dt.date.fromisoformat(day), time) for day in dates.split()]


@pytest.mark.parametrize(("anchor", "interval", "count", "dates"), SCHEDULES)
def test_cycle_dates(anchor: str, interval: str, count: int, dates: str) -> None:
    expected = _schedule(anchor, dates)
    computed = [
        cycle_date(anchor=at(anchor), interval=interval, interval_count=count, index=index)
        for index in range(1, len(expected) + 1)
    ]
    assert computed == expected


@pytest.mark.parametrize(("anchor", "interval", "count", "dates"), SCHEDULES)
def test_next_period_end_walks_the_schedule(anchor: str, interval: str, count: int, dates: str) -> None:
    cycle: Cycle = {"anchor": at(anchor), "interval": interval, "interval_count": count}
    moment = at(anchor)
    for expected in _schedule(anchor, dates):
        # Strictly after: a billing date itself belongs to the period it starts.
        assert next_period_end(**cycle, after=moment) == expected
        assert next_period_end(**cycle, after=expected - SECOND) == expected
        assert next_period_end(**cycle, after=expected - dt.timedelta(microseconds=1)) == expected
        moment = expected


@pytest.mark.parametrize(("anchor", "interval", "count", "dates"), SCHEDULES)
def test_period_containing_follows_the_schedule(anchor: str, interval: str, count: int, dates: str) -> None:
    cycle: Cycle = {"anchor": at(anchor), "interval": interval, "interval_count": count}
    starts = [at(anchor), *_schedule(anchor, dates)]
    for start, end in itertools.pairwise(starts):
        assert period_containing(**cycle, moment=start) == (start, end)
        assert period_containing(**cycle, moment=start + (end - start) / 2) == (start, end)
        assert period_containing(**cycle, moment=end - SECOND) == (start, end)


@pytest.mark.parametrize(
    ("anchor", "interval", "count", "moment", "expected"),
    [
        ("2024-03-31", "month", 1, "2024-03-15", ("2024-02-29", "2024-03-31")),
        ("2024-01-31", "month", 1, "2023-12-15", ("2023-11-30", "2023-12-31")),
        ("2024-01-31", "month", 1, "2022-03-01", ("2022-02-28", "2022-03-31")),
        ("2028-02-29", "year", 1, "2026-06-01", ("2026-02-28", "2027-02-28")),
        ("2026-01-09", "week", 1, "2026-01-01", ("2025-12-26", "2026-01-02")),
        ("2024-03-01", "day", 3, "2024-02-26", ("2024-02-24", "2024-02-27")),
    ],
)
def test_the_cycle_extends_before_the_anchor(
    anchor: str, interval: str, count: int, moment: str, expected: tuple[str, str]
) -> None:
    found = period_containing(anchor=at(anchor), interval=interval, interval_count=count, moment=at(moment))
    assert found == (at(expected[0]), at(expected[1]))


def test_far_moments_resolve_in_one_step() -> None:
    anchor = at("2000-01-31 12:00:00")
    assert next_period_end(anchor=anchor, interval="month", interval_count=1, after=at("2400-02-15")) == at(
        "2400-02-29 12:00:00"
    )
    assert next_period_end(anchor=anchor, interval="day", interval_count=1, after=at("2400-02-15 13:00:00")) == at(
        "2400-02-16 12:00:00"
    )


def test_anchor_day_restores_a_clamped_anchor() -> None:
    # An anchor Stripe clamped from the 31st to Feb 28 still bills on the last day of later months.
    cycle: Cycle = {"anchor": at("2023-02-28 09:00:00"), "interval": "month", "interval_count": 1, "anchor_day": 31}
    assert [cycle_date(**cycle, index=index) for index in range(1, 5)] == [
        at("2023-03-31 09:00:00"),
        at("2023-04-30 09:00:00"),
        at("2023-05-31 09:00:00"),
        at("2023-06-30 09:00:00"),
    ]
    assert next_period_end(**cycle, after=at("2023-03-31 09:00:00")) == at("2023-04-30 09:00:00")
    assert period_containing(**cycle, moment=at("2024-02-29 10:00:00")) == (
        at("2024-02-29 09:00:00"),
        at("2024-03-31 09:00:00"),
    )
    # Without it the anchor's own day, 28, is kept.
    assert cycle_date(anchor=at("2023-02-28 09:00:00"), interval="month", interval_count=1, index=1) == at(
        "2023-03-28 09:00:00"
    )


@pytest.mark.parametrize(
    ("anchor", "interval", "anchor_day", "message"),
    [
        ("2023-03-15", "month", 31, "does not clamp"),
        ("2023-02-28", "month", 27, "does not clamp"),
        ("2023-02-28", "month", 32, "does not clamp"),
        ("2023-02-28", "week", 31, "anchor_day only applies"),
    ],
)
def test_anchor_day_must_agree_with_the_anchor(anchor: str, interval: str, anchor_day: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        cycle_date(anchor=at(anchor), interval=interval, interval_count=1, index=1, anchor_day=anchor_day)


def test_cycle_functions_refuse_bad_input() -> None:
    with pytest.raises(ValueError, match="interval must be one of"):
        next_period_end(anchor=at("2024-01-01"), interval="quarter", interval_count=1, after=at("2024-02-01"))
    with pytest.raises(ValueError, match="aware UTC"):
        next_period_end(anchor=at("2024-01-01"), interval="month", interval_count=1, after=dt.datetime(2024, 2, 1))  # noqa: DTZ001
    with pytest.raises(ValueError, match="interval_count"):
        period_containing(anchor=at("2024-01-01"), interval="day", interval_count=0, moment=at("2024-02-01"))


def test_subscription_period_at_starts_with_the_stub_before_the_anchor() -> None:
    cycle: SubscriptionCycle = {
        "start": at("2026-05-15 10:00:00"),
        "anchor": at("2026-06-01"),
        "interval": "month",
        "interval_count": 1,
    }
    assert subscription_period_at(**cycle, moment=at("2026-05-15 10:00:00")) == (
        at("2026-05-15 10:00:00"),
        at("2026-06-01"),
    )
    assert subscription_period_at(**cycle, moment=at("2026-05-31 23:59:59")) == (
        at("2026-05-15 10:00:00"),
        at("2026-06-01"),
    )
    assert subscription_period_at(**cycle, moment=at("2026-06-01")) == (at("2026-06-01"), at("2026-07-01"))
    assert subscription_period_at(**cycle, moment=at("2027-02-10")) == (at("2027-02-01"), at("2027-03-01"))
    with pytest.raises(ValueError, match="before the subscription started"):
        subscription_period_at(**cycle, moment=at("2026-05-15 09:59:59"))


def test_subscription_period_at_without_a_stub() -> None:
    start = at("2024-01-31 08:00:00")
    cycle: SubscriptionCycle = {"start": start, "anchor": start, "interval": "month", "interval_count": 1}
    assert subscription_period_at(**cycle, moment=start) == (start, at("2024-02-29 08:00:00"))
    assert subscription_period_at(**cycle, moment=at("2024-03-01")) == (
        at("2024-02-29 08:00:00"),
        at("2024-03-31 08:00:00"),
    )


# billing_cycle_anchor_config ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "interval", "count", "config", "expected"),
    [
        ("2026-05-15 10:20:30", "month", 1, BillingCycleAnchorConfig(day_of_month=31), "2026-05-31 10:20:30"),
        ("2026-02-10 08:00:00", "month", 1, BillingCycleAnchorConfig(day_of_month=31), "2026-02-28 08:00:00"),
        ("2028-02-10 08:00:00", "month", 1, BillingCycleAnchorConfig(day_of_month=31), "2028-02-29 08:00:00"),
        ("2026-04-30 08:00:00", "month", 1, BillingCycleAnchorConfig(day_of_month=31), "2026-04-30 08:00:00"),
        ("2026-05-20 08:00:00", "month", 1, BillingCycleAnchorConfig(day_of_month=1), "2026-06-01 08:00:00"),
        (
            "2026-12-20 08:00:00",
            "month",
            1,
            BillingCycleAnchorConfig(day_of_month=1, hour=0, minute=0, second=0),
            "2027-01-01 00:00:00",
        ),
        # The same day: an hour later is still ahead, an hour earlier has passed until next month.
        ("2026-05-15 10:00:00", "month", 1, BillingCycleAnchorConfig(day_of_month=15, hour=11), "2026-05-15 11:00:00"),
        ("2026-05-15 10:00:00", "month", 1, BillingCycleAnchorConfig(day_of_month=15, hour=9), "2026-06-15 09:00:00"),
        ("2026-05-15 10:00:00", "month", 1, BillingCycleAnchorConfig(day_of_month=15), "2026-05-15 10:00:00"),
        ("2026-05-15 10:00:00", "year", 1, BillingCycleAnchorConfig(day_of_month=29, month=2), "2027-02-28 10:00:00"),
        ("2027-05-15 10:00:00", "year", 1, BillingCycleAnchorConfig(day_of_month=29, month=2), "2028-02-29 10:00:00"),
        (
            "2026-05-15 12:00:00",
            "year",
            1,
            BillingCycleAnchorConfig(day_of_month=15, month=5, hour=6),
            "2027-05-15 06:00:00",
        ),
        ("2026-05-15 12:00:00", "year", 1, BillingCycleAnchorConfig(day_of_month=20), "2026-05-20 12:00:00"),
        ("2026-05-20 12:00:00", "month", 3, BillingCycleAnchorConfig(day_of_month=1, month=7), "2026-07-01 12:00:00"),
        # A later hour than the start's on the natural billing date itself is the next occurrence.
        ("2001-01-29 00:00:00", "month", 1, BillingCycleAnchorConfig(day_of_month=28, hour=1), "2001-02-28 01:00:00"),
        (
            "2024-02-29 00:00:00",
            "year",
            1,
            BillingCycleAnchorConfig(day_of_month=28, month=2, hour=1),
            "2025-02-28 01:00:00",
        ),
        ("2026-05-20 12:00:00", "month", 3, BillingCycleAnchorConfig(day_of_month=20, month=8), "2026-08-20 12:00:00"),
    ],
)
def test_billing_cycle_anchor_from_config(
    start: str, interval: str, count: int, config: BillingCycleAnchorConfig, expected: str
) -> None:
    anchor = billing_cycle_anchor_from_config(config=config, start=at(start), interval=interval, interval_count=count)
    assert anchor == at(expected)


def test_config_ignores_the_start_s_fraction_of_a_second() -> None:
    start = dt.datetime(2026, 5, 15, 10, 0, 0, 250_000, tzinfo=UTC)
    config = BillingCycleAnchorConfig(day_of_month=15)
    assert billing_cycle_anchor_from_config(config=config, start=start, interval="month", interval_count=1) == at(
        "2026-05-15 10:00:00"
    )


def test_config_anchor_then_bills_on_the_configured_day() -> None:
    config = BillingCycleAnchorConfig(day_of_month=31, hour=0, minute=0, second=0)
    anchor = billing_cycle_anchor_from_config(
        config=config, start=at("2026-02-10 15:00:00"), interval="month", interval_count=1
    )
    assert anchor == at("2026-02-28")
    cycle: Cycle = {"anchor": anchor, "interval": "month", "interval_count": 1, "anchor_day": config.day_of_month}
    assert next_period_end(**cycle, after=anchor) == at("2026-03-31")
    assert next_period_end(**cycle, after=at("2026-03-31")) == at("2026-04-30")


@pytest.mark.parametrize(
    ("interval", "count", "config", "param"),
    [
        ("week", 1, BillingCycleAnchorConfig(day_of_month=1), "billing_cycle_anchor_config"),
        ("day", 7, BillingCycleAnchorConfig(day_of_month=1), "billing_cycle_anchor_config"),
        ("month", 1, BillingCycleAnchorConfig(day_of_month=0), "billing_cycle_anchor_config[day_of_month]"),
        ("month", 1, BillingCycleAnchorConfig(day_of_month=32), "billing_cycle_anchor_config[day_of_month]"),
        ("month", 1, BillingCycleAnchorConfig(day_of_month=1, hour=24), "billing_cycle_anchor_config[hour]"),
        ("month", 1, BillingCycleAnchorConfig(day_of_month=1, minute=60), "billing_cycle_anchor_config[minute]"),
        ("month", 1, BillingCycleAnchorConfig(day_of_month=1, second=-1), "billing_cycle_anchor_config[second]"),
        ("year", 1, BillingCycleAnchorConfig(day_of_month=1, month=13), "billing_cycle_anchor_config[month]"),
        # September 1 is more than one quarter after May 20.
        ("month", 3, BillingCycleAnchorConfig(day_of_month=1, month=9), "billing_cycle_anchor_config[month]"),
        ("month", 3, BillingCycleAnchorConfig(day_of_month=21, month=8), "billing_cycle_anchor_config[month]"),
        ("month", 1, BillingCycleAnchorConfig(day_of_month=1, month=2), "billing_cycle_anchor_config[month]"),
    ],
)
def test_config_refusals(interval: str, count: int, config: BillingCycleAnchorConfig, param: str) -> None:
    with pytest.raises(InvalidParam) as raised:
        billing_cycle_anchor_from_config(
            config=config, start=at("2026-05-20 12:00:00"), interval=interval, interval_count=count
        )
    assert raised.value.param == param


def test_config_refusal_names_the_prefixed_param() -> None:
    with pytest.raises(InvalidParam) as raised:
        billing_cycle_anchor_from_config(
            config=BillingCycleAnchorConfig(day_of_month=40),
            start=at("2026-05-20"),
            interval="month",
            interval_count=1,
            param="subscription_data[billing_cycle_anchor_config]",
        )
    assert raised.value.param == "subscription_data[billing_cycle_anchor_config][day_of_month]"
    assert "from 1 to 31" in raised.value.message


def test_billing_cycle_anchor_check() -> None:
    start = at("2026-01-31 10:00:00")
    billing_cycle_anchor_check(start=start, anchor=start, interval="month", interval_count=1)
    billing_cycle_anchor_check(start=start, anchor=at("2026-02-28 10:00:00"), interval="month", interval_count=1)
    with pytest.raises(InvalidParam) as late:
        billing_cycle_anchor_check(start=start, anchor=at("2026-02-28 10:00:01"), interval="month", interval_count=1)
    assert late.value.param == "billing_cycle_anchor"
    natural = int(at("2026-02-28 10:00:00").timestamp())
    assert late.value.message.startswith(
        f"billing_cycle_anchor cannot be later than next natural billing date ({natural})"
    )
    with pytest.raises(InvalidParam) as early:
        billing_cycle_anchor_check(start=start, anchor=start - SECOND, interval="week", interval_count=1)
    assert early.value.param == "billing_cycle_anchor"


# Properties -------------------------------------------------------------------------------------

# Hypothesis takes naive bounds and attaches the timezone itself.
MOMENTS = st.datetimes(
    min_value=dt.datetime(1990, 1, 1),  # noqa: DTZ001
    max_value=dt.datetime(2100, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
)
CADENCES = st.one_of(
    st.tuples(st.just("day"), st.integers(1, 1095)),
    st.tuples(st.just("week"), st.integers(1, 156)),
    st.tuples(st.just("month"), st.integers(1, 36)),
    st.tuples(st.just("year"), st.integers(1, 3)),
)
OFFSETS = st.integers(min_value=-(10**9), max_value=10**9).map(lambda seconds: dt.timedelta(seconds=seconds))


@given(anchor=MOMENTS, cadence=CADENCES, offset=OFFSETS)
def test_periods_are_contiguous_and_never_overlap(
    anchor: dt.datetime, cadence: tuple[str, int], offset: dt.timedelta
) -> None:
    interval, count = cadence
    cycle: Cycle = {"anchor": anchor, "interval": interval, "interval_count": count}
    moment = anchor + offset
    start, end = period_containing(**cycle, moment=moment)
    assert start <= moment < end
    assert next_period_end(**cycle, after=moment) == end
    # The next period starts where this one ends; the previous one ends where this one starts.
    following_start, following_end = period_containing(**cycle, moment=end)
    assert following_start == end < following_end
    assert period_containing(**cycle, moment=start - dt.timedelta(microseconds=1))[1] == start


@given(anchor=MOMENTS, cadence=CADENCES, offset=OFFSETS)
def test_billing_dates_keep_the_anchor_s_day_and_time(
    anchor: dt.datetime, cadence: tuple[str, int], offset: dt.timedelta
) -> None:
    interval, count = cadence
    start, end = period_containing(anchor=anchor, interval=interval, interval_count=count, moment=anchor + offset)
    for date in (start, end):
        assert date.timetz() == anchor.timetz()
        if interval in ("month", "year"):
            assert date.day == min(anchor.day, days_in_month(date.year, date.month))
            months = (date.year - anchor.year) * 12 + date.month - anchor.month
            assert months % (count if interval == "month" else 12 * count) == 0
        else:
            step = dt.timedelta(days=count) if interval == "day" else dt.timedelta(weeks=count)
            assert (date - anchor) % step == dt.timedelta(0)


@given(anchor=MOMENTS, cadence=CADENCES)
def test_the_anchor_opens_a_period(anchor: dt.datetime, cadence: tuple[str, int]) -> None:
    interval, count = cadence
    cycle: Cycle = {"anchor": anchor, "interval": interval, "interval_count": count}
    assert period_containing(**cycle, moment=anchor) == (anchor, cycle_date(**cycle, index=1))
    assert add_interval(anchor, interval, count, anchor=anchor) == cycle_date(**cycle, index=1)


@given(
    start=MOMENTS,
    cadence=st.one_of(st.tuples(st.just("month"), st.integers(1, 36)), st.tuples(st.just("year"), st.integers(1, 3))),
    day=st.integers(1, 31),
    hour=st.none() | st.integers(0, 23),
)
def test_config_anchor_is_the_next_occurrence(
    start: dt.datetime, cadence: tuple[str, int], day: int, hour: int | None
) -> None:
    interval, count = cadence
    config = BillingCycleAnchorConfig(day_of_month=day, hour=hour)
    anchor = billing_cycle_anchor_from_config(config=config, start=start, interval=interval, interval_count=count)
    whole_second = start.replace(microsecond=0)
    assert whole_second <= anchor
    assert anchor.date() <= add_interval(whole_second, interval, count).date()
    assert anchor.day == min(day, days_in_month(anchor.year, anchor.month))
    assert anchor.hour == (start.hour if hour is None else hour)
    # No earlier occurrence of the same day and time was still ahead of the start.
    assert add_months(anchor, -1, anchor_day=day) < whole_second
