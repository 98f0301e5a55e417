"""Reads for subscription schedules. Every query is scoped to one mode."""

from __future__ import annotations

from django.db.models import QuerySet

from billfold.billing.models import SubscriptionSchedule
from billfold.core.models import stripe_object_get
from billfold.customers.models import Customer


def _schedules() -> QuerySet[SubscriptionSchedule]:
    return SubscriptionSchedule.objects.select_related("customer__test_clock", "subscription", "released_subscription")


def subscription_schedule_get(*, public_id: str, livemode: bool, param: str = "id") -> SubscriptionSchedule:
    return stripe_object_get(
        _schedules(), resource="subscription_schedule", public_id=public_id, livemode=livemode, param=param
    )


def subscription_schedule_list(
    *, livemode: bool, customer: Customer | None = None, scheduled: bool | None = None
) -> QuerySet[SubscriptionSchedule]:
    """Schedules of one mode, whatever their status; ``scheduled=true``: only those not started yet."""
    found = _schedules().filter(livemode=livemode)
    if customer is not None:
        found = found.filter(customer=customer)
    if scheduled:
        found = found.filter(status="not_started")
    return found
