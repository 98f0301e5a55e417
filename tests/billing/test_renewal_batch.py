"""Renewing a claimed batch together (``billfold.billing.subscriptions.batch``): the same rows, numbers
and events as renewing one by one, declines included; what it leaves to the per-row path; and a
worker killed between its phases, whose renewals another worker finishes without charging twice.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import signal
from typing import Any

import pytest
from django.db.models import Model, Q

from billfold.billing import renewals
from billfold.billing.invoices.items import invoiceitem_create
from billfold.billing.models import Invoice, InvoiceLineItem, Subscription, SubscriptionItem
from billfold.billing.subscriptions import batch
from billfold.billing.subscriptions.advance import subscription_advance
from billfold.billing.subscriptions.common import live_items, next_invoice_at, schedule
from billfold.billing.subscriptions.creation import NewSubscription
from billfold.billing.subscriptions.services import subscription_create
from billfold.catalog.models import Price
from billfold.catalog.services import price_create
from billfold.core.clock import frozen_at
from billfold.customers.services import customer_create
from billfold.emails.models import Email
from billfold.events.models import Event
from billfold.payments import intents
from billfold.payments.models import Charge, PaymentAttempt, PaymentIntent
from billfold.payments.processors.base import ChargeResult
from billfold.payments.services import payment_method_attach_id
from tests.billing.test_worker import (
    RENEWAL,
    START,
    assert_renewed_once,
    finished,
    renewals_of,
    worker_process,
)

VISA, DECLINED = "pm_card_visa", "pm_card_chargeCustomerFail"
NEXT_PERIOD_END = dt.datetime(2030, 3, 15, 12, 0, tzinfo=dt.UTC)


def monthly_price() -> Price:
    with frozen_at(START):
        return price_create(
            livemode=False,
            values={
                "product_data": {"name": "Pro"},
                "currency": "usd",
                "unit_amount": 1000,
                "recurring": {"interval": "month"},
            },
        )


def subscribed(price: Price, cards: list[str], *, created: dt.datetime = START) -> list[Subscription]:
    """One customer per card, each paying ``price`` from ``created`` (the first invoice with a Visa card,
    renewals with their card), their invoice.upcoming for the first renewal already sent (as the
    worker sends it a week before): the renewal alone is due."""
    made = []
    with frozen_at(created):
        for index, card in enumerate(cards):
            customer = customer_create(
                livemode=False,
                values={
                    "email": f"customer{index}@example.com",
                    "name": f"Customer {index}",
                    "payment_method": VISA,
                    "invoice_settings": {"default_payment_method": VISA},
                },
            )
            subscription = subscription_create(
                customer=customer, livemode=False, spec=NewSubscription(items=[{"price": price}])
            )
            if card != VISA:
                attached = payment_method_attach_id(public_id=card, customer=customer, param="payment_method")
                customer.refresh_from_db()
                customer.invoice_settings = {**customer.invoice_settings, "default_payment_method": attached.public_id}
                customer.save(update_fields=["invoice_settings"])
            made.append(subscription)
    for subscription in made:
        notice_sent(subscription)
    return made


def notice_sent(subscription: Subscription) -> None:
    subscription.refresh_from_db()
    items = live_items(subscription)
    subscription.upcoming_renewal_sent_for = next_invoice_at(subscription, items)
    schedule(subscription, items)
    subscription.save(update_fields=["upcoming_renewal_sent_for", "next_action_at"])


# ---- The same rows and events as one by one ----------------------------------------------------------

_ID = re.compile(r"\b[a-z]{2,4}_[A-Za-z0-9]{14,}(_secret_[A-Za-z0-9]+)?")


def _erased(value: Any, prefix: str) -> Any:
    """``value`` as JSON with what differs between two customers' identical renewals taken out: public
    ids, the customer's invoice prefix, hosted-page tokens and processor keys."""
    text = json.dumps(value, default=str, sort_keys=True)
    text = _ID.sub("<id>", text).replace(prefix, "<prefix>")
    text = re.sub(r"/i/[A-Za-z0-9_-]{20,}", "/i/<token>", text)
    return json.loads(re.sub(r"billfold_pa_[A-Za-z0-9]+", "<key>", text))


def _row(row: Model) -> dict[str, Any]:
    meta = row._meta
    return {
        f.attname: getattr(row, f.attname)
        for f in meta.concrete_fields
        # Keys and references differ between the two customers' rows; what they point at is compared.
        if not f.primary_key and not f.is_relation and f.attname not in ("hosted_token", "processor_reference")
    }


def footprint(subscription: Subscription) -> Any:
    """Everything a renewal wrote about the subscription: its rows and its events, in the order written."""
    subscription.refresh_from_db()
    customer = subscription.customer
    invoices = list(Invoice.objects.filter(subscription_id=subscription.public_id).order_by("pk"))
    intents_ = list(PaymentIntent.objects.filter(customer=customer).order_by("pk"))
    charges = list(Charge.objects.filter(customer=customer).order_by("pk"))
    attempts = list(PaymentAttempt.objects.filter(payment_intent__in=intents_).order_by("pk"))
    objects = [subscription.public_id, customer.public_id] + [o.public_id for o in [*invoices, *intents_, *charges]]
    rows = {
        "subscription": _row(subscription),
        "items": [_row(i) for i in SubscriptionItem.objects.filter(subscription=subscription).order_by("pk")],
        "customer": _row(customer),
        "invoices": [_row(i) for i in invoices],
        "lines": [_row(line) for line in InvoiceLineItem.objects.filter(invoice__in=invoices).order_by("pk")],
        "intents": [_row(i) for i in intents_],
        "attempts": [_row(a) for a in attempts],
        "charges": [_row(c) for c in charges],
        "links": [(i.payment_intent.public_id if i.payment_intent else None, i.subscription_id) for i in invoices]
        + [(c.payment_intent.public_id, c.payment_method.public_id) for c in charges]
        + [(a.payment_intent.public_id, a.charge.public_id if a.charge else None) for a in attempts],
        # The receipts and payment-failure notices (queued for a whole batch at once).
        "emails": [
            _row(e) for e in Email.objects.filter(customer_id=customer.public_id, created__gte=RENEWAL).order_by("pk")
        ],
        "events": [
            (e.type, e.object_id, e.created, e.data)
            for e in Event.objects.filter(Q(object_id__in=objects), created__gte=RENEWAL).order_by("pk")
        ],
    }
    return _erased(rows, customer.invoice_prefix)


@pytest.mark.django_db(transaction=True)
def test_a_batch_writes_what_renewing_one_by_one_writes_declines_included() -> None:
    price = monthly_price()
    cards = [VISA, DECLINED, VISA, VISA]
    one_by_one, together = subscribed(price, cards), subscribed(price, cards)
    with frozen_at(RENEWAL):
        for subscription in one_by_one:
            subscription_advance(subscription_id=subscription.pk, now=RENEWAL)
        outcome = batch.subscriptions_renew_batch(ids=[s.pk for s in together], now=RENEWAL)
    assert (outcome.renewed, outcome.rest) == ([s.pk for s in together], [])
    for alone, batched in zip(one_by_one, together, strict=True):
        assert footprint(batched) == footprint(alone)
    assert sorted(Email.objects.filter(created=RENEWAL).values_list("kind", flat=True)) == (
        ["payment_failed"] * 2 + ["receipt"] * 6
    )
    # What those rows are: the renewal paid, or declined and retried by the dunning schedule.
    paid, declined = together[0], together[1]
    (invoice,) = renewals_of(paid)
    assert (invoice.status, invoice.number, invoice.amount_paid, invoice.attempt_count) == (
        "paid",
        f"{paid.customer.invoice_prefix}-0002",
        1000,
        1,
    )
    assert [e.type for e in Event.objects.filter(created=RENEWAL, object_id__in=_ids_of(paid)).order_by("pk")] == [
        "invoice.created",
        "invoice.finalized",
        "customer.subscription.updated",
        "payment_intent.created",
        "charge.succeeded",
        "payment_intent.succeeded",
        "invoice.paid",
        "invoice.payment_succeeded",
    ]
    (failed,) = renewals_of(declined)
    declined.refresh_from_db()
    assert (failed.status, failed.attempt_count, failed.next_payment_attempt, declined.status) == (
        "open",
        1,
        RENEWAL + dt.timedelta(days=1),
        "past_due",
    )
    for subscription in together:
        subscription.refresh_from_db()
        assert subscription.next_action_at == NEXT_PERIOD_END - dt.timedelta(days=7)
        assert [(i.current_period_start, i.current_period_end) for i in live_items(subscription)] == [
            (RENEWAL, NEXT_PERIOD_END)
        ]


def _ids_of(subscription: Subscription) -> list[str]:
    invoices = list(Invoice.objects.filter(subscription_id=subscription.public_id))
    return [subscription.public_id, subscription.customer.public_id] + [
        o.public_id
        for o in [
            *invoices,
            *PaymentIntent.objects.filter(customer=subscription.customer),
            *Charge.objects.filter(customer=subscription.customer),
        ]
    ]


@pytest.mark.django_db(transaction=True)
def test_what_is_not_an_ordinary_renewal_is_left_to_the_per_row_path() -> None:
    price = monthly_price()
    plain, notice_due, second_of_customer, canceling = subscribed(price, [VISA, VISA, VISA, VISA])
    # invoice.upcoming not sent yet: that comes first, one step at a time.
    Subscription.objects.filter(pk=notice_due.pk).update(upcoming_renewal_sent_for=None)
    # A second subscription of the first customer: each renewal takes the customer's next number.
    with frozen_at(START):
        second = subscription_create(
            customer=plain.customer, livemode=False, spec=NewSubscription(items=[{"price": price}])
        )
    notice_sent(second)
    Subscription.objects.filter(pk=canceling.pk).update(cancel_at_period_end=True)
    ids = [plain.pk, notice_due.pk, second.pk, canceling.pk, second_of_customer.pk]
    with frozen_at(RENEWAL):
        outcome = batch.subscriptions_renew_batch(ids=sorted(ids), now=RENEWAL)
    assert outcome.renewed == [plain.pk, second_of_customer.pk]
    assert sorted(outcome.rest) == sorted([notice_due.pk, second.pk, canceling.pk])
    # The worker does those one by one, in the same pass.
    with frozen_at(RENEWAL):
        assert renewals.work_batch(limit=10).subscriptions == 3
    assert_renewed_once([plain, second_of_customer, notice_due, second])
    assert [i.number for i in renewals_of(second)] == [f"{plain.customer.invoice_prefix}-0004"]
    assert [i.number for i in renewals_of(plain)] == [f"{plain.customer.invoice_prefix}-0003"]


@pytest.mark.django_db(transaction=True)
def test_a_customers_item_of_no_subscription_sends_the_renewal_the_per_row_way() -> None:
    """Its next scheduled invoice bills it: the per-row path does, the batch (which bills the
    subscription's lines alone) leaves it that renewal."""
    plain, with_item = subscribed(monthly_price(), [VISA, VISA])
    with frozen_at(START + dt.timedelta(days=3)):
        item = invoiceitem_create(customer=with_item.customer, livemode=False, amount=250, currency="usd")
    with frozen_at(RENEWAL):
        outcome = batch.subscriptions_renew_batch(ids=[plain.pk, with_item.pk], now=RENEWAL)
        assert (outcome.renewed, outcome.rest) == ([plain.pk], [with_item.pk])
        assert renewals.work_batch(limit=10).subscriptions == 1
    (invoice,) = renewals_of(with_item)
    item.refresh_from_db()
    assert (invoice.total, item.invoice_id) == (1250, invoice.pk)


# ---- A worker killed between phases ---------------------------------------------------------------


class Killed(BaseException):
    """The process dying: nothing after it runs (not an Exception, so no handler catches it)."""


def assert_waiting_for_the_processor(subscriptions: list[Subscription]) -> None:
    """Phase 1 committed: each renewal invoice open and due, its payment attempt committed, nothing charged."""
    for subscription in subscriptions:
        (invoice,) = renewals_of(subscription)
        assert (invoice.status, invoice.attempt_count, invoice.next_payment_attempt) == ("open", 0, RENEWAL)
        assert invoice.payment_intent is not None
        assert invoice.payment_intent.status == "processing"
        assert list(invoice.payment_intent.attempts.values_list("status", flat=True)) == ["attempting"]
        assert not Charge.objects.filter(payment_intent=invoice.payment_intent).exists()
        subscription.refresh_from_db()
        assert subscription.claimed_until == RENEWAL + renewals.LEASE


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("killed", ["before the processor", "after the processor, before recording"])
def test_a_worker_killed_between_phases_is_finished_by_the_next_charging_once(
    killed: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    subscriptions = subscribed(monthly_price(), [VISA, VISA, VISA])
    asked: list[str] = []
    charge = intents.attempt_charge
    dies = [killed == "before the processor"]

    def charging(attempt: PaymentAttempt) -> ChargeResult:
        if dies[0]:
            raise Killed
        asked.append(attempt.processor_key)
        return charge(attempt)

    def dying(renewals_: object) -> None:
        raise Killed

    monkeypatch.setattr(intents, "attempt_charge", charging)
    if killed != "before the processor":
        monkeypatch.setattr(batch, "_record", dying)
    with frozen_at(RENEWAL), pytest.raises(Killed):
        renewals.work_batch(limit=10)
    assert_waiting_for_the_processor(subscriptions)
    assert len(asked) == (0 if killed == "before the processor" else 3)
    monkeypatch.undo()
    dies[0] = False
    monkeypatch.setattr(intents, "attempt_charge", charging)
    # Nothing to do while the dead worker's claims last: its subscriptions' invoices wait for it.
    with frozen_at(RENEWAL + renewals.LEASE - dt.timedelta(seconds=1)):
        assert renewals.work_batch(limit=10).worked == 0
    with frozen_at(RENEWAL + renewals.LEASE):
        report = renewals.work_batch(limit=10)
    # The renewals are not done again: their open invoices are collected, finishing each attempt.
    assert (report.subscriptions, report.invoices) == (0, 3)
    for subscription in subscriptions:
        (invoice,) = renewals_of(subscription)
        assert (invoice.status, invoice.amount_paid, invoice.attempt_count) == ("paid", 1000, 1)
        assert list(Charge.objects.filter(payment_intent=invoice.payment_intent).values_list("status", flat=True)) == [
            "succeeded"
        ]
        assert PaymentAttempt.objects.filter(payment_intent=invoice.payment_intent).count() == 1
        subscription.refresh_from_db()
        # The dead worker's claim, run out.
        assert (subscription.status, subscription.claimed_until) == ("active", RENEWAL + renewals.LEASE)
    # The processor was asked again with each attempt's own key, which gives back its first answer.
    renewal_keys = [a.processor_key for a in PaymentAttempt.objects.order_by("pk")][-3:]
    assert sorted(asked) == sorted(renewal_keys * (1 if killed == "before the processor" else 2))
    for subscription in subscriptions:
        subscription.refresh_from_db()
        assert subscription.next_action_at == NEXT_PERIOD_END - dt.timedelta(days=7)


# ---- Worker processes ---------------------------------------------------------------------------


def due_now(count: int) -> list[Subscription]:
    """Subscriptions whose first month ended just now, in real time (the worker processes live on it)."""
    created = dt.datetime.now(dt.UTC) - dt.timedelta(days=31)
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
    return subscribed(price, [VISA] * count, created=created)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("crash_at", ["before", "after"])
def test_a_worker_process_killed_mid_batch_is_finished_by_the_next_charging_once(crash_at: str) -> None:
    subscriptions = due_now(6)
    # Killed (SIGKILL) at its 5th card charge: the second batch of 3 has committed its invoices and
    # attempts, and charged one card (after) or none (before) of its own.
    code, out = finished(worker_process("--once", "--batch", "3", CRASH_ON="5", CRASH_AT=crash_at))
    assert code == -signal.SIGKILL, out
    assert sum(len(renewals_of(s)) for s in subscriptions) == 6
    assert PaymentAttempt.objects.filter(status="attempting").count() == 3
    # The 6 first invoices' charges and the first batch's 3: nothing of the second batch is recorded.
    assert Charge.objects.count() == 6 + 3
    Subscription.objects.update(claimed_until=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
    code, out = finished(worker_process("--once"))
    assert code == 0, out
    assert_renewed_once(subscriptions)
    assert not PaymentAttempt.objects.filter(status="attempting").exists()


@pytest.mark.django_db(transaction=True)
def test_several_worker_processes_renew_each_subscription_once_in_batches() -> None:
    subscriptions = due_now(12)
    workers = [worker_process("--once", "--batch", "2") for _ in range(3)]
    results = [finished(worker) for worker in workers]
    assert [code for code, _ in results] == [0, 0, 0], [out for _, out in results]
    assert_renewed_once(subscriptions)
    assert Invoice.objects.filter(billing_reason="subscription_cycle").count() == 12
