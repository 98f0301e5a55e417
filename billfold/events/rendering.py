"""How the events package turns a model into its Stripe JSON without importing the API.

The API package registers one renderer per model class when it loads (see ``api.apps``), so an
event's ``data.object`` is byte-for-byte what the API returns for that object.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
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


# Set on an instance while it is rendered with rows its caller holds (``rows_known``).
_KNOWN = "_billfold_known_rows"


@contextmanager
def rows_known(obj: models.Model, name: str, rows: Sequence[models.Model] | None) -> Iterator[None]:
    """While rendering ``obj`` in this block, its related rows ``name`` (an invoice's ``lines``, a
    subscription's ``items``) are ``rows``, which the caller has just read or written and holds as
    they are in the database, in pk order: the renderer uses them instead of querying them again.
    ``None`` changes nothing. Outside the block, renderers query as usual."""
    if rows is None:
        yield
        return
    known = obj.__dict__.setdefault(_KNOWN, {})
    known[name] = rows
    try:
        yield
    finally:
        del known[name]


def known_rows(obj: models.Model, name: str) -> Sequence[Any] | None:
    """The rows ``rows_known`` gave for ``obj``'s ``name``, or None: query them."""
    known: dict[str, Sequence[Any]] = obj.__dict__.get(_KNOWN, {})
    return known.get(name)


Encoder = Callable[[Any], bytes]
_encoder: list[Encoder] = []


def register_encoder(encoder: Encoder) -> None:
    """The API's JSON writer, so a webhook body is byte-for-byte what ``GET /v1/events/{id}`` sends."""
    _encoder[:] = [encoder]


def encode_object(data: Any) -> bytes:
    if not _encoder:
        raise LookupError("No JSON encoder registered (the API app registers one when it loads)")
    return _encoder[0](data)
