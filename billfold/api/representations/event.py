"""The Stripe JSON of an event."""

from __future__ import annotations

from typing import Any

from billfold.api.representations.common import unix
from billfold.events.models import Event


def render_event(event: Event) -> dict[str, Any]:
    return {
        "id": event.public_id,
        "object": "event",
        "api_version": event.api_version,
        "created": unix(event.created),
        "data": event.data,
        "livemode": event.livemode,
        "pending_webhooks": event.pending_webhooks,
        "request": {"id": event.request_id, "idempotency_key": event.idempotency_key},
        "type": event.type,
    }
