"""The one source of the current time.

Every "now" in Billfold comes from here so tests (and, later, test clocks) can move time
without sleeping. Times are aware UTC datetimes; the wire format is Unix seconds.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

_frozen: dt.datetime | None = None


def now() -> dt.datetime:
    if _frozen is not None:
        return _frozen
    return dt.datetime.now(dt.UTC)


def to_unix(value: dt.datetime) -> int:
    return int(value.timestamp())


def from_unix(value: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(value, dt.UTC)


@contextmanager
def frozen_at(moment: dt.datetime) -> Iterator[None]:
    """Pin ``now()`` to ``moment`` for the duration of the block (tests and simulations)."""
    global _frozen
    previous, _frozen = _frozen, moment
    try:
        yield
    finally:
        _frozen = previous
