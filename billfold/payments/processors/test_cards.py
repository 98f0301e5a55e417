"""The built-in test processor: Stripe's test cards and magic ids, with no network.

Every behaviour a developer can trigger on Stripe in test mode with a test card, this processor
reproduces: cards that succeed, cards the issuer declines (with Stripe's codes and messages),
a card that saves but never pays, and a card that always asks for authentication. Any other
number is refused, so a real card number is never accepted, and live mode refuses everything.

The stored reference is ``<card key>:<random>``; the key is all the processor needs later.
Like a real processor, it remembers the idempotency keys of recent charges and refunds (in this
process's memory) and answers a repeated key with the first answer instead of acting again.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Literal

from billfold.core import clock
from billfold.core.ids import random_string
from billfold.payments.cards import card_fingerprint, card_problem, full_year
from billfold.payments.processors.base import (
    CardInput,
    ChargeResult,
    Decline,
    RefundResult,
    SetupResult,
    TokenizedCard,
)

GENERIC_DECLINE = Decline("card_declined", "Your card was declined.", "generic_decline")
INSUFFICIENT_FUNDS = Decline("card_declined", "Your card has insufficient funds.", "insufficient_funds")
LOST_CARD = Decline("card_declined", "Your card was declined.", "lost_card")
STOLEN_CARD = Decline("card_declined", "Your card was declined.", "stolen_card")
EXPIRED_CARD = Decline("expired_card", "Your card has expired.", "expired_card")
INCORRECT_CVC = Decline("incorrect_cvc", "Your card's security code is incorrect.", "incorrect_cvc")
PROCESSING_ERROR = Decline(
    "processing_error", "An error occurred while processing your card. Try again in a little bit.", "processing_error"
)
# What a charge made without the cardholder present gets from a card that insists on authentication.
AUTHENTICATION_REQUIRED = Decline(
    "authentication_required",
    "Your card was declined. This transaction requires authentication.",
    "authentication_required",
)
NOT_A_TEST_CARD = Decline(
    "card_declined",
    "Your card was declined. Your request was in test mode, but used a card that is not a test card. "
    "Use a test card such as 4242 4242 4242 4242.",
    "test_mode_live_card",
)
LIVE_MODE_TEST_CARD = Decline(
    "card_declined",
    "Your card was declined. Your request was in live mode, but used a known test card.",
    "live_mode_test_card",
)
LIVE_MODE_UNAVAILABLE = Decline(
    "processing_error",
    "Live-mode card payments are not available: this server uses the test processor. "
    "Set BILLFOLD_PROCESSOR to a real payment processor to accept live cards.",
)
UNKNOWN_CARD = Decline("processing_error", "The test processor holds no card with this reference.")


@dataclass(frozen=True)
class TestCard:
    """One of Stripe's test cards. ``decline`` refuses saving, setting up and charging the card;
    ``charge_decline`` refuses only charges; ``authentication`` asks for it on every payment."""

    __test__ = False  # not a pytest test class, despite the name

    key: str
    number: str
    brand: str
    funding: str = "credit"
    country: str = "US"
    decline: Decline | None = None
    charge_decline: Decline | None = None
    authentication: bool = False


TEST_CARDS: tuple[TestCard, ...] = (
    TestCard("visa", "4242424242424242", "visa"),
    TestCard("visa_debit", "4000056655665556", "visa", funding="debit"),
    TestCard("mastercard", "5555555555554444", "mastercard"),
    TestCard("mastercard_debit", "5200828282828210", "mastercard", funding="debit"),
    TestCard("mastercard_prepaid", "5105105105105100", "mastercard", funding="prepaid"),
    TestCard("amex", "378282246310005", "amex"),
    TestCard("discover", "6011111111111117", "discover"),
    TestCard("diners", "3056930009020004", "diners"),
    TestCard("jcb", "3566002020360505", "jcb"),
    TestCard("unionpay", "6200000000000005", "unionpay"),
    TestCard("chargeDeclined", "4000000000000002", "visa", decline=GENERIC_DECLINE),
    TestCard("chargeDeclinedInsufficientFunds", "4000000000009995", "visa", decline=INSUFFICIENT_FUNDS),
    TestCard("chargeDeclinedLostCard", "4000000000009987", "visa", decline=LOST_CARD),
    TestCard("chargeDeclinedStolenCard", "4000000000009979", "visa", decline=STOLEN_CARD),
    TestCard("chargeDeclinedExpiredCard", "4000000000000069", "visa", decline=EXPIRED_CARD),
    TestCard("chargeDeclinedIncorrectCvc", "4000000000000127", "visa", decline=INCORRECT_CVC),
    TestCard("chargeDeclinedProcessingError", "4000000000000119", "visa", decline=PROCESSING_ERROR),
    TestCard("chargeCustomerFail", "4000000000000341", "visa", charge_decline=GENERIC_DECLINE),
    TestCard("authenticationRequired", "4000002760003184", "visa", authentication=True),
)
CARDS_BY_KEY = {card.key: card for card in TEST_CARDS}
CARDS_BY_NUMBER = {card.number: card for card in TEST_CARDS}


def magic_card(token: str) -> TestCard | None:
    """``pm_card_visa``, ``tok_visa``, ``pm_card_chargeDeclined`` or ``pm_card_visa_chargeDeclined``..."""
    for prefix in ("pm_card_", "tok_"):
        if token.startswith(prefix):
            key = token.removeprefix(prefix)
            # Stripe names the declining Visa cards both with and without the brand.
            if key.startswith("visa_charge"):
                key = key.removeprefix("visa_")
            return CARDS_BY_KEY.get(key)
    return None


@dataclass(frozen=True)
class LedgerEntry:
    """A charge or refund the processor carried out, under its idempotency key."""

    kind: Literal["charge", "refund"]
    idempotency_key: str
    # The card's reference for a charge, the charge's reference for a refund.
    reference: str
    amount: int
    currency: str
    result: ChargeResult | RefundResult


class IdempotencyKeyReused(ValueError):
    """The same idempotency key came with a different request: a bug in the caller, never a retry."""


# Retries come within minutes; remembering more keys would only grow the memory of a long-running server.
LEDGER_SIZE = 10_000


def _attempt_reference(prefix: str, idempotency_key: str) -> str:
    # Derived from the key, so a retried attempt is recognisably the same attempt.
    return f"{prefix}_test_{hashlib.sha256(idempotency_key.encode()).hexdigest()[:24]}"


class TestCardProcessor:
    """The ``test`` processor."""

    __test__ = False

    name = "test"

    def __init__(self) -> None:
        self._ledger: OrderedDict[tuple[str, str], LedgerEntry] = OrderedDict()
        # Server threads charge concurrently.
        self._lock = threading.Lock()

    def ledger(self) -> list[LedgerEntry]:
        """What was carried out, oldest first: a retried key appears once."""
        with self._lock:
            return list(self._ledger.values())

    def _once(self, entry: LedgerEntry) -> LedgerEntry:
        """``entry`` recorded under its key, or the entry already there for that key."""
        with self._lock:
            ledger_key = (entry.kind, entry.idempotency_key)
            done = self._ledger.get(ledger_key)
            if done is None:
                self._ledger[ledger_key] = entry
                while len(self._ledger) > LEDGER_SIZE:
                    self._ledger.popitem(last=False)
                return entry
        if (done.reference, done.amount, done.currency) != (entry.reference, entry.amount, entry.currency):
            raise IdempotencyKeyReused(
                f"The idempotency key {entry.idempotency_key!r} was first used for a different {entry.kind}."
            )
        return done

    def card_tokenize(self, card: CardInput, *, livemode: bool) -> TokenizedCard | Decline:
        number = card.number.replace(" ", "")
        known = CARDS_BY_NUMBER.get(number)
        cvc_lengths = (3, 4) if known is None else (4,) if known.brand == "amex" else (3,)
        problem = card_problem(card, today=clock.now().date(), cvc_lengths=cvc_lengths)
        if problem is not None:
            return problem
        if known is None:
            return LIVE_MODE_UNAVAILABLE if livemode else NOT_A_TEST_CARD
        if livemode:
            return LIVE_MODE_TEST_CARD
        return self._tokenized(
            known, exp_month=card.exp_month, exp_year=full_year(card.exp_year), with_cvc=card.cvc is not None
        )

    def card_from_token(self, token: str, *, livemode: bool) -> TokenizedCard | None:
        known = magic_card(token)
        if known is None or livemode:
            return None
        # Stripe's test tokens carry a card that expires a year from now.
        today = clock.now().date()
        return self._tokenized(known, exp_month=today.month, exp_year=today.year + 1, with_cvc=True)

    def card_verify(self, reference: str, *, livemode: bool) -> Decline | None:
        card = self._card(reference, livemode=livemode)
        if isinstance(card, Decline):
            return card
        return card.decline

    def card_update(self, reference: str, *, exp_month: int, exp_year: int, livemode: bool) -> Decline | None:
        # Test cards behave the same whatever their expiry, so there is nothing to record.
        card = self._card(reference, livemode=livemode)
        return card if isinstance(card, Decline) else None

    def card_setup(self, reference: str, *, livemode: bool) -> SetupResult:
        card = self._card(reference, livemode=livemode)
        if isinstance(card, Decline):
            return SetupResult("declined", card)
        if card.decline is not None:
            return SetupResult("declined", card.decline)
        if card.authentication:
            return SetupResult("requires_action")
        return SetupResult("succeeded")

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
        result = self._charge_result(
            reference, attempt=_attempt_reference("ch", idempotency_key), off_session=off_session, livemode=livemode
        )
        entry = self._once(LedgerEntry("charge", idempotency_key, reference, amount, currency, result))
        assert isinstance(entry.result, ChargeResult)
        return entry.result

    def _charge_result(self, reference: str, *, attempt: str, off_session: bool, livemode: bool) -> ChargeResult:
        card = self._card(reference, livemode=livemode)
        if isinstance(card, Decline):
            return ChargeResult("declined", attempt, card)
        decline = card.decline or card.charge_decline
        if decline is not None:
            return ChargeResult("declined", attempt, decline)
        if card.authentication:
            # Nobody is there to authenticate an off-session payment, so the issuer declines it.
            if off_session:
                return ChargeResult("declined", attempt, AUTHENTICATION_REQUIRED)
            return ChargeResult("requires_action", attempt)
        return ChargeResult("succeeded", attempt)

    def refund(
        self, *, charge_reference: str, amount: int, currency: str, idempotency_key: str, livemode: bool
    ) -> RefundResult:
        refund = _attempt_reference("re", idempotency_key)
        if livemode or not charge_reference.startswith("ch_test_"):
            result = RefundResult("failed", refund, "unknown")
        else:
            result = RefundResult("succeeded", refund)
        entry = self._once(LedgerEntry("refund", idempotency_key, charge_reference, amount, currency, result))
        assert isinstance(entry.result, RefundResult)
        return entry.result

    @staticmethod
    def _card(reference: str, *, livemode: bool) -> TestCard | Decline:
        if livemode:
            return LIVE_MODE_UNAVAILABLE
        return CARDS_BY_KEY.get(reference.split(":", 1)[0], UNKNOWN_CARD)

    @staticmethod
    def _tokenized(card: TestCard, *, exp_month: int, exp_year: int, with_cvc: bool) -> TokenizedCard:
        return TokenizedCard(
            reference=f"{card.key}:{random_string(16)}",
            brand=card.brand,
            last4=card.number[-4:],
            exp_month=exp_month,
            exp_year=exp_year,
            fingerprint=card_fingerprint(card.number),
            funding=card.funding,
            country=card.country,
            cvc_check="unchecked" if with_cvc else None,
        )
