"""The phases of a schedule: checking what a request gives, and storing them.

A phase entry is a mapping with the keys the request gave: ``items`` (entries with ``price`` (a
Price) or ``price_data``, ``quantity``, ``metadata``, ``tax_rates``), ``start_date`` and
``end_date`` (moments, or ``"now"``), ``iterations`` or ``duration`` (``{"interval",
"interval_count"}``) instead of an end date, ``proration_behavior``, ``billing_cycle_anchor``
(``automatic`` | ``phase_start``), ``metadata``, ``description``, ``currency``.

Phases follow each other without gaps: each starts when the one before ends. Only the last may
leave out its end, which is then one interval of its prices after its start (``iterations=1``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from billfold.billing.invoices.common import tax_rate_ids
from billfold.billing.models import Subscription, SubscriptionItem
from billfold.billing.proration import PRORATION_BEHAVIORS
from billfold.billing.schedules.common import Phase
from billfold.billing.subscriptions import rules
from billfold.billing.subscriptions.common import cadence_of
from billfold.billing.subscriptions.items import entry_price, items_check
from billfold.catalog.models import Price
from billfold.core import clock
from billfold.core.errors import InvalidParam
from billfold.core.periods import add_interval

# At most this many phases in one request.
MAX_PHASES = 10
BILLING_CYCLE_ANCHORS = ("automatic", "phase_start")


def _moment(value: dt.datetime | str, now: dt.datetime) -> dt.datetime:
    """A date the request gave: a moment, or ``now``."""
    return value if isinstance(value, dt.datetime) else now


def _item(
    subscription: Subscription, entry: Mapping[str, Any], known_prices: Collection[str], where: str
) -> tuple[Price, dict[str, Any]]:
    given: Price | None = entry.get("price")
    price = entry_price(
        entry,
        livemode=subscription.livemode,
        where=where,
        # An archived price the subscription or its schedule already bills may stay.
        inactive_ok=given is not None and given.public_id in known_prices,
    )
    if price.currency != subscription.currency:
        raise InvalidParam(
            f"All prices on a subscription must be in the same currency: {subscription.public_id} bills in "
            f"{subscription.currency} but {price.public_id} is in {price.currency}.",
            param=f"{where}[price]",
        )
    quantity = entry.get("quantity")
    stored = {
        "price": price.public_id,
        "quantity": 1 if quantity is None else quantity,
        "metadata": {k: v for k, v in (entry.get("metadata") or {}).items() if v is not None},
        "tax_rates": tax_rate_ids(
            livemode=subscription.livemode, ids=list(entry.get("tax_rates") or []), param=f"{where}[tax_rates]"
        ),
    }
    return price, stored


def _end(
    entry: Mapping[str, Any], start: dt.datetime, price: Price, now: dt.datetime, *, last: bool, where: str
) -> dt.datetime:
    given = [name for name in ("end_date", "iterations", "duration") if entry.get(name) is not None]
    if len(given) > 1:
        raise InvalidParam(
            f"You may only specify one of these parameters: {', '.join(given)}.",
            param=f"{where}[{given[-1]}]",
            code="parameters_exclusive",
        )
    if "end_date" in given:
        return _moment(entry["end_date"], now)
    if "duration" in given:
        duration = entry["duration"]
        return add_interval(start, duration["interval"], duration.get("interval_count") or 1)
    if "iterations" not in given and not last:
        raise InvalidParam(
            f"Missing required param: {where}[end_date]. Every phase but the last needs an end: give its end_date, "
            "duration or iterations.",
            param=f"{where}[end_date]",
            code="parameter_missing",
        )
    interval, count = cadence_of(price)
    return add_interval(start, interval, count * (entry.get("iterations") or 1))


def phases_build(
    *,
    subscription: Subscription,
    entries: Sequence[Mapping[str, Any]],
    start: dt.datetime,
    now: dt.datetime,
    known_prices: Collection[str],
    started: bool = True,
) -> list[Phase]:
    """The phases ``entries`` describe, checked and ready to store, the first starting at ``start``
    (the phase the subscription is in, which has begun: its start cannot move). For a schedule that
    has ``started``, entries for phases that ended by then (Stripe lets a request repeat them) are
    left out. Inactive prices are refused unless ``known_prices`` (ids the subscription or its
    schedule already use) has them."""
    if not entries:
        raise InvalidParam("A subscription schedule needs at least one phase.", param="phases")
    if len(entries) > MAX_PHASES:
        raise InvalidParam(f"A subscription schedule can have at most {MAX_PHASES} phases.", param="phases")
    built: list[Phase] = []
    current = [
        (index, entry)
        for index, entry in enumerate(entries)
        if not (started and isinstance(entry.get("end_date"), dt.datetime) and entry["end_date"] <= start)
    ]
    if not current:
        raise InvalidParam(
            f"Every phase given has ended: the phases must include the current one (started "
            f"{clock.to_unix(start)}) and may add later ones.",
            param="phases",
        )
    begins = start
    for position, (index, entry) in enumerate(current):
        where = f"phases[{index}]"
        given_start = entry.get("start_date")
        if given_start is not None and _moment(given_start, now) != begins:
            if position == 0:
                message = (
                    f"{where}[start_date] must be {clock.to_unix(begins)}, when the current phase started: the start "
                    "of a phase that has begun cannot move."
                )
            else:
                message = (
                    f"{where}[start_date] must be {clock.to_unix(begins)}, when the phase before it ends: phases "
                    "follow each other without gaps."
                )
            raise InvalidParam(message, param=f"{where}[start_date]")
        raw_items = list(entry.get("items") or [])
        if not raw_items:
            raise InvalidParam(
                f"Missing required param: {where}[items]. A phase needs at least one item.",
                param=f"{where}[items]",
                code="parameter_missing",
            )
        priced = [
            _item(subscription, item, known_prices, f"{where}[items][{number}]")
            for number, item in enumerate(raw_items)
        ]
        items_check(
            [SubscriptionItem(price=price, quantity=stored["quantity"]) for price, stored in priced],
            param=f"{where}[items]",
        )
        if entry.get("currency") is not None and entry["currency"] != subscription.currency:
            raise InvalidParam(
                f"{where}[currency] must be {subscription.currency}, the currency the subscription bills in.",
                param=f"{where}[currency]",
            )
        ends = _end(entry, begins, priced[0][0], now, last=position == len(current) - 1, where=where)
        if ends <= begins:
            raise InvalidParam(
                f"{where}[end_date] ({clock.to_unix(ends)}) must be after the phase's start ({clock.to_unix(begins)}).",
                param=f"{where}[end_date]",
            )
        if ends < now:
            raise InvalidParam(
                f"{where}[end_date] ({clock.to_unix(ends)}) is in the past; a phase still to come must end later "
                "than now (or end now: end_date=now).",
                param=f"{where}[end_date]",
            )
        behavior = entry.get("proration_behavior") or "create_prorations"
        rules.enum_check(behavior, PRORATION_BEHAVIORS, param=f"{where}[proration_behavior]")
        anchor = entry.get("billing_cycle_anchor") or "automatic"
        rules.enum_check(anchor, BILLING_CYCLE_ANCHORS, param=f"{where}[billing_cycle_anchor]")
        built.append(
            {
                "start_date": clock.to_unix(begins),
                "end_date": clock.to_unix(ends),
                "items": [stored for _, stored in priced],
                "proration_behavior": behavior,
                "billing_cycle_anchor": "phase_start" if anchor == "phase_start" else None,
                "metadata": {k: v for k, v in (entry.get("metadata") or {}).items() if v is not None},
                "description": entry.get("description"),
                "trial_end": None,
            }
        )
        begins = ends
    return built


def phase_of_items(
    items: Sequence[SubscriptionItem], *, start: dt.datetime, end: dt.datetime, trial_end: dt.datetime | None = None
) -> Phase:
    """A phase billing ``items`` as they are, from ``start`` to ``end`` (a schedule made from a subscription)."""
    return {
        "start_date": clock.to_unix(start),
        "end_date": clock.to_unix(end),
        "items": [item_entry(item) for item in items],
        "proration_behavior": "create_prorations",
        "billing_cycle_anchor": None,
        "metadata": {},
        "description": None,
        "trial_end": clock.to_unix(trial_end) if trial_end is not None else None,
    }


def item_entry(item: SubscriptionItem) -> dict[str, Any]:
    """A subscription item as a phase stores it."""
    return {
        "price": item.price.public_id,
        "quantity": item.quantity,
        "metadata": dict(item.metadata),
        "tax_rates": list(item.tax_rates),
    }


def same_items(phase: Phase, items: Sequence[SubscriptionItem]) -> bool:
    """Whether the subscription already bills what ``phase`` lists (prices, quantities, tax rates)."""

    def key(entry: Mapping[str, Any]) -> tuple[str, int, tuple[str, ...]]:
        return entry["price"], entry["quantity"], tuple(entry["tax_rates"])

    return sorted(map(key, phase["items"])) == sorted(key(item_entry(item)) for item in items)
