from __future__ import annotations

from django.db import models

from billfold.core.models import current_time


class Event(models.Model):
    """Something that happened to an object, written in the same transaction as the change.

    ``data`` holds ``{"object": ..., "previous_attributes": ...}`` exactly as the API renders the
    object at that moment, so a webhook body is what the API would have returned then.
    """

    public_id = models.CharField(max_length=64, unique=True)
    livemode = models.BooleanField(default=False)
    created = models.DateTimeField(default=current_time)
    type = models.CharField(max_length=100)
    api_version = models.CharField(max_length=40)
    data = models.JSONField()
    # The public id of the object the event is about (for filtering an object's history).
    object_id = models.CharField(max_length=64, db_index=True)
    # The public id of the customer the object belongs to (the object's ``customer``, or the
    # customer itself); empty for objects of no one customer (products, prices, coupons, settings).
    customer_id = models.CharField(max_length=64, blank=True, default="")
    request_id = models.CharField(max_length=64, null=True, blank=True)
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)
    pending_webhooks = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [
            models.Index(fields=["livemode", "type"]),
            models.Index(fields=["livemode", "created"]),
            models.Index(fields=["customer_id", "id"], name="events_customer_id_id"),
        ]

    def __str__(self) -> str:
        return f"{self.public_id} {self.type}"


class WebhookEndpoint(models.Model):
    """A URL events are POSTed to, with the types it receives and the secret that signs them.

    The signing secret must stay usable for signing, so it is stored encrypted (``signing.py``), never
    only hashed. After a roll, the previous secret keeps signing beside the new one until
    ``previous_secret_expires``.
    """

    ENABLED = "enabled"
    DISABLED = "disabled"

    public_id = models.CharField(max_length=64, unique=True)
    livemode = models.BooleanField(default=False)
    created = models.DateTimeField(default=current_time)
    url = models.CharField(max_length=2048)
    description = models.TextField(null=True, blank=True)
    # Event types, or ["*"] for all of them.
    enabled_events = models.JSONField(default=list)
    status = models.CharField(max_length=10, default=ENABLED)
    # The version the endpoint asked for (null: the account default); Billfold renders one version.
    api_version = models.CharField(max_length=40, null=True, blank=True)
    metadata = models.JSONField(default=dict)
    secret_encrypted = models.TextField()
    previous_secret_encrypted = models.TextField(null=True, blank=True)
    previous_secret_expires = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["livemode", "status"])]

    def __str__(self) -> str:
        return f"{self.public_id} {self.url}"


class WebhookEndpointsVersion(models.Model):
    """One row whose ``token`` changes (to a new random value) whenever any endpoint changes.

    Each process keeps the endpoint list in memory and re-reads it only when the token differs, so
    recording an event costs one primary-key read. A random token rather than a counter, because a
    counter rolled back (a failed transaction, a test) could come back to a value cached for
    another set of endpoints.
    """

    token = models.CharField(max_length=32)

    def __str__(self) -> str:
        return self.token


class WebhookDelivery(models.Model):
    """The sending of one event to one endpoint: pending until a 2xx answer (succeeded) or until
    retries run out (failed). A worker claims the row until ``claimed_until`` while it sends."""

    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    livemode = models.BooleanField(default=False)
    created = models.DateTimeField(default=current_time)
    status = models.CharField(max_length=10, default=PENDING)
    # When the next attempt is due (null once the delivery is finished).
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    claimed_until = models.DateTimeField(null=True, blank=True)
    # Which worker holds the claim: its result is written only while the claim is still its own.
    claim_token = models.CharField(max_length=32, null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"delivery {self.pk} of {self.event_id} to {self.endpoint_id}"


class WebhookAttempt(models.Model):
    """One POST of a delivery: when, how long it took (milliseconds), and what came back."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    started = models.DateTimeField()
    duration_ms = models.PositiveIntegerField()
    # Null when no HTTP answer came (refused connection, timeout, refused address).
    status_code = models.PositiveIntegerField(null=True, blank=True)
    # The start of the response body (at most RESPONSE_EXCERPT bytes, decoded leniently).
    response_excerpt = models.TextField(blank=True, default="")
    error = models.TextField(blank=True, default="")

    def __str__(self) -> str:
        return f"attempt {self.pk} of delivery {self.delivery_id}: {self.status_code or self.error}"
