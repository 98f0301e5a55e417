"""Signing staff in to the dashboard, with failed attempts rate-limited across processes.

Failures are counted in the database (``SignInFailure``), per email address typed and per client
address, over a sliding window. Past the limit, sign-in is refused for that email address (or from
that client) until the oldest counted failure leaves the window — even with the right password, so
guessing cannot continue behind the lock. Messages are the same whether or not the account
exists, and Django's ``authenticate`` hashes a password for unknown users too, so neither the
answer nor its timing tells who has an account.
"""

from __future__ import annotations

import datetime as dt
import math

from django.contrib.auth import authenticate
from django.contrib.auth.models import User
from django.db import transaction

from billfold.accounts.models import SignInFailure
from billfold.core import clock
from billfold.core.crypto import sha256_hex
from billfold.core.errors import DomainError

WINDOW = dt.timedelta(minutes=15)
# Wrong passwords allowed for one email address within WINDOW; a person mistyping needs a few.
MAX_FAILURES_PER_EMAIL = 5
# Per client address, higher: an office behind one address has several people signing in.
MAX_FAILURES_PER_CLIENT = 20

INCORRECT = "The email address or password is incorrect."


class SignInRefused(DomainError):
    """Wrong email address or password (the message never says which)."""

    http_status = 400


class SignInLocked(DomainError):
    """Too many failed attempts: nothing is checked until ``retry_after`` has passed."""

    http_status = 429

    def __init__(self, *, retry_after: dt.timedelta) -> None:
        minutes = max(1, math.ceil(retry_after.total_seconds() / 60))
        unit = "minute" if minutes == 1 else "minutes"
        super().__init__(
            f"Too many failed sign-in attempts. For your security, signing in is paused: try again in "
            f"{minutes} {unit}.",
            code="rate_limit",
        )
        self.retry_after = retry_after


def normalize_email(email: str) -> str:
    return email.strip().lower()


def _keys(email: str, client_address: str) -> tuple[str, str]:
    return sha256_hex(f"email:{normalize_email(email)}"), sha256_hex(f"client:{client_address}")


def _locked_for(key: str, limit: int, now: dt.datetime) -> dt.timedelta | None:
    """How long ``key`` stays locked, or None when it has failures to spare."""
    recent = SignInFailure.objects.filter(key=key, created__gt=now - WINDOW)
    # Only the limit-th newest failure matters: the lock lifts when it leaves the window.
    times = list(recent.order_by("-created").values_list("created", flat=True)[:limit])
    if len(times) < limit:
        return None
    return times[-1] + WINDOW - now


def _lock(email_key: str, client_key: str, now: dt.datetime) -> dt.timedelta | None:
    waits = [
        wait
        for wait in (
            _locked_for(email_key, MAX_FAILURES_PER_EMAIL, now),
            _locked_for(client_key, MAX_FAILURES_PER_CLIENT, now),
        )
        if wait is not None
    ]
    return max(waits) if waits else None


def staff_sign_in(*, email: str, password: str, client_address: str) -> User:
    """The active staff user with these credentials; raises ``SignInRefused`` or ``SignInLocked``.

    Runs its writes in transactions of its own: a failure must be counted even though the
    caller goes on to answer with an error.
    """
    now = clock.now()
    email_key, client_key = _keys(email, client_address)
    wait = _lock(email_key, client_key, now)
    if wait is not None:
        raise SignInLocked(retry_after=wait)
    user = authenticate(None, username=normalize_email(email), password=password)
    if not isinstance(user, User) or not user.is_active or not user.is_staff:
        with transaction.atomic():
            SignInFailure.objects.bulk_create(
                [SignInFailure(key=email_key, created=now), SignInFailure(key=client_key, created=now)]
            )
            # Failures that left the window count no more; clearing them keeps the table small.
            SignInFailure.objects.filter(created__lte=now - WINDOW).delete()
        wait = _lock(email_key, client_key, now)
        if wait is not None:
            raise SignInLocked(retry_after=wait)
        raise SignInRefused(INCORRECT)
    # The right password clears the account's failures; the client's stay (it may be guessing others).
    SignInFailure.objects.filter(key=email_key).delete()
    return user
