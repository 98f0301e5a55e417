"""API-level errors (malformed requests, auth) and the Stripe error envelope."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpResponse

from billfold.core.errors import DomainError


class ParamError(DomainError):
    """The request's parameters are malformed: unknown, missing, or of the wrong type.

    Unlike other refusals these happen before any work starts, so an idempotent request that
    fails this way stores no result and may be retried with corrected parameters.
    """

    def __init__(self, message: str, *, param: str | None, code: str | None = None) -> None:
        super().__init__(message, code=code, param=param)


class AuthenticationFailed(DomainError):
    http_status = 401


class IdempotencyError(DomainError):
    error_type = "idempotency_error"


class IdempotencyConflict(DomainError):
    http_status = 409
    error_type = "idempotency_error"


def error_body(error: DomainError) -> dict[str, Any]:
    body: dict[str, Any] = {"message": error.message, "type": error.error_type}
    if error.code:
        body["code"] = error.code
    if error.param:
        body["param"] = error.param
    body.update(error.extra)
    return {"error": body}


def json_response(body: Any, *, status: int = 200) -> HttpResponse:
    return HttpResponse(json.dumps(body, indent=2), status=status, content_type="application/json")
