"""The one source of the current time.

Every "now" in Billfold comes from here so tests (and, later, test clocks) can move time
without sleeping. Times are aware UTC datetimes; the wire format is Unix seconds.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_frozen: dt.datetime | None = None
# A thread inside ``thread_own_time`` keeps the time it freezes to itself (see there).
_thread = threading.local()


def now() -> dt.datetime:
    own: dt.datetime | None = getattr(_thread, "frozen", None)
    if own is not None:
        return own
    if _frozen is not None:
        return _frozen
    return dt.datetime.now(dt.UTC)


def to_unix(value: dt.datetime) -> int:
    return int(value.timestamp())


def from_unix(value: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(value, dt.UTC)


@contextmanager
def frozen_at(moment: dt.datetime) -> Iterator[None]:
    """Pin ``now()`` to ``moment`` for the duration of the block (tests and simulations).

    For every thread of the process, unless this thread is inside ``thread_own_time``.
    """
    if getattr(_thread, "own_time", False):
        previous_own: dt.datetime | None = getattr(_thread, "frozen", None)
        _thread.frozen = moment
        try:
            yield
        finally:
            _thread.frozen = previous_own
        return
    global _frozen
    previous, _frozen = _frozen, moment
    try:
        yield
    finally:
        _frozen = previous


@contextmanager
def thread_own_time() -> Iterator[None]:
    """Within the block, ``frozen_at`` in this thread pins ``now()`` for this thread only.

    For simulated time run beside live requests in one process (a test clock advanced in a
    background thread by the dashboard): the web server's other threads keep the real time.
    """
    previous = getattr(_thread, "own_time", False)
    _thread.own_time = True
    try:
        yield
    finally:
        _thread.own_time = previous
