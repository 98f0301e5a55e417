"""The Stripe JSON of a subscription schedule (its phases, each item with the legacy ``plan``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from billfold.api.representations.common import unix
from billfold.api.representations.invoice import tax_rates_rendered
from billfold.api.representations.subscription_item import render_plan
from billfold.billing.models import SubscriptionSchedule
from billfold.catalog.models import Price


def _prices(schedule: SubscriptionSchedule) -> dict[str, Price]:
    ids = {entry["price"] for phase in schedule.phases for entry in phase["items"]}
    if not ids:
        return {}
    return {
        price.public_id: price
        for price in Price.objects.select_related("product").filter(livemode=schedule.livemode, public_id__in=ids)
    }


def _item(entry: dict[str, Any], prices: dict[str, Price], livemode: bool) -> dict[str, Any]:
    return {
        "billing_thresholds": None,
        "discounts": [],
        "metadata": entry.get("metadata") or {},
        # Prices are never deleted, so every price a phase names is there.
        "plan": render_plan(prices[entry["price"]]),
        "price": entry["price"],
        "quantity": entry["quantity"],
        "tax_rates": tax_rates_rendered(livemode, entry.get("tax_rates") or []),
    }


def _phase(phase: dict[str, Any], currency: str, prices: dict[str, Price], livemode: bool) -> dict[str, Any]:
    return {
        "add_invoice_items": [],
        "application_fee_percent": None,
        "billing_cycle_anchor": phase.get("billing_cycle_anchor"),
        "billing_thresholds": None,
        "collection_method": None,
        "currency": currency,
        "default_payment_method": None,
        "default_tax_rates": [],
        "description": phase.get("description"),
        "discounts": [],
        "end_date": phase["end_date"],
        "invoice_settings": None,
        "items": [_item(entry, prices, livemode) for entry in phase["items"]],
        "metadata": phase.get("metadata") or {},
        "on_behalf_of": None,
        "proration_behavior": phase["proration_behavior"],
        "start_date": phase["start_date"],
        "transfer_data": None,
        "trial_end": phase.get("trial_end"),
    }


def _default_settings(schedule: SubscriptionSchedule) -> dict[str, Any]:
    given = schedule.default_settings or {}
    method = given.get("collection_method") or "charge_automatically"
    return {
        "application_fee_percent": None,
        "automatic_tax": {"disabled_reason": None, "enabled": False, "liability": None},
        "billing_cycle_anchor": "automatic",
        "billing_thresholds": None,
        "collection_method": method,
        "default_payment_method": given.get("default_payment_method"),
        "description": given.get("description"),
        "invoice_settings": {
            "account_tax_ids": None,
            "custom_fields": None,
            "days_until_due": given.get("days_until_due") if method == "send_invoice" else None,
            "description": None,
            "footer": None,
            "issuer": {"type": "self"},
        },
        "on_behalf_of": None,
        "transfer_data": None,
    }


def _currency(schedule: SubscriptionSchedule, prices: dict[str, Price]) -> str:
    subscription = schedule.subscription or schedule.released_subscription
    if subscription is not None:
        return subscription.currency
    first = next(iter(prices.values()), None)
    return first.currency if first is not None else "usd"


def render_subscription_schedule(schedule: SubscriptionSchedule) -> dict[str, Any]:
    customer = schedule.customer
    prices = _prices(schedule)
    currency = _currency(schedule, prices)
    current = (
        {"end_date": unix(schedule.current_phase_end), "start_date": unix(schedule.current_phase_start)}
        if schedule.status == "active" and schedule.current_phase_start is not None
        else None
    )
    return {
        "id": schedule.public_id,
        "object": "subscription_schedule",
        "application": None,
        "billing_mode": {"flexible": None, "type": "classic"},
        "canceled_at": unix(schedule.canceled_at),
        "completed_at": unix(schedule.completed_at),
        "created": unix(schedule.created),
        "current_phase": current,
        "customer": customer.public_id,
        "customer_account": None,
        "default_settings": _default_settings(schedule),
        "end_behavior": schedule.end_behavior,
        "livemode": schedule.livemode,
        "metadata": schedule.metadata,
        "phases": [_phase(phase, currency, prices, schedule.livemode) for phase in schedule.phases],
        "released_at": unix(schedule.released_at),
        "released_subscription": (
            schedule.released_subscription.public_id if schedule.released_subscription is not None else None
        ),
        "status": schedule.status,
        "subscription": schedule.subscription.public_id if schedule.subscription is not None else None,
        "test_clock": customer.test_clock.public_id if customer.test_clock is not None else None,
    }


def _schedules(ids: Iterable[str], livemode: bool) -> Iterable[SubscriptionSchedule]:
    return SubscriptionSchedule.objects.select_related(
        "customer__test_clock", "subscription", "released_subscription"
    ).filter(public_id__in=list(ids), livemode=livemode)


def load_subscription_schedules(ids: list[str], livemode: bool) -> dict[str, dict[str, Any]]:
    return {s.public_id: render_subscription_schedule(s) for s in _schedules(ids, livemode)}
