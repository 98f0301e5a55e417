"""The Stripe JSON of a subscription item (with the legacy ``plan`` object derived from its price)."""

from __future__ import annotations

from typing import Any

from billfold.api.representations.common import deleted, unix
from billfold.api.representations.invoice import tax_rates_rendered
from billfold.api.representations.price import render_price
from billfold.billing.models import SubscriptionItem
from billfold.catalog.models import Price


def render_plan(price: Price) -> dict[str, Any]:
    """A recurring price as the Plans API showed it: older integrations still read ``item.plan``."""
    transform = price.transform_quantity
    return {
        "id": price.public_id,
        "object": "plan",
        "active": price.active,
        "amount": price.unit_amount,
        "amount_decimal": price.unit_amount_decimal,
        "billing_scheme": price.billing_scheme,
        "created": unix(price.created),
        "currency": price.currency,
        "interval": price.recurring_interval,
        "interval_count": price.recurring_interval_count,
        "livemode": price.livemode,
        "metadata": price.metadata,
        "meter": None,
        "nickname": price.nickname,
        "product": price.product.public_id,
        "tiers_mode": price.tiers_mode,
        "transform_usage": ({"divide_by": transform["divide_by"], "round": transform["round"]} if transform else None),
        "trial_period_days": price.recurring_trial_period_days,
        "usage_type": price.recurring_usage_type,
    }


def render_subscription_item(item: SubscriptionItem) -> dict[str, Any]:
    if item.deleted:
        return deleted("subscription_item", item.public_id)
    return {
        "id": item.public_id,
        "object": "subscription_item",
        "billing_thresholds": None,
        "created": unix(item.created),
        "current_period_end": unix(item.current_period_end),
        "current_period_start": unix(item.current_period_start),
        "discounts": list(item.discounts),
        "metadata": item.metadata,
        "plan": render_plan(item.price),
        "price": render_price(item.price),
        "quantity": item.quantity,
        "subscription": item.subscription.public_id,
        "tax_rates": tax_rates_rendered(item.livemode, item.tax_rates),
    }


def load_subscription_items(ids: list[str], livemode: bool) -> dict[str, dict[str, Any]]:
    items = SubscriptionItem.objects.select_related("subscription", "price__product").filter(
        public_id__in=ids, livemode=livemode
    )
    return {i.public_id: render_subscription_item(i) for i in items}
