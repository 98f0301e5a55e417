"""What the portal lets a customer do with a subscription, as Stripe's portal does.

Multi-item, usage-based and ``send_invoice`` subscriptions are cancel-only, as are those whose
subscription schedule plans more than the one change the portal defers; ended ones can do
nothing. The portal pages and the session deep links (``flow_data``) ask the same questions here.
"""

from __future__ import annotations

from typing import Any

from billfold.billing.models import Subscription, SubscriptionItem, SubscriptionSchedule
from billfold.core.clock import to_unix

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
    """The subscription's items that are billed, in pk order: the ones a page's query prefetched
    as ``live_items`` (with their prices and products), else read now."""
    known: list[SubscriptionItem] | None = getattr(subscription, "live_items", None)
    if known is not None:
        return known
    return list(subscription.items.filter(deleted=False).select_related("price__product").order_by("pk"))


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
    if subscription.schedule is not None and not _portal_schedule(subscription.schedule):
        return (
            f"the subscription {subscription.public_id} follows the subscription schedule "
            f"{subscription.schedule.public_id}, which plans more than one change; the portal can only cancel it."
        )
    return None


def _phases_ahead(plan: SubscriptionSchedule) -> list[dict[str, Any]]:
    if plan.status != "active" or plan.current_phase_end is None:
        return []
    begins = to_unix(plan.current_phase_end)
    return [phase for phase in plan.phases if phase["start_date"] >= begins]


def _portal_schedule(plan: SubscriptionSchedule) -> bool:
    """A schedule such as the portal makes to defer a change: at most one phase after the current
    one, after which the subscription goes on (``end_behavior=release``). The portal replaces or
    drops that change; it leaves longer plans alone."""
    return plan.end_behavior == "release" and len(_phases_ahead(plan)) <= 1


def pending_change(subscription: Subscription) -> tuple[SubscriptionSchedule, dict[str, Any]] | None:
    """The change waiting for the end of the current period (a portal-style schedule's next phase,
    from ``phase["start_date"]``), with its schedule; None when nothing is scheduled."""
    plan = subscription.schedule
    if plan is None or not _portal_schedule(plan):
        return None
    ahead = _phases_ahead(plan)
    return (plan, ahead[0]) if ahead else None
