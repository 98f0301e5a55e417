"""What the portal lets a customer do with a subscription, as Stripe's portal does.

Multi-item, usage-based and ``send_invoice`` subscriptions are cancel-only; ended ones can do
nothing. The portal pages and the session deep links (``flow_data``) ask the same questions here.
"""

from __future__ import annotations

from billfold.billing.models import Subscription, SubscriptionItem

# Statuses in which a subscription still runs and can be changed or canceled.
LIVE_STATUSES = ("active", "trialing", "past_due", "unpaid", "paused", "incomplete")


def subscription_cancel_problem(subscription: Subscription) -> str | None:
    """Why the customer cannot cancel ``subscription`` in the portal, or None."""
    if subscription.status not in LIVE_STATUSES:
        return f"the subscription {subscription.public_id} has already ended (status {subscription.status})."
    if subscription.cancel_at_period_end or subscription.cancel_at is not None:
        return f"the subscription {subscription.public_id} is already set to cancel."
    return None


def live_items(subscription: Subscription) -> list[SubscriptionItem]:
    return list(subscription.items.filter(deleted=False).select_related("price").order_by("pk"))


def subscription_update_problem(subscription: Subscription) -> str | None:
    """Why the customer cannot switch plan or quantity of ``subscription`` in the portal, or None."""
    if subscription.status not in LIVE_STATUSES or subscription.status == "incomplete":
        return f"the subscription {subscription.public_id} cannot be updated in its status {subscription.status}."
    if subscription.collection_method == "send_invoice":
        return (
            f"the subscription {subscription.public_id} is paid by invoice (collection_method send_invoice); "
            "the portal can only cancel such subscriptions."
        )
    items = live_items(subscription)
    if len(items) != 1:
        return (
            f"the subscription {subscription.public_id} has {len(items)} items; the portal can only update "
            "subscriptions with a single item (others can only be canceled)."
        )
    if items[0].price.recurring_usage_type == "metered":
        return (
            f"the subscription {subscription.public_id} is usage-based; the portal can only cancel such subscriptions."
        )
    return None
