"""Webhook signing secrets: making them, keeping them encrypted at rest, and signing with them.

A signature is Stripe's: ``Stripe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">``
with one ``v1`` per secret in use (two for a day after a secret is rolled), so Stripe's libraries
(``stripe.Webhook.construct_event``) verify Billfold's deliveries unchanged.

The secret signs every delivery, so it cannot be stored only as a hash like API keys are. It is
encrypted with Fernet (AES-128-CBC + HMAC-SHA256, from the maintained ``cryptography`` package)
under a key derived from Django's ``SECRET_KEY`` with HKDF: a copy of the database alone does not
reveal the secrets. Changing ``SECRET_KEY`` makes stored secrets unreadable; roll each endpoint's
secret afterwards.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

from billfold.core.ids import random_string

SECRET_PREFIX = "whsec_"  # noqa: S105 - the prefix, not a secret


def new_secret() -> str:
    """A new signing secret: ``whsec_`` and 32 base62 characters (~190 bits)."""
    return SECRET_PREFIX + random_string(32)


@functools.cache
def _fernet(secret_key: str) -> Fernet:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"billfold webhook signing secrets v1").derive(
        secret_key.encode()
    )
    return Fernet(base64.urlsafe_b64encode(derived))


def secret_encrypt(secret: str) -> str:
    return _fernet(settings.SECRET_KEY).encrypt(secret.encode()).decode("ascii")


def secret_decrypt(token: str) -> str:
    return _fernet(settings.SECRET_KEY).decrypt(token.encode("ascii")).decode()


def signature(payload: bytes, *, secret: str, timestamp: int) -> str:
    """The hex ``v1`` signature of ``payload`` sent at ``timestamp`` (Unix seconds)."""
    signed = str(timestamp).encode() + b"." + payload
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature_header(payload: bytes, *, secrets: list[str], timestamp: int) -> str:
    """The ``Stripe-Signature`` header value: the timestamp, then one ``v1`` per secret."""
    parts = [f"t={timestamp}"] + [f"v1={signature(payload, secret=s, timestamp=timestamp)}" for s in secrets]
    return ",".join(parts)
