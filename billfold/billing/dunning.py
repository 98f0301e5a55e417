"""Dunning: when a failed automatic invoice payment is tried again, and what happens after the last try.

The schedule comes from settings ``BILLFOLD_RETRY_SCHEDULE``: the delays of the retries after the
first failed attempt, e.g. ``1d,2d,3d,5d,7d,10d,14d`` (the default: 8 attempts over 2 weeks, as
Stripe's recommended Smart Retries policy). Each retry is scheduled from the attempt before it by
the difference of their delays, so when every attempt runs on time they fall exactly on the listed
delays, and a worker that was down shifts the later ones instead of firing them back to back.

An invoice takes part while it is open, collected automatically (``charge_automatically``) and
``auto_advance``: after each counted attempt that fails, ``next_attempt_at`` sets
``invoice.next_payment_attempt``; once the last attempt has failed it is None and the invoice's
subscription gets the final action of ``BILLFOLD_DUNNING_FINAL_ACTION`` (``cancel``, Stripe's
default, or ``unpaid``). The invoice itself is left open, as Stripe's default "leave the invoice
as-is", so it can still be paid.
"""

from __future__ import annotations

import datetime as dt
import re

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction

from billfold.billing import invoices
from billfold.billing.invoices.common import record
from billfold.billing.locks import invoice_locked
from billfold.billing.models import Invoice
from billfold.billing.subscriptions.status import subscription_payment_result
from billfold.clocks.selectors import customer_now

FINAL_ACTIONS = ("cancel", "unpaid")
# A retry further away than this is surely a typing mistake (days for hours, an extra zero).
LONGEST_DELAY = dt.timedelta(days=365)
_DELAY = re.compile(r"(\d+)\s*([hd])")
_UNITS = {"h": dt.timedelta(hours=1), "d": dt.timedelta(days=1)}


def parse_retry_schedule(text: str) -> tuple[dt.timedelta, ...]:
    """The retries' delays after the first failed attempt, from ``"1d,2d,36h"``; refused with a
    message naming the setting when it cannot be read."""
    delays: list[dt.timedelta] = []
    for index, part in enumerate(p.strip().lower() for p in text.split(",")):
        if not part and not text.strip():
            break
        match = _DELAY.fullmatch(part)
        if match is None:
            raise ImproperlyConfigured(
                f"BILLFOLD_RETRY_SCHEDULE={text!r}: entry {index + 1} ({part!r}) is not a delay. Write each retry "
                "as a number of hours or days after the first failed attempt, e.g. 1d,2d,3d,5d,7d,10d,14d "
                "(an empty value turns retries off)."
            )
        delay = int(match.group(1)) * _UNITS[match.group(2)]
        if delay <= (delays[-1] if delays else dt.timedelta(0)):
            raise ImproperlyConfigured(
                f"BILLFOLD_RETRY_SCHEDULE={text!r}: entry {index + 1} ({part}) must come after the one before it "
                "(and after 0): each delay counts from the first failed attempt, so they grow, e.g. 1d,2d,3d."
            )
        if delay > LONGEST_DELAY:
            raise ImproperlyConfigured(
                f"BILLFOLD_RETRY_SCHEDULE={text!r}: entry {index + 1} ({part}) is more than 365 days after the "
                "first failed attempt. Give delays in hours (h) or days (d)."
            )
        delays.append(delay)
    return tuple(delays)


def parse_final_action(value: str) -> str:
    action = value.strip().lower()
    if action not in FINAL_ACTIONS:
        raise ImproperlyConfigured(
            f"BILLFOLD_DUNNING_FINAL_ACTION={value!r} is not an action: use cancel (cancel the subscription once "
            "every payment attempt has failed, Stripe's default) or unpaid (keep it, marked unpaid)."
        )
    return action


def retry_schedule() -> tuple[dt.timedelta, ...]:
    return parse_retry_schedule(settings.BILLFOLD_RETRY_SCHEDULE)


def final_action() -> str:
    return parse_final_action(settings.BILLFOLD_DUNNING_FINAL_ACTION)


def settings_check() -> None:
    """Refuse to start with a dunning setting that cannot be read (called by the billing app's ready())."""
    retry_schedule()
    final_action()


def _collected_automatically(invoice: Invoice) -> bool:
    return invoice.collection_method == "charge_automatically" and invoice.auto_advance


def next_attempt_at(invoice: Invoice) -> dt.datetime | None:
    """When to try collecting ``invoice`` again after the attempt just counted in ``attempt_count``
    failed, or None: no retry is left, or the invoice is not collected automatically.

    The retry is timed from the failed attempt in the customer's time (a test clock's, if any).
    """
    if invoice.status != "open" or not _collected_automatically(invoice):
        return None
    delays = retry_schedule()
    failed = invoice.attempt_count
    if failed < 1 or failed > len(delays):
        return None
    previous = delays[failed - 2] if failed >= 2 else dt.timedelta(0)
    return customer_now(invoice.customer) + (delays[failed - 1] - previous)


def retries_exhausted(invoice: Invoice) -> bool:
    """True for an open, automatically collected invoice whose every scheduled attempt has failed."""
    return (
        invoice.status == "open"
        and _collected_automatically(invoice)
        and invoice.attempt_count >= len(retry_schedule()) + 1
    )


def payment_due(invoice: Invoice, now: dt.datetime) -> bool:
    """The worker has to collect the invoice at ``now``: an automatic draft to finalize and charge,
    or an open invoice whose next attempt has come."""
    return (
        invoice.status in ("draft", "open")
        and _collected_automatically(invoice)
        and invoice.next_payment_attempt is not None
        and invoice.next_payment_attempt <= now
    )


def invoice_retry_due(*, invoice_id: int, now: dt.datetime) -> Invoice | None:
    """Collect the invoice if a payment attempt is due at ``now``: a draft is finalized first, then
    the card charged through ``invoice_pay`` as an automatic retry. Does nothing when it is not due
    (already paid, voided, retried by another worker...), so calling it twice is harmless.

    After the last attempt of the schedule has failed, the invoice's subscription gets the final
    action (``invoice_pay`` reports every outcome to ``subscription_payment_result``, with
    ``final`` from ``retries_exhausted``). Returns the invoice, or None when there is no such invoice.
    """
    invoice = Invoice.objects.select_related("customer").filter(pk=invoice_id).first()
    if invoice is None or not payment_due(invoice, now):
        return invoice
    try:
        if invoice.status == "draft":
            invoice = invoices.invoice_finalize(invoice=invoice)
            if invoice.status != "open":
                return invoice  # nothing was left to pay
        invoice = invoices.invoice_pay(invoice=invoice, retry=True)
    except invoices.NoPaymentMethod:
        invoice = _record_unchargeable(invoice)
    except invoices.InvoiceStateError:
        # Paid, voided or finalized by someone else since it was found due.
        invoice.refresh_from_db()
        return invoice
    return invoice


@transaction.atomic
def _record_unchargeable(invoice: Invoice) -> Invoice:
    """An automatic attempt that found no card to charge counts as a failed attempt, as in Stripe."""
    _, invoice = invoice_locked(invoice)  # the subscription first: billfold.billing.locks
    if invoice.status != "open":
        return invoice
    invoice.attempt_count += 1
    invoice.attempted = True
    invoice.next_payment_attempt = next_attempt_at(invoice)
    invoice.save()
    record(invoice, "invoice.payment_failed")
    subscription_payment_result(invoice=invoice, succeeded=False, final=retries_exhausted(invoice))
    return invoice
