"""Writes for API keys."""

from __future__ import annotations

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
from billfold.core.errors import InvalidParam
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
