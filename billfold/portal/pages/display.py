"""What the portal's pages show, worked out in Python: money and dates in the customer's locale
(Babel, as invoices do), prices with their interval, and each subscription with what the customer
may do with it under the configuration."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from billfold.billing.models import Discount, Invoice, Subscription, SubscriptionItem
from billfold.billing.subscriptions.preview import invoice_preview
from billfold.billing.subscriptions.upcoming import customer_fingerprint, upcoming_invoice_cached
from billfold.catalog.models import Price
from billfold.core.errors import DomainError
from billfold.core.locales import Formats
from billfold.portal import rules

# Statuses in which a subscription counts as running for the customer's payment methods.
RUNNING_STATUSES = ("active", "trialing", "past_due", "unpaid")


def interval_text(price: Price) -> str:
    """``month``, ``3 months``... as in "per month" / "every 3 months"."""
    count = price.recurring_interval_count or 1
    interval = price.recurring_interval or "month"
    if count == 1:
        return {
            "day": _("per day"),
            "week": _("per week"),
            "month": _("per month"),
            "year": _("per year"),
        }[interval]
    texts = {
        "day": ngettext("every %(count)d day", "every %(count)d days", count),
        "week": ngettext("every %(count)d week", "every %(count)d weeks", count),
        "month": ngettext("every %(count)d month", "every %(count)d months", count),
        "year": ngettext("every %(count)d year", "every %(count)d years", count),
    }
    return texts[interval] % {"count": count}


def price_text(price: Price, fmt: Formats) -> str:
    """``€10.00 per seat per month``; tiered prices say so rather than guess an amount."""
    unit_label = price.product.unit_label
    if price.billing_scheme == "tiered":
        amount = _("Tiered pricing")
    else:
        amount = fmt.unit_money(price)
        if unit_label:
            amount = _("%(amount)s per %(unit)s") % {"amount": amount, "unit": unit_label}
    if price.recurring_interval is None:
        return amount
    return f"{amount} {interval_text(price)}"


def status_label(status: str) -> str:
    labels = {
        "active": _("Active"),
        "trialing": _("Trial"),
        "past_due": _("Past due"),
        "unpaid": _("Unpaid"),
        "paused": _("Paused"),
        "incomplete": _("Incomplete"),
        "incomplete_expired": _("Expired"),
        "canceled": _("Canceled"),
    }
    return labels.get(status, status)


def invoice_status_label(status: str) -> str:
    labels = {
        "open": _("Due"),
        "paid": _("Paid"),
        "void": _("Void"),
        "uncollectible": _("Uncollectible"),
        "draft": _("Draft"),
    }
    return labels.get(status, status)


def discount_text(discount: Discount, fmt: Formats, currency: str) -> str:
    coupon = discount.coupon
    if coupon.percent_off is not None:
        off = _("%(percent)s off") % {"percent": fmt.percent(Decimal(coupon.percent_off))}
    else:
        amount = coupon.amount_off or 0
        options = coupon.currency_options or {}
        if coupon.currency != currency and currency in options:
            amount = int(options[currency].get("amount_off", amount))
        off = _("%(amount)s off") % {"amount": fmt.money(amount, coupon.currency or currency)}
    name = coupon.name or (discount.promotion_code.code if discount.promotion_code else coupon.public_id)
    if discount.end is not None:
        return _("%(name)s: %(off)s until %(date)s") % {"name": name, "off": off, "date": fmt.date(discount.end)}
    if coupon.duration == "forever":
        return _("%(name)s: %(off)s") % {"name": name, "off": off}
    if coupon.duration == "repeating" and coupon.duration_in_months:
        months = coupon.duration_in_months
        return ngettext("%(name)s: %(off)s for %(count)d month", "%(name)s: %(off)s for %(count)d months", months) % {
            "name": name,
            "off": off,
            "count": months,
        }
    return _("%(name)s: %(off)s on the next invoice") % {"name": name, "off": off}


@dataclass
class UpcomingInvoice:
    """What an upcoming (or immediate) invoice comes to, for the overview and the plan preview."""

    amount_due: int
    total: int
    currency: str
    date: dt.datetime | None
    immediate: bool
    lines: list[tuple[str, int]] = field(default_factory=list)


def _summary(invoice: Invoice) -> dict[str, Any]:
    # Shaped as the API's invoice where the preview rewrites ids (``lines.data[].id``).
    lines = [
        {"id": f"il_{line.pk}", "description": line.description or "", "amount": line.amount}
        for line in invoice.lines.order_by("pk")
    ]
    return {
        "amount_due": invoice.amount_due,
        "total": invoice.total,
        "currency": invoice.currency,
        "date": invoice.period_end if invoice.billing_reason != "subscription_update" else invoice.created,
        "immediate": invoice.billing_reason == "subscription_update",
        "lines": {"data": lines},
        "id": f"in_{invoice.pk}",
    }


def upcoming_invoice(subscription: Subscription, details: dict[str, Any] | None = None) -> UpcomingInvoice | None:
    """The invoice the subscription bills next (or that ``details``, an update, would bill), or None.

    Runs ``invoice_preview``, the engine's own preview, which builds the invoice and rolls it back.
    """
    try:
        rendered = invoice_preview(
            livemode=subscription.livemode,
            render=_summary,
            subscription=subscription,
            subscription_details=details,
        )
    except DomainError:
        return None
    return _upcoming_of(rendered)


def _upcoming_of(rendered: dict[str, Any]) -> UpcomingInvoice:
    return UpcomingInvoice(
        amount_due=rendered["amount_due"],
        total=rendered["total"],
        currency=rendered["currency"],
        date=rendered["date"],
        immediate=rendered["immediate"],
        lines=[(line["description"], line["amount"]) for line in rendered["lines"]["data"]],
    )


@dataclass
class SubscriptionCard:
    """One subscription as the overview shows it."""

    subscription: Subscription
    item: SubscriptionItem | None
    items: list[SubscriptionItem]
    status_label: str
    price_text: str
    discounts: list[str]
    next_payment: str | None
    trial_end: str | None
    cancels_on: str | None
    period_end: str | None
    can_update: bool
    can_cancel: bool
    can_renew: bool
    # The plan change waiting for the period's end (``scheduled_change_text``), or None.
    scheduled_change: str | None = None

    @property
    def public_id(self) -> str:
        return self.subscription.public_id


def configured_products(features: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The configuration's products for plan switching, by product id."""
    update = features.get("subscription_update") or {}
    return {entry["product"]: entry for entry in update.get("products") or []}


def can_update(subscription: Subscription, features: dict[str, Any]) -> bool:
    update = features.get("subscription_update") or {}
    if not update.get("enabled") or not update.get("default_allowed_updates"):
        return False
    if subscription.cancel_at_period_end or subscription.cancel_at is not None:
        return False
    if rules.subscription_update_problem(subscription) is not None:
        return False
    items = rules.live_items(subscription)
    allowed = set(update["default_allowed_updates"])
    if allowed == {"promotion_code"}:
        return True
    return items[0].price.product.public_id in configured_products(features)


def can_cancel(subscription: Subscription, features: dict[str, Any]) -> bool:
    cancel = features.get("subscription_cancel") or {}
    return bool(cancel.get("enabled")) and rules.subscription_cancel_problem(subscription) is None


def can_renew(subscription: Subscription) -> bool:
    pending = subscription.cancel_at_period_end or subscription.cancel_at is not None
    return pending and subscription.status in rules.LIVE_STATUSES and subscription.status != "incomplete"


def plan_text(price: Price, quantity: int, fmt: Formats) -> str:
    """``Basic · $10.00 per seat per month``, with the quantity after a multiplication sign when more than one."""
    text = f"{price.product.name} · {price_text(price, fmt)}"
    return text if quantity == 1 else f"{text} \N{MULTIPLICATION SIGN} {quantity}"


def scheduled_change_text(subscription: Subscription, fmt: Formats) -> str | None:
    """The plan the subscription's schedule switches it to when the period ends, and when."""
    change = rules.pending_change(subscription)
    if change is None:
        return None
    plan, phase = change
    ids = [entry["price"] for entry in phase["items"]]
    prices = {
        p.public_id: p
        for p in Price.objects.select_related("product").filter(livemode=plan.livemode, public_id__in=ids)
    }
    plans = ", ".join(plan_text(prices[entry["price"]], entry["quantity"], fmt) for entry in phase["items"])
    return _("%(plan)s from %(date)s") % {"plan": plans, "date": fmt.date(plan.current_phase_end)}


def subscription_card(
    subscription: Subscription, features: dict[str, Any], fmt: Formats, *, customer_state: str | None = None
) -> SubscriptionCard:
    """``customer_state`` is ``customer_fingerprint`` of the subscription's customer (computed here
    when not given: pass it when showing several subscriptions of one customer)."""
    items = rules.live_items(subscription)
    item = items[0] if items else None
    discount_ids = list(subscription.discounts or [])
    for each in items:
        discount_ids.extend(each.discounts or [])
    discount_rows = list(
        Discount.objects.select_related("coupon", "promotion_code")
        .filter(livemode=subscription.livemode, public_id__in=discount_ids)
        .order_by("pk")
    )
    discounts = [discount_text(discount, fmt, subscription.currency) for discount in discount_rows]
    period_end = item.current_period_end if item is not None else None
    live = subscription.status in rules.LIVE_STATUSES
    cancels_on = None
    if live and subscription.cancel_at is not None:
        cancels_on = fmt.date(subscription.cancel_at)
    elif live and subscription.cancel_at_period_end:
        cancels_on = fmt.date(period_end)
    next_payment = None
    if live and cancels_on is None and subscription.status != "paused":
        rendered = upcoming_invoice_cached(
            subscription,
            render=_summary,
            purpose="portal",
            customer_state=customer_state or customer_fingerprint(subscription.customer),
            items=items,
            discounts=discount_rows,
        )
        upcoming = _upcoming_of(rendered) if rendered is not None else None
        if upcoming is not None and upcoming.date is not None:
            next_payment = _("%(amount)s on %(date)s") % {
                "amount": fmt.money(upcoming.amount_due, upcoming.currency),
                "date": fmt.date(upcoming.date),
            }
    if len(items) == 1 and item is not None:
        text = price_text(item.price, fmt)
    else:
        text = ", ".join(f"{each.price.product.name} \N{MULTIPLICATION SIGN} {each.quantity}" for each in items)
    return SubscriptionCard(
        subscription=subscription,
        item=item,
        items=items,
        status_label=status_label(subscription.status),
        price_text=text,
        discounts=discounts,
        next_payment=next_payment,
        trial_end=fmt.date(subscription.trial_end) if subscription.status == "trialing" else None,
        cancels_on=cancels_on,
        period_end=fmt.date(period_end),
        can_update=live and can_update(subscription, features),
        can_cancel=live and can_cancel(subscription, features),
        can_renew=can_renew(subscription),
        scheduled_change=scheduled_change_text(subscription, fmt) if live else None,
    )
