"""Tax rates the merchant defines and applies to invoices and subscriptions."""

from __future__ import annotations

from django.db import models

from billfold.core.models import StripeObject

# Stripe's high-level tax types (``tax_type``), as the current API lists them.
TAX_TYPES = (
    "admissions_tax",
    "amusement_tax",
    "attendance_tax",
    "communications_tax",
    "digital_excise_tax",
    "entertainment_tax",
    "get_fund",
    "gross_receipts_tax",
    "gst",
    "hospitality_tax",
    "hst",
    "igst",
    "jct",
    "lease_tax",
    "luxury_tax",
    "mass_transit_parking_tax",
    "nhil",
    "parking_tax",
    "pst",
    "qst",
    "resort_tax",
    "retail_delivery_fee",
    "rst",
    "sales_tax",
    "service_tax",
    "tourism_tax",
    "utility_users_tax",
    "vat",
)


class TaxRate(StripeObject):
    """A percentage of tax, either carved out of amounts (``inclusive``) or added on top of them.

    ``percentage`` and ``inclusive`` never change after creation, so invoices that used a rate
    keep meaning what they said; a different rate is a new tax rate. Archived rates
    (``active=False``) stay on what already uses them but cannot be applied anew.
    """

    display_name = models.CharField(max_length=50)
    description = models.TextField(null=True, blank=True)
    # Percent out of 100, up to four decimals (19.0000 is 19 %).
    percentage = models.DecimalField(max_digits=7, decimal_places=4)
    inclusive = models.BooleanField()
    active = models.BooleanField(default=True)
    # ISO 3166-1 alpha-2, upper case.
    country = models.CharField(max_length=2, null=True, blank=True)
    # ISO 3166-2 subdivision without the country prefix ("NY"), upper case.
    state = models.CharField(max_length=3, null=True, blank=True)
    jurisdiction = models.CharField(max_length=50, null=True, blank=True)
    # Stripe sets this only on rates its tax automation made; rates defined by hand leave it None.
    jurisdiction_level = models.CharField(max_length=10, null=True, blank=True)
    tax_type = models.CharField(max_length=30, null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["livemode", "active"])]

    def __str__(self) -> str:
        return self.public_id
