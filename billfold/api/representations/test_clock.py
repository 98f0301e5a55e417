"""The Stripe JSON of a test clock."""

from __future__ import annotations

from typing import Any

from billfold.api.representations.common import deleted, unix
from billfold.clocks.models import TestClock


def render_test_clock(test_clock: TestClock) -> dict[str, Any]:
    if test_clock.deleted:
        return deleted("test_helpers.test_clock", test_clock.public_id)
    return {
        "id": test_clock.public_id,
        "object": "test_helpers.test_clock",
        "created": unix(test_clock.created),
        "deletes_after": unix(test_clock.deletes_after),
        "frozen_time": unix(test_clock.frozen_time),
        "livemode": test_clock.livemode,
        "name": test_clock.name,
        "status": test_clock.status,
        "status_details": test_clock.status_details,
    }


def load_test_clocks(ids: list[str], livemode: bool) -> dict[str, dict[str, Any]]:
    return {c.public_id: render_test_clock(c) for c in TestClock.objects.filter(public_id__in=ids, livemode=livemode)}
