"""Writes for API keys."""

from __future__ import annotations

from dataclasses import dataclass

from billfold.accounts.models import ApiKey
from billfold.core import clock
from billfold.core.crypto import sha256_hex
from billfold.core.ids import random_string


@dataclass(frozen=True)
class CreatedKey:
    key: ApiKey
    secret: str  # shown once; never stored


def api_key_create(*, livemode: bool, name: str = "") -> CreatedKey:
    prefix = "sk_live_" if livemode else "sk_test_"
    secret = prefix + random_string(48)
    key = ApiKey.objects.create(
        name=name,
        livemode=livemode,
        secret_hash=sha256_hex(secret),
        prefix=prefix,
        last4=secret[-4:],
    )
    return CreatedKey(key=key, secret=secret)


def api_key_revoke(*, key: ApiKey) -> ApiKey:
    key.revoked_at = clock.now()
    key.save(update_fields=["revoked_at"])
    return key
