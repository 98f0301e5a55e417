"""Public Stripe-style identifiers: a prefix plus random base62 characters."""

from __future__ import annotations

import secrets
import string

_ALPHABET = string.ascii_letters + string.digits


def random_string(length: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def new_id(prefix: str, length: int = 24) -> str:
    """A new public id such as ``cus_Nq3...``; 24 base62 characters carry ~142 bits."""
    return f"{prefix}_{random_string(length)}"
