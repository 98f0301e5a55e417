"""``Idempotency-Key`` handling: run a POST once, replay its response for 24 hours."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from billfold.api.errors import IdempotencyConflict, IdempotencyError, ParamError
from billfold.api.models import IdempotencyRecord
from billfold.core import clock
from billfold.core.rows import row_insert

MAX_KEY_LENGTH = 255
# A request still marked running after this long is taken to have died with its process.
STALE_AFTER = dt.timedelta(seconds=60)


def params_fingerprint(method: str, path: str, params: dict[str, Any]) -> str:
    """A keyed hash of the request: parameters may hold card details, so a bare hash could be
    brute-forced back to them; without the server's key it cannot."""
    canonical = json.dumps([method, path, params], sort_keys=True, separators=(",", ":"))
    return hmac.new(settings.SECRET_KEY.encode(), canonical.encode(), hashlib.sha256).hexdigest()


def claim(*, livemode: bool, key: str, method: str, path: str, params: dict[str, Any]) -> IdempotencyRecord:
    """The record this request now owns, or raise with the finished record to replay.

    Raises ``Replay`` when the key already finished with the same parameters, ``IdempotencyError``
    when it was used with other parameters, ``IdempotencyConflict`` when it is still running.
    """
    if len(key) > MAX_KEY_LENGTH:
        raise ParamError(f"Idempotency-Key must be at most {MAX_KEY_LENGTH} characters.", param=None)
    fingerprint = params_fingerprint(method, path, params)
    now = clock.now()
    ttl = dt.timedelta(seconds=settings.BILLFOLD_IDEMPOTENCY_TTL)
    for _ in range(3):
        try:
            with transaction.atomic():
                return row_insert(
                    IdempotencyRecord(
                        livemode=livemode,
                        key=key,
                        method=method,
                        path=path,
                        params_hash=fingerprint,
                        created=now,
                        locked_at=now,
                    )
                )
        except IntegrityError:
            pass
        existing = IdempotencyRecord.objects.filter(livemode=livemode, key=key).first()
        if existing is None:
            continue  # deleted between the insert and the read: try again
        if existing.created < now - ttl:
            IdempotencyRecord.objects.filter(pk=existing.pk, created=existing.created).delete()
            continue
        if existing.params_hash != fingerprint:
            raise IdempotencyError(
                "Keys for idempotent requests can only be used with the same parameters they were first used "
                f"with. Try using a key other than '{key}' if you meant to execute a different request.",
            )
        if existing.response_status is not None:
            raise Replay(existing)
        if existing.locked_at > now - STALE_AFTER:
            raise IdempotencyConflict(
                "There is currently another in-progress request using this Idempotency-Key (that probably means "
                "you submitted twice, and the other request is still going through): "
                f"{key}. Please try again later.",
                code="idempotency_key_in_use",
            )
        # The first attempt's process died: take the record over, once.
        if IdempotencyRecord.objects.filter(pk=existing.pk, locked_at=existing.locked_at).update(locked_at=now):
            existing.locked_at = now
            return existing
    raise IdempotencyConflict(f"Could not claim Idempotency-Key {key}; please retry.", code="idempotency_key_in_use")


class Replay(Exception):
    def __init__(self, record: IdempotencyRecord) -> None:
        super().__init__(record.key)
        self.record = record


def finish(record: IdempotencyRecord, *, status: int, body: str) -> None:
    IdempotencyRecord.objects.filter(pk=record.pk).update(response_status=status, response_body=body)


def release(record: IdempotencyRecord) -> None:
    """Forget a key whose request never started its work (bad parameters, a crash)."""
    IdempotencyRecord.objects.filter(pk=record.pk, response_status__isnull=True).delete()


def purge_expired() -> int:
    cutoff = clock.now() - dt.timedelta(seconds=settings.BILLFOLD_IDEMPOTENCY_TTL)
    deleted, _ = IdempotencyRecord.objects.filter(created__lt=cutoff).delete()
    return deleted
