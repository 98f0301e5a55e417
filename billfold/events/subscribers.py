"""What else happens, in the same transaction, when an event row is written.

Packages that turn events into background work (webhook deliveries, emails) register a
subscriber when their app loads; ``event_record`` calls every subscriber with the new event
inside the transaction that made the change, so the work row commits or rolls back with it.
A subscriber must be cheap: it runs on every event, on the request's hot path.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from billfold.events.models import Event

Subscriber = Callable[[Event], None]
ManySubscriber = Callable[[Sequence[Event]], None]
# Each subscriber, with its way of taking many events at once (one check for a whole batch), if it has one.
_subscribers: list[tuple[Subscriber, ManySubscriber | None]] = []


def register_event_subscriber(subscriber: Subscriber, *, many: ManySubscriber | None = None) -> None:
    """``many``, if given, is called instead of ``subscriber`` for the events written together by
    ``events_record`` (a renewal batch's), with the same effect as calling ``subscriber`` for each."""
    if all(registered is not subscriber for registered, _ in _subscribers):
        _subscribers.append((subscriber, many))


def notify_subscribers(event: Event) -> None:
    for subscriber, _ in _subscribers:
        subscriber(event)


def notify_subscribers_many(events: Sequence[Event]) -> None:
    for subscriber, many in _subscribers:
        if many is not None:
            many(events)
        else:
            for event in events:
                subscriber(event)
