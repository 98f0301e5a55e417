"""The home page's figures: exact values from subscriptions started, trialing, canceled, in either mode."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billfold.core.clock import frozen_at
from billfold.dashboard import metrics
from tests.dashboard.helpers import cancel, customer, monthly_price, subscribe

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2030, 6, 30, 12, 0, tzinfo=dt.UTC)


def june(day: int, hour: int = 12) -> dt.datetime:
    return dt.datetime(2030, 6, day, hour, tzinfo=dt.UTC)


def make_history() -> None:
    before = dt.datetime(2030, 5, 1, 12, tzinfo=dt.UTC)
    # Two seats at $29 since May: $58 of MRR over the whole range.
    subscribe(customer(at=before, email="a@example.com"), monthly_price(2900, at=before), at=before, quantity=2)
    # $120 a year from June 10: $10 a month.
    yearly = monthly_price(12000, at=before, name="Yearly", recurring={"interval": "year"})
    subscribe(customer(at=before, email="b@example.com"), yearly, at=june(10))
    # $10 a month from June 5, canceled June 20.
    short = subscribe(customer(at=before, email="c@example.com"), monthly_price(1000, at=before), at=june(5))
    cancel(short, at=june(20))
    # A 14-day trial from June 20: active, but no revenue before July 4.
    trial = monthly_price(5000, at=before, name="Trial plan")
    subscribe(customer(at=before, email="d@example.com"), trial, at=june(20), trial_period_days=14)
    # Other currencies and live mode count apart.
    subscribe(customer(at=before, email="e@example.com"), monthly_price(700, at=before, currency="eur"), at=june(3))
    live_buyer = customer(at=before, livemode=True, email="f@example.com")
    subscribe(live_buyer, monthly_price(99900, at=before, livemode=True), at=june(3))
    # A first payment declined on June 15: the subscription never starts, the failed charge counts.
    card = "pm_card_chargeCustomerFail"
    declined = customer(
        at=before, email="g@example.com", payment_method=card, invoice_settings={"default_payment_method": card}
    )
    subscribe(
        declined,
        monthly_price(4200, at=before),
        at=june(15),
        collection_method="charge_automatically",
        days_until_due=None,
    )


def test_thirty_days_of_figures() -> None:
    make_history()
    spans = metrics.buckets("30d", NOW)
    assert [s.label for s in spans[:2]] == ["Jun 1", "Jun 2"]
    assert spans[-1].label == "Jun 30" and spans[-1].end == NOW
    moments = [s.end for s in spans]

    with CaptureQueriesContext(connection) as queries:
        mrr = metrics.mrr_series(livemode=False, currency="usd", moments=moments)
    # One query for the whole series, whatever the number of subscriptions.
    assert len(queries) == 1
    assert (mrr[0], mrr[4], mrr[9], mrr[19], mrr[-1]) == (5800, 6800, 7800, 6800, 6800)

    active = metrics.active_series(livemode=False, moments=moments)
    assert (active[0], active[4], active[9], active[19], active[-1]) == (1, 3, 4, 4, 4)

    new, churned = metrics.new_and_churned(livemode=False, spans=spans)
    assert [(i, n) for i, n in enumerate(new) if n] == [(2, 1), (4, 1), (9, 1), (19, 1)]
    assert [(i, c) for i, c in enumerate(churned) if c] == [(19, 1)]

    failed = metrics.failed_payments(livemode=False, spans=spans)
    assert [(i, f) for i, f in enumerate(failed) if f] == [(14, 1)]

    assert metrics.currencies(livemode=False) == ["usd", "eur"]
    assert metrics.mrr_series(livemode=False, currency="eur", moments=[NOW]) == [700]
    assert metrics.mrr_series(livemode=True, currency="usd", moments=[NOW]) == [99900]
    assert metrics.active_series(livemode=True, moments=[NOW]) == [1]


def test_ranges_are_weeks_and_months() -> None:
    weeks = metrics.buckets("90d", NOW)
    assert len(weeks) == 13
    assert weeks[0].start == dt.datetime(2030, 4, 1, tzinfo=dt.UTC)
    assert weeks[-1].label == "Week of Jun 24" and weeks[-1].end == NOW
    months = metrics.buckets("12m", NOW)
    assert [m.label for m in (months[0], months[-1])] == ["Jul 2029", "Jun 2030"]
    assert months[0].start == dt.datetime(2029, 7, 1, tzinfo=dt.UTC)
    assert all(a.end == b.start for a, b in itertools.pairwise(months))
    with frozen_at(NOW):
        assert metrics.buckets("30d")[-1].end == NOW
