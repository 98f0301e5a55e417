"""Billing run: N subscriptions all due at once, renewed by `billfold worker` processes.

    .venv/bin/python -m bench.billing_run [--n 10000] [--workers 1,2] [--sqlite | --postgres] [--batch 100]
    .venv/bin/python -m bench.billing_run --n 2000 --profile     # where one worker spends its time

For each worker count: a fresh data folder (and, with --postgres, a fresh PostgreSQL database,
dropped afterwards), N customers each with a card and a monthly subscription whose period ends
now, then that many ``billfold worker --once`` processes started together and timed until all
have exited. Each renewal is the whole cycle: renewal invoice created and finalized (numbered),
card charged through a PaymentIntent (attempt row, charge), invoice paid, subscription moved to its
next period, and every event row. Prints renewals per second and the peak RSS of the worker
processes (from the kernel's accounting of each exited child), then checks the outcome: exactly
one paid cycle invoice and one succeeded charge per subscription. See bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BILLFOLD = Path(sys.executable).with_name("billfold")
# Rows written per INSERT while populating.
CHUNK = 2000


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@contextlib.contextmanager
def postgres_database(server_url: str) -> Iterator[str]:
    """A new, empty database on ``server_url``; dropped afterwards even if the run fails."""
    import psycopg

    name = f"bench_billing_{secrets.token_hex(4)}"
    admin = f"{server_url.rstrip('/')}/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{server_url.rstrip('/')}/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(args, env=env, capture_output=True, text=True, timeout=3600)
    if result.returncode != 0:
        raise SystemExit(f"`{' '.join(args)}` failed:\n{result.stdout}{result.stderr}")
    return result.stdout


def this_module(env: dict[str, str], *args: str) -> str:
    """This module's hidden steps, run in a child process set up for the benchmark's database."""
    return run(env, sys.executable, "-m", "bench.billing_run", *args)


# --- inside the child process: populate and verify --------------------------------------------------


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "billfold.settings")
    import django

    django.setup()


def populate(n: int) -> None:
    """N customers with a card and a monthly subscription whose period ends now.

    One subscription is made through the services (as the API would), a month ago; the others
    are copies of its rows, written in bulk: each its own customer (own invoice numbering), card,
    subscription and item, with new ids, exactly what the services would have written for them
    apart from their creation events.
    """
    _django()
    import datetime as dt

    from django.db import transaction

    from billfold.billing.models import Subscription, SubscriptionItem
    from billfold.billing.subscriptions.common import live_items, next_invoice_at, schedule
    from billfold.billing.subscriptions.creation import NewSubscription
    from billfold.billing.subscriptions.services import subscription_create
    from billfold.catalog.services import price_create
    from billfold.core import clock
    from billfold.core.ids import new_id
    from billfold.customers.models import Customer
    from billfold.customers.services import customer_create
    from billfold.payments.models import PaymentMethod

    started = clock.now()
    # A month ago, so that the first period ends now (no month is longer than 31 days).
    with clock.frozen_at(started - dt.timedelta(days=31)):
        price = price_create(
            livemode=False,
            values={
                "product_data": {"name": "Pro"},
                "currency": "usd",
                "unit_amount": 1000,
                "recurring": {"interval": "month"},
            },
        )
        template_customer = customer_create(
            livemode=False,
            values={
                "email": "bench@example.com",
                "payment_method": "pm_card_visa",
                "invoice_settings": {"default_payment_method": "pm_card_visa"},
            },
        )
        template = subscription_create(
            customer=template_customer, livemode=False, spec=NewSubscription(items=[{"price": price}])
        )
    template.refresh_from_db()
    # The worker sent invoice.upcoming a week before the renewal (BILLFOLD_UPCOMING_RENEWAL_DAYS), as it
    # does for every subscription: what is due now is the renewal alone.
    template_items = live_items(template)
    template.upcoming_renewal_sent_for = next_invoice_at(template, template_items)
    schedule(template, template_items)
    template.save(update_fields=["upcoming_renewal_sent_for", "next_action_at"])
    if template.status != "active" or template.next_action_at is None or template.next_action_at > started:
        raise SystemExit(f"The template subscription is {template.status}, next action {template.next_action_at}.")
    template_card = PaymentMethod.objects.get(customer=template_customer)
    template_items = list(SubscriptionItem.objects.filter(subscription=template))

    def copy(instance: Any, **changes: Any) -> Any:
        model = type(instance)
        values = {f.attname: getattr(instance, f.attname) for f in model._meta.concrete_fields if not f.primary_key}
        return model(**{**values, **changes})

    made = 0
    while made < n:
        count = min(CHUNK, n - made)
        with transaction.atomic():
            customers = Customer.objects.bulk_create(
                [
                    copy(
                        template_customer,
                        public_id=new_id("cus"),
                        email=f"bench{made + i}@example.com",
                        invoice_prefix=f"B{made + i:07d}",
                        next_invoice_sequence=1,
                        invoice_settings={},
                    )
                    for i in range(count)
                ]
            )
            cards = PaymentMethod.objects.bulk_create(
                [copy(template_card, public_id=new_id("pm"), customer_id=c.pk) for c in customers]
            )
            for customer, card in zip(customers, cards, strict=True):
                customer.invoice_settings = {
                    **template_customer.invoice_settings,
                    "default_payment_method": card.public_id,
                }
            Customer.objects.bulk_update(customers, ["invoice_settings"])
            subscriptions = Subscription.objects.bulk_create(
                [
                    copy(
                        template,
                        public_id=new_id("sub"),
                        customer_id=customer.pk,
                        latest_invoice_id=None,
                        default_payment_method_id=None,
                        claimed_until=None,
                    )
                    for customer in customers
                ]
            )
            SubscriptionItem.objects.bulk_create(
                [
                    copy(item, public_id=new_id("si"), subscription_id=subscription.pk)
                    for subscription in subscriptions
                    for item in template_items
                ]
            )
        made += count
    # The template itself is due too: it is renewed with the others.
    print(json.dumps({"subscriptions": n + 1, "due_at": clock.to_unix(template.next_action_at)}))


def verify() -> None:
    """What the run produced, as JSON: one paid cycle invoice and one succeeded charge per subscription?"""
    _django()
    from django.db.models import Count

    from billfold.billing.models import Invoice, Subscription
    from billfold.core import clock
    from billfold.events.models import Event
    from billfold.payments.models import Charge

    now = clock.now()
    cycle = Invoice.objects.filter(billing_reason="subscription_cycle")
    per_subscription = cycle.values("subscription_id").annotate(n=Count("pk"))
    # The charges of the renewals (the template subscription's first payment is not one).
    charges = Charge.objects.filter(payment_intent__in=cycle.values("payment_intent"))
    print(
        json.dumps(
            {
                "subscriptions": Subscription.objects.count(),
                "still_due": Subscription.objects.filter(next_action_at__lte=now).count(),
                "cycle_invoices": cycle.count(),
                "cycle_invoices_paid": cycle.filter(status="paid").count(),
                "subscriptions_invoiced_twice": per_subscription.filter(n__gt=1).count(),
                "charges_succeeded": charges.filter(status="succeeded").count(),
                "charges_failed": charges.filter(status="failed").count(),
                "events": Event.objects.count(),
            }
        )
    )


# --- the runs ---------------------------------------------------------------------------------------


@dataclass
class Figure:
    database: str
    workers: int
    renewals: int
    seconds: float
    # Largest peak resident set of one worker process, in MiB, and the largest part of it that was
    # the process's own memory rather than mapped database pages.
    peak_rss_mib: float
    anonymous_rss_mib: float
    # CPU time the worker processes used per renewal (not the database server's), in ms: unlike the
    # rate, it does not depend on what else the machine runs.
    cpu_ms: float
    outcome: dict[str, int]

    @property
    def per_second(self) -> float:
        return self.renewals / self.seconds if self.seconds else 0.0


def anonymous_rss_kib(pid: int) -> int:
    """The process's resident memory that is its own (heap, stacks), not file pages it maps.

    SQLite maps the database file into memory (PRAGMA mmap_size), so the total RSS also counts
    the pages of the database it has read; RssAnon is what would grow if the worker leaked.
    """
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("RssAnon:"):
                return int(line.split()[1])
    except OSError:
        pass  # it has just exited
    return 0


def run_workers(env: dict[str, str], workers: int, batch: int, workdir: Path) -> tuple[float, float, float, float]:
    """Start ``workers`` `billfold worker --once` processes together and wait until all have exited.

    Returns the wall seconds, the largest peak RSS of one worker (MiB, from the kernel's rusage of
    each exited child), the largest anonymous RSS seen in one worker (MiB, sampled from /proc) and
    the CPU seconds (user + system) the workers used together.
    """
    started = time.perf_counter()
    running: dict[int, int] = {}
    for index in range(workers):
        with (workdir / f"worker-{index}.log").open("wb") as out:
            process = subprocess.Popen(
                [str(BILLFOLD), "worker", "--once", "--batch", str(batch)],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        running[process.pid] = index
    peak_kib = anonymous_kib = 0
    cpu = 0.0
    failed = []
    while running:
        for pid in list(running):
            anonymous_kib = max(anonymous_kib, anonymous_rss_kib(pid))
            # wait4 gives this child's own rusage; ru_maxrss is its peak RSS in KiB on Linux.
            done, status, usage = os.wait4(pid, os.WNOHANG)
            if done == 0:
                continue
            peak_kib = max(peak_kib, usage.ru_maxrss)
            cpu += usage.ru_utime + usage.ru_stime
            if os.waitstatus_to_exitcode(status) != 0:
                failed.append(running[pid])
            del running[pid]
        time.sleep(0.2)
    seconds = time.perf_counter() - started
    for index in failed:
        log((workdir / f"worker-{index}.log").read_text()[-3000:])
    if failed:
        raise SystemExit(f"worker(s) {failed} failed")
    return seconds, peak_kib / 1024, anonymous_kib / 1024, cpu


def one_run(args: argparse.Namespace, workers: int) -> Figure:
    with tempfile.TemporaryDirectory(prefix="billfold-billing-bench-") as tmp, contextlib.ExitStack() as stack:
        workdir = Path(tmp)
        env = {**os.environ, "BILLFOLD_DATA_DIR": str(workdir / "data"), "DJANGO_SETTINGS_MODULE": "billfold.settings"}
        env.pop("DATABASE_URL", None)
        if args.postgres:
            env["DATABASE_URL"] = stack.enter_context(postgres_database(args.postgres_server))
        database = "PostgreSQL" if args.postgres else "SQLite"
        run(env, str(BILLFOLD), "migrate", "--verbosity", "0")
        # Then the tables of apps that have no migrations yet, made from the models (after the
        # others, which they point at).
        run(env, str(BILLFOLD), "migrate", "--run-syncdb", "--verbosity", "0")
        log(f"{database}, {workers} worker(s): creating {args.n:,} due subscriptions...")
        populated_at = time.perf_counter()
        made = json.loads(this_module(env, "_populate", str(args.n)).strip().splitlines()[-1])
        log(f"  made in {time.perf_counter() - populated_at:.1f} s; renewing...")
        if args.profile:
            profile(env, workdir)
            return Figure(database, 1, 0, 0.0, 0.0, 0.0, 0.0, {})
        seconds, peak, anonymous, cpu = run_workers(env, workers, args.batch, workdir)
        outcome = json.loads(this_module(env, "_verify").strip().splitlines()[-1])
        renewals = made["subscriptions"]
        figure = Figure(database, workers, renewals, seconds, peak, anonymous, cpu / renewals * 1000, outcome)
        log(
            f"  {figure.renewals:,} renewals in {seconds:.1f} s: {figure.per_second:,.1f}/s, "
            f"{figure.cpu_ms:.0f} ms of worker CPU each, peak RSS {peak:.0f} MiB (own memory {anonymous:.0f} MiB)"
        )
        return figure


def profile(env: dict[str, str], workdir: Path) -> None:
    """One worker under cProfile, in this process's child; prints the costliest functions."""
    stats = workdir / "worker.prof"
    run(
        env,
        sys.executable,
        "-m",
        "cProfile",
        "-o",
        str(stats),
        str(BILLFOLD),
        "worker",
        "--once",
    )
    import pstats

    for order in ("cumulative", "tottime"):
        print(f"\n== by {order}")
        pstats.Stats(str(stats)).sort_stats(order).print_stats(40)


def check(figure: Figure) -> list[str]:
    expected = figure.renewals
    outcome = figure.outcome
    problems = []
    for key in ("cycle_invoices", "cycle_invoices_paid", "charges_succeeded"):
        if outcome.get(key) != expected:
            problems.append(f"{key}: {outcome.get(key)} instead of {expected}")
    for key in ("still_due", "subscriptions_invoiced_twice", "charges_failed"):
        if outcome.get(key):
            problems.append(f"{key}: {outcome.get(key)}")
    return problems


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["_populate"]:
        return populate(int(argv[1]))
    if argv[:1] == ["_verify"]:
        return verify()
    parser = argparse.ArgumentParser(prog="python -m bench.billing_run", description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=10_000, help="subscriptions due at once (default: %(default)s)")
    parser.add_argument("--workers", default="1,2", help="worker process counts to run, comma-separated (default: 1,2)")
    parser.add_argument("--batch", type=int, default=100, help="rows each worker claims at a time (default: 100)")
    database = parser.add_mutually_exclusive_group()
    database.add_argument("--sqlite", action="store_true", help="SQLite in a new data folder (the default)")
    database.add_argument("--postgres", action="store_true", help="a new PostgreSQL database, dropped afterwards")
    parser.add_argument(
        "--postgres-server",
        default="postgresql://postgres@127.0.0.1:5432",
        help="where --postgres creates its database (default: %(default)s)",
    )
    parser.add_argument("--profile", action="store_true", help="profile one worker (cProfile) instead of timing")
    args = parser.parse_args(argv)
    if not BILLFOLD.exists():
        raise SystemExit(f"{BILLFOLD} not found: install Billfold into this environment (pip install -e .)")
    counts = [1] if args.profile else [int(c) for c in args.workers.split(",")]
    figures = [one_run(args, workers) for workers in counts]
    if args.profile:
        return None
    print(f"\nBillfold billing run: {args.n + 1:,} subscriptions due at once, {os.cpu_count()} cores\n")
    print(
        "| database | workers | renewals | seconds | renewals/s | worker CPU ms/renewal "
        "| peak RSS per worker (MiB) | of which own memory (MiB) | events |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for f in figures:
        print(
            f"| {f.database} | {f.workers} | {f.renewals:,} | {f.seconds:.1f} | {f.per_second:,.1f} | "
            f"{f.cpu_ms:.0f} | {f.peak_rss_mib:.0f} | {f.anonymous_rss_mib:.0f} | {f.outcome.get('events', 0):,} |"
        )
    problems = [f"{f.database}, {f.workers} worker(s): {p}" for f in figures for p in check(f)]
    if problems:
        raise SystemExit("The run did not renew every subscription exactly once:\n" + "\n".join(problems))
    return None


if __name__ == "__main__":
    main()
