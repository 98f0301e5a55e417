from __future__ import annotations

from django.db import models

from billfold.core.models import current_time


class IdempotencyRecord(models.Model):
    """A POST made with an ``Idempotency-Key`` and, once it finished, the response it gave.

    Kept 24 hours. While ``response_status`` is null the request is still running (or its
    process died: a record whose ``locked_at`` is older than a minute may be taken over).
    """

    livemode = models.BooleanField()
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=512)
    # SHA-256 of the canonical request parameters: a reuse with other parameters is refused.
    params_hash = models.CharField(max_length=64)
    created = models.DateTimeField(default=current_time)
    locked_at = models.DateTimeField(default=current_time)
    response_status = models.PositiveSmallIntegerField(null=True)
    response_body = models.TextField(null=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["livemode", "key"], name="idempotency_key_unique")]
        indexes = [models.Index(fields=["created"])]

    def __str__(self) -> str:
        return self.key
