"""Coupons, the customer-facing promotion codes that redeem them, and the discounts they become."""

from __future__ import annotations

from django.db import models
from django.db.models.functions import Lower

from billfold.core import clock
from billfold.core.models import StripeObject

DURATIONS = ("forever", "once", "repeating")


class Coupon(StripeObject):
    """A reusable discount offer: a percentage or a fixed amount off, for once, some months or forever.

    The merchant may choose the id (``SUMMER25``). Deleting a coupon keeps the row with
    ``deleted=True``: discounts already made from it go on, nothing new can redeem it, the API
    answers 404 for it, and its id is free to be given to a new coupon, as in Stripe.
    """

    # Unique per mode among coupons that are not deleted (see Meta).
    public_id = models.CharField(max_length=200)
    name = models.CharField(max_length=40, null=True, blank=True)
    # Exactly one of percent_off (0 < p ≤ 100, two decimals) and amount_off (minor units of currency).
    percent_off = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    amount_off = models.BigIntegerField(null=True, blank=True)
    currency = models.CharField(max_length=3, null=True, blank=True)
    # amount_off in other currencies, {"eur": {"amount_off": 900}}, minor units of each key's currency.
    currency_options = models.JSONField(default=dict)
    duration = models.CharField(max_length=9, default="once")
    # Repeating coupons only: how many months a discount made from it lasts.
    duration_in_months = models.PositiveIntegerField(null=True, blank=True)
    max_redemptions = models.PositiveIntegerField(null=True, blank=True)
    # Last moment it can be redeemed (aware UTC), or None.
    redeem_by = models.DateTimeField(null=True, blank=True)
    times_redeemed = models.PositiveIntegerField(default=0)
    # Product ids the discount is limited to, or None for every product.
    applies_to_products = models.JSONField(null=True, blank=True)
    deleted = models.BooleanField(default=False)

    class Meta:
        indexes = [models.Index(fields=["livemode", "deleted"])]
        constraints = [
            models.UniqueConstraint(
                fields=["livemode", "public_id"], condition=models.Q(deleted=False), name="coupon_public_id_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.public_id

    @property
    def valid(self) -> bool:
        """Whether it can still be redeemed: not deleted, not past redeem_by, not used up."""
        if self.deleted:
            return False
        if self.redeem_by is not None and clock.now() > self.redeem_by:
            return False
        return self.max_redemptions is None or self.times_redeemed < self.max_redemptions


class PromotionCode(StripeObject):
    """A code customers type (``FALL20``) to redeem a coupon, with its own limits and restrictions.

    Regardless of case, a code is unique among the active codes a given customer could use: one
    that anyone may use, and one per customer for codes restricted to a customer.
    """

    code = models.CharField(max_length=500)
    coupon = models.ForeignKey(Coupon, on_delete=models.PROTECT, related_name="promotion_codes")
    active = models.BooleanField(default=True)
    # Only this customer may redeem it; None means anyone.
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.PROTECT, related_name="promotion_codes"
    )
    # When it stops being redeemable (aware UTC), or None.
    expires_at = models.DateTimeField(null=True, blank=True)
    max_redemptions = models.PositiveIntegerField(null=True, blank=True)
    times_redeemed = models.PositiveIntegerField(default=0)
    # Only for customers with no successful payment or invoice yet.
    first_time_transaction = models.BooleanField(default=False)
    # The purchase must come to at least this many minor units of minimum_amount_currency.
    minimum_amount = models.BigIntegerField(null=True, blank=True)
    minimum_amount_currency = models.CharField(max_length=3, null=True, blank=True)
    # Minimums in other currencies, {"eur": {"minimum_amount": 900}}, minor units of each key's currency.
    currency_options = models.JSONField(default=dict)

    class Meta:
        indexes = [models.Index(fields=["livemode", "active"])]
        constraints = [
            # The database settles two requests creating the same code at once; the services
            # also refuse a code for everyone that one customer's code already uses, and the reverse.
            models.UniqueConstraint(
                Lower("code"),
                "livemode",
                condition=models.Q(active=True, customer__isnull=True),
                name="promotion_code_unique_for_everyone",
            ),
            models.UniqueConstraint(
                Lower("code"),
                "livemode",
                "customer",
                condition=models.Q(active=True, customer__isnull=False),
                name="promotion_code_unique_per_customer",
            ),
        ]

    def __str__(self) -> str:
        return self.code


class Discount(models.Model):
    """A coupon applied: to a customer, a subscription (or one item) or an invoice (or one item).

    ``start`` and ``end`` are aware UTC; ``end`` is None for ``once`` and ``forever`` coupons.
    What it is attached to is named by public ids until those resources have tables of their own.
    """

    public_id = models.CharField(max_length=64, unique=True)
    livemode = models.BooleanField(default=False)
    coupon = models.ForeignKey(Coupon, on_delete=models.PROTECT, related_name="discounts")
    promotion_code = models.ForeignKey(
        PromotionCode, null=True, blank=True, on_delete=models.PROTECT, related_name="discounts"
    )
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.PROTECT, related_name="discounts"
    )
    start = models.DateTimeField()
    end = models.DateTimeField(null=True, blank=True)
    subscription_id = models.CharField(max_length=64, null=True, blank=True)
    subscription_item_id = models.CharField(max_length=64, null=True, blank=True)
    invoice_id = models.CharField(max_length=64, null=True, blank=True)
    invoice_item_id = models.CharField(max_length=64, null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["livemode", "subscription_id"]),
            models.Index(fields=["livemode", "invoice_id"]),
        ]

    def __str__(self) -> str:
        return self.public_id
