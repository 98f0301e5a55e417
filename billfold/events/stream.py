"""Following new events as they commit (``billfold listen``), read straight from the database.

Event ids grow with each insert, but on PostgreSQL a transaction that took a lower id can commit
after one that took a higher id: "everything above the highest id seen" would miss it for good.
So the stream remembers the ids it skipped over (gaps) and keeps asking for them for
``gap_wait`` seconds: an id that turns up was a late commit; one that never does was rolled back.
At the start, the newest ``start_window`` ids that do not exist yet are watched the same way (they
may be transactions in flight), while events already there are not replayed.
"""

from __future__ import annotations

import time
from collections.abc import Collection

from django.db.models import Q

from billfold.events.models import Event

# Longer than any transaction that writes events runs (API requests and worker rows take
# milliseconds to seconds).
GAP_WAIT = 120.0
START_WINDOW = 1000


class EventStream:
    def __init__(
        self,
        *,
        livemode: bool,
        types: Collection[str] | None = None,
        gap_wait: float = GAP_WAIT,
        start_window: int = START_WINDOW,
    ) -> None:
        self.livemode = livemode
        self.types = frozenset(types) if types else None
        self.gap_wait = gap_wait
        recent = list(Event.objects.order_by("-pk").values_list("pk", flat=True)[:start_window])
        self.high = recent[0] if recent else 0
        now = time.monotonic()
        existing = set(recent)
        # Gap id → when it was first seen missing.
        self.gaps: dict[int, float] = {
            pk: now for pk in range(max(self.high - start_window, 0) + 1, self.high + 1) if pk not in existing
        }

    def poll(self) -> list[Event]:
        """The events of this mode and these types committed since the last poll, in id order."""
        now = time.monotonic()
        self.gaps = {pk: since for pk, since in self.gaps.items() if now - since < self.gap_wait}
        wanted = Q(pk__gt=self.high)
        if self.gaps:
            wanted |= Q(pk__in=list(self.gaps))
        found = list(Event.objects.filter(wanted).order_by("pk"))
        for event in found:
            self.gaps.pop(event.pk, None)
            if event.pk > self.high:
                for missing in range(self.high + 1, event.pk):
                    self.gaps[missing] = now
                self.high = event.pk
        return [
            event
            for event in found
            if event.livemode == self.livemode and (self.types is None or event.type in self.types)
        ]
