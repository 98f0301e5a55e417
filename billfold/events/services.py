"""Writing event rows. Call these inside the transaction that makes the change."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.db import models

from billfold.core.bulk import rows_insert
from billfold.core.ids import new_id
from billfold.core.models import current_time
from billfold.core.request_context import current_request
from billfold.core.rows import row_insert
from billfold.events.models import Event
from billfold.events.rendering import render_object
from billfold.events.subscribers import notify_subscribers, notify_subscribers_many

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


# Lists collecting the pks of the events written in this context (``events_collected``).
_collecting: ContextVar[tuple[list[int], ...]] = ContextVar("billfold_events_collecting", default=())


@contextmanager
def events_collected() -> Iterator[list[int]]:
    """Within the block, the pks of the events written in this context (this thread, this request)
    are appended to the list it gives: what a request that may be taken back wrote itself, as
    opposed to what other requests wrote meanwhile."""
    collected: list[int] = []
    token = _collecting.set((*_collecting.get(), collected))
    try:
        yield collected
    finally:
        _collecting.reset(token)


def _collect(events: Sequence[Event]) -> None:
    for collected in _collecting.get():
        collected.extend(event.pk for event in events)


def customer_of(rendered: dict[str, Any]) -> str:
    """The public id of the customer a rendered object belongs to, or ``""``: its ``customer``
    (an id, or a hash when expanded), or its own id when it is a customer. Given an event's
    ``previous_attributes``, the customer an object has just left (a detached card)."""
    if rendered.get("object") == "customer":
        return str(rendered.get("id") or "")
    owner = rendered.get("customer")
    if isinstance(owner, dict):
        owner = owner.get("id")
    return owner if isinstance(owner, str) else ""


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
    event = row_insert(
        Event(
            public_id=new_id("evt"),
            livemode=livemode,
            type=type,
            api_version=API_VERSION,
            data=data,
            object_id=data["object"].get("id", ""),
            customer_id=customer_of(data["object"]) or customer_of(previous_attributes or {}),
            request_id=request.request_id if request else None,
            idempotency_key=request.idempotency_key if request else None,
            created=created if created is not None else current_time(),
        )
    )
    _collect((event,))
    notify_subscribers(event)
    return event


@dataclass(frozen=True)
class NewEvent:
    """One event for ``events_record``: as ``event_record``'s arguments, the object already rendered."""

    type: str
    rendered: dict[str, Any]
    livemode: bool
    created: dt.datetime
    previous_attributes: dict[str, Any] | None = None


def events_record(entries: Sequence[NewEvent]) -> list[Event]:
    """``event_record`` for many events at once, in the caller's transaction: one INSERT for all of
    them (in the order given), then the subscribers called for each event in that order."""
    request = current_request.get()
    events = []
    for entry in entries:
        data: dict[str, Any] = {"object": entry.rendered}
        if entry.previous_attributes is not None:
            data["previous_attributes"] = entry.previous_attributes
        events.append(
            Event(
                public_id=new_id("evt"),
                livemode=entry.livemode,
                type=entry.type,
                api_version=API_VERSION,
                data=data,
                object_id=entry.rendered.get("id", ""),
                customer_id=customer_of(entry.rendered) or customer_of(entry.previous_attributes or {}),
                request_id=request.request_id if request else None,
                idempotency_key=request.idempotency_key if request else None,
                created=entry.created,
            )
        )
    rows_insert(events)
    _collect(events)
    notify_subscribers_many(events)
    return events


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
