"""The Stripe JSON of a webhook endpoint. ``secret`` appears only in the answer to its creation."""

from __future__ import annotations

from typing import Any

from billfold.api.representations.common import unix
from billfold.events.models import WebhookEndpoint


def render_webhook_endpoint(endpoint: WebhookEndpoint, *, secret: str | None = None) -> dict[str, Any]:
    rendered: dict[str, Any] = {
        "id": endpoint.public_id,
        "object": "webhook_endpoint",
        "api_version": endpoint.api_version,
        # Connect applications do not exist in Billfold.
        "application": None,
        "created": unix(endpoint.created),
        "description": endpoint.description,
        "enabled_events": list(endpoint.enabled_events),
        "livemode": endpoint.livemode,
        "metadata": endpoint.metadata,
        "status": endpoint.status,
        "url": endpoint.url,
    }
    if secret is not None:
        rendered["secret"] = secret
    return rendered
