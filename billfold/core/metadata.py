"""Applying a ``metadata`` change (key → value, ``None`` deletes) to stored metadata."""

from __future__ import annotations

from collections.abc import Mapping

from billfold.core.errors import InvalidParam

MAX_KEYS = 50
MAX_KEY_LENGTH = 40
MAX_VALUE_LENGTH = 500


def merge_metadata(current: Mapping[str, str], change: Mapping[str, str | None] | None) -> dict[str, str]:
    """``None`` as the whole change clears everything (``metadata=""``); the result has ≤ 50 keys."""
    if change is None:
        return {}
    merged = dict(current)
    for key, value in change.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    if len(merged) > MAX_KEYS:
        raise InvalidParam(
            f"Metadata can have at most {MAX_KEYS} keys; this change would leave {len(merged)}.", param="metadata"
        )
    return merged
