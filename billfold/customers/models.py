from __future__ import annotations

from django.db import models

from billfold.core.models import StripeObject, current_time


class Customer(StripeObject):
    """A business's customer: who is billed, where, and how.

    Deleting a customer keeps the row with ``deleted=True`` so the API can answer
    ``{"deleted": true}`` for its id and old invoices keep their customer.
    """

    email = models.CharField(max_length=512, null=True, blank=True)
    name = models.CharField(max_length=256, null=True, blank=True)
    phone = models.CharField(max_length=20, null=True, blank=True)
    description = models.CharField(max_length=350, null=True, blank=True)
    # {"line1", "line2", "city", "state", "postal_code", "country"} or None.
    address = models.JSONField(null=True, blank=True)
    # {"name", "phone", "address": {...}} or None.
    shipping = models.JSONField(null=True, blank=True)
    # Minor units in ``currency``; negative is credit the customer holds.
    balance = models.BigIntegerField(default=0)
    currency = models.CharField(max_length=3, null=True, blank=True)
    preferred_locales = models.JSONField(default=list)
    invoice_prefix = models.CharField(max_length=12)
    next_invoice_sequence = models.PositiveIntegerField(default=1)
    # {"custom_fields", "footer", "rendering_options"}; the default payment method is its own column.
    invoice_settings = models.JSONField(default=dict)
    tax_exempt = models.CharField(max_length=10, default="none")
    delinquent = models.BooleanField(default=False)
    deleted = models.BooleanField(default=False)
    # The test clock whose frozen time is this customer's present (test mode only). Set at creation
    # and never changed; deleting the clock deletes the customer, so the row is never left dangling.
    test_clock = models.ForeignKey(
        "clocks.TestClock", on_delete=models.PROTECT, null=True, blank=True, related_name="customers"
    )

    class Meta:
        indexes = [
            models.Index(fields=["livemode", "email"]),
            models.Index(fields=["livemode", "deleted", "created"]),
        ]
        constraints = [
            models.UniqueConstraint(fields=["livemode", "invoice_prefix"], name="customer_invoice_prefix_unique"),
        ]

    def __str__(self) -> str:
        return self.public_id


class TaxId(models.Model):
    """A customer's tax identification number (VAT, EIN, ABN...), shown on invoices.

    ``value`` is stored normalised (see ``customers.tax_id_formats``). Deleting a tax ID deletes
    the row: invoices copy the type and value when they are finalised.
    """

    public_id = models.CharField(max_length=64, unique=True)
    livemode = models.BooleanField(default=False)
    # When the tax ID was added (aware UTC).
    created = models.DateTimeField(default=current_time)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="tax_ids")
    type = models.CharField(max_length=20)
    value = models.CharField(max_length=64)
    # Two-letter country the number belongs to, or None for types that span countries.
    country = models.CharField(max_length=2, null=True, blank=True)
    # Stripe's verification.status; see customers.tax_ids for why it is always "unavailable" here.
    verification_status = models.CharField(max_length=12, default="unavailable")

    def __str__(self) -> str:
        return self.public_id
