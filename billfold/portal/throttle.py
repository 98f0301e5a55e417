"""Rate limits that hold across processes: fixed-window counters in the database.

The database is the one thing every web process shares (the quick start has no Redis), and a
counter row updated with ``count = count + 1`` is atomic on SQLite and PostgreSQL alike.
Keys are hashed so the table holds no email addresses or client addresses in clear.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import F

from billfold.core import clock
from billfold.core.crypto import sha256_hex
from billfold.core.errors import DomainError
from billfold.portal.models import RateCounter


class RateLimited(DomainError):
    """Too many tries: Stripe's 429 ``rate_limit`` error, saying when to try again."""

    http_status = 429

    def __init__(self, message: str, *, retry_after: dt.timedelta) -> None:
        super().__init__(message, code="rate_limit")
        self.retry_after = retry_after


@dataclass(frozen=True)
class Limit:
    """At most ``count`` hits of ``scope`` per key in each ``window``."""

    scope: str
    count: int
    window: dt.timedelta


def _window_start(now: dt.datetime, window: dt.timedelta) -> dt.datetime:
    seconds = int(window.total_seconds())
    return clock.from_unix(clock.to_unix(now) // seconds * seconds)


def _increment(limit: Limit, key_hash: str, start: dt.datetime) -> int:
    """Add one to the window's counter (made if missing) and return the new count."""
    where = {"scope": limit.scope, "key": key_hash, "window_start": start}
    for _ in range(2):
        if RateCounter.objects.filter(**where).update(count=F("count") + 1):
            return RateCounter.objects.filter(**where).values_list("count", flat=True).get()
        try:
            # A savepoint, so that losing the race to another process keeps the caller's transaction.
            with transaction.atomic():
                RateCounter.objects.create(**where, count=1)
            return 1
        except IntegrityError:
            continue  # another process made the row first: count on it
    raise RuntimeError(f"Could not count a hit for {limit.scope}")  # pragma: no cover - two lost races in a row


def rate_limit_hit(*, limit: Limit, key: str, message: str) -> None:
    """Count one hit of ``key`` against ``limit``; refuse it (``RateLimited``) past the limit.

    Refused hits count too, so hammering does not reopen the window early. Runs in the caller's
    transaction when there is one; counts survive a refusal only if the caller commits them
    (``login`` counts in a transaction of its own for that reason).
    """
    now = clock.now()
    start = _window_start(now, limit.window)
    count = _increment(limit, sha256_hex(f"{limit.scope}:{key}"), start)
    # Windows that have closed are of no more use; clearing them as we go keeps the table small.
    RateCounter.objects.filter(scope=limit.scope, window_start__lt=start - limit.window).delete()
    if count > limit.count:
        raise RateLimited(message, retry_after=start + limit.window - now)
