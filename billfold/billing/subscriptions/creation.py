"""Building a new subscription: its row, items, discounts and first invoice (a draft), nothing else.

Shared by ``services.subscription_create`` (which then finalizes and charges the invoice) and the
invoice preview (which renders the draft and rolls everything back).

The first period, as Stripe bills it:
- a trial: ``[start, trial_end)``, billed at zero ("Trial period for Pro");
- an anchor later than the start: ``[start, anchor)``, prorated to the second against the cycle
  ending at the anchor (``proration_behavior=none`` makes it free and creates no invoice);
- otherwise a full cycle from the start. A ``cancel_at`` inside it shortens it, prorated.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from billfold.billing.invoices.common import tax_rate_ids
from billfold.billing.invoices.services import NewLine
from billfold.billing.models import Invoice, Subscription, SubscriptionItem
from billfold.billing.pricing import price_amount
from billfold.billing.proration import PRORATION_BEHAVIORS
from billfold.billing.subscriptions import invoicing, rules
from billfold.billing.subscriptions.common import (
    anchor_day_for,
    cadence_of,
)
from billfold.billing.subscriptions.items import items_plan
from billfold.catalog.models import Price
from billfold.clocks.selectors import customer_now
from billfold.core.errors import InvalidParam
from billfold.core.ids import new_id
from billfold.core.metadata import merge_metadata
from billfold.core.money import currency_check
from billfold.core.periods import (
    BillingCycleAnchorConfig,
    billing_cycle_anchor_check,
    billing_cycle_anchor_from_config,
    subscription_period_at,
)
from billfold.customers.models import Customer
from billfold.payments.models import PaymentMethod


@dataclass(frozen=True)
class NewSubscription:
    """What a request asks of a new subscription (see the create endpoint's parameters)."""

    items: Sequence[Mapping[str, Any]]
    collection_method: str = "charge_automatically"
    days_until_due: int | None = None
    default_payment_method: PaymentMethod | None = None
    payment_behavior: str = "allow_incomplete"
    trial_period_days: int | None = None
    # A moment, "now" (no trial) or None.
    trial_end: dt.datetime | str | None = None
    trial_from_plan: bool = False
    trial_settings: Mapping[str, Any] | None = None
    billing_cycle_anchor: dt.datetime | None = None
    billing_cycle_anchor_config: BillingCycleAnchorConfig | None = None
    proration_behavior: str = "create_prorations"
    cancel_at: dt.datetime | None = None
    cancel_at_period_end: bool = False
    discounts: Sequence[Mapping[str, str]] = ()
    default_tax_rates: Sequence[str] = ()
    description: str | None = None
    metadata: Mapping[str, str | None] | None = None
    currency: str | None = None
    payment_settings: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class Built:
    subscription: Subscription
    items: list[SubscriptionItem]
    invoice: Invoice | None


def _trial_end(spec: NewSubscription, prices: Sequence[Price], now: dt.datetime) -> dt.datetime | None:
    given = [n for n in ("trial_end", "trial_period_days") if getattr(spec, n) is not None]
    if spec.trial_from_plan:
        given.append("trial_from_plan")
    if len(given) > 1:
        raise InvalidParam(
            f"You may only specify one of these parameters: {', '.join(given)}.",
            param=given[-1],
            code="parameters_exclusive",
        )
    if spec.trial_end == "now":
        return None
    if isinstance(spec.trial_end, dt.datetime):
        return rules.trial_end_check(spec.trial_end, now)
    days = spec.trial_period_days
    if spec.trial_from_plan:
        days = max((p.recurring_trial_period_days or 0 for p in prices), default=0) or None
    if days is None or days == 0:
        return None
    return rules.trial_end_check(now + dt.timedelta(days=days), now, param="trial_period_days")


def _anchor(
    spec: NewSubscription, base: dt.datetime, interval: str, count: int
) -> tuple[dt.datetime, int | None, dict[str, Any] | None]:
    """(anchor, the day of month it stands for, the config to show) for a subscription billed from ``base``."""
    if spec.billing_cycle_anchor is not None and spec.billing_cycle_anchor_config is not None:
        raise InvalidParam(
            "You may only specify one of these parameters: billing_cycle_anchor, billing_cycle_anchor_config.",
            param="billing_cycle_anchor_config",
            code="parameters_exclusive",
        )
    config = spec.billing_cycle_anchor_config
    if config is not None:
        anchor = billing_cycle_anchor_from_config(config=config, start=base, interval=interval, interval_count=count)
        shown = {
            "day_of_month": config.day_of_month,
            "hour": config.hour,
            "minute": config.minute,
            "month": config.month,
            "second": config.second,
        }
        return anchor, anchor_day_for(anchor, interval, config.day_of_month), shown
    if spec.billing_cycle_anchor is not None:
        billing_cycle_anchor_check(
            start=base, anchor=spec.billing_cycle_anchor, interval=interval, interval_count=count
        )
        return spec.billing_cycle_anchor, anchor_day_for(spec.billing_cycle_anchor, interval), None
    return base, anchor_day_for(base, interval), None


def first_lines(
    subscription: Subscription, items: Sequence[SubscriptionItem], start: dt.datetime, end: dt.datetime
) -> list[NewLine]:
    """The first invoice's lines: zero during a trial, else the period billed (prorated when partial)."""
    if subscription.trial_end is not None:
        return [invoicing.trial_line(item, start, end) for item in items]
    return invoicing.billed_lines(subscription, items, start, end)


def build(*, customer: Customer, livemode: bool, spec: NewSubscription) -> Built:
    """Write the subscription, its items and discounts, and its first invoice as a draft (no events yet,
    nothing finalized). Refuses, before writing, anything Stripe refuses."""
    if customer.deleted:
        raise InvalidParam(f"The customer {customer.public_id} has been deleted.", param="customer")
    now = customer_now(customer)
    days_until_due = rules.collection_check(spec.collection_method, spec.days_until_due)
    rules.enum_check(spec.payment_behavior, rules.PAYMENT_BEHAVIORS, param="payment_behavior")
    if spec.payment_behavior == "pending_if_incomplete":
        raise InvalidParam(
            "payment_behavior=pending_if_incomplete is only available when updating a subscription. Use "
            "allow_incomplete, default_incomplete or error_if_incomplete to create one.",
            param="payment_behavior",
        )
    rules.enum_check(spec.proration_behavior, PRORATION_BEHAVIORS, param="proration_behavior")
    rules.payment_method_check(customer, spec.default_payment_method)
    planned = items_plan(subscription=None, current=[], entries=spec.items, livemode=livemode)
    items = [p.item for p in planned]
    prices = [item.price for item in items]
    currency = prices[0].currency
    if spec.currency is not None and currency_check(spec.currency) != currency:
        raise InvalidParam(
            f"currency is {spec.currency}, but the subscription's prices are in {currency}.", param="currency"
        )
    if customer.currency is not None and customer.currency != currency:
        raise InvalidParam(
            f"You cannot combine currencies on a single customer. This customer has had a subscription, invoice or "
            f"balance in {customer.currency}, and these prices are in {currency}. Use {customer.currency} prices, or "
            "create another customer.",
            param="items[0][price]",
            code="currency_mismatch",
        )
    interval, count = cadence_of(prices[0])
    trial_end = _trial_end(spec, prices, now)
    base = trial_end or now
    anchor, anchor_day, anchor_config = _anchor(spec, base, interval, count)
    if spec.cancel_at is not None:
        if spec.cancel_at_period_end:
            raise InvalidParam(
                "You may only specify one of these parameters: cancel_at, cancel_at_period_end.",
                param="cancel_at_period_end",
                code="parameters_exclusive",
            )
        rules.future_check(spec.cancel_at, now, param="cancel_at")
    subscription = Subscription(
        public_id=new_id("sub"),
        livemode=livemode,
        created=now,
        customer=customer,
        status="trialing" if trial_end else ("active" if spec.collection_method == "send_invoice" else "incomplete"),
        collection_method=spec.collection_method,
        days_until_due=days_until_due,
        currency=currency,
        billing_cycle_anchor=anchor,
        billing_cycle_anchor_day=anchor_day,
        billing_cycle_anchor_config=anchor_config,
        cancellation_details={"comment": None, "feedback": None, "reason": None},
        trial_start=now if trial_end else None,
        trial_end=trial_end,
        trial_settings=rules.trial_settings_clean(spec.trial_settings),
        default_payment_method=spec.default_payment_method,
        default_tax_rates=tax_rate_ids(livemode=livemode, ids=list(spec.default_tax_rates), param="default_tax_rates"),
        description=spec.description,
        start_date=now,
        metadata=merge_metadata({}, spec.metadata or {}),
        payment_settings=dict(spec.payment_settings),
    )
    if trial_end is not None:
        start, end = now, trial_end
    else:
        start, end = subscription_period_at(
            start=now, anchor=anchor, interval=interval, interval_count=count, moment=now, anchor_day=anchor_day
        )
        if spec.cancel_at is not None and spec.cancel_at < end:
            end = spec.cancel_at
    subscription.cancel_at = end if spec.cancel_at_period_end else spec.cancel_at
    subscription.cancel_at_period_end = spec.cancel_at_period_end
    subscription.canceled_at = now if subscription.cancel_at is not None else None
    subscription.save(force_insert=True)
    for item in items:
        item.subscription = subscription
        item.created = now
        item.current_period_start, item.current_period_end = start, end
        item.save(force_insert=True)
    entries = spec.discounts
    if entries:
        subscription.discounts = rules.discounts_make(
            subscription=subscription,
            entries=entries,
            amount=sum(price_amount(item.price, item.quantity) for item in items),
            at=now,
        )
    item_discounts = [p for p in planned if p.discount_entries]
    for plan in item_discounts:
        plan.item.discounts = rules.discounts_make(
            subscription=subscription,
            entries=plan.discount_entries or (),
            amount=price_amount(plan.item.price, plan.item.quantity),
            at=now,
            param="items[].discounts",
        )
        plan.item.save(update_fields=["discounts"])
    lines = first_lines(subscription, items, start, end)
    invoice = None
    # proration_behavior=none makes a partial first period free, with no invoice at all (Stripe).
    if not (spec.proration_behavior == "none" and any(line.proration for line in lines)):
        invoice = invoicing.subscription_invoice(
            subscription=subscription,
            items=items,
            billing_reason="subscription_create",
            lines=lines,
            period_start=now,
            period_end=now,
            at=now,
        )
        subscription.latest_invoice = invoice
    subscription.save()
    return Built(subscription=subscription, items=items, invoice=invoice)
