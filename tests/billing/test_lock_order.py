"""Row-lock order (``billfold.billing.locks``): a cancellation and a paying retry at once both finish.

PostgreSQL only (selected when DATABASE_URL points at it): SQLite has one writer at a time and
cannot deadlock. Two threads, each with its own connection, are steered into the interleaving
that deadlocked when paying locked the invoice before the subscription: the retry has charged the
card and is about to record it while the cancellation holds the subscription's lock and is about
to change the invoice. With one lock order the retry waits for the cancellation, then records
its payment on the canceled subscription's invoice.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from billfold.billing import dunning
from billfold.billing.invoices import payment
from billfold.billing.models import Invoice, Subscription
from billfold.billing.subscriptions import services
from billfold.core.clock import frozen_at
from billfold.customers.services import customer_update
from billfold.events.models import Event
from billfold.payments.models import Charge
from billfold.payments.services import payment_method_attach_id
from tests.billing.subscription_factories import DAY, T0, advance, buyer, recurring, subscribe

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

# Generous: each wait normally ends within milliseconds; reaching one is a failure, not a pass.
WAIT = 20.0


def _another_transaction_waits_for_mine() -> bool:
    with connection.cursor() as cursor:
        # pg_stat_activity is read once per transaction unless its snapshot is cleared.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pg_backend_pid() = ANY(pg_blocking_pids(pid))")
        row = cursor.fetchone()
    return row is not None and int(row[0]) > 0


def _wait_for_lock_waiter() -> None:
    deadline = time.monotonic() + WAIT
    while not _another_transaction_waits_for_mine():
        if time.monotonic() > deadline:
            raise AssertionError("the paying retry never waited for the subscription's lock")
        time.sleep(0.005)


def _in_thread(work: Callable[[], Any], failures: list[BaseException]) -> threading.Thread:
    def run() -> None:
        try:
            work()
        except BaseException as error:  # reported by the test, not lost in the thread
            failures.append(error)
        finally:
            connection.close()

    return threading.Thread(target=run)


def test_cancel_and_a_paying_retry_at_once_both_finish(monkeypatch: pytest.MonkeyPatch) -> None:
    assert connection.vendor == "postgresql"
    customer = buyer(card="pm_card_chargeCustomerFail")
    subscription = advance(subscribe(customer, recurring(1000), trial_end=T0 + 7 * DAY), T0 + 7 * DAY)
    invoice = subscription.latest_invoice
    assert invoice is not None
    assert (subscription.status, invoice.status, invoice.next_payment_attempt) == ("past_due", "open", T0 + 8 * DAY)
    with frozen_at(T0 + 7 * DAY):
        card = payment_method_attach_id(public_id="pm_card_visa", customer=customer, param="payment_method")
        customer_update(customer=customer, values={"invoice_settings": {"default_payment_method": card.public_id}})

    charged = threading.Event()
    cancel_holds_subscription = threading.Event()
    record, stop_collecting = payment.invoice_payment_record, services._stop_collecting

    def record_once_cancel_holds_the_subscription(**values: Any) -> Invoice:
        # The card has been charged; the outcome is about to be recorded (step 3 of invoice_pay).
        charged.set()
        assert cancel_holds_subscription.wait(WAIT)
        return record(**values)

    def stop_collecting_once_the_retry_waits(subscription: Subscription) -> None:
        cancel_holds_subscription.set()
        _wait_for_lock_waiter()
        stop_collecting(subscription)

    monkeypatch.setattr(payment, "invoice_payment_record", record_once_cancel_holds_the_subscription)
    monkeypatch.setattr(services, "_stop_collecting", stop_collecting_once_the_retry_waits)

    def cancel() -> None:
        assert charged.wait(WAIT)
        services.subscription_cancel(subscription=Subscription.objects.get(pk=subscription.pk))

    failures: list[BaseException] = []
    threads = [
        _in_thread(lambda: dunning.invoice_retry_due(invoice_id=invoice.pk, now=T0 + 8 * DAY), failures),
        _in_thread(cancel, failures),
    ]
    with frozen_at(T0 + 8 * DAY):
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=3 * WAIT)
    assert not any(thread.is_alive() for thread in threads)
    assert failures == []

    # The cancellation went first; the payment was recorded after it, on the same invoice.
    subscription.refresh_from_db()
    assert (subscription.status, subscription.canceled_at, subscription.ended_at) == (
        "canceled",
        T0 + 8 * DAY,
        T0 + 8 * DAY,
    )
    assert subscription.cancellation_details["reason"] == "cancellation_requested"
    paid = Invoice.objects.get(pk=invoice.pk)
    assert (paid.status, paid.amount_paid, paid.amount_remaining, paid.attempt_count, paid.auto_advance) == (
        "paid",
        1000,
        0,
        2,
        False,
    )
    assert list(Charge.objects.order_by("pk").values_list("status", "amount")) == [
        ("failed", 1000),
        ("succeeded", 1000),
    ]
    subscription_events = list(
        Event.objects.filter(object_id=subscription.public_id).order_by("pk").values_list("type", flat=True)
    )
    assert subscription_events[-1] == "customer.subscription.deleted"
    invoice_events = list(
        Event.objects.filter(object_id=invoice.public_id).order_by("pk").values_list("type", flat=True)
    )
    assert invoice_events[-3:] == ["invoice.updated", "invoice.paid", "invoice.payment_succeeded"]
