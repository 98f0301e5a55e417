"""The billing worker: claiming due rows with leases, batches, stopping, and crashes.

These run on whichever database the suite runs on: on PostgreSQL (CI's second run) the claims go
through ``SELECT ... FOR UPDATE SKIP LOCKED``, on SQLite through conditional UPDATEs.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings

from billfold.billing import renewals
from billfold.billing.models import Invoice, Subscription
from billfold.billing.subscriptions.advance import subscription_advance as real_advance
from billfold.billing.subscriptions.creation import NewSubscription
from billfold.billing.subscriptions.services import subscription_create
from billfold.catalog.services import price_create
from billfold.clocks import services as clock_services
from billfold.core.clock import frozen_at
from billfold.core.ids import new_id
from billfold.customers.models import Customer
from billfold.customers.services import customer_create
from billfold.payments.models import Charge, PaymentAttempt

T0 = dt.datetime(2030, 3, 1, 9, 30, tzinfo=dt.UTC)
SECOND = dt.timedelta(seconds=1)
ROOT = Path(__file__).resolve().parents[2]


def bare_subscription(*, due: dt.datetime | None, customer: Customer | None = None) -> Subscription:
    """A subscription row with work due at ``due``: enough for claiming, which looks at nothing else."""
    customer = customer or customer_create(livemode=False, values={"email": "jenny@example.com"})
    return Subscription.objects.create(
        public_id=new_id("sub"),
        livemode=False,
        customer=customer,
        status="active",
        currency="usd",
        billing_cycle_anchor=T0,
        start_date=T0,
        next_action_at=due,
    )


def due_invoice(*, due: dt.datetime, subscription: Subscription | None = None) -> Invoice:
    customer = (
        subscription.customer
        if subscription is not None
        else customer_create(livemode=False, values={"email": "jenny@example.com"})
    )
    return Invoice.objects.create(
        public_id=new_id("in"),
        livemode=False,
        customer=customer,
        status="open",
        currency="usd",
        auto_advance=True,
        next_payment_attempt=due,
        period_start=T0,
        period_end=T0,
        hosted_token=new_id("tok"),
        subscription_id=subscription.public_id if subscription is not None else None,
    )


def claimed_until(row: Subscription | Invoice) -> dt.datetime | None:
    row.refresh_from_db()
    return row.claimed_until


def due_subscriptions(now: dt.datetime) -> Any:
    return renewals.subscriptions_due(now=now, livemode=False)


# ---- Claims and leases -------------------------------------------------------------------------


def test_claims_take_due_rows_of_real_time_customers_and_hold_them_for_a_lease(db: None) -> None:
    clocked = customer_create(
        livemode=False,
        values={"test_clock": clock_services.test_clock_create(livemode=False, frozen_time=T0).public_id},
    )
    due = [bare_subscription(due=T0 - SECOND * n) for n in range(3)]
    later = bare_subscription(due=T0 + SECOND)
    on_clock = bare_subscription(due=T0 - SECOND, customer=clocked)
    nothing = bare_subscription(due=None)

    claimed = renewals.claim(due_subscriptions(T0), now=T0, limit=10)
    # Earliest due first.
    assert claimed == [due[2].pk, due[1].pk, due[0].pk]
    for row in due:
        assert claimed_until(row) == T0 + renewals.LEASE
    for row in (later, on_clock, nothing):
        assert claimed_until(row) is None
    # Held: nobody else gets them while the lease runs, only what has become due since.
    assert renewals.claim(due_subscriptions(T0), now=T0, limit=10) == []
    almost = T0 + renewals.LEASE - SECOND
    assert renewals.claim(due_subscriptions(almost), now=almost, limit=10) == [later.pk]
    # A worker that died never releases them: once the lease has run out they are taken over.
    expired = T0 + renewals.LEASE
    assert renewals.claim(due_subscriptions(expired), now=expired, limit=10) == [row.pk for row in reversed(due)]


def test_a_batch_takes_at_most_its_limit_and_the_next_claim_takes_the_rest(db: None) -> None:
    rows = [bare_subscription(due=T0 - SECOND * n) for n in range(5)]
    first = renewals.claim(due_subscriptions(T0), now=T0, limit=2)
    second = renewals.claim(due_subscriptions(T0), now=T0, limit=2)
    third = renewals.claim(due_subscriptions(T0), now=T0, limit=2)
    assert (len(first), len(second), len(third)) == (2, 2, 1)
    assert sorted(first + second + third) == sorted(row.pk for row in rows)


def test_release_gives_rows_back_at_once(db: None) -> None:
    row = bare_subscription(due=T0)
    assert renewals.claim(due_subscriptions(T0), now=T0, limit=1) == [row.pk]
    renewals.release(Subscription, [row.pk])
    assert claimed_until(row) is None
    assert renewals.claim(due_subscriptions(T0), now=T0, limit=1) == [row.pk]


def test_invoices_due_leave_out_the_ones_whose_subscription_a_worker_holds(db: None) -> None:
    subscription = bare_subscription(due=T0)
    held = due_invoice(due=T0, subscription=subscription)
    alone = due_invoice(due=T0)
    not_yet = due_invoice(due=T0 + SECOND)
    assert set(renewals.invoices_due(now=T0, livemode=False)) == {held, alone}
    renewals.claim(due_subscriptions(T0), now=T0, limit=1)
    # Its worker is about to charge it: a retry beside it would count one attempt twice.
    assert list(renewals.invoices_due(now=T0, livemode=False)) == [alone]
    assert renewals.claim(renewals.invoices_due(now=T0, livemode=False), now=T0, limit=10) == [alone.pk]
    assert claimed_until(alone) == T0 + renewals.LEASE
    assert claimed_until(not_yet) is None


def test_invoices_not_collected_automatically_are_not_due(db: None) -> None:
    paid = due_invoice(due=T0)
    Invoice.objects.filter(pk=paid.pk).update(status="paid")
    manual = due_invoice(due=T0)
    Invoice.objects.filter(pk=manual.pk).update(auto_advance=False)
    sent = due_invoice(due=T0)
    Invoice.objects.filter(pk=sent.pk).update(collection_method="send_invoice")
    assert list(renewals.invoices_due(now=T0, livemode=False)) == []


# ---- Working through batches -------------------------------------------------------------------

START = dt.datetime(2030, 1, 15, 12, 0, tzinfo=dt.UTC)
RENEWAL = dt.datetime(2030, 2, 15, 12, 0, tzinfo=dt.UTC)


def monthly_subscriptions(count: int, *, created: dt.datetime) -> list[Subscription]:
    """``count`` customers paying $10 a month by card from ``created``, each with their subscription."""
    with frozen_at(created):
        price = price_create(
            livemode=False,
            values={
                "product_data": {"name": "Pro"},
                "currency": "usd",
                "unit_amount": 1000,
                "recurring": {"interval": "month"},
            },
        )
        made = []
        for index in range(count):
            customer = customer_create(
                livemode=False,
                values={
                    "email": f"customer{index}@example.com",
                    "payment_method": "pm_card_visa",
                    "invoice_settings": {"default_payment_method": "pm_card_visa"},
                },
            )
            made.append(
                subscription_create(customer=customer, livemode=False, spec=NewSubscription(items=[{"price": price}]))
            )
    return made


def renewals_of(subscription: Subscription) -> list[Invoice]:
    return list(
        Invoice.objects.filter(subscription_id=subscription.public_id, billing_reason="subscription_cycle").order_by(
            "pk"
        )
    )


def assert_renewed_once(subscriptions: list[Subscription]) -> None:
    """Exactly one renewal invoice per subscription, paid by exactly one charge after one payment attempt."""
    for subscription in subscriptions:
        invoices = renewals_of(subscription)
        assert [(i.status, i.amount_paid, i.attempt_count) for i in invoices] == [("paid", 1000, 1)]
        intent = invoices[0].payment_intent
        assert intent is not None
        assert list(Charge.objects.filter(payment_intent=intent).values_list("status", flat=True)) == ["succeeded"]
        assert PaymentAttempt.objects.filter(payment_intent=intent).count() == 1
        subscription.refresh_from_db()
        # Released, or (a row the crashed worker held) a lease that has run out.
        assert subscription.claimed_until is None or subscription.claimed_until < dt.datetime.now(dt.UTC)
        assert subscription.status == "active"


@pytest.mark.django_db(transaction=True)
@override_settings(BILLFOLD_UPCOMING_RENEWAL_DAYS="0")  # renewals alone: no invoice.upcoming a week before
def test_a_batch_renews_what_is_due_and_releases_its_claims() -> None:
    subscriptions = monthly_subscriptions(3, created=START)
    with frozen_at(RENEWAL - SECOND):
        assert renewals.work_batch(limit=10).worked == 0
    with frozen_at(RENEWAL):
        first = renewals.work_batch(limit=2)
        second = renewals.work_batch(limit=2)
        third = renewals.work_batch(limit=2)
    assert (first.subscriptions, first.invoices, first.failed) == (2, 0, [])
    assert (second.subscriptions, third.worked) == (1, 0)
    assert_renewed_once(subscriptions)
    for subscription in subscriptions:
        assert subscription.next_action_at == dt.datetime(2030, 3, 15, 12, 0, tzinfo=dt.UTC)


@pytest.mark.django_db(transaction=True)
def test_a_row_whose_work_fails_keeps_its_claim_and_the_others_go_on(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    broken, fine = monthly_subscriptions(2, created=START)

    def advance(*, subscription_id: int, now: dt.datetime) -> None:
        if subscription_id == broken.pk:
            raise RuntimeError("a bug in one subscription")
        real_advance(subscription_id=subscription_id, now=now)

    monkeypatch.setattr(renewals, "subscription_advance", advance)
    with frozen_at(RENEWAL):
        report = renewals.work_batch(limit=10)
    assert (report.subscriptions, report.failed) == (1, [f"subscription {broken.pk}"])
    assert "a bug in one subscription" in caplog.text
    assert_renewed_once([fine])
    # Retried once its lease has run out, not in a tight loop.
    assert claimed_until(broken) == RENEWAL + renewals.LEASE
    monkeypatch.setattr(renewals, "subscription_advance", real_advance)
    with frozen_at(RENEWAL + renewals.LEASE - SECOND):
        assert renewals.work_batch(limit=10).worked == 0
    with frozen_at(RENEWAL + renewals.LEASE):
        assert renewals.work_batch(limit=10).subscriptions == 1
    assert len(renewals_of(broken)) == 1


@pytest.mark.django_db(transaction=True)
def test_sigterm_finishes_the_current_row_and_gives_the_rest_back(monkeypatch: pytest.MonkeyPatch) -> None:
    subscriptions = monthly_subscriptions(3, created=START)

    def advance_then_terminate(*, subscription_id: int, now: dt.datetime) -> None:
        # The signal arrives while the worker is on its first row.
        os.kill(os.getpid(), signal.SIGTERM)
        real_advance(subscription_id=subscription_id, now=now)

    monkeypatch.setattr(renewals, "subscription_advance", advance_then_terminate)
    out = io.StringIO()
    previous = signal.getsignal(signal.SIGTERM)
    with frozen_at(RENEWAL):
        call_command("worker", "--batch", "10", "--sleep", "0", stdout=out)
    assert signal.getsignal(signal.SIGTERM) is previous
    lines = [line.split(" worker: ", 1)[1] for line in out.getvalue().splitlines()]
    assert lines == [
        "started (batch 10, sleeping 0 s when idle)",
        "SIGTERM received: stopping after the current row",
        lines[2],
        "stopped",
    ]
    assert lines[2].startswith("1 subscription advanced; 0 invoice payments due handled; 2 given back unstarted in ")
    renewed = [s for s in subscriptions if renewals_of(s)]
    assert len(renewed) == 1
    assert_renewed_once(renewed)
    for subscription in subscriptions:
        assert claimed_until(subscription) is None


@pytest.mark.django_db(transaction=True)
def test_once_exits_with_an_error_when_a_row_failed(monkeypatch: pytest.MonkeyPatch) -> None:
    (broken,) = monthly_subscriptions(1, created=START)

    def advance(*, subscription_id: int, now: dt.datetime) -> None:
        raise RuntimeError("a bug in one subscription")

    monkeypatch.setattr(renewals, "subscription_advance", advance)
    out = io.StringIO()
    with frozen_at(RENEWAL), pytest.raises(CommandError) as raised:
        call_command("worker", "--once", stdout=out)
    assert str(raised.value) == "1 row failed (see the log above); retried later."
    assert (
        f"0 subscriptions advanced; 0 invoice payments due handled; 1 failed and will be retried "
        f"(subscription {broken.pk}) in "
    ) in out.getvalue()


def test_worker_options_are_checked() -> None:
    with pytest.raises(CommandError) as raised:
        call_command("worker", "--batch", "0")
    assert "--batch: must be at least 1" in str(raised.value)


# ---- Processes: a worker killed mid-run, several workers at once ----------------------------------

# Runs `billfold worker` on the test database; CRASH_ON=N kills the process (SIGKILL, no cleanup)
# at its N-th card charge, just before the processor is asked (before) or just after it charged
# and before Billfold recorded the outcome (after): the worst moment for paying twice.
WORKER = textwrap.dedent(
    """
    import os, signal, sys
    os.environ["DJANGO_SETTINGS_MODULE"] = "billfold.settings"
    from billfold import settings
    settings.DATABASES["default"]["NAME"] = os.environ["WORKER_TEST_DATABASE"]
    import django
    django.setup()
    from billfold.payments.processors.test_cards import TestCardProcessor
    crash_on = int(os.environ.get("CRASH_ON", "0"))
    charges = 0
    charge = TestCardProcessor.charge
    def crashing_charge(self, **kwargs):
        global charges
        charges += 1
        if charges == crash_on and os.environ["CRASH_AT"] == "before":
            os.kill(os.getpid(), signal.SIGKILL)
        result = charge(self, **kwargs)
        if charges == crash_on:
            os.kill(os.getpid(), signal.SIGKILL)
        return result
    TestCardProcessor.charge = crashing_charge
    from django.core.management import CommandError, call_command
    call_command("worker", *sys.argv[1:])
    """
)


def worker_process(*args: str, **env: str) -> subprocess.Popen[str]:
    environment = {**os.environ, "WORKER_TEST_DATABASE": str(connection.settings_dict["NAME"]), **env}
    return subprocess.Popen(
        [sys.executable, "-c", WORKER, *args],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finished(process: subprocess.Popen[str]) -> tuple[int, str]:
    out, _ = process.communicate(timeout=120)
    return process.returncode, out


def due_now(count: int) -> list[Subscription]:
    """Subscriptions whose first month ended just now, in real time (the worker processes live on it)."""
    return monthly_subscriptions(count, created=dt.datetime.now(dt.UTC) - dt.timedelta(days=31))


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("crash_at", ["before", "after"])
def test_a_worker_killed_mid_run_and_restarted_charges_each_period_once(crash_at: str) -> None:
    subscriptions = due_now(6)
    code, out = finished(worker_process("--once", "--batch", "3", CRASH_ON="4", CRASH_AT=crash_at))
    assert code == -signal.SIGKILL, out
    assert sum(len(renewals_of(s)) for s in subscriptions) == 4
    interrupted = PaymentAttempt.objects.filter(status="attempting")
    assert interrupted.count() == 1
    # The dead worker never releases its claims: the restarted one waits for them to run out.
    code, out = finished(worker_process("--once"))
    assert (code, sum(len(renewals_of(s)) for s in subscriptions)) == (0, 4), out
    Subscription.objects.update(claimed_until=dt.datetime.now(dt.UTC) - SECOND)
    code, out = finished(worker_process("--once"))
    assert code == 0, out
    assert_renewed_once(subscriptions)
    assert not PaymentAttempt.objects.filter(status="attempting").exists()


@pytest.mark.django_db(transaction=True)
def test_several_workers_at_once_renew_each_subscription_once() -> None:
    subscriptions = due_now(12)
    workers = [worker_process("--once", "--batch", "2") for _ in range(3)]
    results = [finished(worker) for worker in workers]
    assert [code for code, _ in results] == [0, 0, 0], [out for _, out in results]
    assert_renewed_once(subscriptions)
    advanced = sum(
        int(word)
        for _, out in results
        for line in out.splitlines()
        if "subscription" in line and "advanced" in line
        for word in [line.split(" worker: ", 1)[1].split(" ", 1)[0]]
    )
    assert advanced == 12
