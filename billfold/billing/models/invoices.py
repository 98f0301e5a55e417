"""Invoices, their lines, and invoice items (charges waiting for, or placed on, an invoice).

Money columns are integers of minor units in the invoice's (or item's) ``currency``; times are
aware UTC datetimes (the API shows Unix seconds).
"""

from __future__ import annotations

from django.db import models

from billfold.core.models import StripeObject
from billfold.customers.models import Customer


class Invoice(StripeObject):
    """A statement of what a customer owes: draft → open → paid | void | uncollectible.

    A draft can be edited and deleted and has no number. Finalizing freezes its lines and
    totals, takes the customer's next invoice number, copies the customer's details
    (``customer_*`` columns) and applies the customer's balance. ``hosted_token`` is the
    unguessable part of the hosted invoice page's URL, which anyone holding it can open.
    """

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="invoices")
    # draft | open | paid | void | uncollectible
    status = models.CharField(max_length=13, default="draft")
    # "{customer.invoice_prefix}-{sequence:04d}", set at finalization; None while a draft.
    number = models.CharField(max_length=64, null=True, blank=True)
    # manual | subscription_create | subscription_cycle | subscription_update | subscription_threshold | ...
    billing_reason = models.CharField(max_length=40, default="manual")
    # charge_automatically | send_invoice
    collection_method = models.CharField(max_length=20, default="charge_automatically")
    days_until_due = models.PositiveIntegerField(null=True, blank=True)
    due_date = models.DateTimeField(null=True, blank=True)
    currency = models.CharField(max_length=3)

    # Totals, in minor units, recomputed from the lines while a draft and frozen once finalized.
    subtotal = models.BigIntegerField(default=0)
    subtotal_excluding_tax = models.BigIntegerField(default=0)
    total = models.BigIntegerField(default=0)
    total_excluding_tax = models.BigIntegerField(default=0)
    amount_due = models.BigIntegerField(default=0)
    amount_paid = models.BigIntegerField(default=0)
    amount_remaining = models.BigIntegerField(default=0)
    # The customer's balance before and after finalization applied it (negative = credit).
    starting_balance = models.BigIntegerField(default=0)
    ending_balance = models.BigIntegerField(null=True, blank=True)
    # [{"amount", "discount": "di_..."}], summed over the lines.
    total_discount_amounts = models.JSONField(default=list)
    # [{"amount", "tax_behavior", "tax_rate_details": {"tax_rate"}, "taxability_reason", "taxable_amount",
    #   "type"}], summed per tax rate over the lines.
    total_taxes = models.JSONField(default=list)

    # Public ids of the Discount rows that apply to the whole invoice, in the order they apply.
    discounts = models.JSONField(default=list)
    # Public ids of the tax rates for lines that have none of their own.
    default_tax_rates = models.JSONField(default=list)

    # The customer as they were at finalization (drafts show the customer as they are now).
    customer_email = models.CharField(max_length=512, null=True, blank=True)
    customer_name = models.CharField(max_length=256, null=True, blank=True)
    customer_phone = models.CharField(max_length=20, null=True, blank=True)
    customer_address = models.JSONField(null=True, blank=True)
    customer_shipping = models.JSONField(null=True, blank=True)
    customer_tax_exempt = models.CharField(max_length=10, null=True, blank=True)
    # [{"type", "value"}]
    customer_tax_ids = models.JSONField(default=list)
    # [{"name", "value"}] shown on the invoice, or None.
    custom_fields = models.JSONField(null=True, blank=True)

    period_start = models.DateTimeField()
    period_end = models.DateTimeField()

    attempt_count = models.PositiveIntegerField(default=0)
    attempted = models.BooleanField(default=False)
    next_payment_attempt = models.DateTimeField(null=True, blank=True)
    # Until when a worker holds the invoice to collect it (a lease: a crashed worker's claim runs out).
    claimed_until = models.DateTimeField(null=True, blank=True)
    auto_advance = models.BooleanField(default=False)
    paid_out_of_band = models.BooleanField(default=False)

    # status_transitions
    finalized_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)
    marked_uncollectible_at = models.DateTimeField(null=True, blank=True)
    # The date of issue printed on the invoice: finalized_at unless set explicitly.
    effective_at = models.DateTimeField(null=True, blank=True)
    # When invoice.sent was last recorded (the email itself is not sent yet).
    sent_at = models.DateTimeField(null=True, blank=True)

    description = models.CharField(max_length=1500, null=True, blank=True)
    footer = models.CharField(max_length=5000, null=True, blank=True)
    statement_descriptor = models.CharField(max_length=22, null=True, blank=True)

    default_payment_method = models.ForeignKey(
        "payments.PaymentMethod", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The intent that collects ``amount_due`` (charge_automatically), made on the first attempt.
    payment_intent = models.ForeignKey(
        "payments.PaymentIntent", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The public id of the subscription this invoice bills, if any.
    subscription_id = models.CharField(max_length=64, null=True, blank=True)
    hosted_token = models.CharField(max_length=64, unique=True)
    deleted = models.BooleanField(default=False)

    class Meta:
        indexes = [
            models.Index(fields=["livemode", "customer", "status"]),
            models.Index(fields=["livemode", "status", "created"]),
            models.Index(fields=["livemode", "subscription_id"]),
            # The worker's search for payments due (billing/renewals.py).
            models.Index(
                fields=["next_payment_attempt"],
                condition=models.Q(next_payment_attempt__isnull=False),
                name="invoice_payment_due",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["livemode", "number"], condition=models.Q(number__isnull=False), name="invoice_number_unique"
            ),
            # One renewal invoice per subscription period, however many workers renew it at once.
            models.UniqueConstraint(
                fields=["livemode", "subscription_id", "period_start", "billing_reason"],
                condition=models.Q(billing_reason="subscription_cycle"),
                name="invoice_subscription_cycle_unique",
            ),
        ]

    def __str__(self) -> str:
        return self.public_id


class InvoiceItem(StripeObject):
    """A charge (or, negative, a credit) for a customer, billed on an invoice.

    Pending while ``invoice`` is None: the next invoice created for the customer in the same
    currency with pending items included pulls it in. The amount is ``unit_amount_decimal x
    quantity`` rounded to the minor unit, from the price when there is one. A deleted item keeps
    its row (``deleted=True``) so its id answers ``{"deleted": true}``.
    """

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="invoice_items")
    invoice = models.ForeignKey(Invoice, null=True, blank=True, on_delete=models.SET_NULL, related_name="invoice_items")
    price = models.ForeignKey("catalog.Price", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    # Minor units: the whole item (unit x quantity); negative for a credit.
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    # Minor units per unit, as a decimal string (up to 12 decimals).
    unit_amount_decimal = models.CharField(max_length=40)
    quantity = models.PositiveBigIntegerField(default=1)
    description = models.CharField(max_length=5000, null=True, blank=True)
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    proration = models.BooleanField(default=False)
    discountable = models.BooleanField(default=True)
    # Public ids of the Discount rows for this item alone.
    discounts = models.JSONField(default=list)
    # Public ids of the tax rates for this item (instead of the invoice's default_tax_rates).
    tax_rates = models.JSONField(default=list)
    # When the item was added (customer time), shown as ``date``.
    date = models.DateTimeField()
    subscription_id = models.CharField(max_length=64, null=True, blank=True)
    subscription_item_id = models.CharField(max_length=64, null=True, blank=True)
    deleted = models.BooleanField(default=False)

    class Meta:
        indexes = [models.Index(fields=["livemode", "customer", "invoice"])]

    def __str__(self) -> str:
        return self.public_id


class InvoiceLineItem(StripeObject):
    """One line of an invoice: a subscription item's period or an invoice item.

    ``amount`` is before discounts (and includes inclusive taxes); ``discount_amounts`` and
    ``taxes`` hold what the totals computation found for the line.
    """

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    # invoice_item_details (``invoice_item`` set) or subscription_item_details.
    parent_type = models.CharField(max_length=30, default="invoice_item_details")
    invoice_item = models.ForeignKey(InvoiceItem, null=True, blank=True, on_delete=models.CASCADE, related_name="lines")
    price = models.ForeignKey("catalog.Price", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    # Minor units, unit x quantity; negative for a credit.
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    # Minor units per unit, as a decimal string.
    unit_amount_decimal = models.CharField(max_length=40, null=True, blank=True)
    quantity = models.PositiveBigIntegerField(null=True, blank=True)
    description = models.CharField(max_length=5000, null=True, blank=True)
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    proration = models.BooleanField(default=False)
    discountable = models.BooleanField(default=True)
    # Public ids of Discount rows applying to this line alone (besides the invoice's).
    discounts = models.JSONField(default=list)
    # [{"amount", "discount": "di_..."}]
    discount_amounts = models.JSONField(default=list)
    # [{"amount", "tax_behavior", "tax_rate_details": {"tax_rate"}, "taxability_reason", "taxable_amount", "type"}]
    taxes = models.JSONField(default=list)
    # Public ids of the tax rates for this line (instead of the invoice's default_tax_rates).
    tax_rates = models.JSONField(default=list)
    subscription_id = models.CharField(max_length=64, null=True, blank=True)
    subscription_item_id = models.CharField(max_length=64, null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["invoice", "id"])]

    def __str__(self) -> str:
        return self.public_id
