"""The billing engine's background work: find what is due, claim it, do it, release it.

Due work is a row. A subscription whose ``next_action_at`` has come needs ``subscription_advance``
(a renewal, a trial end, a scheduled cancellation or change); an invoice whose
``next_payment_attempt`` has come needs ``dunning.invoice_retry_due`` (an automatic draft to
finalize and charge, an open invoice to charge, a dunning retry).

Any number of workers can share a database. A worker claims a batch of rows by setting their
``claimed_until`` to now + ``LEASE`` in one short transaction, works through them with no
transaction of its own open (payments call the processor outside transactions), and clears
the claims. On PostgreSQL the batch is chosen with ``SELECT ... FOR UPDATE SKIP LOCKED``, so
workers claiming at the same moment take different rows without waiting for each other; on
SQLite, which has one writer at a time, each row is claimed with a conditional ``UPDATE`` that
only succeeds while nobody else holds it, and the workers take turns row by row (``sqlite_turn``).
A worker that dies keeps its claims until the lease runs out, then another takes the rows over.
Claims only keep workers apart: the work itself re-checks the row's state under a row lock and
is safe to run twice, so a row taken over after a crash is finished, never done again.

Customers on a test clock are left out: their time moves only when the clock is advanced, and
``advance_test_clock`` (an advance hook, registered by the billing app) does their work then.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TypeVar

from django.db import connection, transaction
from django.db.models import Exists, Model, OuterRef, Q, QuerySet

from billfold.billing import dunning
from billfold.billing.models import Invoice, Subscription
from billfold.billing.subscriptions.advance import subscription_advance
from billfold.billing.subscriptions.batch import subscriptions_renew_batch
from billfold.clocks.advance import clock_move_to
from billfold.clocks.models import TestClock
from billfold.core import clock as core_clock

logger = logging.getLogger("billfold.worker")

# How long a claim keeps other workers off a row. Far longer than one row takes (milliseconds),
# and the wait before another worker takes over the rows of a worker that died.
LEASE = dt.timedelta(minutes=5)

Row = TypeVar("Row", Subscription, Invoice)


@contextmanager
def sqlite_turn() -> Iterator[None]:
    """On SQLite, the workers of one database take turns: one claims or works on a row at a time.

    SQLite has one writer at a time, and a writer that finds the database busy polls for it with
    growing sleeps. A worker writes in many short transactions with barely a gap between them, so
    a second worker polling beside it could miss every gap until its busy timeout ran out ("database
    is locked"). Waiting on a file lock instead wakes it as soon as the other lets go. PostgreSQL
    needs none of this: its workers run side by side.
    """
    if connection.vendor != "sqlite":
        yield
        return
    with open(f"{connection.settings_dict['NAME']}.worker-lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _unclaimed(now: dt.datetime) -> Q:
    return Q(claimed_until__isnull=True) | Q(claimed_until__lte=now)


def subscriptions_due(*, now: dt.datetime, livemode: bool) -> QuerySet[Subscription]:
    """Subscriptions of customers on real time with work due at ``now``, earliest first."""
    return Subscription.objects.filter(
        livemode=livemode, next_action_at__lte=now, customer__test_clock__isnull=True
    ).order_by("next_action_at")


def invoices_due(*, now: dt.datetime, livemode: bool) -> QuerySet[Invoice]:
    """Invoices of customers on real time with a payment attempt due at ``now``, earliest first.

    An invoice whose subscription a worker is advancing is left to that worker, which is about
    to charge it: a retry beside it would count one payment attempt twice.
    """
    advancing = Subscription.objects.filter(public_id=OuterRef("subscription_id"), claimed_until__gt=now)
    return (
        Invoice.objects.filter(
            livemode=livemode,
            next_payment_attempt__lte=now,
            status__in=("draft", "open"),
            collection_method="charge_automatically",
            auto_advance=True,
            customer__test_clock__isnull=True,
        )
        .exclude(Exists(advancing))
        .order_by("next_payment_attempt")
    )


def claim(due: QuerySet[Row], *, now: dt.datetime, limit: int) -> list[int]:
    """Claim up to ``limit`` rows of ``due`` that nobody holds, until now + LEASE; their pks."""
    model = due.model
    until = now + LEASE
    unclaimed = due.filter(_unclaimed(now))
    if connection.vendor == "postgresql":
        with transaction.atomic():
            # Rows another worker is claiming right now are skipped, not waited for.
            locked = unclaimed.select_for_update(skip_locked=True, of=("self",))
            ids = list(locked.values_list("pk", flat=True)[:limit])
            if ids:
                model.objects.filter(pk__in=ids).update(claimed_until=until)
        return ids
    claimed: list[int] = []
    with sqlite_turn(), transaction.atomic():
        for pk in list(unclaimed.values_list("pk", flat=True)[:limit]):
            # Only one worker's UPDATE finds the row unclaimed; the others change nothing.
            if model.objects.filter(_unclaimed(now), pk=pk).update(claimed_until=until) == 1:
                claimed.append(pk)
    return claimed


def release(model: type[Model], ids: Iterable[int]) -> None:
    """Clear the claims on these rows (the work is done, or given back unstarted)."""
    ids = list(ids)
    if ids:
        # In a transaction, which on SQLite takes the write lock up front (waiting its turn), where a
        # lone UPDATE could fail at once with "database is locked" if another worker wrote meanwhile.
        with sqlite_turn(), transaction.atomic():
            model._default_manager.filter(pk__in=ids).update(claimed_until=None)


@dataclass
class BatchReport:
    """What one batch did: rows worked through, rows whose work raised (kept claimed until their lease
    runs out, then tried again), and rows given back unstarted because the worker was asked to stop."""

    subscriptions: int = 0
    invoices: int = 0
    failed: list[str] = field(default_factory=list)
    returned: int = 0

    @property
    def worked(self) -> int:
        return self.subscriptions + self.invoices


def _never() -> bool:
    return False


def _work_through(
    model: type[Row],
    ids: list[int],
    work: Callable[[int], object],
    *,
    report: BatchReport,
    should_stop: Callable[[], bool],
) -> int:
    done: list[int] = []
    for index, pk in enumerate(ids):
        if should_stop():
            # Given back at once, so another worker need not wait for the lease.
            release(model, ids[index:])
            report.returned += len(ids) - index
            break
        try:
            with sqlite_turn():
                work(pk)
        except Exception:
            # One row's bug must not stop the others; its claim stays until the lease runs out,
            # which spaces out the retries of a row that keeps failing.
            logger.exception("Working on %s %s failed; it will be retried after its claim expires", model.__name__, pk)
            report.failed.append(f"{model.__name__.lower()} {pk}")
        else:
            done.append(pk)
    release(model, done)
    return len(done)


def _renew_together(ids: list[int], report: BatchReport) -> list[int]:
    """Renew the ordinary renewals among the claimed ``ids`` as one batch (``subscriptions_renew_batch``)
    and release them; the others are returned, for ``subscription_advance`` row by row."""
    try:
        batch = subscriptions_renew_batch(ids=ids, now=core_clock.now())
    except Exception:
        # Its first phase rolled back, so nothing was written: each row is tried on its own.
        logger.exception("Renewing %d subscriptions together failed; renewing them one by one", len(ids))
        return ids
    release(Subscription, batch.renewed)
    report.subscriptions += len(batch.renewed)
    rest = set(batch.rest)
    return [pk for pk in ids if pk in rest]


def work_batch(*, limit: int = 100, should_stop: Callable[[], bool] = _never) -> BatchReport:
    """Claim and work through up to ``limit`` due subscriptions, then up to ``limit`` due invoices
    (live mode first). ``should_stop`` is asked between rows: a worker asked to stop finishes the
    row it is on and gives the rest back."""
    report = BatchReport()
    for livemode in (True, False):
        if should_stop():
            break
        now = core_clock.now()
        ids = claim(subscriptions_due(now=now, livemode=livemode), now=now, limit=limit)
        if ids and not should_stop():
            ids = _renew_together(ids, report)
        report.subscriptions += _work_through(
            Subscription,
            ids,
            lambda pk: subscription_advance(subscription_id=pk, now=core_clock.now()),
            report=report,
            should_stop=should_stop,
        )
        if should_stop():
            break
        now = core_clock.now()
        ids = claim(invoices_due(now=now, livemode=livemode), now=now, limit=limit)
        report.invoices += _work_through(
            Invoice,
            ids,
            lambda pk: dunning.invoice_retry_due(invoice_id=pk, now=core_clock.now()),
            report=report,
            should_stop=should_stop,
        )
    return report


# --- test clocks ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _DueOnClock:
    model: type[Subscription] | type[Invoice]
    pk: int
    due: dt.datetime


def _earliest_due_on_clock(test_clock: TestClock, until: dt.datetime) -> _DueOnClock | None:
    subscription = (
        Subscription.objects.filter(customer__test_clock=test_clock, next_action_at__lte=until)
        .order_by("next_action_at", "pk")
        .values_list("pk", "next_action_at")
        .first()
    )
    invoice = (
        Invoice.objects.filter(
            customer__test_clock=test_clock,
            next_payment_attempt__lte=until,
            status__in=("draft", "open"),
            collection_method="charge_automatically",
            auto_advance=True,
        )
        .order_by("next_payment_attempt", "pk")
        .values_list("pk", "next_payment_attempt")
        .first()
    )
    candidates: list[_DueOnClock] = []
    if subscription is not None and subscription[1] is not None:
        candidates.append(_DueOnClock(Subscription, subscription[0], subscription[1]))
    if invoice is not None and invoice[1] is not None:
        candidates.append(_DueOnClock(Invoice, invoice[0], invoice[1]))
    # At the same moment subscriptions go first: a fixed order keeps a clock's runs repeatable.
    return min(candidates, key=lambda c: (c.due, c.model is Invoice), default=None)


def advance_test_clock(*, clock: TestClock, until: dt.datetime) -> None:
    """The advance hook: do the work due on ``clock`` up to ``until``, one row at a time in time
    order, each with the clock moved to its due moment and the process's time frozen there, so
    every row and event written carries the clock's time.

    Each piece of work commits on its own (payments cannot run in a transaction), so a failure
    leaves the clock at the last moment whose work is done, and advancing again carries on.
    """
    last: _DueOnClock | None = None
    while (due := _earliest_due_on_clock(clock, until)) is not None:
        if due == last:
            raise RuntimeError(
                f"{due.model.__name__} {due.pk} is still due at {due.due.isoformat()} after its work ran; "
                "the billing engine did not move it on."
            )
        last = due
        clock_move_to(clock=clock, moment=due.due)
        moment = max(due.due, clock.frozen_time)
        # The clock's time for this thread only: requests the process serves meanwhile keep the real time.
        with core_clock.thread_own_time(), core_clock.frozen_at(moment):
            if due.model is Subscription:
                subscription_advance(subscription_id=due.pk, now=moment)
            else:
                dunning.invoice_retry_due(invoice_id=due.pk, now=moment)


# Runs without a transaction around it: the payments it makes commit before the processor is asked.
advance_test_clock.commits_itself = True  # type: ignore[attr-defined]
