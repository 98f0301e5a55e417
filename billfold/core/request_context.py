"""What the current API request is, for the event rows written while it runs."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestInfo:
    request_id: str
    idempotency_key: str | None


current_request: ContextVar[RequestInfo | None] = ContextVar("billfold_request", default=None)
