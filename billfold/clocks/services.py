"""Writes for test clocks: create, delete, and advance (start, run the advance hooks, finish).

An advance is two steps so that it can run in a worker and be resumed: ``test_clock_advance_start``
checks the request and marks the clock ``advancing`` towards its target; ``test_clock_advance_run``
runs the registered advance hooks up to that target and marks it ``ready`` (or ``internal_failure``).
Running it again for the same clock and target does nothing more than the first run did.
"""

from __future__ import annotations

import datetime as dt
import logging
from contextlib import nullcontext

from django.db import transaction

from billfold.clocks import advance, selectors
from billfold.clocks.models import TestClock
from billfold.core import clock as core_clock
from billfold.core.errors import DomainError, InvalidParam
from billfold.core.ids import new_id
from billfold.customers.services import customer_delete
from billfold.events.rendering import render_object
from billfold.events.services import event_record

logger = logging.getLogger("billfold.clocks")

# Stripe deletes a test clock (and everything on it) this long after it was made.
LIFETIME = dt.timedelta(days=30)
# How far one advance may go when no advance limit (subscriptions) has a say, as Stripe.
DEFAULT_ADVANCE_YEARS = 2


class LiveModeRefused(DomainError):
    def __init__(self) -> None:
        super().__init__(
            "Test clocks exist in test mode only. Use a test-mode secret key (sk_test_...) for "
            "/v1/test_helpers/test_clocks and for customers attached to a test clock."
        )


def require_test_mode(livemode: bool) -> None:
    if livemode:
        raise LiveModeRefused()


def describe(moment: dt.datetime) -> str:
    """A time as people and programs both read it in a message: ISO 8601 and Unix seconds."""
    return f"{moment.strftime('%Y-%m-%dT%H:%M:%SZ')} ({core_clock.to_unix(moment)})"


def _add_years(moment: dt.datetime, years: int) -> dt.datetime:
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:
        # 29 February has no twin in the target year.
        return moment.replace(year=moment.year + years, day=28)


def advance_limit(test_clock: TestClock) -> dt.datetime:
    """The latest ``frozen_time`` one advance of this clock may reach."""
    bounds = [bound for limit in advance.advance_limits() if (bound := limit(clock=test_clock)) is not None]
    if bounds:
        return min(bounds)
    return _add_years(test_clock.frozen_time, DEFAULT_ADVANCE_YEARS)


@transaction.atomic
def test_clock_create(*, livemode: bool, frozen_time: dt.datetime, name: str | None = None) -> TestClock:
    require_test_mode(livemode)
    created = core_clock.now()
    test_clock = TestClock.objects.create(
        public_id=new_id("clock"),
        livemode=False,
        created=created,
        name=name,
        frozen_time=frozen_time,
        deletes_after=created + LIFETIME,
    )
    event_record(type="test_helpers.test_clock.created", obj=test_clock, livemode=False)
    return test_clock


@transaction.atomic
def test_clock_delete(*, test_clock: TestClock) -> TestClock:
    """Delete the clock and, as Stripe does, every customer on it (through ``customer_delete``)."""
    test_clock = TestClock.objects.select_for_update().get(pk=test_clock.pk)
    if test_clock.status == TestClock.ADVANCING:
        raise DomainError(
            f"Test clock {test_clock.public_id} is advancing to {describe(_target(test_clock))}; delete it once "
            "its status is ready."
        )
    for customer in selectors.test_clock_customers(test_clock=test_clock).order_by("pk"):
        customer_delete(customer=customer)
    rendered = render_object(test_clock)
    test_clock.deleted = True
    test_clock.save(update_fields=["deleted"])
    event_record(type="test_helpers.test_clock.deleted", obj=test_clock, livemode=False, rendered=rendered)
    return test_clock


def test_clock_advance(*, test_clock: TestClock, frozen_time: dt.datetime) -> TestClock:
    """Move the clock to ``frozen_time``, running all work due for its customers on the way.

    Runs in the caller's process for now; a worker can take over by calling only
    ``test_clock_advance_start`` here and ``test_clock_advance_run`` there.
    """
    started = test_clock_advance_start(test_clock=test_clock, frozen_time=frozen_time)
    return test_clock_advance_run(test_clock=started)


@transaction.atomic
def test_clock_advance_start(*, test_clock: TestClock, frozen_time: dt.datetime) -> TestClock:
    """Check the target and mark the clock ``advancing`` towards it (event ``...advancing``).

    Asking again for the target a clock is already advancing to is accepted, so an advance whose
    run was interrupted can be resumed.
    """
    test_clock = TestClock.objects.select_for_update().get(pk=test_clock.pk)
    require_test_mode(test_clock.livemode)
    if test_clock.status == TestClock.ADVANCING:
        target = _target(test_clock)
        if frozen_time == target:
            return test_clock
        raise DomainError(
            f"Test clock {test_clock.public_id} is already advancing to {describe(target)}. Wait until its "
            "status is ready, or advance it to that same time again to resume an interrupted advance."
        )
    if frozen_time <= test_clock.frozen_time:
        raise InvalidParam(
            f"frozen_time must be after the test clock's current frozen time, {describe(test_clock.frozen_time)}; "
            f"got {describe(frozen_time)}. A test clock only moves forward.",
            param="frozen_time",
        )
    limit = advance_limit(test_clock)
    if frozen_time > limit:
        raise InvalidParam(
            f"frozen_time {describe(frozen_time)} is too far ahead: one advance of this test clock can reach "
            f"{describe(limit)} at most (two intervals of its shortest subscription, or two years when it "
            "has none). Advance in several steps.",
            param="frozen_time",
        )
    test_clock.status = TestClock.ADVANCING
    test_clock.status_details = {"advancing": {"target_frozen_time": core_clock.to_unix(frozen_time)}}
    test_clock.save(update_fields=["status", "status_details"])
    event_record(type="test_helpers.test_clock.advancing", obj=test_clock, livemode=False)
    return test_clock


def test_clock_advance_run(*, test_clock: TestClock) -> TestClock:
    """Run every advance hook up to the clock's target, then mark it ``ready`` at that time.

    A clock that is not advancing (already finished, or failed) is returned as it is. Each hook runs
    in a savepoint; one that raises is logged, its writes are undone, the clock keeps the time the
    earlier hooks reached and becomes ``internal_failure``, and the remaining hooks do not run.
    Advancing it again reruns every hook, which skip the work they have already done.
    """
    test_clock.refresh_from_db()
    until = advance.advancing_target(test_clock)
    if until is None:
        return test_clock
    for hook in advance.advance_hooks():
        try:
            with nullcontext() if advance.hook_commits_itself(hook) else transaction.atomic():
                hook(clock=test_clock, until=until)
        except Exception as error:
            # Any failure of a hook is a server-side bug; the clock must record it, not crash the caller.
            logger.exception("Advancing test clock %s to %s failed in %s", test_clock.public_id, until, hook)
            return _advance_failed(test_clock=test_clock, until=until, hook=hook, error=error)
    return _advance_finished(test_clock=test_clock, until=until)


@transaction.atomic
def _advance_finished(*, test_clock: TestClock, until: dt.datetime) -> TestClock:
    test_clock.refresh_from_db()
    test_clock.frozen_time = until
    test_clock.status = TestClock.READY
    test_clock.status_details = {}
    test_clock.save(update_fields=["frozen_time", "status", "status_details"])
    event_record(type="test_helpers.test_clock.ready", obj=test_clock, livemode=False)
    return test_clock


@transaction.atomic
def _advance_failed(
    *, test_clock: TestClock, until: dt.datetime, hook: advance.AdvanceHook, error: Exception
) -> TestClock:
    # The hook's savepoint was rolled back, including any move of the clock it made.
    test_clock.refresh_from_db()
    test_clock.status = TestClock.INTERNAL_FAILURE
    test_clock.status_details = {
        "internal_failure": {
            "target_frozen_time": core_clock.to_unix(until),
            "failed_step": advance.hook_name(hook),
            "message": f"{type(error).__name__}: {error}"[:500],
        }
    }
    test_clock.save(update_fields=["status", "status_details"])
    event_record(type="test_helpers.test_clock.internal_failure", obj=test_clock, livemode=False)
    return test_clock


def _target(test_clock: TestClock) -> dt.datetime:
    target = advance.advancing_target(test_clock)
    return target if target is not None else test_clock.frozen_time
