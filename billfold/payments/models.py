from __future__ import annotations

from django.db import models

from billfold.core.models import StripeObject, current_time
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


class PaymentIntent(StripeObject):
    """One payment the business wants to collect, and every attempt to collect it (Stripe's PaymentIntent).

    requires_payment_method → requires_confirmation → processing → succeeded, with
    requires_action when the card asks for authentication and back to requires_payment_method
    (``last_payment_error`` set) when a card is declined; canceled from any open status.
    ``processing`` lasts while the processor is being asked (see ``PaymentAttempt``).
    Funds are captured as soon as the card is authorised: there is no manual capture.
    """

    # Minor units of ``currency``.
    amount = models.PositiveBigIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=24)
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.PROTECT, related_name="payment_intents"
    )
    payment_method = models.ForeignKey(
        PaymentMethod, null=True, blank=True, on_delete=models.PROTECT, related_name="payment_intents"
    )
    # automatic or automatic_async: both capture at once, the second without waiting for the settlement.
    capture_method = models.CharField(max_length=16, default="automatic_async")
    confirmation_method = models.CharField(max_length=16, default="automatic")
    client_secret = models.CharField(max_length=128)
    description = models.CharField(max_length=1000, null=True, blank=True)
    statement_descriptor = models.CharField(max_length=22, null=True, blank=True)
    receipt_email = models.CharField(max_length=800, null=True, blank=True)
    # on_session / off_session: save the card to ``customer`` once a payment with it succeeds.
    setup_future_usage = models.CharField(max_length=12, null=True, blank=True)
    payment_method_types = models.JSONField(default=list)
    # Whether the payment method types follow the account's settings (Stripe's default) rather than
    # a list given at creation; Billfold accepts cards either way.
    automatic_payment_methods = models.BooleanField(default=False)
    # Stripe's error hash from the last declined attempt, including the payment method and charge.
    last_payment_error = models.JSONField(null=True, blank=True)
    # What the cardholder must do next (authentication), while status is requires_action.
    next_action = models.JSONField(null=True, blank=True)
    latest_charge = models.ForeignKey(
        "Charge", null=True, blank=True, on_delete=models.PROTECT, related_name="latest_of"
    )
    # Minor units collected: ``amount`` once succeeded, else 0.
    amount_received = models.PositiveBigIntegerField(default=0)
    # Aware UTC.
    canceled_at = models.DateTimeField(null=True, blank=True)
    cancellation_reason = models.CharField(max_length=24, null=True, blank=True)
    # The public id of the invoice this intent pays, set by the billing engine.
    invoice_id = models.CharField(max_length=64, null=True, blank=True)
    # The Idempotency-Key of the API request that created it: a retry of that request after a
    # crash finds this intent instead of creating (and charging) a second one.
    request_key = models.CharField(max_length=255, null=True, blank=True)
    # When it was created on the server's clock (``created`` may be a test clock's time).
    requested_at = models.DateTimeField(default=current_time)

    class Meta:
        indexes = [
            models.Index(fields=["livemode", "customer"]),
            models.Index(fields=["livemode", "request_key"]),
            models.Index(fields=["livemode", "invoice_id"]),
        ]

    def __str__(self) -> str:
        return self.public_id


class PaymentAttempt(models.Model):
    """One request to the processor to charge a payment intent's card; never shown by the API.

    The row is committed as ``attempting`` before the processor is called, with the idempotency
    key the processor receives; the outcome is recorded afterwards. A crash in between leaves
    the row ``attempting``, and whoever resumes it asks the processor again with the same key, so
    the card is charged at most once.
    """

    payment_intent = models.ForeignKey(PaymentIntent, on_delete=models.PROTECT, related_name="attempts")
    payment_method = models.ForeignKey(PaymentMethod, on_delete=models.PROTECT, related_name="attempts")
    # Minor units of ``currency``, as asked of the processor.
    amount = models.PositiveBigIntegerField()
    currency = models.CharField(max_length=3)
    off_session = models.BooleanField(default=False)
    processor = models.CharField(max_length=40)
    processor_key = models.CharField(max_length=64, unique=True)
    # attempting, then succeeded / declined / requires_action.
    status = models.CharField(max_length=16, default="attempting")
    # The charge the outcome produced (none for requires_action).
    charge = models.OneToOneField("Charge", null=True, blank=True, on_delete=models.PROTECT, related_name="attempt")
    # The Idempotency-Key of the API request that started it, so that request's retry does not confirm twice.
    request_key = models.CharField(max_length=255, null=True, blank=True)
    # Aware UTC.
    created = models.DateTimeField(default=current_time)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "created"])]

    def __str__(self) -> str:
        return f"{self.payment_intent_id}:{self.processor_key} {self.status}"


class Charge(StripeObject):
    """The outcome of one attempt to take a payment intent's amount from a card.

    ``status`` is succeeded or failed; a failed charge keeps the processor's refusal in
    ``failure_code``/``failure_message`` and ``outcome``. The card is described as it was at the
    time of the charge (``payment_method_details``), whatever happens to the payment method later.
    """

    payment_intent = models.ForeignKey(PaymentIntent, on_delete=models.PROTECT, related_name="charges")
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.PROTECT, related_name="charges")
    payment_method = models.ForeignKey(PaymentMethod, on_delete=models.PROTECT, related_name="charges")
    # Minor units of ``currency``.
    amount = models.PositiveBigIntegerField()
    amount_captured = models.PositiveBigIntegerField(default=0)
    amount_refunded = models.PositiveBigIntegerField(default=0)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=12)
    failure_code = models.CharField(max_length=40, null=True, blank=True)
    failure_message = models.CharField(max_length=500, null=True, blank=True)
    # {"network_status", "reason", "seller_message", "type"}: what the network said.
    outcome = models.JSONField(default=dict)
    # The card at charge time: brand, last4, exp_month, exp_year, fingerprint, funding, country, cvc_check.
    payment_method_details = models.JSONField(default=dict)
    # The payment method's billing details at charge time.
    billing_details = models.JSONField(default=dict)
    description = models.CharField(max_length=1000, null=True, blank=True)
    receipt_email = models.CharField(max_length=800, null=True, blank=True)
    statement_descriptor = models.CharField(max_length=22, null=True, blank=True)
    processor = models.CharField(max_length=40)
    # The processor's id of the attempt, for refunds and reconciliation.
    processor_reference = models.CharField(max_length=255)

    class Meta:
        indexes = [
            models.Index(fields=["livemode", "customer"]),
            models.Index(fields=["livemode", "payment_intent"]),
        ]

    def __str__(self) -> str:
        return self.public_id

    @property
    def paid(self) -> bool:
        return self.status == "succeeded"

    @property
    def refunded(self) -> bool:
        return self.paid and self.amount_refunded == self.amount


class Refund(StripeObject):
    """Money given back from a successful charge, whole or in part.

    Committed as ``pending`` with the processor's idempotency key before the processor is asked,
    then succeeded or failed, like ``PaymentAttempt``: a crash in between never refunds twice.
    """

    charge = models.ForeignKey(Charge, on_delete=models.PROTECT, related_name="refunds")
    payment_intent = models.ForeignKey(PaymentIntent, on_delete=models.PROTECT, related_name="refunds")
    # Minor units of ``currency``.
    amount = models.PositiveBigIntegerField()
    currency = models.CharField(max_length=3)
    # duplicate / fraudulent / requested_by_customer, or None.
    reason = models.CharField(max_length=32, null=True, blank=True)
    # pending, then succeeded / failed.
    status = models.CharField(max_length=12)
    failure_reason = models.CharField(max_length=40, null=True, blank=True)
    processor = models.CharField(max_length=40)
    processor_key = models.CharField(max_length=64, unique=True)
    processor_reference = models.CharField(max_length=255, null=True, blank=True)
    # The Idempotency-Key of the API request that created it (see ``PaymentIntent.request_key``).
    request_key = models.CharField(max_length=255, null=True, blank=True)
    # When the processor was first asked, on the server's clock (``created`` may be a test clock's time).
    requested_at = models.DateTimeField(default=current_time)

    class Meta:
        indexes = [
            models.Index(fields=["livemode", "charge"]),
            models.Index(fields=["livemode", "payment_intent"]),
            models.Index(fields=["livemode", "request_key"]),
            models.Index(fields=["status", "requested_at"]),
        ]

    def __str__(self) -> str:
        return self.public_id
