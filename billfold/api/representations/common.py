"""Helpers every representation uses."""

from __future__ import annotations

import datetime as dt
from typing import Any

from billfold.core.clock import to_unix


def unix(value: dt.datetime | None) -> int | None:
    return to_unix(value) if value is not None else None


def deleted(object_type: str, public_id: str) -> dict[str, Any]:
    """What Stripe returns for a deleted object."""
    return {"id": public_id, "object": object_type, "deleted": True}


def address(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is None:
        return None
    return {k: value.get(k) for k in ("city", "country", "line1", "line2", "postal_code", "state")}
