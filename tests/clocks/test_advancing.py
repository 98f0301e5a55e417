"""Advancing test clocks at the service level: limits, resuming, and what an advancing clock refuses."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from billfold.clocks import advance
from billfold.clocks import models as clock_models
from billfold.clocks import services as clock_services
from billfold.core import clock
from billfold.core.errors import DomainError, InvalidParam
from billfold.customers import services as customer_services
from billfold.customers.models import Customer
from billfold.events.models import Event

START = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)

pytestmark = pytest.mark.django_db


def new_clock(frozen_time: dt.datetime = START) -> clock_models.TestClock:
    return clock_services.test_clock_create(livemode=False, frozen_time=frozen_time)


def counts() -> tuple[int, int]:
    return Customer.objects.count(), Event.objects.count()


@pytest.fixture
def sixty_day_limit() -> Iterator[None]:
    """Stands in for a monthly subscription on every clock: two intervals of about 30 days."""

    def two_months(*, clock: clock_models.TestClock) -> dt.datetime | None:
        return clock.frozen_time + 60 * DAY

    advance.register_advance_limit(two_months)
    try:
        yield
    finally:
        advance.unregister_advance_limit(two_months)


def test_a_registered_limit_replaces_the_two_year_default(sixty_day_limit: None) -> None:
    test_clock = new_clock()
    with pytest.raises(InvalidParam) as raised:
        clock_services.test_clock_advance(test_clock=test_clock, frozen_time=START + 61 * DAY)
    assert raised.value.param == "frozen_time"
    assert "can reach 2024-03-01T00:00:00Z (1709251200) at most" in raised.value.message
    advanced = clock_services.test_clock_advance(test_clock=test_clock, frozen_time=START + 60 * DAY)
    assert advanced.frozen_time == START + 60 * DAY


def test_two_years_from_a_leap_day_ends_on_28_february() -> None:
    leap_day = dt.datetime(2024, 2, 29, 9, 30, tzinfo=dt.UTC)
    assert clock_services.advance_limit(new_clock(leap_day)) == dt.datetime(2026, 2, 28, 9, 30, tzinfo=dt.UTC)


def test_an_interrupted_advance_resumes_when_asked_for_the_same_time() -> None:
    test_clock = new_clock()
    calls: list[dt.datetime] = []

    def record(*, clock: clock_models.TestClock, until: dt.datetime) -> None:
        calls.append(until)

    # A worker that died after the start leaves the clock advancing towards its target.
    started = clock_services.test_clock_advance_start(test_clock=test_clock, frozen_time=START + 5 * DAY)
    assert started.status == "advancing"
    with advance.advance_hook_registered(record):
        resumed = clock_services.test_clock_advance(test_clock=started, frozen_time=START + 5 * DAY)
        assert (resumed.status, resumed.frozen_time, resumed.status_details) == ("ready", START + 5 * DAY, {})
        # Running a finished advance again does nothing.
        events_before = Event.objects.count()
        assert clock_services.test_clock_advance_run(test_clock=resumed).status == "ready"
    assert calls == [START + 5 * DAY]
    assert Event.objects.count() == events_before
    types = list(Event.objects.filter(object_id=test_clock.public_id).order_by("pk").values_list("type", flat=True))
    assert types == [
        "test_helpers.test_clock.created",
        "test_helpers.test_clock.advancing",
        "test_helpers.test_clock.ready",
    ]


def test_an_advancing_clock_refuses_other_changes() -> None:
    test_clock = clock_services.test_clock_advance_start(test_clock=new_clock(), frozen_time=START + 5 * DAY)
    before = counts()
    with pytest.raises(DomainError) as raised:
        clock_services.test_clock_advance_start(test_clock=test_clock, frozen_time=START + 6 * DAY)
    assert raised.value.message.startswith(
        f"Test clock {test_clock.public_id} is already advancing to 2024-01-06T00:00:00Z (1704499200)."
    )
    with pytest.raises(DomainError) as raised:
        clock_services.test_clock_delete(test_clock=test_clock)
    assert "delete it once its status is ready" in raised.value.message
    with pytest.raises(InvalidParam) as refused:
        customer_services.customer_create(livemode=False, values={"test_clock": test_clock.public_id})
    assert refused.value.param == "test_clock"
    assert counts() == before
    test_clock.refresh_from_db()
    assert (test_clock.status, test_clock.frozen_time, test_clock.deleted) == ("advancing", START, False)


def test_moving_a_clock_outside_an_advance_is_a_bug() -> None:
    test_clock = new_clock()
    with pytest.raises(RuntimeError):
        advance.clock_move_to(clock=test_clock, moment=START + DAY)
    test_clock.refresh_from_db()
    assert test_clock.frozen_time == START


def test_clock_never_moves_back_during_an_advance() -> None:
    test_clock = clock_services.test_clock_advance_start(test_clock=new_clock(), frozen_time=START + 5 * DAY)
    advance.clock_move_to(clock=test_clock, moment=START + 2 * DAY)
    advance.clock_move_to(clock=test_clock, moment=START + DAY)
    test_clock.refresh_from_db()
    assert test_clock.frozen_time == START + 2 * DAY


def test_deletes_after_is_thirty_days_after_creation_in_real_time() -> None:
    with clock.frozen_at(dt.datetime(2026, 5, 1, tzinfo=dt.UTC)):
        test_clock = new_clock()
    assert test_clock.deletes_after == dt.datetime(2026, 5, 31, tzinfo=dt.UTC)
