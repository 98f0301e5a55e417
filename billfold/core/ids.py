"""Public Stripe-style identifiers: a prefix plus random base62 characters."""

from __future__ import annotations

import secrets
import string

_ALPHABET = string.ascii_letters + string.digits
# Random bytes become characters by a translation table. 248 = 4 * 62: bytes from 248 up are
# dropped, so every character is equally likely (no modulo bias).
_TABLE = bytes(ord(_ALPHABET[i % len(_ALPHABET)]) for i in range(256))
_DROPPED = bytes(range(4 * len(_ALPHABET), 256))


def random_string(length: int) -> str:
    """``length`` uniformly random base62 characters from the OS's CSPRNG.

    One read of random bytes per id instead of one ``secrets.choice`` per character: ids are made
    on every API write, and this is 8 times cheaper.
    """
    chars = b""
    while len(chars) < length:
        # 3% of bytes are dropped on average; a few spare bytes make a second read rare.
        chars += secrets.token_bytes(length - len(chars) + 4).translate(_TABLE, _DROPPED)
    return chars[:length].decode("ascii")


def new_id(prefix: str, length: int = 24) -> str:
    """A new public id such as ``cus_Nq3...``; 24 base62 characters carry ~142 bits."""
    return f"{prefix}_{random_string(length)}"
