from __future__ import annotations

from django.db import models

from billfold.core.models import StripeObject
from billfold.customers.models import Customer


class PaymentMethod(StripeObject):
    """A card a processor holds for Billfold, described without its number.

    The number and CVC are never stored: the processor keeps the card and Billfold keeps its
    ``processor_reference``, the brand, the last four digits, the expiry and a fingerprint
    (an HMAC of the number under the server secret) to recognise the same card again.
    A method saved to a customer has ``customer`` set; once detached it can never be used again.
    """

    type = models.CharField(max_length=20, default="card")
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.PROTECT, related_name="payment_methods"
    )
    card_brand = models.CharField(max_length=20)
    card_last4 = models.CharField(max_length=4)
    card_exp_month = models.PositiveSmallIntegerField()
    card_exp_year = models.PositiveSmallIntegerField()
    card_fingerprint = models.CharField(max_length=32)
    card_funding = models.CharField(max_length=10, default="unknown")
    # Two-letter country of the issuer, when the processor knows it.
    card_country = models.CharField(max_length=2, null=True, blank=True)
    # pass / fail / unchecked / unavailable; None when no CVC was given.
    card_cvc_check = models.CharField(max_length=12, null=True, blank=True)
    # {"address": {...}, "email", "name", "phone", "tax_id"}; absent keys render as null.
    billing_details = models.JSONField(default=dict)
    allow_redisplay = models.CharField(max_length=12, default="unspecified")
    # Which processor holds the card, and its id for the card there.
    processor = models.CharField(max_length=40)
    processor_reference = models.CharField(max_length=255)
    # When it was detached from its customer (aware UTC); a detached method cannot be attached again.
    detached_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["livemode", "customer"]),
            models.Index(fields=["livemode", "card_fingerprint"]),
        ]

    def __str__(self) -> str:
        return self.public_id


class SetupIntent(StripeObject):
    """One attempt to save a payment method for later payments (Stripe's SetupIntent).

    Goes requires_payment_method → requires_confirmation → (requires_action →) succeeded, or to
    canceled; a declined card sends it back to requires_payment_method with ``last_setup_error``.
    On success a method is attached to ``customer`` when there is one.
    """

    status = models.CharField(max_length=24)
    client_secret = models.CharField(max_length=128)
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.PROTECT, related_name="setup_intents"
    )
    payment_method = models.ForeignKey(
        PaymentMethod, null=True, blank=True, on_delete=models.PROTECT, related_name="setup_intents"
    )
    description = models.CharField(max_length=1000, null=True, blank=True)
    # off_session (the default) or on_session.
    usage = models.CharField(max_length=12, default="off_session")
    payment_method_types = models.JSONField(default=list)
    # Stripe's error hash from the last failed confirmation, including the payment method it was for.
    last_setup_error = models.JSONField(null=True, blank=True)
    # What the cardholder must do next (authentication), while status is requires_action.
    next_action = models.JSONField(null=True, blank=True)
    cancellation_reason = models.CharField(max_length=24, null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["livemode", "customer"]),
            models.Index(fields=["livemode", "payment_method"]),
        ]

    def __str__(self) -> str:
        return self.public_id
