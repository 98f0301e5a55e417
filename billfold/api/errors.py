"""API-level errors (malformed requests, auth) and the Stripe error envelope."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.http import HttpResponse

from billfold.api.jsonbody import json_body
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


class RecordedCardError(DomainError):
    """A card refusal (or a card needing its holder) whose attempt stays recorded: Stripe's 402
    ``card_error``, answered while the transaction keeps the failed attempt and its events."""

    http_status = 402
    error_type = "card_error"
    keeps_changes = True

    def __init__(self, message: str, *, code: str | None, extra: Mapping[str, Any]) -> None:
        super().__init__(message, code=code)
        self.extra.update(extra)

    @classmethod
    def from_intent(cls, rendered: dict[str, Any], *, error_field: str) -> RecordedCardError:
        """From a rendered intent's ``last_payment_error`` / ``last_setup_error``, carrying the intent."""
        error = dict(rendered[error_field])
        message = error.pop("message")
        code = error.pop("code", None)
        error.pop("type", None)
        return cls(message, code=code, extra={**error, rendered["object"]: rendered})


def error_body(error: DomainError) -> dict[str, Any]:
    body: dict[str, Any] = {"message": error.message, "type": error.error_type}
    if error.code:
        body["code"] = error.code
    if error.param:
        body["param"] = error.param
    body.update(error.extra)
    return {"error": body}


def json_response(body: Any, *, status: int = 200) -> HttpResponse:
    return HttpResponse(json_body(body), status=status, content_type="application/json")
