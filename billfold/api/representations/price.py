"""The Stripe JSON of a price (``tiers`` only when asked for: ``expand[]=tiers``)."""

from __future__ import annotations

from typing import Any

from billfold.api.representations.common import unix
from billfold.catalog.models import Price


def render_price(price: Price) -> dict[str, Any]:
    recurring = None
    if price.recurring_interval:
        recurring = {
            "interval": price.recurring_interval,
            "interval_count": price.recurring_interval_count,
            "meter": None,
            "trial_period_days": price.recurring_trial_period_days,
            "usage_type": price.recurring_usage_type,
        }
    custom = price.custom_unit_amount
    return {
        "id": price.public_id,
        "object": "price",
        "active": price.active,
        "billing_scheme": price.billing_scheme,
        "created": unix(price.created),
        "currency": price.currency,
        "custom_unit_amount": (
            {"maximum": custom.get("maximum"), "minimum": custom.get("minimum"), "preset": custom.get("preset")}
            if custom
            else None
        ),
        "livemode": price.livemode,
        "lookup_key": price.lookup_key,
        "metadata": price.metadata,
        "nickname": price.nickname,
        "product": price.product.public_id,
        "recurring": recurring,
        "tax_behavior": price.tax_behavior,
        "tiers_mode": price.tiers_mode,
        "transform_quantity": (
            {"divide_by": price.transform_quantity["divide_by"], "round": price.transform_quantity["round"]}
            if price.transform_quantity
            else None
        ),
        "type": price.type,
        "unit_amount": price.unit_amount,
        "unit_amount_decimal": price.unit_amount_decimal,
    }


def render_tiers(tiers: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
    """A price's stored tiers as Stripe shows them (``up_to: null`` is the unbounded last tier)."""
    if tiers is None:
        return None
    return [
        {
            "flat_amount": tier["flat_amount"],
            "flat_amount_decimal": tier["flat_amount_decimal"],
            "unit_amount": tier["unit_amount"],
            "unit_amount_decimal": tier["unit_amount_decimal"],
            "up_to": tier["up_to"],
        }
        for tier in tiers
    ]


def load_prices(ids: list[str], livemode: bool) -> dict[str, dict[str, Any]]:
    prices = Price.objects.filter(public_id__in=ids, livemode=livemode).select_related("product")
    return {p.public_id: render_price(p) for p in prices}


def include_tiers(objects: list[dict[str, Any]], livemode: bool) -> None:
    """Fill ``tiers`` into rendered prices, with one query for all of them."""
    ids = {obj["id"] for obj in objects}
    stored = dict(Price.objects.filter(public_id__in=ids, livemode=livemode).values_list("public_id", "tiers"))
    for obj in objects:
        obj["tiers"] = render_tiers(stored.get(obj["id"]))
