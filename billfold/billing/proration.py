"""Prorations: what a mid-period subscription change credits and charges, to the second.

Pure functions on plain values (``ProrationItem`` in, ``ProrationLine`` out) so the subscription
services and the invoice preview feed them model data without this module importing models.

Stripe's rules, reproduced here:
- A change at ``proration_date`` inside the current period ``[start, end)`` credits the unused time
  on the old item, ``-old_amount * remaining / period``, as "Unused time on {product} after {date}",
  and charges the remaining time on the new one, ``+new_amount * remaining / period``, as "Remaining
  time on {product} after {date}", with ``remaining`` and ``period`` counted in seconds. Both lines
  cover ``[proration_date, end)``. Their example: $10 → $20 a month, at exactly half of the period,
  gives -$5.00 and +$10.00.
- Each line is rounded to the minor unit on its own, half away from zero (pricing.round_minor).
- A quantity other than 1 comes before the product name with a multiplication sign (U+00D7), as
  "Unused time on 2 <sign> Pro after 15 Jan 2026".
- Proration lines are not discountable (``discountable=False``): an invoice's discounts apply only to
  its other lines. Amounts here are before any subscription discount; reflecting one in a proration
  is the caller's decision.
- Same billing interval: prorations wait for the next invoice, unless ``always_invoice``.
- A different interval (month → year), or ``billing_cycle_anchor=now``, restarts the billing period at
  the change: the unused time is credited, no "Remaining time" is charged, the new period is billed in
  full, and the invoice is created at once.
- ``proration_behavior=none`` creates no proration lines; a restarted period is still billed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from billfold.billing.pricing import PriceLike, price_amount, price_amount_exact, round_minor
from billfold.core.errors import InvalidParam
from billfold.core.periods import add_interval

PRORATION_BEHAVIORS: tuple[str, ...] = ("create_prorations", "none", "always_invoice")

# Stripe writes dates in English whatever the locale ("after 03 May 2026"); strftime's %b would
# follow the process locale.
_MONTH_ABBREVIATIONS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_SECOND = dt.timedelta(seconds=1)
# Stripe writes quantities with the multiplication sign, not the letter x.
_TIMES = "\u00d7"


@dataclass(frozen=True)
class ProrationItem:
    """A subscription item as proration sees it: its price, quantity, cadence and display name."""

    price: PriceLike
    quantity: int
    product_name: str
    # The price's recurring interval ("day" | "week" | "month" | "year") and interval_count.
    interval: str
    interval_count: int
    # Public ids carried through to the lines so callers can link them back (price_..., si_...).
    price_ref: str | None = None
    subscription_item_ref: str | None = None

    @property
    def currency(self) -> str:
        return self.price.currency


@dataclass(frozen=True)
class ProrationLine:
    """A credit (negative) or debit (positive) for part of a period, in minor units of ``currency``."""

    description: str
    amount: int
    currency: str
    quantity: int
    period_start: dt.datetime
    period_end: dt.datetime
    proration: bool = True
    discountable: bool = False
    price_ref: str | None = None
    subscription_item_ref: str | None = None


@dataclass(frozen=True)
class PeriodCharge:
    """A whole new period of an item, billed in full when a change restarts the billing period."""

    item: ProrationItem
    amount: int
    period_start: dt.datetime
    period_end: dt.datetime


@dataclass(frozen=True)
class ItemChange:
    """One item of the subscription before and after the update.

    ``old`` None: the item is added; ``new`` None: it is removed; equal: it is unchanged (list
    those too, since a restarted period credits and re-bills every item).
    """

    old: ProrationItem | None
    new: ProrationItem | None


@dataclass(frozen=True)
class ChangeProration:
    """Everything a subscription update bills: proration lines, full-period charges, and the new period."""

    lines: tuple[ProrationLine, ...]
    period_charges: tuple[PeriodCharge, ...]
    # True when the lines and charges go on an invoice created and finalized now, rather than
    # waiting as pending invoice items for the next one.
    invoice_now: bool
    period_start: dt.datetime
    period_end: dt.datetime
    billing_cycle_anchor: dt.datetime
    period_restarted: bool

    @property
    def total(self) -> int:
        return sum(line.amount for line in self.lines) + sum(charge.amount for charge in self.period_charges)


def stripe_date(moment: dt.datetime) -> str:
    """A date as Stripe writes it in line descriptions: ``03 May 2026`` (UTC)."""
    day = moment.astimezone(dt.UTC)
    return f"{day.day:02d} {_MONTH_ABBREVIATIONS[day.month - 1]} {day.year}"


def proration_description(*, unused: bool, product_name: str, quantity: int, proration_date: dt.datetime) -> str:
    """Stripe's wording: "Remaining time on Pro after 15 Jan 2026"; quantities other than 1 as "2 <sign> Pro"."""
    what = product_name if quantity == 1 else f"{quantity} {_TIMES} {product_name}"
    return f"{'Unused' if unused else 'Remaining'} time on {what} after {stripe_date(proration_date)}"


def remaining_share(*, period_start: dt.datetime, period_end: dt.datetime, proration_date: dt.datetime) -> Fraction:
    """The part of the period still ahead at ``proration_date``: remaining seconds over period seconds."""
    if not period_start <= proration_date < period_end:
        raise InvalidParam(
            f"proration_date ({int(proration_date.timestamp())}) must fall within the current billing period "
            f"({int(period_start.timestamp())} to {int(period_end.timestamp())}).",
            param="proration_date",
        )
    # Whole seconds, as Stripe counts: floor division of timedeltas stays in integers.
    remaining = (period_end - proration_date) // _SECOND
    total = (period_end - period_start) // _SECOND
    return Fraction(remaining, total)


def _line(
    item: ProrationItem,
    *,
    unused: bool,
    period_start: dt.datetime,
    period_end: dt.datetime,
    proration_date: dt.datetime,
) -> ProrationLine:
    share = remaining_share(period_start=period_start, period_end=period_end, proration_date=proration_date)
    # Rounded as a magnitude, then signed: the credit for an item is exactly minus its debit.
    magnitude = round_minor(price_amount_exact(item.price, item.quantity) * share)
    return ProrationLine(
        description=proration_description(
            unused=unused, product_name=item.product_name, quantity=item.quantity, proration_date=proration_date
        ),
        amount=-magnitude if unused else magnitude,
        currency=item.currency,
        quantity=item.quantity,
        period_start=proration_date,
        period_end=period_end,
        price_ref=item.price_ref,
        subscription_item_ref=item.subscription_item_ref,
    )


def unused_time_line(
    item: ProrationItem, *, period_start: dt.datetime, period_end: dt.datetime, proration_date: dt.datetime
) -> ProrationLine:
    """The credit for ``item``'s time from ``proration_date`` to the period's end (negative amount)."""
    return _line(item, unused=True, period_start=period_start, period_end=period_end, proration_date=proration_date)


def remaining_time_line(
    item: ProrationItem, *, period_start: dt.datetime, period_end: dt.datetime, proration_date: dt.datetime
) -> ProrationLine:
    """The charge for ``item``'s time from ``proration_date`` to the period's end (positive amount)."""
    return _line(item, unused=False, period_start=period_start, period_end=period_end, proration_date=proration_date)


def _cadence(items: Sequence[ProrationItem]) -> tuple[str, int] | None:
    cadences = {(item.interval, item.interval_count) for item in items}
    if len(cadences) > 1:
        described = ", ".join(f"every {count} {interval}(s)" for interval, count in sorted(cadences))
        raise InvalidParam(
            f"All prices on a subscription must bill on the same interval; these bill {described}.", param="items"
        )
    return next(iter(cadences), None)


def prorate_subscription_change(
    *,
    changes: Sequence[ItemChange],
    period_start: dt.datetime,
    period_end: dt.datetime,
    billing_cycle_anchor: dt.datetime,
    now: dt.datetime,
    proration_date: dt.datetime | None = None,
    proration_behavior: str = "create_prorations",
    reset_billing_cycle_anchor: bool = False,
) -> ChangeProration:
    """What updating the items of a subscription in period ``[period_start, period_end)`` bills.

    ``now`` is when the update happens (a restarted period begins there); ``proration_date``
    (default ``now``) is the moment the prorations are computed for, so a preview can be applied
    later with the same amounts. ``reset_billing_cycle_anchor`` is ``billing_cycle_anchor=now``.
    """
    if proration_behavior not in PRORATION_BEHAVIORS:
        raise InvalidParam(
            f"Invalid proration_behavior: {proration_behavior}. Use one of {', '.join(PRORATION_BEHAVIORS)}.",
            param="proration_behavior",
        )
    at = now if proration_date is None else proration_date
    # Checks the date even when no line is created, so a bad proration_date is always refused.
    remaining_share(period_start=period_start, period_end=period_end, proration_date=at)
    olds = [change.old for change in changes if change.old is not None]
    news = [change.new for change in changes if change.new is not None]
    old_cadence, new_cadence = _cadence(olds), _cadence(news)
    prorate = proration_behavior != "none"
    window = {"period_start": period_start, "period_end": period_end, "proration_date": at}

    interval_changed = old_cadence is not None and new_cadence is not None and old_cadence != new_cadence
    if new_cadence is not None and (interval_changed or reset_billing_cycle_anchor):
        interval, interval_count = new_cadence
        new_end = add_interval(now, interval, interval_count)
        credits = tuple(unused_time_line(item, **window) for item in olds) if prorate else ()
        charges = tuple(
            PeriodCharge(
                item=item, amount=price_amount(item.price, item.quantity), period_start=now, period_end=new_end
            )
            for item in news
        )
        return ChangeProration(
            lines=credits,
            period_charges=charges,
            invoice_now=True,
            period_start=now,
            period_end=new_end,
            billing_cycle_anchor=now,
            period_restarted=True,
        )

    lines: list[ProrationLine] = []
    if prorate:
        for change in changes:
            if change.old == change.new:
                continue
            if change.old is not None:
                lines.append(unused_time_line(change.old, **window))
            if change.new is not None:
                lines.append(remaining_time_line(change.new, **window))
    return ChangeProration(
        lines=tuple(lines),
        period_charges=(),
        invoice_now=proration_behavior == "always_invoice" and bool(lines),
        period_start=period_start,
        period_end=period_end,
        billing_cycle_anchor=billing_cycle_anchor,
        period_restarted=False,
    )
