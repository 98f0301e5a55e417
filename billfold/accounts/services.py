"""Writes for API keys."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction

from billfold.accounts.models import ApiKey
from billfold.accounts.selectors import api_key_forget
from billfold.accounts.signin import normalize_email
from billfold.core import clock
from billfold.core.crypto import sha256_hex
from billfold.core.errors import DomainError, InvalidParam, NotFound
from billfold.core.ids import random_string


@dataclass(frozen=True)
class CreatedKey:
    key: ApiKey
    secret: str  # shown once; never stored


# The longest name a key may have (the column's size).
MAX_KEY_NAME = 100


def api_key_create(*, livemode: bool, name: str = "") -> CreatedKey:
    if len(name) > MAX_KEY_NAME:
        raise InvalidParam(f"A key's name can be at most {MAX_KEY_NAME} characters long.", param="name")
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


# The longest a rolled key may keep working beside its replacement (Stripe's longest choice).
MAX_ROLL_EXPIRY = dt.timedelta(days=7)


@transaction.atomic
def api_key_roll(*, key: ApiKey, expires_in: dt.timedelta) -> CreatedKey:
    """Replace ``key`` by a new key of the same name and mode, as Stripe's "Roll key" does.

    The old secret keeps working for ``expires_in`` (zero: it stops now), so an app can switch to
    the new one without a gap. A key already rolled (or revoked, or expired) cannot be rolled: roll
    its replacement instead.
    """
    if expires_in < dt.timedelta(0) or expires_in > MAX_ROLL_EXPIRY:
        raise InvalidParam("A rolled key can keep working for 0 seconds up to 7 days.", param="expires_in")
    current = ApiKey.objects.select_for_update().filter(pk=key.pk).first()
    if current is None:
        raise NotFound("api_key", key.public_id)
    now = clock.now()
    if current.revoked_at is not None:
        raise DomainError("This key was revoked: it cannot be rolled. Create a new key instead.")
    if current.expires_at is not None:
        if current.expires_at <= now:
            raise DomainError("This key has expired: it cannot be rolled. Roll the key that replaced it instead.")
        raise DomainError(
            f"This key was already rolled: it stops working on {current.expires_at:%b %-d, %Y at %H:%M} UTC. "
            "Roll the key that replaced it instead."
        )
    created = api_key_create(livemode=current.livemode, name=current.name)
    current.expires_at = now + expires_in
    current.save(update_fields=["expires_at"])
    # This process stops trusting its remembered copy (which has no expiry) at once; the others
    # read the key again within ``selectors.TRUSTED_FOR``.
    api_key_forget(secret_hash=current.secret_hash)
    return created


def api_key_revoke(*, key: ApiKey) -> ApiKey:
    """Revoke the key: refused at once by this process, within ``selectors.TRUSTED_FOR`` by the others."""
    key.revoked_at = clock.now()
    key.save(update_fields=["revoked_at"])
    api_key_forget(secret_hash=key.secret_hash)
    return key


# Staff users ------------------------------------------------------------------------------


def staff_user_create(*, email: str, password: str, owner: bool = False) -> User:
    """A dashboard user signing in with ``email`` (stored lowercased as the username).

    The password goes through Django's validators (length, common passwords, similarity to the
    email) and is stored with Django's default hasher (PBKDF2-SHA256). An ``owner`` is a superuser.
    """
    address = normalize_email(email)
    try:
        validate_email(address)
    except ValidationError:
        raise InvalidParam(f"Invalid email address: {email}", param="email", code="email_invalid") from None
    if User.objects.filter(username=address).exists():
        raise InvalidParam(f"A user with the email address {address} already exists.", param="email")
    candidate = User(username=address, email=address)
    try:
        validate_password(password, user=candidate)
    except ValidationError as refused:
        raise InvalidParam(" ".join(refused.messages), param="password") from None
    try:
        with transaction.atomic():
            return User.objects.create_user(
                username=address,
                email=address,
                password=password,
                is_staff=True,
                is_superuser=owner,
            )
    except IntegrityError:
        raise InvalidParam(f"A user with the email address {address} already exists.", param="email") from None
