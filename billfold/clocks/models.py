from __future__ import annotations

from django.db import models

from billfold.core.models import current_time


class TestClock(models.Model):
    """A simulated time that the customers attached to it live on (test mode only).

    ``frozen_time`` is "now" for those customers: their invoices, events and renewals are stamped
    with it, and it only moves forward when the clock is advanced. Deleting a clock keeps the row
    with ``deleted=True`` so its id still answers ``{"deleted": true}``.
    """

    READY = "ready"
    ADVANCING = "advancing"
    INTERNAL_FAILURE = "internal_failure"
    STATUSES = ((READY, READY), (ADVANCING, ADVANCING), (INTERNAL_FAILURE, INTERNAL_FAILURE))

    public_id = models.CharField(max_length=64, unique=True)
    # Always False: test clocks exist in test mode only. Kept so every query filters on it alike.
    livemode = models.BooleanField(default=False)
    # When the clock was made, in real time (aware UTC), not on the clock itself.
    created = models.DateTimeField(default=current_time)
    name = models.CharField(max_length=300, null=True, blank=True)
    # The simulated present of the attached customers (aware UTC).
    frozen_time = models.DateTimeField()
    status = models.CharField(max_length=16, choices=STATUSES, default=READY)
    # Stripe's ``status_details``: ``{"advancing": {"target_frozen_time": <unix>}}`` while advancing;
    # after a failed advance, ``{"internal_failure": {...}}`` says which step failed and why.
    status_details = models.JSONField(default=dict)
    # When the clock is due to be deleted automatically (aware UTC, real time).
    deletes_after = models.DateTimeField()
    deleted = models.BooleanField(default=False)

    class Meta:
        indexes = [models.Index(fields=["livemode", "deleted"])]

    def __str__(self) -> str:
        return self.public_id
