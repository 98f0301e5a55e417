"""Renewing many subscriptions at once: the worker's path for a claimed batch of ordinary renewals.

A renewal through ``subscription_advance`` reads and writes its rows one statement at a time, in
six transactions. Here a batch of ordinary renewals (active, charged automatically, one period
due, nothing else scheduled: see ``_plain``) shares three phases, each row read and written
with a few statements for the whole batch:

1. one transaction: the subscriptions and their customers locked, then for each the renewal
   invoice built, finalized (numbered) and given its PaymentIntent and a committed ``attempting``
   row, the items and the subscription moved to the next period, and the events of all that;
2. the processor asked for each attempt, with no transaction open;
3. one transaction recording every success: charge, intent succeeded, invoice paid, events.
   Any other answer (declined, authentication needed) is recorded afterwards by the services
   every payment uses (``payment_attempt_record``, ``invoice_payment_record``), row by row.

The billing itself is the services' own: ``invoice_build`` and ``finalize_apply`` (the invoice),
``payment_intent_build`` and ``attempt_build`` (the payment), ``succeeded_apply``,
``attempt_count`` and ``paid_apply`` (the outcome), ``snapshot``/``schedule`` (the subscription);
this module only loads their rows in sets and writes what they computed. Every row, number and
event payload is what ``subscription_advance`` writes for the same renewal at the same moment;
only the order of event rows differs (a batch's events of phase 1, then those of phase 3).

Crash safety is the per-row path's: the attempt rows commit (phase 1) before the processor is
asked (phase 2). A worker that dies after phase 1 leaves open invoices with ``processing``
intents and ``attempting`` attempts, and subscriptions already in their next period; once its
claims run out, the invoices are due to ``dunning.invoice_retry_due``, whose ``invoice_pay``
finishes each interrupted attempt with its idempotency key: the processor answers with the first
outcome, so nothing is charged twice.
"""

from __future__ import annotations

import copy
import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from django.db import transaction
from django.db.models import Model, QuerySet

from billfold.billing.invoices import payment as invoice_payment
from billfold.billing.invoices.services import invoice_build
from billfold.billing.invoices.transitions import (
    customer_changed,
    finalize_apply,
    next_number,
    paid_apply,
)
from billfold.billing.models import Invoice, InvoiceItem, InvoiceLineItem, Subscription, SubscriptionItem
from billfold.billing.subscriptions.advance import renewal_period
from billfold.billing.subscriptions.common import locking, next_due, schedule, snapshot
from billfold.billing.subscriptions.invoicing import billed_lines, subscription_invoice_values
from billfold.clocks.selectors import customer_now
from billfold.core.bulk import rows_insert, rows_update
from billfold.customers.models import Customer, TaxId
from billfold.events.rendering import render_object, rows_known
from billfold.events.services import NewEvent, changed_attributes, events_record
from billfold.payments import intents
from billfold.payments.models import Charge, PaymentAttempt, PaymentIntent, PaymentMethod
from billfold.payments.processors.base import ChargeResult
from billfold.payments.services import payment_method_check_usable

logger = logging.getLogger("billfold.worker")

M = TypeVar("M", bound=Model)


@dataclass
class _Renewal:
    """One renewal of the batch, as phase 1 made it."""

    subscription: Subscription
    invoice: Invoice
    lines: list[InvoiceLineItem]
    intent: PaymentIntent
    attempt: PaymentAttempt
    result: ChargeResult | None = None
    # Set once phase 3 has recorded the outcome.
    recorded: bool = False


@dataclass
class BatchRenewal:
    """What ``subscriptions_renew_batch`` did: the subscriptions it renewed (pks), and those it left
    to ``subscription_advance`` (not ordinary renewals)."""

    renewed: list[int] = field(default_factory=list)
    rest: list[int] = field(default_factory=list)


def _plain(subscription: Subscription, items: Sequence[SubscriptionItem], now: dt.datetime) -> bool:
    """An ordinary renewal due at ``now``: one period, nothing else due or scheduled, nothing to
    discount, tax, pause or prorate; the card is charged automatically. Anything else keeps the
    per-row path, which handles every case."""
    if not items or subscription.customer.deleted or subscription.customer.test_clock_id is not None:
        return False
    if (
        subscription.status != "active"
        or subscription.collection_method != "charge_automatically"
        or subscription.pause_collection
        or subscription.pending_update
        or subscription.cancel_at is not None
        or subscription.cancel_at_period_end
        or subscription.discounts
        or subscription.default_tax_rates
        or any(item.discounts or item.tax_rates for item in items)
    ):
        return False
    # Whatever else is due first goes the per-row way: a schedule's phase beginning at this renewal
    # (``phase`` comes before ``renew`` at the same moment) changes the items the renewal bills.
    due = next_due(subscription, items, until=now)
    if due is None or due[1] != "renew":
        return False
    # Only one period: a subscription further behind takes its periods one by one, per row.
    return renewal_period(subscription, items)[2] > now


def subscriptions_renew_batch(*, ids: Sequence[int], now: dt.datetime) -> BatchRenewal:
    """Renew the ordinary renewals among the claimed subscriptions ``ids`` (see the module); the
    others are returned in ``rest`` for ``subscription_advance``. Outside any transaction.

    Raises only when phase 1 failed, which then wrote nothing. A failure later (the processor, a
    recording) is logged: the invoices it concerns stay open and due to their dunning retries."""
    intents.require_no_transaction("subscriptions_renew_batch")
    outcome = BatchRenewal()
    renewals = _begin(ids, now, outcome)
    for renewal in renewals:
        try:
            renewal.result = intents.attempt_charge(renewal.attempt)
        except Exception:
            # Left attempting: the invoice's dunning retry finishes it with the same key.
            logger.exception("Charging invoice %s failed; its payment is retried", renewal.invoice.public_id)
    try:
        _record(renewals)
    except Exception:
        # Rolled back: the attempts stay attempting and the invoices open, due to the dunning
        # retries, which finish each attempt with its idempotency key (nothing charged twice).
        logger.exception("Recording a batch of renewal payments failed; their invoices' retries finish them")
        return outcome
    _record_others(renewals)
    return outcome


# ---- Phase 1 ----------------------------------------------------------------------------------


def _begin(ids: Sequence[int], now: dt.datetime, outcome: BatchRenewal) -> list[_Renewal]:
    from billfold.billing.renewals import sqlite_turn  # here: renewals imports this module

    with sqlite_turn(), transaction.atomic():
        subscriptions = list(locking().filter(pk__in=ids).order_by("pk"))
        outcome.rest.extend(sorted(set(ids) - {s.pk for s in subscriptions}))
        items: dict[int, list[SubscriptionItem]] = defaultdict(list)
        for item in (
            SubscriptionItem.objects.filter(subscription__in=subscriptions, deleted=False)
            .select_related("price__product")
            .order_by("pk")
        ):
            items[item.subscription_id].append(item)
        plain, seen_customers = [], set()
        for subscription in subscriptions:
            # One renewal per customer per batch: each takes the customer's next invoice number.
            if _plain(subscription, items[subscription.pk], now) and subscription.customer_id not in seen_customers:
                seen_customers.add(subscription.customer_id)
                plain.append(subscription)
            else:
                outcome.rest.append(subscription.pk)
        plain = _without_pending_items(plain, outcome)
        # Finalization locks the customers (their numbering and balance), after the subscriptions.
        customers = {c.pk: c for c in Customer.objects.select_for_update().filter(pk__in=seen_customers).order_by("pk")}
        cards = _cards(plain, customers)
        tax_ids: dict[int, list[TaxId]] = defaultdict(list)
        for tax_id in TaxId.objects.filter(customer_id__in=customers).order_by("pk"):
            tax_ids[tax_id.customer_id].append(tax_id)
        taken = set(
            Invoice.objects.filter(
                livemode__in={s.livemode for s in plain}, number__in=[next_number(c) for c in customers.values()]
            ).values_list("livemode", "number")
        )
        renewals: list[_Renewal] = []
        events: list[NewEvent] = []
        for subscription in plain:
            customer = customers[subscription.customer_id]
            card = cards.get(subscription.pk)
            subscription.customer = customer
            renewal = (
                _renew(subscription, items[subscription.pk], customer, card, tax_ids[customer.pk], taken, events)
                if card is not None
                else None
            )
            if renewal is None:
                # No card to charge (or too little to charge): the per-row path records that as Stripe does.
                outcome.rest.append(subscription.pk)
            else:
                renewals.append(renewal)
        _write_begun(renewals, items, events)
    outcome.renewed.extend(r.subscription.pk for r in renewals)
    return renewals


def _without_pending_items(subscriptions: list[Subscription], outcome: BatchRenewal) -> list[Subscription]:
    """Subscriptions with pending invoice items to bill (their prorations, or their customer's items
    of no subscription) go the per-row way."""
    pending = set(
        InvoiceItem.objects.filter(
            subscription_id__in=[s.public_id for s in subscriptions], invoice__isnull=True, deleted=False
        ).values_list("subscription_id", flat=True)
    )
    customers_pending = set(
        InvoiceItem.objects.filter(
            customer_id__in={s.customer_id for s in subscriptions},
            subscription_id__isnull=True,
            invoice__isnull=True,
            deleted=False,
        ).values_list("customer_id", flat=True)
    )
    kept = []
    for subscription in subscriptions:
        if subscription.public_id in pending or subscription.customer_id in customers_pending:
            outcome.rest.append(subscription.pk)
        else:
            kept.append(subscription)
    return kept


def _cards(subscriptions: list[Subscription], customers: dict[int, Customer]) -> dict[int, PaymentMethod]:
    """The card each subscription's invoice is charged to (``payment_method_for``), read at once."""
    wanted = {
        s.pk: customers[s.customer_id].invoice_settings.get("default_payment_method")
        for s in subscriptions
        if s.default_payment_method is None
    }
    found: dict[tuple[bool, str | None, int | None], PaymentMethod] = {
        (pm.livemode, pm.public_id, pm.customer_id): pm
        for pm in PaymentMethod.objects.filter(
            public_id__in=[w for w in wanted.values() if w], customer_id__in=list(customers)
        )
    }
    cards: dict[int, PaymentMethod] = {}
    for subscription in subscriptions:
        card = subscription.default_payment_method or found.get(
            (subscription.livemode, wanted.get(subscription.pk), subscription.customer_id)
        )
        if card is not None:
            if card.customer_id == subscription.customer_id:
                card.customer = customers[subscription.customer_id]
            cards[subscription.pk] = card
    return cards


def _renew(
    subscription: Subscription,
    items: list[SubscriptionItem],
    customer: Customer,
    card: PaymentMethod,
    tax_ids: list[TaxId],
    taken: set[tuple[bool, str | None]],
    events: list[NewEvent],
) -> _Renewal | None:
    """One renewal in memory, as ``_renew`` and ``invoice_pay`` make it; its events appended to ``events``.
    None, with nothing changed, when its invoice would not be charged (below the card minimum)."""
    at = customer_now(customer)
    old_start, start, end = renewal_period(subscription, items)
    values = subscription_invoice_values(
        subscription,
        billing_reason="subscription_cycle",
        lines=billed_lines(subscription, items, start, end),
        period_start=old_start,
        period_end=start,
        discounts=[],
    )
    draft = invoice_build(**values, pending_items=[])
    invoice, lines = draft.invoice, draft.lines
    if customer.balance != 0 or invoice.amount_due < intents.MINIMUM_AMOUNTS.get(invoice.currency, 1):
        return None  # credit, debt or a total too small to charge: finalization decides, per row
    before = snapshot(subscription, items=items)
    for item in items:
        item.current_period_start, item.current_period_end = start, end
    livemode = subscription.livemode
    with rows_known(invoice, "lines", lines), rows_known(customer, "tax_ids", tax_ids):
        events.append(NewEvent("invoice.created", render_object(invoice), livemode, at))
    before_customer = render_object(customer)
    finalize_apply(
        invoice,
        customer=customer,
        lines=lines,
        now=at,
        tax_ids=[{"type": t.type, "value": t.value} for t in tax_ids],
        number_taken=(livemode, next_number(customer)) in taken,
    )
    if customer_changed(before_customer, customer):
        _updated(events, "customer.updated", customer, before_customer, at)
    with rows_known(invoice, "lines", lines):
        events.append(NewEvent("invoice.finalized", render_object(invoice), livemode, at))
    subscription.latest_invoice = invoice
    with rows_known(subscription, "items", items):
        _updated(events, "customer.subscription.updated", subscription, before, at)
    schedule(subscription, items)
    intent = intents.payment_intent_build(**invoice_payment.intent_values(invoice))
    events.append(NewEvent("payment_intent.created", render_object(intent), livemode, intent.created))
    invoice.payment_intent = intent
    payment_method_check_usable(payment_method=card, customer=customer, param="payment_method")
    intent.payment_method = card
    attempt = intents.attempt_build(intent, off_session=True)
    return _Renewal(subscription=subscription, invoice=invoice, lines=lines, intent=intent, attempt=attempt)


def _updated(events: list[NewEvent], type: str, obj: Model, before: dict[str, object], at: dt.datetime) -> None:
    """``event_record_update`` into ``events``: the object now, with what changed since ``before``."""
    after = render_object(obj)
    previous = changed_attributes(before, after)
    if previous:
        events.append(NewEvent(type, after, obj.livemode, at, previous_attributes=previous))  # type: ignore[attr-defined]


def _write_begun(renewals: list[_Renewal], items: dict[int, list[SubscriptionItem]], events: list[NewEvent]) -> None:
    """Phase 1's rows, each written once in its state at the end of the phase."""
    if not renewals:
        return
    renewed_items = [item for r in renewals for item in items[r.subscription.pk]]
    rows_update(renewed_items, ["current_period_start", "current_period_end"])
    rows_insert([r.intent for r in renewals])
    invoices = [r.invoice for r in renewals]
    for renewal in renewals:
        renewal.invoice.payment_intent = renewal.intent
    rows_insert(invoices)
    rows_insert([line for r in renewals for line in r.lines])
    rows_update([r.invoice.customer for r in renewals], ["next_invoice_sequence", "balance", "currency"])
    for renewal in renewals:
        renewal.subscription.latest_invoice = renewal.invoice
    rows_update([r.subscription for r in renewals])
    rows_insert([r.attempt for r in renewals])
    events_record(events)


# ---- Phase 3 ----------------------------------------------------------------------------------


def _record(renewals: list[_Renewal]) -> None:
    """Every success in one transaction, as ``_record_outcome`` and ``invoice_payment_record`` record
    it, from the rows re-read under their locks (they may have changed since phase 1)."""
    from billfold.billing.renewals import sqlite_turn  # here: renewals imports this module

    succeeded = [r for r in renewals if r.result is not None and r.result.status == "succeeded"]
    if not succeeded:
        return
    with sqlite_turn(), transaction.atomic():
        # billfold.billing.locks: invoices before payment intents; an attempt before its intent.
        invoices = _locked(Invoice.objects.select_related("customer"), [r.invoice.pk for r in succeeded])
        attempts = _locked(PaymentAttempt.objects.select_related("payment_method"), [r.attempt.pk for r in succeeded])
        found = _locked(
            PaymentIntent.objects.select_related("customer", "payment_method"), [r.intent.pk for r in succeeded]
        )
        done: list[tuple[_Renewal, Invoice, PaymentAttempt, PaymentIntent, Charge]] = []
        for renewal in succeeded:
            attempt, intent = attempts[renewal.attempt.pk], found[renewal.intent.pk]
            invoice = invoices[renewal.invoice.pk]
            if attempt.status != "attempting" or intent.setup_future_usage is not None:
                continue  # recorded by someone else meanwhile: the per-row services sort it out
            assert renewal.result is not None
            moment = intents.customer_moment(intent.customer)
            done.append(
                (renewal, invoice, attempt, intent, intents.succeeded_apply(attempt, intent, renewal.result, moment))
            )
        rows_insert([charge for *_, charge in done])
        events: list[NewEvent] = []
        paid: list[Invoice] = []
        for renewal, invoice, attempt, intent, charge in done:
            attempt.charge = charge
            intent.latest_charge = charge
            moment = charge.created
            with rows_known(charge, "refunds", ()):
                events.append(NewEvent("charge.succeeded", render_object(charge), intent.livemode, moment))
            events.append(NewEvent("payment_intent.succeeded", render_object(intent), intent.livemode, moment))
            renewal.recorded = True
            if invoice.status not in ("open", "uncollectible") or invoice.payment_intent_id != intent.pk:
                continue  # paid or voided meanwhile: left as it is, as invoice_payment_record leaves it
            # As invoice_pay's _record_attempt: the attempt counted, the invoice paid (the subscription,
            # active and renewed, does not change).
            invoice_payment.attempt_count(invoice, retry=False)
            at = customer_now(invoice.customer)
            paid_apply(invoice, out_of_band=False, now=at)
            # A finalized invoice's lines no longer change: those phase 1 wrote.
            with rows_known(invoice, "lines", renewal.lines):
                rendered = render_object(invoice)
            events.append(NewEvent("invoice.paid", rendered, invoice.livemode, at))
            events.append(NewEvent("invoice.payment_succeeded", copy.deepcopy(rendered), invoice.livemode, at))
            paid.append(invoice)
        rows_update([intent for *_, intent, _charge in done])
        rows_update([a for _r, _i, a, *_ in done], ["status", "charge", "finished_at"])
        rows_update(paid)
        events_record(events)


def _locked(rows: QuerySet[M], pks: list[int]) -> dict[int, M]:
    return {row.pk: row for row in rows.select_for_update(of=("self",)).filter(pk__in=pks).order_by("pk")}


def _record_others(renewals: list[_Renewal]) -> None:
    """Declines, authentication asked, and successes phase 3 left: recorded row by row by the services
    every payment uses, each in its own transaction, as ``invoice_pay`` records them."""
    for renewal in renewals:
        if renewal.result is None or renewal.recorded:
            continue
        try:
            intent = intents.payment_attempt_record(attempt=renewal.attempt, result=renewal.result)
            invoice_payment.invoice_payment_record(invoice=renewal.invoice, payment_intent=intent)
        except Exception:
            # The invoice stays open and due: its dunning retry records the attempt's first answer.
            logger.exception("Recording the payment of invoice %s failed; it is retried", renewal.invoice.public_id)
