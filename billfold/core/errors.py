"""Errors a person can act on, carried from the domain to every interface.

The API renders them as Stripe's error envelope; pages show ``message``.
"""

from __future__ import annotations


class DomainError(Exception):
    """A refusal: the request was understood but cannot be carried out as asked."""

    http_status = 400
    error_type = "invalid_request_error"
    # True for a refusal that reports an outcome already recorded (a declined card leaves the
    # failed attempt on the intent): interfaces keep the transaction's writes and answer the error.
    keeps_changes = False

    def __init__(self, message: str, *, code: str | None = None, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.param = param
        # More envelope fields for some errors (``decline_code``, ``payment_intent``...).
        self.extra: dict[str, object] = {}


class NotFound(DomainError):
    http_status = 404

    def __init__(self, kind: str, object_id: str, *, param: str | None = "id") -> None:
        super().__init__(f"No such {kind}: '{object_id}'", code="resource_missing", param=param)


class InvalidParam(DomainError):
    """A parameter's value breaks a rule of the domain (length, format, allowed range)."""

    def __init__(self, message: str, *, param: str, code: str = "parameter_invalid") -> None:
        super().__init__(message, code=code, param=param)
