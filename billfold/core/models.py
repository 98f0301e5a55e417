"""Abstract bases shared by the domain models (the core app has no tables of its own)."""

from __future__ import annotations

import datetime as dt

from django.db import models

from billfold.core import clock


def current_time() -> dt.datetime:
    return clock.now()


class StripeObject(models.Model):
    """A row that the API exposes as a Stripe object.

    ``pk`` is for joins and ordering only; ``public_id`` (``cus_...``) is what leaves the server.
    ``livemode`` keeps test and live data apart: every query filters on it.
    """

    public_id = models.CharField(max_length=64, unique=True)
    livemode = models.BooleanField(default=False)
    # When the object was created (aware UTC; the API shows Unix seconds).
    created = models.DateTimeField(default=current_time)
    metadata = models.JSONField(default=dict)

    class Meta:
        abstract = True
