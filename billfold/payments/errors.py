"""Refusals of the payments domain, with Stripe's codes."""

from __future__ import annotations

from billfold.core.errors import DomainError
from billfold.payments.processors.base import Decline


class CardError(DomainError):
    """A card refused by the processor, as Stripe reports it: HTTP 402, type ``card_error``."""

    http_status = 402
    error_type = "card_error"

    def __init__(self, decline: Decline, *, param: str | None = None) -> None:
        super().__init__(decline.message, code=decline.code, param=param)
        self.decline = decline
        if decline.decline_code is not None:
            self.extra["decline_code"] = decline.decline_code


class PaymentMethodStateError(DomainError):
    """The payment method cannot take part in this operation as it stands (attached elsewhere, detached...)."""

    def __init__(self, message: str, *, param: str | None = None) -> None:
        super().__init__(message, code="payment_method_unexpected_state", param=param)


class SetupIntentStateError(DomainError):
    """The setup intent's status does not allow this operation (confirming a succeeded one...)."""

    def __init__(self, message: str, *, param: str | None = None) -> None:
        super().__init__(message, code="setup_intent_unexpected_state", param=param)


class PaymentIntentStateError(DomainError):
    """The payment intent's status does not allow this operation (confirming a succeeded one...)."""

    def __init__(self, message: str, *, param: str | None = None) -> None:
        super().__init__(message, code="payment_intent_unexpected_state", param=param)


class RefundRefused(DomainError):
    """A refund that cannot be made as asked (nothing left to refund, a failed charge...)."""

    def __init__(self, message: str, *, code: str, param: str | None = None) -> None:
        super().__init__(message, code=code, param=param)
