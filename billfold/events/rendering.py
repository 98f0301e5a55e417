"""How the events package turns a model into its Stripe JSON without importing the API.

The API package registers one renderer per model class when it loads (see ``api.apps``), so an
event's ``data.object`` is byte-for-byte what the API returns for that object.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import models

Renderer = Callable[[Any], dict[str, Any]]
_renderers: dict[type[models.Model], Renderer] = {}


def register_renderer(model: type[models.Model], renderer: Renderer) -> None:
    _renderers[model] = renderer


def render_object(obj: models.Model) -> dict[str, Any]:
    try:
        renderer = _renderers[type(obj)]
    except KeyError:
        raise LookupError(f"No renderer registered for {type(obj).__name__}") from None
    return renderer(obj)
