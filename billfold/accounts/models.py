from __future__ import annotations

from django.db import models

from billfold.core.ids import new_id
from billfold.core.models import current_time


def new_api_key_id() -> str:
    return new_id("key")


class ApiKey(models.Model):
    """A secret API key (``sk_test_...`` / ``sk_live_...``).

    Only the SHA-256 of the key is stored; the key itself is shown once, when it is created.
    ``livemode`` of every request comes from the key that authenticated it.
    """

    # What the dashboard names a key by (its pages' URLs); the secret never appears in one.
    public_id = models.CharField(max_length=64, unique=True, default=new_api_key_id)
    name = models.CharField(max_length=100, default="")
    livemode = models.BooleanField(default=False)
    secret_hash = models.CharField(max_length=64, unique=True)
    # The first characters and last four of the key, enough to recognise it in a list.
    prefix = models.CharField(max_length=16)
    last4 = models.CharField(max_length=4)
    created = models.DateTimeField(default=current_time)
    last_used = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # When set, the key stops working at this time (a rolled key's grace period, ``api_key_roll``).
    expires_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.prefix}...{self.last4}"

    @property
    def redacted(self) -> str:
        return f"{self.prefix}{'*' * 12}{self.last4}"


class SignInFailure(models.Model):
    """One refused dashboard sign-in, remembered for the rate limit (``accounts.signin``).

    Each refusal writes a row for the email address typed and one for the client's address, so
    every web process sees the same count. ``key`` is the SHA-256 of ``"email:<address>"`` or
    ``"client:<ip>"``: the table never holds either in clear. Rows older than the lockout
    window no longer count and are deleted as new failures come in.
    """

    key = models.CharField(max_length=64)
    # When the attempt was refused (aware UTC, from core.clock).
    created = models.DateTimeField(default=current_time)

    class Meta:
        indexes = [models.Index(fields=["key", "created"])]

    def __str__(self) -> str:
        return f"{self.key[:12]} {self.created.isoformat()}"
