"""Subscriptions and their items: recurring prices billed to a customer period after period.

Times are aware UTC datetimes (the API shows Unix seconds). Related billing rows that predate
these tables (invoices, invoice items, lines, discounts) name a subscription and its items by
public id (``sub_...``, ``si_...``) in their ``subscription_id`` / ``subscription_item_id`` columns.
"""

from __future__ import annotations

from django.db import models

from billfold.core.models import StripeObject
from billfold.customers.models import Customer

# Stripe's subscription statuses (PRODUCT.md §3). "Ended" ones never change again.
STATUSES: tuple[str, ...] = (
    "incomplete",
    "incomplete_expired",
    "trialing",
    "active",
    "past_due",
    "canceled",
    "unpaid",
    "paused",
)
ENDED_STATUSES: tuple[str, ...] = ("canceled", "incomplete_expired")


class Subscription(StripeObject):
    """A customer's recurring purchase of one or more prices, billed every period from an anchor.

    Every billing date derives from ``billing_cycle_anchor`` (see ``core.periods``);
    ``billing_cycle_anchor_day`` keeps the day of month a month-end anchor stands for (an anchor
    asked for on the 31st that fell on Feb 28 keeps 31 so later periods end on Mar 31, Apr 30...).

    ``next_action_at`` is the earliest moment the engine must look at the subscription again
    (period end, trial end, trial_will_end notice, cancel_at, a schedule's next phase); None when
    nothing is due. ``claimed_until`` is a worker's lease on the row while it advances it.
    """

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="subscriptions")
    # incomplete | incomplete_expired | trialing | active | past_due | canceled | unpaid | paused
    status = models.CharField(max_length=18, default="incomplete")
    # charge_automatically | send_invoice
    collection_method = models.CharField(max_length=20, default="charge_automatically")
    days_until_due = models.PositiveIntegerField(null=True, blank=True)
    currency = models.CharField(max_length=3)

    billing_cycle_anchor = models.DateTimeField()
    # The day of month (1-31) the anchor stands for, for month and year intervals; None otherwise.
    billing_cycle_anchor_day = models.PositiveSmallIntegerField(null=True, blank=True)
    # {"day_of_month", "hour", "minute", "month", "second"} as asked at creation, or None.
    billing_cycle_anchor_config = models.JSONField(null=True, blank=True)

    cancel_at_period_end = models.BooleanField(default=False)
    cancel_at = models.DateTimeField(null=True, blank=True)
    canceled_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    # {"comment", "feedback", "reason"}
    cancellation_details = models.JSONField(default=dict)

    trial_start = models.DateTimeField(null=True, blank=True)
    trial_end = models.DateTimeField(null=True, blank=True)
    # {"end_behavior": {"missing_payment_method": "cancel" | "pause" | "create_invoice"}}
    trial_settings = models.JSONField(default=dict)
    # The trial end that customer.subscription.trial_will_end was sent for, so it is sent once per trial.
    trial_will_end_sent_for = models.DateTimeField(null=True, blank=True)
    # The moment of the next invoice (period end or trial end) that invoice.upcoming was sent for,
    # so it is sent once per period.
    upcoming_renewal_sent_for = models.DateTimeField(null=True, blank=True)

    default_payment_method = models.ForeignKey(
        "payments.PaymentMethod", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Public ids of the tax rates for items that have none of their own.
    default_tax_rates = models.JSONField(default=list)
    description = models.CharField(max_length=500, null=True, blank=True)
    latest_invoice = models.ForeignKey(
        "billing.Invoice", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # {"behavior": "keep_as_draft" | "mark_uncollectible" | "void", "resumes_at": epoch | None} or None.
    pause_collection = models.JSONField(null=True, blank=True)
    start_date = models.DateTimeField()
    # Changes waiting for the payment of ``latest_invoice`` (payment_behavior=pending_if_incomplete):
    # {"billing_cycle_anchor", "expires_at", "subscription_items", "trial_end", "trial_from_plan"}.
    pending_update = models.JSONField(null=True, blank=True)
    # Public ids of the Discount rows applying to the whole subscription, in the order they apply.
    discounts = models.JSONField(default=list)
    # {"payment_method_types", "save_default_payment_method", ...} as given, or {}.
    payment_settings = models.JSONField(default=dict)

    # The schedule managing the subscription, while it is active (None before and after).
    schedule = models.ForeignKey(
        "billing.SubscriptionSchedule", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    next_action_at = models.DateTimeField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["livemode", "customer", "status"]),
            models.Index(fields=["livemode", "status", "created"]),
            # The worker's "what is due" scan: livemode = x AND next_action_at <= now.
            models.Index(fields=["livemode", "next_action_at", "status"]),
        ]

    def __str__(self) -> str:
        return self.public_id

    @property
    def ended(self) -> bool:
        return self.status in ENDED_STATUSES


class SubscriptionItem(StripeObject):
    """One price of a subscription, with its quantity and the period it is billed for.

    Deleting an item keeps the row (``deleted=True``) so its id answers ``{"deleted": true}`` and
    the invoices that billed it keep pointing at something.
    """

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="items")
    price = models.ForeignKey("catalog.Price", on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveBigIntegerField(default=1)
    current_period_start = models.DateTimeField()
    current_period_end = models.DateTimeField()
    # Public ids of the tax rates for this item (instead of the subscription's default_tax_rates).
    tax_rates = models.JSONField(default=list)
    # Public ids of the Discount rows for this item alone.
    discounts = models.JSONField(default=list)
    deleted = models.BooleanField(default=False)

    class Meta:
        indexes = [
            models.Index(fields=["subscription", "deleted"]),
            models.Index(fields=["livemode", "current_period_end"]),
        ]

    def __str__(self) -> str:
        return self.public_id
