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
    request_id = models.CharField(max_length=64, null=True, blank=True)
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)
    pending_webhooks = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["livemode", "type"]), models.Index(fields=["livemode", "created"])]

    def __str__(self) -> str:
        return f"{self.public_id} {self.type}"
