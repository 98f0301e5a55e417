"""What Billfold asks of a payment processor, and what a processor answers.

A processor turns card details into a stored reference (Billfold never keeps the number or
the CVC), checks a card when it is saved, sets it up for later payments, charges and refunds.
Every answer is a value: a refusal is a ``Decline`` carrying Stripe's error code, never an
exception, so services decide what a refusal does to their own state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol


@dataclass(frozen=True)
class CardInput:
    """Card details as a customer typed them. Lives only for the request that carries it."""

    # Hidden from repr so a traceback or a log line never prints them.
    number: str = field(repr=False)
    exp_month: int
    exp_year: int
    cvc: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Decline:
    """A refusal in Stripe's terms: ``code`` (``card_declined``, ``expired_card``...) and,
    for issuer declines, ``decline_code`` (``insufficient_funds``...). ``message`` can be shown
    to the person paying; ``param`` names the card field at fault, if one is."""

    code: str
    message: str
    decline_code: str | None = None
    param: str | None = None


CvcCheck = Literal["pass", "fail", "unchecked", "unavailable"]


@dataclass(frozen=True)
class TokenizedCard:
    """A card the processor now holds, described without its number."""

    reference: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    fingerprint: str
    funding: str
    country: str | None
    # None when no CVC was given.
    cvc_check: CvcCheck | None


@dataclass(frozen=True)
class SetupResult:
    """Saving a card for later payments: done, waiting for the cardholder to authenticate, or declined."""

    status: Literal["succeeded", "requires_action", "declined"]
    decline: Decline | None = None


@dataclass(frozen=True)
class ChargeResult:
    """``reference`` is the processor's id of the attempt, for refunds and reconciliation."""

    status: Literal["succeeded", "requires_action", "declined"]
    reference: str
    decline: Decline | None = None


@dataclass(frozen=True)
class RefundResult:
    status: Literal["succeeded", "failed"]
    reference: str
    failure_reason: str | None = None


class Processor(Protocol):
    """A payment processor. ``livemode`` is passed on every call: a processor keeps test and
    live credentials apart the way Billfold keeps test and live data apart."""

    name: str

    def card_tokenize(self, card: CardInput, *, livemode: bool) -> TokenizedCard | Decline:
        """Store the card and describe it, or refuse it (bad number, past expiry, bad CVC...)."""
        ...

    def card_from_token(self, token: str, *, livemode: bool) -> TokenizedCard | None:
        """The card behind a token the processor recognises (``tok_visa``; in test mode also magic
        payment method ids such as ``pm_card_visa``), or None if it knows no such token."""
        ...

    def card_verify(self, reference: str, *, livemode: bool) -> Decline | None:
        """The check made when a card is saved to a customer: None if the card can be saved."""
        ...

    def card_update(self, reference: str, *, exp_month: int, exp_year: int, livemode: bool) -> Decline | None:
        """Record a new expiry for the card (the cardholder received a renewed card): None when accepted."""
        ...

    def card_setup(self, reference: str, *, livemode: bool) -> SetupResult:
        """Prepare the card for payments without the cardholder present (a SetupIntent's confirmation)."""
        ...

    def charge(
        self,
        *,
        reference: str,
        amount: int,
        currency: str,
        idempotency_key: str,
        off_session: bool,
        livemode: bool,
    ) -> ChargeResult:
        """Take ``amount`` minor units of ``currency``. The same ``idempotency_key`` gives the same attempt."""
        ...

    def refund(
        self, *, charge_reference: str, amount: int, currency: str, idempotency_key: str, livemode: bool
    ) -> RefundResult:
        """Give back ``amount`` minor units of a successful charge."""
        ...
