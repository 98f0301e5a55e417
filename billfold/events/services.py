"""Writing event rows. Call these inside the transaction that makes the change."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import models

from billfold.core.ids import new_id
from billfold.core.models import current_time
from billfold.core.request_context import current_request
from billfold.events.models import Event
from billfold.events.rendering import render_object

API_VERSION = "2026-10-28.endive"


def changed_attributes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Stripe's ``previous_attributes``: the old value of every top-level key that changed.

    Inside hashes (metadata, address...) only the changed sub-keys are given, with ``None`` for
    keys that did not exist before, as Stripe does.
    """
    previous: dict[str, Any] = {}
    for key, old in before.items():
        new = after.get(key)
        if old == new:
            continue
        if isinstance(old, dict) and isinstance(new, dict) and key == "metadata":
            previous[key] = {k: old.get(k) for k in set(old) | set(new) if old.get(k) != new.get(k)}
        else:
            previous[key] = old
    return previous


def event_record(
    *,
    type: str,
    obj: models.Model,
    livemode: bool,
    previous_attributes: dict[str, Any] | None = None,
    rendered: dict[str, Any] | None = None,
    created: dt.datetime | None = None,
) -> Event:
    """Write the event for a change to ``obj``; ``rendered`` spares a second rendering.

    ``created`` is the moment the change happened for whom it concerns: a customer on a test clock
    lives on the clock's time (``clocks.selectors.customer_now``), not the server's.
    """
    data: dict[str, Any] = {"object": rendered if rendered is not None else render_object(obj)}
    if previous_attributes is not None:
        data["previous_attributes"] = previous_attributes
    request = current_request.get()
    return Event.objects.create(
        public_id=new_id("evt"),
        livemode=livemode,
        type=type,
        api_version=API_VERSION,
        data=data,
        object_id=data["object"].get("id", ""),
        request_id=request.request_id if request else None,
        idempotency_key=request.idempotency_key if request else None,
        created=created if created is not None else current_time(),
    )


def event_record_update(
    *, type: str, obj: models.Model, livemode: bool, before: dict[str, Any], created: dt.datetime | None = None
) -> Event | None:
    """Write ``*.updated`` with ``previous_attributes`` from the object's rendering before the change.

    Writes nothing when nothing visible changed (Stripe sends no event for a no-op update).
    """
    after = render_object(obj)
    previous = changed_attributes(before, after)
    if not previous:
        return None
    return event_record(
        type=type, obj=obj, livemode=livemode, previous_attributes=previous, rendered=after, created=created
    )
