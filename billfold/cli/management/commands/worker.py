"""``billfold worker``: the billing engine's background process.

Renews subscriptions, ends trials, applies scheduled cancellations and changes, and collects due
invoice payments (first charges and dunning retries), a batch at a time (billing/renewals.py).
Alongside, it finishes payment attempts a crashed process left open and forgets expired
Idempotency-Keys, and sends queued emails (emails/sending.py). Run as many as you like on one
PostgreSQL database; on SQLite they take turns, so one is enough.
Webhook deliveries go out from a small pool of threads of their own (events/delivery.py).
SIGTERM or Ctrl+C stops it once the row it is working on is done.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import signal
import time
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from billfold.api.idempotency import purge_expired
from billfold.billing.renewals import BatchReport, work_batch
from billfold.core import clock
from billfold.emails.sending import sender_running
from billfold.events.delivery import DeliveryThreads
from billfold.payments.intents import payment_attempts_resume

logger = logging.getLogger("billfold.worker")

# How often the housekeeping runs (resuming interrupted payments, purging idempotency keys).
HOUSEKEEPING_EVERY = dt.timedelta(minutes=1)
# A payment attempt still open after this long belongs to a process that died (a live request's
# attempt takes seconds); finishing it asks the processor with the same key, so it never charges twice.
ATTEMPT_ABANDONED_AFTER = dt.timedelta(minutes=2)
# While waiting for work, how often a stop request is noticed.
SLEEP_SLICE = 0.2


def _positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def _seconds(value: str) -> float:
    number = float(value)
    if number < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return number


class Command(BaseCommand):
    help = (
        "Run the billing worker: subscription renewals, trial ends, scheduled cancellations, invoice payments "
        "and their retries. Stops after the current row on SIGTERM or Ctrl+C."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--once", action="store_true", help="do what is due now, then exit (cron, scripts)")
        parser.add_argument(
            "--batch", type=_positive_int, default=100, help="rows claimed at a time (default: %(default)s)"
        )
        parser.add_argument(
            "--sleep",
            type=_seconds,
            default=5.0,
            help="seconds to wait when nothing is due before looking again (default: %(default)s)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        self.stopping = False
        previous = {sig: signal.signal(sig, self._stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        # Webhook deliveries: their own threads, so neither they nor the billing run waits on the other.
        webhooks = DeliveryThreads(should_stop=self._should_stop, exit_when_idle=options["once"])
        webhooks.start()
        try:
            # Emails go out from a thread of their own too (emails/sending.py), stopped and waited for at the end.
            with sender_running(should_stop=self._should_stop, once=options["once"], say=self._say):
                self._run(once=options["once"], batch=options["batch"], sleep=options["sleep"])
        finally:
            webhooks.finish()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        if not self.stopping:
            self._say(f"{signal.Signals(signum).name} received: stopping after the current row")
        self.stopping = True

    def _should_stop(self) -> bool:
        return self.stopping

    def _say(self, message: str) -> None:
        stamp = clock.now().strftime("%Y-%m-%d %H:%M:%S")
        self.stdout.write(f"{stamp} worker: {message}")
        self.stdout.flush()

    def _run(self, *, once: bool, batch: int, sleep: float) -> None:
        self._say(f"started (batch {batch}, {'once' if once else f'sleeping {sleep:g} s when idle'})")
        next_housekeeping = 0.0
        failed = 0
        while not self.stopping:
            if time.monotonic() >= next_housekeeping:
                self._housekeeping()
                next_housekeeping = time.monotonic() + HOUSEKEEPING_EVERY.total_seconds()
            started = time.monotonic()
            try:
                report = work_batch(limit=batch, should_stop=self._should_stop)
            except Exception as error:
                logger.exception("A batch of the billing worker failed")
                if once:
                    raise CommandError(f"The worker stopped on an error: {type(error).__name__}: {error}") from error
                # The database went away or a query failed: start again on a fresh connection.
                self.stderr.write(f"worker: batch failed ({type(error).__name__}: {error}); retrying in {sleep:g} s")
                connection.close()
                self._wait(sleep)
                continue
            failed += len(report.failed)
            if report.worked or report.failed:
                self._say(_describe(report, time.monotonic() - started))
            if report.worked == 0:
                if once:
                    break
                self._wait(sleep)
        self._say("stopped")
        if once and failed:
            # For cron and scripts: the run did not do everything that was due.
            raise CommandError(f"{failed} row{'s' if failed != 1 else ''} failed (see the log above); retried later.")

    def _housekeeping(self) -> None:
        resumed = payment_attempts_resume(older_than=ATTEMPT_ABANDONED_AFTER)
        # A transaction takes SQLite's write lock up front, so the DELETE waits its turn.
        with transaction.atomic():
            purged = purge_expired()
        if resumed:
            self._say(f"finished {resumed} payment attempt{'s' if resumed != 1 else ''} left open by a stopped process")
        if purged:
            self._say(f"forgot {purged} expired Idempotency-Key{'s' if purged != 1 else ''}")

    def _wait(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self.stopping and (left := deadline - time.monotonic()) > 0:
            time.sleep(min(SLEEP_SLICE, left))


def _describe(report: BatchReport, seconds: float) -> str:
    parts = [
        f"{report.subscriptions} subscription{'s' if report.subscriptions != 1 else ''} advanced",
        f"{report.invoices} invoice payment{'s' if report.invoices != 1 else ''} due handled",
    ]
    if report.failed:
        shown = ", ".join(report.failed[:5]) + (", ..." if len(report.failed) > 5 else "")
        parts.append(f"{len(report.failed)} failed and will be retried ({shown})")
    if report.returned:
        parts.append(f"{report.returned} given back unstarted")
    rate = f", {report.worked / seconds:.0f}/s" if seconds > 0 and report.worked else ""
    return f"{'; '.join(parts)} in {seconds:.2f} s{rate}"
