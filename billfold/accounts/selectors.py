"""Reads for API keys."""

from __future__ import annotations

from django.db.models import Q

from billfold.accounts.models import ApiKey
from billfold.core import clock
from billfold.core.crypto import sha256_hex


def api_key_authenticate(*, secret: str) -> ApiKey | None:
    """The active key whose secret this is, or None.

    The lookup is by the SHA-256 of the presented secret, so timing reveals nothing about
    stored keys (an attacker cannot steer the hash prefix).
    """
    if not secret.startswith(("sk_test_", "sk_live_")):
        return None
    now = clock.now()
    return (
        ApiKey.objects.filter(secret_hash=sha256_hex(secret), revoked_at__isnull=True)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .first()
    )
