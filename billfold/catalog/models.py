from __future__ import annotations

from django.db import models

from billfold.core.models import StripeObject, current_time


class Product(StripeObject):
    """Something the business sells; its prices say how much and how often."""

    name = models.CharField(max_length=250)
    description = models.TextField(null=True, blank=True)
    active = models.BooleanField(default=True)
    # Image URLs (at most 8), usually files uploaded to and served by Billfold.
    images = models.JSONField(default=list)
    # [{"name": "..."}], at most 15.
    marketing_features = models.JSONField(default=list)
    tax_code = models.CharField(max_length=40, null=True, blank=True)
    statement_descriptor = models.CharField(max_length=22, null=True, blank=True)
    unit_label = models.CharField(max_length=12, null=True, blank=True)
    url = models.CharField(max_length=2048, null=True, blank=True)
    shippable = models.BooleanField(null=True)
    # {"height", "length", "weight", "width"} as floats, or None.
    package_dimensions = models.JSONField(null=True, blank=True)
    type = models.CharField(max_length=10, default="service")
    default_price = models.ForeignKey(
        "catalog.Price", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated = models.DateTimeField(default=current_time)
    deleted = models.BooleanField(default=False)

    class Meta:
        indexes = [models.Index(fields=["livemode", "deleted", "active"])]

    def __str__(self) -> str:
        return self.public_id


class Price(StripeObject):
    """How much a product costs and, when recurring, how often. Never deleted, only deactivated."""

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="prices")
    active = models.BooleanField(default=True)
    currency = models.CharField(max_length=3)
    # Minor units of ``currency`` per unit; None for tiered prices. ``unit_amount_decimal``
    # holds sub-minor-unit precision as a decimal string (Stripe allows 12 decimals).
    unit_amount = models.BigIntegerField(null=True, blank=True)
    unit_amount_decimal = models.CharField(max_length=40, null=True, blank=True)
    nickname = models.CharField(max_length=250, null=True, blank=True)
    lookup_key = models.CharField(max_length=200, null=True, blank=True)
    tax_behavior = models.CharField(max_length=12, default="unspecified")
    billing_scheme = models.CharField(max_length=10, default="per_unit")
    tiers_mode = models.CharField(max_length=10, null=True, blank=True)
    # [{"up_to": int|None, "unit_amount", "unit_amount_decimal", "flat_amount", "flat_amount_decimal"}]
    tiers = models.JSONField(null=True, blank=True)
    # Recurring prices only: "day" | "week" | "month" | "year", every ``interval_count`` of them.
    recurring_interval = models.CharField(max_length=5, null=True, blank=True)
    recurring_interval_count = models.PositiveIntegerField(null=True, blank=True)
    recurring_usage_type = models.CharField(max_length=10, null=True, blank=True)
    recurring_trial_period_days = models.PositiveIntegerField(null=True, blank=True)
    # {"divide_by": int, "round": "up"|"down"} or None.
    transform_quantity = models.JSONField(null=True, blank=True)
    # {"maximum", "minimum", "preset"} (pay-what-you-want) or None.
    custom_unit_amount = models.JSONField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["livemode", "lookup_key"]),
            models.Index(fields=["livemode", "active"]),
        ]

    def __str__(self) -> str:
        return self.public_id

    @property
    def type(self) -> str:
        return "recurring" if self.recurring_interval else "one_time"
