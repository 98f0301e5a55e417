"""Proration math: Stripe's documented example, exact amounts to the second, and the billing rules around them."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billfold.billing.pricing import PriceTerms, price_amount
from billfold.billing.proration import (
    ChangeProration,
    ItemChange,
    PeriodCharge,
    ProrationItem,
    ProrationLine,
    prorate_subscription_change,
    proration_description,
    remaining_time_line,
    stripe_date,
    unused_time_line,
)
from billfold.core.errors import InvalidParam
from billfold.core.periods import add_months

UTC = dt.UTC
# April 2026 has 30 days: Stripe's example period.
APRIL = (dt.datetime(2026, 4, 1, tzinfo=UTC), dt.datetime(2026, 5, 1, tzinfo=UTC))
HALF_APRIL = dt.datetime(2026, 4, 16, tzinfo=UTC)
JANUARY = (dt.datetime(2026, 1, 1, tzinfo=UTC), dt.datetime(2026, 2, 1, tzinfo=UTC))


def item(
    name: str,
    amount: int | None = None,
    *,
    quantity: int = 1,
    interval: str = "month",
    count: int = 1,
    currency: str = "usd",
    price: PriceTerms | None = None,
) -> ProrationItem:
    return ProrationItem(
        price=price or PriceTerms(currency=currency, unit_amount=amount),
        quantity=quantity,
        product_name=name,
        interval=interval,
        interval_count=count,
        price_ref=f"price_{name.lower()}_{interval}",
        subscription_item_ref=f"si_{name.lower()}",
    )


BASIC = item("Basic", 1000)
PRO = item("Pro", 2000)


def lines_of(
    old: ProrationItem, new: ProrationItem, period: tuple[dt.datetime, dt.datetime], at: dt.datetime
) -> tuple[ProrationLine, ProrationLine]:
    window = {"period_start": period[0], "period_end": period[1], "proration_date": at}
    return unused_time_line(old, **window), remaining_time_line(new, **window)


def change(
    *changes: ItemChange,
    period: tuple[dt.datetime, dt.datetime] = APRIL,
    now: dt.datetime = HALF_APRIL,
    proration_date: dt.datetime | None = None,
    proration_behavior: str = "create_prorations",
    reset_billing_cycle_anchor: bool = False,
) -> ChangeProration:
    """An update of a subscription anchored at the period's start."""
    return prorate_subscription_change(
        changes=changes,
        period_start=period[0],
        period_end=period[1],
        billing_cycle_anchor=period[0],
        now=now,
        proration_date=proration_date,
        proration_behavior=proration_behavior,
        reset_billing_cycle_anchor=reset_billing_cycle_anchor,
    )


# Stripe's example and exact amounts -----------------------------------------------------------------


def test_stripes_documented_example() -> None:
    # $10 → $20 a month, at exactly half of a 30-day period: -$5.00 and +$10.00.
    outcome = change(ItemChange(old=BASIC, new=PRO))
    assert outcome.lines == (
        ProrationLine(
            description="Unused time on Basic after 16 Apr 2026",
            amount=-500,
            currency="usd",
            quantity=1,
            period_start=HALF_APRIL,
            period_end=APRIL[1],
            proration=True,
            discountable=False,
            price_ref="price_basic_month",
            subscription_item_ref="si_basic",
        ),
        ProrationLine(
            description="Remaining time on Pro after 16 Apr 2026",
            amount=1000,
            currency="usd",
            quantity=1,
            period_start=HALF_APRIL,
            period_end=APRIL[1],
            proration=True,
            discountable=False,
            price_ref="price_pro_month",
            subscription_item_ref="si_pro",
        ),
    )
    assert outcome.period_charges == ()
    assert outcome.total == 500
    assert not outcome.invoice_now
    assert not outcome.period_restarted
    assert (outcome.period_start, outcome.period_end, outcome.billing_cycle_anchor) == (APRIL[0], APRIL[1], APRIL[0])


@pytest.mark.parametrize(
    ("old", "new", "period", "at", "credit", "debit"),
    [
        # 11 of January's 31 days remain: 1000 * 11/31 = 354.84.
        (BASIC, PRO, JANUARY, dt.datetime(2026, 1, 21, tzinfo=UTC), -355, 710),
        # Quantities: 2 * 15.00 → 3 * 15.00 with 17 of 31 days left (1645.16 and 2467.74).
        (
            item("Pro", 1500, quantity=2),
            item("Pro", 1500, quantity=3),
            JANUARY,
            dt.datetime(2026, 1, 15, tzinfo=UTC),
            -1645,
            2468,
        ),
        # Halves round away from zero, each line on its own: 500.5 and 1000.5.
        (item("Basic", 1001), item("Pro", 2001), APRIL, HALF_APRIL, -501, 1001),
        # Zero-decimal currencies: yen are whole units (¥1000 → ¥2000, then a third of ¥1000 left).
        (item("Basic", 1000, currency="jpy"), item("Pro", 2000, currency="jpy"), APRIL, HALF_APRIL, -500, 1000),
        (
            item("Basic", 1000, currency="jpy"),
            item("Pro", 1000, currency="jpy"),
            APRIL,
            dt.datetime(2026, 4, 21, tzinfo=UTC),
            -333,
            333,
        ),
        # To the second: $1,000,000 a month, one second past half: 100,000,000 * 1,295,999 / 2,592,000.
        (
            item("Basic", 100_000_000),
            item("Pro", 100_000_000),
            APRIL,
            HALF_APRIL + dt.timedelta(seconds=1),
            -49_999_961,
            49_999_961,
        ),
        # Sub-cent prices are prorated exactly and rounded once: 5 * 0.5¢ = 2.5¢, half of it 1.25¢.
        (
            item("Meter", price=PriceTerms(currency="usd", unit_amount_decimal="0.5"), quantity=5),
            item("Meter", price=PriceTerms(currency="usd", unit_amount_decimal="0.5"), quantity=5),
            APRIL,
            HALF_APRIL,
            -1,
            1,
        ),
        # Tiered: graduated 5 * 10.00 + 5 * 8.00 + 2 * 5.00 = 100.00 for the period, half of it left.
        (
            item(
                "Seats",
                price=PriceTerms(
                    currency="usd",
                    billing_scheme="tiered",
                    tiers_mode="graduated",
                    tiers=(
                        {"up_to": 5, "unit_amount": 1000},
                        {"up_to": 10, "unit_amount": 800},
                        {"up_to": None, "unit_amount": 500},
                    ),
                ),
                quantity=12,
            ),
            PRO,
            APRIL,
            HALF_APRIL,
            -5000,
            1000,
        ),
        # At the very start of the period the whole amount is credited and charged.
        (BASIC, PRO, APRIL, APRIL[0], -1000, 2000),
    ],
)
def test_line_amounts(
    old: ProrationItem,
    new: ProrationItem,
    period: tuple[dt.datetime, dt.datetime],
    at: dt.datetime,
    credit: int,
    debit: int,
) -> None:
    unused, remaining = lines_of(old, new, period, at)
    assert (unused.amount, remaining.amount) == (credit, debit)
    assert (unused.period_start, unused.period_end) == (at, period[1])
    assert (remaining.period_start, remaining.period_end) == (at, period[1])
    assert unused.currency == old.currency


def test_descriptions_follow_stripe() -> None:
    at = dt.datetime(2026, 1, 15, 13, 45, tzinfo=UTC)
    unused, remaining = lines_of(item("Pro", 1500, quantity=2), item("Pro", 1500, quantity=3), JANUARY, at)
    assert unused.description == "Unused time on 2 \u00d7 Pro after 15 Jan 2026"
    assert remaining.description == "Remaining time on 3 \u00d7 Pro after 15 Jan 2026"
    assert (unused.quantity, remaining.quantity) == (2, 3)
    assert proration_description(unused=False, product_name="Team plan", quantity=1, proration_date=at) == (
        "Remaining time on Team plan after 15 Jan 2026"
    )


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (dt.datetime(2026, 5, 3, 23, 59, tzinfo=UTC), "03 May 2026"),
        (dt.datetime(2017, 3, 3, tzinfo=UTC), "03 Mar 2017"),
        (dt.datetime(2026, 12, 31, tzinfo=UTC), "31 Dec 2026"),
        # An aware non-UTC moment is written as its UTC date.
        (dt.datetime(2026, 5, 4, 1, 0, tzinfo=dt.timezone(dt.timedelta(hours=2))), "03 May 2026"),
    ],
)
def test_stripe_date(moment: dt.datetime, text: str) -> None:
    assert stripe_date(moment) == text


# Rules of a subscription update -------------------------------------------------------------------


def test_same_interval_waits_for_the_next_invoice_unless_always_invoice() -> None:
    assert not change(ItemChange(old=BASIC, new=PRO)).invoice_now
    assert not change(ItemChange(old=BASIC, new=PRO), proration_behavior="create_prorations").invoice_now
    always = change(ItemChange(old=BASIC, new=PRO), proration_behavior="always_invoice")
    assert always.invoice_now
    assert [line.amount for line in always.lines] == [-500, 1000]
    # Nothing to bill: no invoice even with always_invoice.
    assert not change(ItemChange(old=BASIC, new=BASIC), proration_behavior="always_invoice").invoice_now


def test_proration_behavior_none_creates_no_lines() -> None:
    outcome = change(ItemChange(old=BASIC, new=PRO), proration_behavior="none")
    assert (outcome.lines, outcome.period_charges, outcome.invoice_now, outcome.total) == ((), (), False, 0)
    assert (outcome.period_start, outcome.period_end) == APRIL


def test_added_removed_and_unchanged_items() -> None:
    seats = item("Seats", 300, quantity=4)
    support = item("Support", 5000)
    outcome = change(
        ItemChange(old=BASIC, new=BASIC),
        ItemChange(old=None, new=seats),
        ItemChange(old=support, new=None),
    )
    assert [(line.description, line.amount) for line in outcome.lines] == [
        ("Remaining time on 4 \u00d7 Seats after 16 Apr 2026", 600),
        ("Unused time on Support after 16 Apr 2026", -2500),
    ]


def test_removing_every_item_only_credits() -> None:
    outcome = change(ItemChange(old=BASIC, new=None))
    assert [line.amount for line in outcome.lines] == [-500]
    assert not outcome.period_restarted


def test_interval_change_restarts_the_period_and_bills_now() -> None:
    yearly = item("Pro", 10000, interval="year")
    outcome = change(ItemChange(old=BASIC, new=yearly))
    assert [(line.description, line.amount) for line in outcome.lines] == [
        ("Unused time on Basic after 16 Apr 2026", -500)
    ]
    year_later = dt.datetime(2027, 4, 16, tzinfo=UTC)
    assert outcome.period_charges == (
        PeriodCharge(item=yearly, amount=10000, period_start=HALF_APRIL, period_end=year_later),
    )
    assert outcome.invoice_now
    assert outcome.period_restarted
    assert (outcome.period_start, outcome.period_end, outcome.billing_cycle_anchor) == (
        HALF_APRIL,
        year_later,
        HALF_APRIL,
    )
    assert outcome.total == 9500


def test_interval_count_change_is_an_interval_change() -> None:
    quarterly = item("Pro", 5400, interval="month", count=3)
    outcome = change(ItemChange(old=BASIC, new=quarterly))
    assert outcome.period_restarted
    assert outcome.period_end == dt.datetime(2026, 7, 16, tzinfo=UTC)
    assert outcome.total == 4900


def test_interval_change_credits_from_the_proration_date_and_restarts_now() -> None:
    earlier = dt.datetime(2026, 4, 11, tzinfo=UTC)
    outcome = change(ItemChange(old=BASIC, new=item("Pro", 10000, interval="year")), proration_date=earlier)
    # 20 of 30 days unused: 666.67.
    assert [(line.description, line.amount, line.period_start) for line in outcome.lines] == [
        ("Unused time on Basic after 11 Apr 2026", -667, earlier)
    ]
    assert outcome.period_start == HALF_APRIL


def test_interval_change_without_prorations_still_bills_the_new_period() -> None:
    outcome = change(ItemChange(old=BASIC, new=item("Pro", 10000, interval="year")), proration_behavior="none")
    assert outcome.lines == ()
    assert [charge.amount for charge in outcome.period_charges] == [10000]
    assert outcome.invoice_now


def test_billing_cycle_anchor_now_credits_and_rebills_every_item() -> None:
    seats = item("Seats", 300, quantity=4)
    outcome = change(ItemChange(old=BASIC, new=BASIC), ItemChange(old=seats, new=None), reset_billing_cycle_anchor=True)
    assert [line.amount for line in outcome.lines] == [-500, -600]
    may_16 = dt.datetime(2026, 5, 16, tzinfo=UTC)
    assert outcome.period_charges == (
        PeriodCharge(item=BASIC, amount=1000, period_start=HALF_APRIL, period_end=may_16),
    )
    assert (outcome.invoice_now, outcome.billing_cycle_anchor, outcome.period_end) == (True, HALF_APRIL, may_16)


def test_a_restarted_month_keeps_the_day_of_the_change() -> None:
    jan_31 = dt.datetime(2026, 1, 31, 12, tzinfo=UTC)
    outcome = change(
        ItemChange(old=item("Basic", 1000, interval="week"), new=BASIC),
        period=(dt.datetime(2026, 1, 26, tzinfo=UTC), dt.datetime(2026, 2, 2, tzinfo=UTC)),
        now=jan_31,
    )
    assert outcome.period_end == dt.datetime(2026, 2, 28, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    "at",
    [APRIL[0] - dt.timedelta(seconds=1), APRIL[1], APRIL[1] + dt.timedelta(days=3)],
    ids=["before", "at-end", "after"],
)
def test_proration_date_must_fall_in_the_period(at: dt.datetime) -> None:
    with pytest.raises(InvalidParam) as raised:
        change(ItemChange(old=BASIC, new=PRO), proration_date=at)
    assert raised.value.param == "proration_date"
    # Even when nothing would be prorated.
    with pytest.raises(InvalidParam):
        change(ItemChange(old=BASIC, new=BASIC), proration_date=at, proration_behavior="none")


def test_refusals_name_their_param() -> None:
    with pytest.raises(InvalidParam) as behavior:
        change(ItemChange(old=BASIC, new=PRO), proration_behavior="sometimes")
    assert behavior.value.param == "proration_behavior"
    with pytest.raises(InvalidParam) as mixed:
        change(ItemChange(old=BASIC, new=PRO), ItemChange(old=None, new=item("Extra", 100, interval="year")))
    assert mixed.value.param == "items"
    assert "every 1 month(s), every 1 year(s)" in mixed.value.message


# Properties -----------------------------------------------------------------------------------------

PERIOD_STARTS = st.datetimes(
    min_value=dt.datetime(2000, 1, 1),  # noqa: DTZ001 (Hypothesis takes naive bounds)
    max_value=dt.datetime(2090, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
).map(lambda moment: moment.replace(microsecond=0))
PRICES = st.one_of(
    st.builds(PriceTerms, currency=st.sampled_from(["usd", "jpy", "kwd"]), unit_amount=st.integers(0, 10**8)),
    st.builds(
        PriceTerms,
        currency=st.just("usd"),
        unit_amount_decimal=st.decimals(min_value=0, max_value=10**6, places=4).map(str),
    ),
)


@st.composite
def windows(draw: st.DrawFn) -> tuple[dt.datetime, dt.datetime, dt.datetime]:
    """A billing period of one to twelve months and a moment inside it, to the second."""
    start = draw(PERIOD_STARTS)
    end = add_months(start, draw(st.integers(1, 12)))
    seconds = int((end - start).total_seconds())
    return start, end, start + dt.timedelta(seconds=draw(st.integers(0, seconds - 1)))


@given(price=PRICES, quantity=st.integers(0, 1000), window=windows())
def test_an_unchanged_item_prorates_to_zero(
    price: PriceTerms, quantity: int, window: tuple[dt.datetime, dt.datetime, dt.datetime]
) -> None:
    same = item("Same", price=price, quantity=quantity)
    unused, remaining = lines_of(same, same, (window[0], window[1]), window[2])
    assert unused.amount + remaining.amount == 0


@given(price=PRICES, quantity=st.integers(0, 1000), window=windows())
def test_a_credit_never_exceeds_what_the_period_cost(
    price: PriceTerms, quantity: int, window: tuple[dt.datetime, dt.datetime, dt.datetime]
) -> None:
    start, end, at = window
    credit = unused_time_line(
        item("Old", price=price, quantity=quantity), period_start=start, period_end=end, proration_date=at
    )
    assert 0 <= -credit.amount <= price_amount(price, quantity)


@given(price=PRICES, quantity=st.integers(0, 1000), window=windows())
def test_a_change_at_period_start_credits_the_whole_amount(
    price: PriceTerms, quantity: int, window: tuple[dt.datetime, dt.datetime, dt.datetime]
) -> None:
    start, end, _ = window
    old = item("Old", price=price, quantity=quantity)
    credit = unused_time_line(old, period_start=start, period_end=end, proration_date=start)
    assert credit.amount == -price_amount(price, quantity)


@given(old=st.integers(0, 10**7), new=st.integers(0, 10**7), window=windows())
def test_an_upgrade_nets_the_price_difference_for_the_time_left(
    old: int, new: int, window: tuple[dt.datetime, dt.datetime, dt.datetime]
) -> None:
    start, end, at = window
    outcome = change(ItemChange(old=item("Old", old), new=item("New", new)), period=(start, end), now=at)
    share = (end - at) / (end - start)
    # Each of the two lines is off by at most half a minor unit.
    assert abs(outcome.total - (new - old) * share) <= 1
