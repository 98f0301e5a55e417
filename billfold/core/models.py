"""Abstract bases shared by the domain models (the core app has no tables of its own)."""

from __future__ import annotations

import datetime as dt
from typing import TypeVar

from django.db import models

from billfold.core import clock
from billfold.core.errors import NotFound


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


S = TypeVar("S", bound=StripeObject)


def stripe_object_get(objects: models.QuerySet[S], *, resource: str, public_id: str, livemode: bool, param: str) -> S:
    """The object of ``objects`` with this public id in this mode, or Stripe's ``resource_missing``
    naming ``param``: what every ``<resource>_get`` selector does with its own related rows."""
    found = objects.filter(public_id=public_id, livemode=livemode).first()
    if found is None:
        raise NotFound(resource, public_id, param=param)
    return found
