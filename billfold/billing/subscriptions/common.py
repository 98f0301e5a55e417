"""Pieces every subscription service shares: locking, time, items, periods, events, what is due next."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.models import QuerySet

from billfold.billing.models import Subscription, SubscriptionItem
from billfold.billing.pricing import price_amount_exact, round_minor
from billfold.billing.proration import ProrationItem
from billfold.catalog.models import Price
from billfold.clocks.selectors import customer_now
from billfold.core.errors import DomainError
from billfold.core.money import decimal_places, to_major
from billfold.core.periods import next_period_end, period_containing
from billfold.events.rendering import render_object, rows_known
from billfold.events.services import event_record, event_record_update

# A first invoice left unpaid this long makes the subscription incomplete_expired (Stripe's 23 hours).
INCOMPLETE_WINDOW = dt.timedelta(hours=23)
# customer.subscription.trial_will_end goes out this long before a trial ends (or at once if sooner).
TRIAL_WILL_END_NOTICE = dt.timedelta(days=3)
# Stripe's longest trial.
MAX_TRIAL = dt.timedelta(days=730)
# The longest notice BILLFOLD_UPCOMING_RENEWAL_DAYS may ask for (more is surely a typing mistake).
MAX_UPCOMING_RENEWAL_DAYS = 365
MAX_ITEMS = 20

_SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£", "jpy": "¥", "cad": "CA$", "aud": "A$", "inr": "₹", "chf": "CHF "}
_TIMES = "\u00d7"


class SubscriptionStateError(DomainError):
    """The subscription's status does not allow the operation (updating a canceled one, resuming an active one...)."""


def now_for(subscription: Subscription) -> dt.datetime:
    """The present as the subscription's customer lives it (a test clock's time, when they have one)."""
    return customer_now(subscription.customer)


def locking() -> QuerySet[Subscription]:
    """Subscriptions read under a row lock, with what the services use of them."""
    return Subscription.objects.select_for_update(of=("self",)).select_related(
        "customer", "default_payment_method", "latest_invoice", "schedule"
    )


def locked(subscription: Subscription | int) -> Subscription:
    """The subscription re-read under a row lock, so concurrent changes see each other's outcome."""
    pk = subscription if isinstance(subscription, int) else subscription.pk
    return locking().get(pk=pk)


def live_items(subscription: Subscription) -> list[SubscriptionItem]:
    """The items being billed (deleted ones left out), in the order they were added."""
    return list(subscription.items.filter(deleted=False).select_related("price__product").order_by("pk"))


def record(subscription: Subscription, type: str, *, rendered: dict[str, Any] | None = None) -> None:
    event_record(
        type=type, obj=subscription, livemode=subscription.livemode, rendered=rendered, created=now_for(subscription)
    )


def record_update(
    subscription: Subscription, before: dict[str, Any], *, items: Sequence[SubscriptionItem] | None = None
) -> None:
    """``customer.subscription.updated`` with what changed since ``before`` (nothing visible: no event).

    ``items``: the live items as saved, when the caller holds them (``live_items``), so they are not read again.
    """
    with rows_known(subscription, "items", items):
        event_record_update(
            type="customer.subscription.updated",
            obj=subscription,
            livemode=subscription.livemode,
            before=before,
            created=now_for(subscription),
        )


def snapshot(subscription: Subscription, *, items: Sequence[SubscriptionItem] | None = None) -> dict[str, Any]:
    """The subscription as the API shows it now, to compare with after a change (``items`` as for record_update)."""
    with rows_known(subscription, "items", items):
        return render_object(subscription)


# ---- Prices and periods -----------------------------------------------------------------------


def cadence_of(price: Price) -> tuple[str, int]:
    assert price.recurring_interval is not None
    return price.recurring_interval, price.recurring_interval_count or 1


def proration_item(item: SubscriptionItem, *, price: Price | None = None, quantity: int | None = None) -> ProrationItem:
    """``item`` as proration sees it, optionally with another price or quantity (its state after a change)."""
    chosen = price if price is not None else item.price
    interval, count = cadence_of(chosen)
    return ProrationItem(
        price=chosen,
        quantity=item.quantity if quantity is None else quantity,
        product_name=chosen.product.name,
        interval=interval,
        interval_count=count,
        price_ref=chosen.public_id,
        subscription_item_ref=item.public_id,
    )


def natural_period(subscription: Subscription, price: Price, moment: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The full billing cycle of the subscription's anchor that contains ``moment``."""
    interval, count = cadence_of(price)
    return period_containing(
        anchor=subscription.billing_cycle_anchor,
        interval=interval,
        interval_count=count,
        moment=moment,
        anchor_day=subscription.billing_cycle_anchor_day,
    )


def period_end_after(subscription: Subscription, price: Price, moment: dt.datetime) -> dt.datetime:
    """The first billing date of the subscription's cycle strictly after ``moment``."""
    interval, count = cadence_of(price)
    return next_period_end(
        anchor=subscription.billing_cycle_anchor,
        interval=interval,
        interval_count=count,
        after=moment,
        anchor_day=subscription.billing_cycle_anchor_day,
    )


def partial_amount(
    *, price: Price, quantity: int, start: dt.datetime, end: dt.datetime, full: tuple[dt.datetime, dt.datetime]
) -> int:
    """What ``[start, end)`` of the cycle ``full`` costs: the full amount times the share of its seconds."""
    seconds = (full[1] - full[0]) // dt.timedelta(seconds=1)
    share = Fraction((end - start) // dt.timedelta(seconds=1), seconds)
    return round_minor(price_amount_exact(price, quantity) * share)


def set_period(items: Sequence[SubscriptionItem], start: dt.datetime, end: dt.datetime) -> None:
    """Save ``[start, end)`` as the current period of every item."""
    for item in items:
        item.current_period_start, item.current_period_end = start, end
        item.save(update_fields=["current_period_start", "current_period_end"])


def reanchor(subscription: Subscription, at: dt.datetime, price: Price) -> None:
    """Make ``at`` the billing cycle anchor (``billing_cycle_anchor=now``, a trial's end); nothing saved."""
    subscription.billing_cycle_anchor = at
    subscription.billing_cycle_anchor_day = anchor_day_for(at, cadence_of(price)[0])
    subscription.billing_cycle_anchor_config = None


def anchor_day_for(anchor: dt.datetime, interval: str, wanted_day: int | None = None) -> int | None:
    """The day of month a month or year anchor stands for (``wanted_day`` when it was clamped from one)."""
    if interval not in ("month", "year"):
        return None
    return wanted_day if wanted_day is not None and wanted_day > anchor.day else anchor.day


# ---- Descriptions -----------------------------------------------------------------------------


def money(amount: int, currency: str) -> str:
    """An amount as Stripe writes it in line descriptions: ``$10.00``, ``€9.50``, ``1000 SEK``."""
    places = decimal_places(currency)
    number = f"{to_major(amount, currency):,.{places}f}"
    symbol = _SYMBOLS.get(currency)
    return f"{symbol}{number}" if symbol else f"{number} {currency.upper()}"


def _per(price: Price) -> str:
    interval, count = cadence_of(price)
    return interval if count == 1 else f"every {count} {interval}s"


def line_description(price: Price, quantity: int) -> str:
    """Stripe's wording for a subscription line: ``1 <times> Pro (at $10.00 / month)`` (U+00D7)."""
    name = f"{quantity} {_TIMES} {price.product.name}"
    if price.billing_scheme == "tiered" or price.unit_amount is None:
        return name
    return f"{name} (at {money(price.unit_amount, price.currency)} / {_per(price)})"


def trial_description(price: Price) -> str:
    return f"Trial period for {price.product.name}"


# ---- What is due next -------------------------------------------------------------------------


def parse_upcoming_renewal_days(value: str) -> int:
    """``BILLFOLD_UPCOMING_RENEWAL_DAYS``: whole days, 0 (off) to 365; refused naming the setting."""
    text = value.strip()
    if not text.isdigit() or int(text) > MAX_UPCOMING_RENEWAL_DAYS:
        raise ImproperlyConfigured(
            f"BILLFOLD_UPCOMING_RENEWAL_DAYS={value!r} is not a number of days: give how many days before a "
            f"subscription renews invoice.upcoming is sent, from 0 (never) to {MAX_UPCOMING_RENEWAL_DAYS}, e.g. 7."
        )
    return int(text)


def upcoming_renewal_notice() -> dt.timedelta | None:
    """How long before its next invoice a subscription gets invoice.upcoming; None when turned off."""
    days = parse_upcoming_renewal_days(settings.BILLFOLD_UPCOMING_RENEWAL_DAYS)
    return dt.timedelta(days=days) if days else None


def next_invoice_at(subscription: Subscription, items: Sequence[SubscriptionItem]) -> dt.datetime | None:
    """When the subscription will next be invoiced and charged automatically (its trial's end or its
    period's end), the moment invoice.upcoming announces; None when no such invoice is coming (it is
    set to cancel by then, is not charged automatically, or does not renew: incomplete, unpaid, paused)."""
    if subscription.collection_method != "charge_automatically":
        return None
    if subscription.status == "trialing" and subscription.trial_end is not None:
        moment = subscription.trial_end
    elif subscription.status in ("active", "past_due") and items:
        moment = items[0].current_period_end
    else:
        return None
    if subscription.cancel_at is not None and subscription.cancel_at <= moment:
        return None
    return moment


def due_moments(subscription: Subscription, items: Sequence[SubscriptionItem]) -> list[tuple[dt.datetime, str]]:
    """Every moment the engine must act on the subscription, with what it does then (not sorted).

    Kinds, in the order they go when due at the same moment: ``trial_will_end``,
    ``upcoming_renewal`` (invoice.upcoming, ``BILLFOLD_UPCOMING_RENEWAL_DAYS`` before the next
    invoice, or at once if that is sooner), ``resume_collection``, ``cancel`` (a scheduled
    cancellation wins over the renewal at the same period end), ``phase`` (the schedule's next
    phase begins, before the renewal at the same moment bills it), ``trial_end``, ``renew``,
    ``expire`` (an incomplete subscription's 23 hours), ``past_due`` (a sent invoice past its due date).
    """
    status = subscription.status
    if subscription.ended:
        return []
    due: list[tuple[dt.datetime, str]] = []
    if status == "incomplete":
        due.append((subscription.created + INCOMPLETE_WINDOW, "expire"))
        return due
    if status == "trialing" and subscription.trial_end is not None:
        if subscription.trial_will_end_sent_for != subscription.trial_end:
            due.append((subscription.trial_end - TRIAL_WILL_END_NOTICE, "trial_will_end"))
        due.append((subscription.trial_end, "trial_end"))
    notice = upcoming_renewal_notice()
    renews_at = next_invoice_at(subscription, items) if notice is not None else None
    if notice is not None and renews_at is not None and subscription.upcoming_renewal_sent_for != renews_at:
        due.append((renews_at - notice, "upcoming_renewal"))
    if subscription.cancel_at is not None:
        due.append((subscription.cancel_at, "cancel"))
    if subscription.schedule_id is not None:
        # Read only for the few subscriptions a schedule manages (``locking`` joins it).
        plan = subscription.schedule
        if plan is not None and plan.status == "active" and plan.current_phase_end is not None:
            due.append((plan.current_phase_end, "phase"))
    pause = subscription.pause_collection or {}
    if pause.get("resumes_at") is not None:
        due.append((dt.datetime.fromtimestamp(pause["resumes_at"], dt.UTC), "resume_collection"))
    if status in ("active", "past_due", "unpaid") and items:
        due.append((items[0].current_period_end, "renew"))
    invoice = subscription.latest_invoice
    if (
        status == "active"
        and subscription.collection_method == "send_invoice"
        and invoice is not None
        and invoice.status == "open"
        and invoice.due_date is not None
    ):
        due.append((invoice.due_date, "past_due"))
    return due


_ORDER = (
    "trial_will_end",
    "upcoming_renewal",
    "resume_collection",
    "cancel",
    "phase",
    "trial_end",
    "renew",
    "expire",
    "past_due",
)


def next_due(
    subscription: Subscription, items: Sequence[SubscriptionItem], *, until: dt.datetime | None = None
) -> tuple[dt.datetime, str] | None:
    """The earliest due work (at or before ``until`` when given), ties broken by ``_ORDER``."""
    moments = due_moments(subscription, items)
    if until is not None:
        moments = [m for m in moments if m[0] <= until]
    if not moments:
        return None
    return min(moments, key=lambda m: (m[0], _ORDER.index(m[1])))


def schedule(subscription: Subscription, items: Sequence[SubscriptionItem] | None = None) -> None:
    """Set ``next_action_at`` to the earliest moment the engine must look at the subscription again."""
    found = next_due(subscription, live_items(subscription) if items is None else items)
    subscription.next_action_at = found[0] if found is not None else None
