"""Applying an update to a subscription (items, anchor, trial, cancellation, settings), nothing finalized.

``update_build`` writes the change and returns the draft invoice it bills at once (an interval
change, ``billing_cycle_anchor=now``, ``always_invoice``, ``trial_end=now``), or None when the
prorations wait as pending invoice items for the next invoice. Shared by
``services.subscription_update`` and the invoice preview.

The ``values`` keys are the update's parameters, present only when given: items (entries, see
``items``), proration_behavior, proration_date, billing_cycle_anchor ("now" | "unchanged"),
trial_end ("now" or a moment), cancel_at (a moment or None), cancel_at_period_end,
pause_collection, default_payment_method (a PaymentMethod or None), collection_method,
days_until_due, discounts (entries or None), coupon, promotion_code, default_tax_rates (ids or
None), description, metadata, trial_settings, payment_settings, cancellation_details,
payment_behavior, off_session.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from billfold.billing.invoices.common import tax_rate_ids
from billfold.billing.models import Invoice, Subscription, SubscriptionItem
from billfold.billing.pricing import price_amount
from billfold.billing.proration import (
    PRORATION_BEHAVIORS,
    ProrationLine,
    prorate_subscription_change,
    proration_description,
    unused_time_line,
)
from billfold.billing.subscriptions import invoicing, rules
from billfold.billing.subscriptions.common import (
    SubscriptionStateError,
    cadence_of,
    live_items,
    natural_period,
    now_for,
    partial_amount,
    proration_item,
    reanchor,
    set_period,
)
from billfold.billing.subscriptions.items import PlannedItem, items_plan
from billfold.billing.subscriptions.status import refuse_if_ended, status_move
from billfold.catalog.models import Price
from billfold.core.errors import InvalidParam
from billfold.core.metadata import merge_metadata
from billfold.core.periods import add_interval

# An incomplete subscription waits for its first payment: Stripe lets only these change meanwhile.
_INCOMPLETE_FIELDS = frozenset(
    {"metadata", "default_payment_method", "description", "payment_behavior", "off_session", "proration_behavior"}
)
# A paused subscription bills nothing until resumed, so nothing about its billing can change.
_PAUSED_REFUSED = frozenset({"items", "trial_end", "billing_cycle_anchor", "pause_collection", "proration_date"})


def _refuse_for_status(subscription: Subscription, values: Mapping[str, Any]) -> None:
    refuse_if_ended(subscription, action="update")
    if subscription.schedule is not None:
        for name in ("cancel_at", "cancel_at_period_end"):
            if name in values:
                # Stripe's words: the schedule's end_behavior decides whether the subscription ends.
                raise SubscriptionStateError(
                    f"The subscription is managed by the subscription schedule `{subscription.schedule.public_id}`, "
                    "and updating any cancelation behavior directly is not allowed. Please update the schedule "
                    "instead.",
                    param=name,
                )
    if subscription.status == "incomplete":
        for name in values:
            if name not in _INCOMPLETE_FIELDS:
                raise SubscriptionStateError(
                    f"Subscription {subscription.public_id} is incomplete: until its first invoice is paid, only "
                    f"metadata, description and default_payment_method can change ({name} cannot). Pay the invoice "
                    "or cancel the subscription and create a new one.",
                    param=name,
                )
    if subscription.status == "paused":
        for name in values:
            if name in _PAUSED_REFUSED:
                raise SubscriptionStateError(
                    f"Subscription {subscription.public_id} is paused: resume it (POST /v1/subscriptions/"
                    f"{subscription.public_id}/resume) before changing {name}.",
                    param=name,
                )


def _simple(subscription: Subscription, values: Mapping[str, Any], now: dt.datetime) -> None:
    for name in ("description",):
        if name in values:
            setattr(subscription, name, values[name])
    if "metadata" in values:
        subscription.metadata = merge_metadata(subscription.metadata, values["metadata"])
    if "default_payment_method" in values:
        rules.payment_method_check(subscription.customer, values["default_payment_method"])
        subscription.default_payment_method = values["default_payment_method"]
    if {"collection_method", "days_until_due"} & values.keys():
        method = values.get("collection_method") or subscription.collection_method
        days = values.get("days_until_due")
        if days is None and method == subscription.collection_method == "send_invoice":
            days = subscription.days_until_due
        subscription.days_until_due = rules.collection_check(method, days)
        subscription.collection_method = method
    if "default_tax_rates" in values:
        subscription.default_tax_rates = tax_rate_ids(
            livemode=subscription.livemode, ids=list(values["default_tax_rates"] or []), param="default_tax_rates"
        )
    if "trial_settings" in values:
        subscription.trial_settings = rules.trial_settings_clean(values["trial_settings"])
    if "payment_settings" in values:
        subscription.payment_settings = dict(values["payment_settings"] or {})
    if "cancellation_details" in values:
        subscription.cancellation_details = rules.cancellation_details_clean(
            values["cancellation_details"], subscription.cancellation_details
        )
    if "pause_collection" in values:
        subscription.pause_collection = rules.pause_collection_clean(values["pause_collection"], now)
    entries = rules.legacy_discounts(values)
    if entries is not None or ("discounts" in values):
        items = live_items(subscription)
        subscription.discounts = rules.discounts_make(
            subscription=subscription,
            entries=entries or [],
            amount=sum(price_amount(item.price, item.quantity) for item in items),
            at=now,
            replacing=subscription.discounts,
        )


def _prices(planned: Sequence[PlannedItem]) -> dict[str, Price]:
    prices: dict[str, Price] = {}
    for plan in planned:
        prices[plan.item.price.public_id] = plan.item.price
        if plan.before_price is not None:
            prices[plan.before_price.public_id] = plan.before_price
    return prices


def planned_save(
    subscription: Subscription,
    planned: Sequence[PlannedItem],
    start: dt.datetime,
    end: dt.datetime,
    now: dt.datetime,
) -> None:
    """Save the items ``items_plan`` made (deleted ones marked so, new ones created at ``now``),
    each in the period ``[start, end)``, with the discounts their entries asked for."""
    for plan in planned:
        item = plan.item
        if plan.deleted:
            item.deleted = True
            item.save(update_fields=["deleted"])
            continue
        if plan.is_new:
            item.subscription = subscription
            item.created = now
        item.current_period_start, item.current_period_end = start, end
        item.save()
        if plan.discount_entries is not None:
            item.discounts = rules.discounts_make(
                subscription=subscription,
                entries=plan.discount_entries,
                amount=price_amount(item.price, item.quantity),
                at=now,
                param="items[].discounts",
                replacing=item.discounts,
            )
            item.save(update_fields=["discounts"])


def _items_change(
    subscription: Subscription,
    items: Sequence[SubscriptionItem],
    values: Mapping[str, Any],
    behavior: str,
    now: dt.datetime,
) -> Invoice | None:
    reset = values.get("billing_cycle_anchor") == "now"
    if reset and subscription.status == "trialing":
        raise InvalidParam(
            "billing_cycle_anchor=now would end the trial; pass trial_end=now to end it and bill at once.",
            param="billing_cycle_anchor",
        )
    planned = items_plan(
        subscription=subscription, current=items, entries=values.get("items") or [], livemode=subscription.livemode
    )
    start, end = items[0].current_period_start, items[0].current_period_end
    result = None
    if subscription.status != "trialing" and (reset or any(p.changed for p in planned)):
        result = prorate_subscription_change(
            changes=[p.change() for p in planned],
            period_start=start,
            period_end=end,
            billing_cycle_anchor=subscription.billing_cycle_anchor,
            now=now,
            proration_date=values.get("proration_date"),
            proration_behavior=behavior,
            reset_billing_cycle_anchor=reset,
        )
    if result is not None and result.period_restarted:
        start, end = result.period_start, result.period_end
    planned_save(subscription, planned, start, end, now)
    if result is None:
        return None
    live = live_items(subscription)
    if result.period_restarted:
        reanchor(subscription, now, live[0].price)
        if subscription.cancel_at_period_end:
            subscription.cancel_at = end
    invoicing.proration_items_create(subscription=subscription, lines=result.lines, prices=_prices(planned))
    if not result.invoice_now:
        return None
    by_ref = {item.public_id: item for item in live}
    lines = [
        invoicing.period_line(by_ref[charge.item.subscription_item_ref or ""], charge.period_start, charge.period_end)
        for charge in result.period_charges
    ]
    return invoicing.subscription_invoice(
        subscription=subscription,
        items=live,
        billing_reason="subscription_update",
        lines=lines,
        period_start=now,
        period_end=now,
        at=now,
    )


def _trial_change(
    subscription: Subscription,
    items: Sequence[SubscriptionItem],
    value: dt.datetime | str,
    behavior: str,
    now: dt.datetime,
) -> Invoice | None:
    price = items[0].price
    if value == "now":
        if subscription.status != "trialing":
            return None
        status_move(subscription, "active")
        subscription.trial_end = now
        reanchor(subscription, now, price)
        interval, count = cadence_of(price)
        end = add_interval(now, interval, count)
        set_period(items, now, end)
        return invoicing.subscription_invoice(
            subscription=subscription,
            items=items,
            billing_reason="subscription_update",
            lines=[invoicing.period_line(item, now, end) for item in items],
            period_start=now,
            period_end=now,
            at=now,
        )
    assert isinstance(value, dt.datetime)
    trial_end = rules.trial_end_check(value, now)
    if subscription.status == "trialing":
        subscription.trial_end = trial_end
        reanchor(subscription, trial_end, price)
        set_period(items, items[0].current_period_start, trial_end)
        return None
    start, end = items[0].current_period_start, items[0].current_period_end
    credits = (
        [
            unused_time_line(proration_item(item), period_start=start, period_end=end, proration_date=now)
            for item in items
        ]
        if behavior != "none"
        else []
    )
    invoicing.proration_items_create(
        subscription=subscription, lines=credits, prices={item.price.public_id: item.price for item in items}
    )
    status_move(subscription, "trialing")
    subscription.trial_start, subscription.trial_end = now, trial_end
    reanchor(subscription, trial_end, price)
    set_period(items, now, trial_end)
    if behavior == "always_invoice" and credits:
        return invoicing.subscription_invoice(
            subscription=subscription,
            items=items,
            billing_reason="subscription_update",
            lines=[],
            period_start=now,
            period_end=now,
            at=now,
        )
    return None


def _remaining_lines(
    items: Sequence[SubscriptionItem], start: dt.datetime, end: dt.datetime, full_end: dt.datetime
) -> list[ProrationLine]:
    lines = []
    for item in items:
        lines.append(
            ProrationLine(
                description=proration_description(
                    unused=False, product_name=item.price.product.name, quantity=item.quantity, proration_date=end
                ),
                amount=partial_amount(
                    price=item.price, quantity=item.quantity, start=end, end=full_end, full=(start, full_end)
                ),
                currency=item.price.currency,
                quantity=item.quantity,
                period_start=end,
                period_end=full_end,
                price_ref=item.price.public_id,
                subscription_item_ref=item.public_id,
            )
        )
    return lines


def _cancel_change(
    subscription: Subscription,
    items: Sequence[SubscriptionItem],
    values: Mapping[str, Any],
    behavior: str,
    now: dt.datetime,
) -> None:
    if values.get("cancel_at") is not None and values.get("cancel_at_period_end"):
        raise InvalidParam(
            "You may only specify one of these parameters: cancel_at, cancel_at_period_end.",
            param="cancel_at_period_end",
            code="parameters_exclusive",
        )
    start, end = items[0].current_period_start, items[0].current_period_end
    prices = {item.price.public_id: item.price for item in items}
    if "cancel_at_period_end" in values:
        if values["cancel_at_period_end"]:
            subscription.cancel_at_period_end, subscription.cancel_at = True, end
            subscription.canceled_at = now
        elif subscription.cancel_at_period_end:
            subscription.cancel_at_period_end, subscription.cancel_at = False, None
            subscription.canceled_at = None
    if "cancel_at" not in values:
        return
    moment = values["cancel_at"]
    billed = subscription.status != "trialing"
    if moment is None:
        full_end = natural_period(subscription, items[0].price, start)[1] if billed else end
        if full_end > end:
            if behavior != "none":
                invoicing.proration_items_create(
                    subscription=subscription, lines=_remaining_lines(items, start, end, full_end), prices=prices
                )
            set_period(items, start, full_end)
        subscription.cancel_at, subscription.cancel_at_period_end, subscription.canceled_at = None, False, None
        return
    rules.future_check(moment, now, param="cancel_at")
    subscription.cancel_at, subscription.cancel_at_period_end, subscription.canceled_at = moment, False, now
    if billed and moment < end:
        if behavior != "none":
            credits = [
                unused_time_line(proration_item(item), period_start=start, period_end=end, proration_date=moment)
                for item in items
            ]
            invoicing.proration_items_create(subscription=subscription, lines=credits, prices=prices)
        set_period(items, start, moment)


def update_build(*, subscription: Subscription, values: Mapping[str, Any]) -> Invoice | None:
    """Apply ``values`` to the (locked) subscription; the draft invoice to issue now, or None."""
    _refuse_for_status(subscription, values)
    now = now_for(subscription)
    behavior = rules.enum_check(
        values.get("proration_behavior") or "create_prorations", PRORATION_BEHAVIORS, param="proration_behavior"
    )
    if "trial_end" in values and values.get("billing_cycle_anchor") == "now":
        raise InvalidParam(
            "You may only specify one of these parameters: billing_cycle_anchor, trial_end.",
            param="trial_end",
            code="parameters_exclusive",
        )
    _simple(subscription, values, now)
    items = live_items(subscription)
    invoice = None
    if "items" in values or values.get("billing_cycle_anchor") == "now":
        invoice = _items_change(subscription, items, values, behavior, now)
        items = live_items(subscription)
    if "trial_end" in values:
        invoice = _trial_change(subscription, items, values["trial_end"], behavior, now) or invoice
        items = live_items(subscription)
    _cancel_change(subscription, items, values, behavior, now)
    return invoice
