"""Reads for subscriptions and their items. Every query is scoped to one mode."""

from __future__ import annotations

from django.db.models import QuerySet

from billfold.billing.models import Subscription, SubscriptionItem
from billfold.billing.models.subscriptions import ENDED_STATUSES, STATUSES
from billfold.catalog.models import Price
from billfold.clocks.models import TestClock
from billfold.core.models import stripe_object_get
from billfold.customers.models import Customer

# ``status`` filters besides the statuses themselves: ``all`` (canceled included) and ``ended``.
LIST_STATUSES: tuple[str, ...] = (*STATUSES, "all", "ended")


def subscription_get(*, public_id: str, livemode: bool, param: str = "id") -> Subscription:
    return stripe_object_get(
        Subscription.objects.select_related("customer__test_clock", "default_payment_method", "latest_invoice"),
        resource="subscription",
        public_id=public_id,
        livemode=livemode,
        param=param,
    )


def subscription_list(
    *,
    livemode: bool,
    customer: Customer | None = None,
    price: Price | None = None,
    status: str | None = None,
    collection_method: str | None = None,
    test_clock: TestClock | None = None,
) -> QuerySet[Subscription]:
    """Subscriptions of one mode. Without ``status``, canceled ones are left out, as Stripe lists them."""
    found = Subscription.objects.select_related(
        "customer__test_clock", "default_payment_method", "latest_invoice"
    ).filter(livemode=livemode)
    if customer is not None:
        found = found.filter(customer=customer)
    if price is not None:
        found = found.filter(items__price=price, items__deleted=False).distinct()
    if status is None:
        found = found.exclude(status="canceled")
    elif status == "ended":
        found = found.filter(status__in=ENDED_STATUSES)
    elif status != "all":
        found = found.filter(status=status)
    if collection_method is not None:
        found = found.filter(collection_method=collection_method)
    if test_clock is not None:
        found = found.filter(customer__test_clock=test_clock)
    return found


def subscription_item_get(*, public_id: str, livemode: bool, param: str = "id") -> SubscriptionItem:
    """A live item (deleted ones answer 404, as in Stripe)."""
    return stripe_object_get(
        SubscriptionItem.objects.select_related("subscription__customer", "price__product").filter(deleted=False),
        resource="subscription_item",
        public_id=public_id,
        livemode=livemode,
        param=param,
    )


def subscription_item_list(*, subscription: Subscription) -> QuerySet[SubscriptionItem]:
    return SubscriptionItem.objects.select_related("price__product").filter(subscription=subscription, deleted=False)


def subscription_items_live(*, livemode: bool) -> QuerySet[SubscriptionItem]:
    """Live items of one mode, for filtering subscriptions by their current period."""
    return SubscriptionItem.objects.filter(livemode=livemode, deleted=False)
