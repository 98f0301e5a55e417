from __future__ import annotations

from django.db import models

from billfold.core.models import StripeObject, current_time


class Product(StripeObject):
    """Something the business sells; its prices say how much and how often.

    Deleting a product (allowed only while it has no prices) keeps the row with ``deleted=True``
    so nothing that once named it dangles; the API then answers 404 for it, as Stripe does.
    """

    # Unique per mode rather than overall: a custom id (``id=pro-plan``) can exist in test and live mode.
    public_id = models.CharField(max_length=64)
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
    # {"height", "length", "width"} in inches and "weight" in ounces, as floats; or None.
    package_dimensions = models.JSONField(null=True, blank=True)
    # "service" (can be subscribed to) or "good" (shipped; no unit label or statement descriptor).
    type = models.CharField(max_length=10, default="service")
    default_price = models.ForeignKey(
        "catalog.Price", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # When a visible attribute last changed (aware UTC; the API shows Unix seconds).
    updated = models.DateTimeField(default=current_time)
    deleted = models.BooleanField(default=False)

    class Meta:
        indexes = [models.Index(fields=["livemode", "deleted", "active"])]
        constraints = [models.UniqueConstraint(fields=["livemode", "public_id"], name="product_public_id_unique")]

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
    nickname = models.TextField(null=True, blank=True)
    lookup_key = models.CharField(max_length=200, null=True, blank=True)
    # "unspecified" until set to "inclusive" or "exclusive"; after that it never changes.
    tax_behavior = models.CharField(max_length=12, default="unspecified")
    billing_scheme = models.CharField(max_length=10, default="per_unit")
    tiers_mode = models.CharField(max_length=10, null=True, blank=True)
    # Tiered prices only, ascending: [{"up_to": int|None (None = the last, unbounded tier),
    # "unit_amount": int|None, "unit_amount_decimal": str|None, "flat_amount": int|None,
    # "flat_amount_decimal": str|None}], amounts in minor units of ``currency``.
    tiers = models.JSONField(null=True, blank=True)
    # Recurring prices only: "day" | "week" | "month" | "year", every ``interval_count`` of them.
    recurring_interval = models.CharField(max_length=5, null=True, blank=True)
    recurring_interval_count = models.PositiveIntegerField(null=True, blank=True)
    recurring_usage_type = models.CharField(max_length=10, null=True, blank=True)
    recurring_trial_period_days = models.PositiveIntegerField(null=True, blank=True)
    # {"divide_by": int, "round": "up"|"down"} or None.
    transform_quantity = models.JSONField(null=True, blank=True)
    # {"maximum", "minimum", "preset"} in minor units, each int or None (pay-what-you-want); or None.
    custom_unit_amount = models.JSONField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["livemode", "active"])]
        constraints = [
            # A lookup key names one price per mode; moving it needs transfer_lookup_key.
            models.UniqueConstraint(
                fields=["livemode", "lookup_key"],
                condition=models.Q(lookup_key__isnull=False),
                name="price_lookup_key_unique",
            ),
        ]

    def __str__(self) -> str:
        return self.public_id

    @property
    def type(self) -> str:
        return "recurring" if self.recurring_interval else "one_time"
