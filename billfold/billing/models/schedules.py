"""Subscription schedules: the changes planned for a subscription, phase after phase.

Times are aware UTC datetimes; phase dates inside ``phases`` are Unix seconds, as the API gives them.
"""

from __future__ import annotations

from django.db import models

from billfold.core.models import StripeObject
from billfold.customers.models import Customer

# Stripe's schedule statuses. Only ``active`` schedules act on their subscription.
SCHEDULE_STATUSES: tuple[str, ...] = ("not_started", "active", "completed", "released", "canceled")
END_BEHAVIORS: tuple[str, ...] = ("release", "cancel")


class SubscriptionSchedule(StripeObject):
    """A plan of what a subscription bills from when: a list of phases, each with its items and its
    ``[start_date, end_date)``, applied by the billing engine as each phase begins (see
    ``billfold.billing.schedules``). When the last phase ends, ``end_behavior`` says whether the
    subscription carries on as it is (``release``) or is canceled (``cancel``).

    ``phases`` holds every phase, past ones included, as
    ``{"start_date", "end_date" (Unix seconds), "items": [{"price" (id), "quantity", "metadata",
    "tax_rates" (ids)}], "proration_behavior", "billing_cycle_anchor" (None | "phase_start"),
    "metadata", "description", "trial_end"}``.

    ``current_phase_start``/``current_phase_end`` is the phase the subscription is in: the engine
    moves the subscription to the next phase at ``current_phase_end``. Both None once the
    schedule stopped acting (completed, released, canceled).
    """

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="subscription_schedules")
    # The subscription the schedule manages (kept once it completed or was canceled; None once released).
    subscription = models.ForeignKey(
        "billing.Subscription", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The subscription a release let go of.
    released_subscription = models.ForeignKey(
        "billing.Subscription", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # not_started | active | completed | released | canceled
    status = models.CharField(max_length=12, default="active")
    # release | cancel
    end_behavior = models.CharField(max_length=8, default="release")
    phases = models.JSONField(default=list)
    current_phase_start = models.DateTimeField(null=True, blank=True)
    current_phase_end = models.DateTimeField(null=True, blank=True)
    # The subscription's settings when the schedule took it over, shown as ``default_settings``:
    # {"collection_method", "days_until_due", "default_payment_method" (id), "description"}.
    default_settings = models.JSONField(default=dict)
    canceled_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["livemode", "customer"]),
            models.Index(fields=["livemode", "status"]),
        ]

    def __str__(self) -> str:
        return self.public_id
