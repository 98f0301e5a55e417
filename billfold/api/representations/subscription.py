"""The Stripe JSON of a subscription (its items embedded as a list, periods on the items)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from billfold.api.lists import list_object
from billfold.api.representations.common import unix
from billfold.api.representations.invoice import tax_rates_rendered
from billfold.api.representations.subscription_item import render_subscription_item
from billfold.billing.models import Subscription
from billfold.events.rendering import known_rows


def _items(subscription: Subscription) -> dict[str, Any]:
    known = known_rows(subscription, "items")
    items = (
        known
        if known is not None
        else subscription.items.filter(deleted=False).select_related("price__product").order_by("pk")
    )
    rendered = []
    for item in items:
        item.subscription = subscription
        rendered.append(render_subscription_item(item))
    return list_object(rendered, url=f"/v1/subscription_items?subscription={subscription.public_id}", has_more=False)


def _payment_settings(subscription: Subscription) -> dict[str, Any]:
    given = subscription.payment_settings or {}
    return {
        "payment_method_options": given.get("payment_method_options"),
        "payment_method_types": given.get("payment_method_types"),
        "save_default_payment_method": given.get("save_default_payment_method") or "off",
    }


def render_subscription(subscription: Subscription) -> dict[str, Any]:
    customer = subscription.customer
    details = subscription.cancellation_details or {}
    trial_behavior = (
        (subscription.trial_settings or {}).get("end_behavior", {}).get("missing_payment_method", "create_invoice")
    )
    return {
        "id": subscription.public_id,
        "object": "subscription",
        "application": None,
        "application_fee_percent": None,
        "automatic_tax": {"disabled_reason": None, "enabled": False, "liability": None},
        "billing_cycle_anchor": unix(subscription.billing_cycle_anchor),
        "billing_cycle_anchor_config": subscription.billing_cycle_anchor_config,
        "billing_mode": {"flexible": None, "type": "classic"},
        "billing_schedules": [],
        "billing_thresholds": None,
        "cancel_at": unix(subscription.cancel_at),
        "cancel_at_period_end": subscription.cancel_at_period_end,
        "canceled_at": unix(subscription.canceled_at),
        "cancellation_details": {
            "comment": details.get("comment"),
            "feedback": details.get("feedback"),
            "reason": details.get("reason"),
        },
        "collection_method": subscription.collection_method,
        "created": unix(subscription.created),
        "currency": subscription.currency,
        "customer": customer.public_id,
        "customer_account": None,
        "days_until_due": subscription.days_until_due,
        "default_payment_method": (
            subscription.default_payment_method.public_id if subscription.default_payment_method is not None else None
        ),
        "default_source": None,
        "default_tax_rates": tax_rates_rendered(subscription.livemode, subscription.default_tax_rates),
        "description": subscription.description,
        "discounts": list(subscription.discounts),
        "ended_at": unix(subscription.ended_at),
        "invoice_settings": {
            "account_tax_ids": None,
            "custom_fields": None,
            "description": None,
            "footer": None,
            "issuer": {"type": "self"},
        },
        "items": _items(subscription),
        "latest_invoice": subscription.latest_invoice.public_id if subscription.latest_invoice is not None else None,
        "livemode": subscription.livemode,
        "managed_payments": {"enabled": False},
        "metadata": subscription.metadata,
        "next_pending_invoice_item_invoice": None,
        "on_behalf_of": None,
        "pause_collection": subscription.pause_collection,
        "payment_settings": _payment_settings(subscription),
        "pending_invoice_item_interval": None,
        "pending_setup_intent": None,
        "pending_update": subscription.pending_update,
        "schedule": subscription.schedule.public_id if subscription.schedule is not None else None,
        "start_date": unix(subscription.start_date),
        "status": subscription.status,
        "test_clock": customer.test_clock.public_id if customer.test_clock is not None else None,
        "transfer_data": None,
        "trial_end": unix(subscription.trial_end),
        "trial_settings": {"end_behavior": {"missing_payment_method": trial_behavior}},
        "trial_start": unix(subscription.trial_start),
    }


def _subscriptions(ids: Iterable[str], livemode: bool) -> Iterable[Subscription]:
    return Subscription.objects.select_related(
        "customer__test_clock", "default_payment_method", "latest_invoice"
    ).filter(public_id__in=list(ids), livemode=livemode)


def load_subscriptions(ids: list[str], livemode: bool) -> dict[str, dict[str, Any]]:
    return {s.public_id: render_subscription(s) for s in _subscriptions(ids, livemode)}
