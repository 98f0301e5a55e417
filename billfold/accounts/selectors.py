"""Reads for API keys."""

from __future__ import annotations

import time

from django.db.models import QuerySet

from billfold.accounts.models import ApiKey
from billfold.core import clock
from billfold.core.crypto import sha256_hex
from billfold.core.errors import NotFound
from billfold.core.rows import row_get

# How long a process trusts a key it has just looked up before reading it again. Every API request
# authenticates, and the lookup was a tenth of a retrieve's time; the price is that a key revoked by
# another process keeps working there for up to this long (in the revoking process, not at all).
TRUSTED_FOR = 1.0
# Enough for every key a deployment uses; past it the memory starts over.
_MAX_REMEMBERED = 1024
_recent: dict[str, tuple[float, ApiKey]] = {}


def api_key_get(*, public_id: str, livemode: bool) -> ApiKey:
    key = ApiKey.objects.filter(public_id=public_id, livemode=livemode).first()
    if key is None:
        raise NotFound("api_key", public_id)
    return key


def api_key_list(*, livemode: bool) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(livemode=livemode)


def _usable(key: ApiKey) -> bool:
    return key.revoked_at is None and (key.expires_at is None or key.expires_at > clock.now())


def api_key_authenticate(*, secret: str) -> ApiKey | None:
    """The active key whose secret this is, or None.

    The lookup is by the SHA-256 of the presented secret, so timing reveals nothing about
    stored keys (an attacker cannot steer the hash prefix). Only keys found valid are remembered,
    so an unknown secret is looked up every time.
    """
    if not secret.startswith(("sk_test_", "sk_live_")):
        return None
    digest = sha256_hex(secret)
    moment = time.monotonic()
    remembered = _recent.get(digest)
    if remembered is not None and moment - remembered[0] < TRUSTED_FOR and _usable(remembered[1]):
        return remembered[1]
    key = row_get(ApiKey, secret_hash=digest)
    if key is None or not _usable(key):
        _recent.pop(digest, None)
        return None
    if len(_recent) >= _MAX_REMEMBERED:
        _recent.clear()
    _recent[digest] = (moment, key)
    return key


def api_key_forget(*, secret_hash: str) -> None:
    """Stop trusting a remembered key in this process (it was revoked or changed here)."""
    _recent.pop(secret_hash, None)
