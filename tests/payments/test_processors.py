"""The test processor reproduces Stripe's test cards; the registry picks processors by name."""

from __future__ import annotations

import datetime as dt
import string

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings
from hypothesis import given
from hypothesis import strategies as st

from billfold.core.clock import frozen_at
from billfold.payments.apps import check_processor_setting
from billfold.payments.cards import card_fingerprint, luhn_valid
from billfold.payments.processors.base import CardInput, ChargeResult, Decline, RefundResult, SetupResult, TokenizedCard
from billfold.payments.processors.registry import processor_default, processor_get, processor_names
from billfold.payments.processors.test_cards import (
    AUTHENTICATION_REQUIRED,
    CARDS_BY_NUMBER,
    LEDGER_SIZE,
    LIVE_MODE_TEST_CARD,
    LIVE_MODE_UNAVAILABLE,
    NOT_A_TEST_CARD,
    TEST_CARDS,
    UNKNOWN_CARD,
    IdempotencyKeyReused,
    TestCardProcessor,
    magic_card,
)

MOMENT = dt.datetime(2030, 6, 15, 12, 0, tzinfo=dt.UTC)
processor = TestCardProcessor()

GENERIC = Decline("card_declined", "Your card was declined.", "generic_decline")
INSUFFICIENT = Decline("card_declined", "Your card has insufficient funds.", "insufficient_funds")
EXPIRED = Decline("expired_card", "Your card has expired.", "expired_card")
INCORRECT_CVC = Decline("incorrect_cvc", "Your card's security code is incorrect.", "incorrect_cvc")


def tokenize(number: str, *, cvc: str | None = "123", livemode: bool = False) -> TokenizedCard | Decline:
    with frozen_at(MOMENT):
        return processor.card_tokenize(CardInput(number, 8, 2031, cvc), livemode=livemode)


def reference(number: str) -> str:
    tokenized = tokenize(number, cvc=None)
    assert isinstance(tokenized, TokenizedCard)
    return tokenized.reference


def charge(ref: str, *, key: str | None = None, off_session: bool = False) -> ChargeResult:
    # The processor remembers keys: each card reference gets its own unless a test names one.
    return processor.charge(
        reference=ref,
        amount=2000,
        currency="usd",
        idempotency_key=key or f"idem-{ref}",
        off_session=off_session,
        livemode=False,
    )


@pytest.mark.parametrize(
    ("number", "brand", "funding"),
    [
        ("4242424242424242", "visa", "credit"),
        ("4000056655665556", "visa", "debit"),
        ("5555555555554444", "mastercard", "credit"),
        ("5200828282828210", "mastercard", "debit"),
        ("5105105105105100", "mastercard", "prepaid"),
        ("378282246310005", "amex", "credit"),
        ("6011111111111117", "discover", "credit"),
        ("3056930009020004", "diners", "credit"),
        ("3566002020360505", "jcb", "credit"),
        ("6200000000000005", "unionpay", "credit"),
    ],
)
def test_tokenize_describes_the_card_without_its_number(number: str, brand: str, funding: str) -> None:
    tokenized = tokenize(number, cvc="1234" if brand == "amex" else "123")
    assert isinstance(tokenized, TokenizedCard)
    key, _, suffix = tokenized.reference.partition(":")
    assert (key, len(suffix)) == (CARDS_BY_NUMBER[number].key, 16)
    assert number not in tokenized.reference
    assert tokenized == TokenizedCard(
        reference=tokenized.reference,
        brand=brand,
        last4=number[-4:],
        exp_month=8,
        exp_year=2031,
        fingerprint=card_fingerprint(number),
        funding=funding,
        country="US",
        cvc_check="unchecked",
    )


def test_every_test_card_is_a_valid_card_number() -> None:
    assert all(luhn_valid(card.number) for card in TEST_CARDS)
    assert len({card.number for card in TEST_CARDS}) == len(TEST_CARDS)


def test_tokenize_without_cvc_leaves_the_check_unset() -> None:
    tokenized = tokenize("4242424242424242", cvc=None)
    assert isinstance(tokenized, TokenizedCard)
    assert tokenized.cvc_check is None


def test_tokenize_accepts_spaces_and_two_digit_years() -> None:
    with frozen_at(MOMENT):
        tokenized = processor.card_tokenize(CardInput("4242 4242 4242 4242", 8, 31, "123"), livemode=False)
    assert isinstance(tokenized, TokenizedCard)
    assert (tokenized.last4, tokenized.exp_year, tokenized.fingerprint) == (
        "4242",
        2031,
        card_fingerprint("4242424242424242"),
    )


@pytest.mark.parametrize(
    ("number", "cvc", "code"),
    [
        ("378282246310005", "123", "invalid_cvc"),
        ("4242424242424242", "1234", "invalid_cvc"),
        ("4242424242424241", "123", "incorrect_number"),
    ],
)
def test_tokenize_refusals(number: str, cvc: str, code: str) -> None:
    refused = tokenize(number, cvc=cvc)
    assert isinstance(refused, Decline)
    assert refused.code == code


def test_declining_cards_can_still_be_tokenized() -> None:
    # Stripe creates payment methods for declining cards; the decline comes when the card is used.
    for number in ("4000000000000002", "4000000000009995", "4000000000000069", "4000000000000127"):
        assert isinstance(tokenize(number), TokenizedCard)


def test_a_number_that_is_not_a_test_card_is_refused() -> None:
    assert tokenize("4111111111111111") == NOT_A_TEST_CARD
    assert NOT_A_TEST_CARD.decline_code == "test_mode_live_card"


@given(payload=st.text(alphabet=string.digits, min_size=15, max_size=15))
def test_no_refusal_repeats_the_number(payload: str) -> None:
    number = next(payload + d for d in string.digits if luhn_valid(payload + d))
    result = tokenize(number)
    if isinstance(result, Decline):
        assert number not in result.message
    else:
        assert number in CARDS_BY_NUMBER


def test_live_mode_refuses_every_card() -> None:
    assert tokenize("4242424242424242", livemode=True) == LIVE_MODE_TEST_CARD
    assert LIVE_MODE_TEST_CARD.decline_code == "live_mode_test_card"
    assert tokenize("4111111111111111", livemode=True) == LIVE_MODE_UNAVAILABLE
    ref = reference("4242424242424242")
    assert processor.card_verify(ref, livemode=True) == LIVE_MODE_UNAVAILABLE
    assert processor.card_setup(ref, livemode=True) == SetupResult("declined", LIVE_MODE_UNAVAILABLE)
    assert processor.card_from_token("tok_visa", livemode=True) is None
    assert processor.card_from_token("pm_card_visa", livemode=True) is None


@pytest.mark.parametrize(
    ("token", "key"),
    [
        ("pm_card_visa", "visa"),
        ("tok_visa", "visa"),
        ("pm_card_visa_debit", "visa_debit"),
        ("tok_mastercard", "mastercard"),
        ("pm_card_amex", "amex"),
        ("pm_card_chargeDeclined", "chargeDeclined"),
        ("pm_card_visa_chargeDeclined", "chargeDeclined"),
        ("tok_chargeDeclined", "chargeDeclined"),
        ("pm_card_chargeDeclinedInsufficientFunds", "chargeDeclinedInsufficientFunds"),
        ("pm_card_visa_chargeDeclinedInsufficientFunds", "chargeDeclinedInsufficientFunds"),
        ("pm_card_chargeDeclinedExpiredCard", "chargeDeclinedExpiredCard"),
        ("pm_card_chargeDeclinedIncorrectCvc", "chargeDeclinedIncorrectCvc"),
        ("pm_card_chargeCustomerFail", "chargeCustomerFail"),
        ("pm_card_authenticationRequired", "authenticationRequired"),
    ],
)
def test_magic_ids(token: str, key: str) -> None:
    card = magic_card(token)
    assert card is not None
    assert card.key == key
    with frozen_at(MOMENT):
        tokenized = processor.card_from_token(token, livemode=False)
    assert tokenized is not None
    assert tokenized.reference.startswith(f"{key}:")
    assert (tokenized.last4, tokenized.exp_month, tokenized.exp_year) == (card.number[-4:], 6, 2031)
    assert tokenized.fingerprint == card_fingerprint(card.number)


@pytest.mark.parametrize("token", ["pm_card_nothing", "tok_", "card_visa", "pm_visa", "tok_visa_chargeNothing"])
def test_unknown_magic_ids(token: str) -> None:
    assert magic_card(token) is None
    assert processor.card_from_token(token, livemode=False) is None


# number → (verify, setup, on-session charge, off-session charge)
BEHAVIOUR: dict[str, tuple[Decline | None, SetupResult, tuple[str, Decline | None], tuple[str, Decline | None]]] = {
    "4242424242424242": (None, SetupResult("succeeded"), ("succeeded", None), ("succeeded", None)),
    "5555555555554444": (None, SetupResult("succeeded"), ("succeeded", None), ("succeeded", None)),
    "378282246310005": (None, SetupResult("succeeded"), ("succeeded", None), ("succeeded", None)),
    "4000000000000002": (GENERIC, SetupResult("declined", GENERIC), ("declined", GENERIC), ("declined", GENERIC)),
    "4000000000009995": (
        INSUFFICIENT,
        SetupResult("declined", INSUFFICIENT),
        ("declined", INSUFFICIENT),
        ("declined", INSUFFICIENT),
    ),
    "4000000000000069": (EXPIRED, SetupResult("declined", EXPIRED), ("declined", EXPIRED), ("declined", EXPIRED)),
    "4000000000000127": (
        INCORRECT_CVC,
        SetupResult("declined", INCORRECT_CVC),
        ("declined", INCORRECT_CVC),
        ("declined", INCORRECT_CVC),
    ),
    "4000000000000341": (None, SetupResult("succeeded"), ("declined", GENERIC), ("declined", GENERIC)),
    "4000002760003184": (
        None,
        SetupResult("requires_action"),
        ("requires_action", None),
        ("declined", AUTHENTICATION_REQUIRED),
    ),
}


@pytest.mark.parametrize("number", sorted(BEHAVIOUR))
def test_card_behaviour(number: str) -> None:
    verify, setup, on_session, off_session = BEHAVIOUR[number]
    ref = reference(number)
    assert processor.card_verify(ref, livemode=False) == verify
    assert processor.card_setup(ref, livemode=False) == setup
    first = charge(ref)
    assert (first.status, first.decline) == on_session
    second = charge(ref, key=f"off-session-{ref}", off_session=True)
    assert (second.status, second.decline) == off_session


def test_charge_attempts_are_named_by_their_idempotency_key() -> None:
    ref = reference("4242424242424242")
    first, again, other = charge(ref, key="a"), charge(ref, key="a"), charge(ref, key="b")
    assert first == again
    assert first.reference.startswith("ch_test_")
    assert len(first.reference) == len("ch_test_") + 24
    assert other.reference != first.reference


def test_a_repeated_key_is_answered_without_charging_again() -> None:
    fresh = TestCardProcessor()
    ref = reference("4242424242424242")
    declined_ref = reference("4000000000000002")
    results = [
        fresh.charge(reference=r, amount=500, currency="eur", idempotency_key=k, off_session=False, livemode=False)
        for r, k in ((ref, "k1"), (ref, "k1"), (declined_ref, "k2"), (declined_ref, "k2"), (ref, "k3"))
    ]
    assert results[0] == results[1]
    assert results[2] == results[3]
    assert (results[2].status, results[2].decline) == ("declined", GENERIC)
    assert [(e.kind, e.idempotency_key, e.reference, e.amount, e.currency) for e in fresh.ledger()] == [
        ("charge", "k1", ref, 500, "eur"),
        ("charge", "k2", declined_ref, 500, "eur"),
        ("charge", "k3", ref, 500, "eur"),
    ]
    refunded = fresh.refund(
        charge_reference=results[0].reference, amount=200, currency="eur", idempotency_key="r1", livemode=False
    )
    assert refunded == fresh.refund(
        charge_reference=results[0].reference, amount=200, currency="eur", idempotency_key="r1", livemode=False
    )
    assert [e.kind for e in fresh.ledger()] == ["charge", "charge", "charge", "refund"]


def test_a_key_reused_for_another_charge_is_a_bug_not_a_retry() -> None:
    fresh = TestCardProcessor()
    ref = reference("4242424242424242")
    fresh.charge(reference=ref, amount=500, currency="eur", idempotency_key="k", off_session=False, livemode=False)
    with pytest.raises(IdempotencyKeyReused, match=r"The idempotency key 'k' was first used for a different charge\."):
        fresh.charge(reference=ref, amount=600, currency="eur", idempotency_key="k", off_session=False, livemode=False)


def test_the_ledger_forgets_the_oldest_keys() -> None:
    fresh = TestCardProcessor()
    ref = reference("4242424242424242")
    for index in range(LEDGER_SIZE + 2):
        fresh.charge(
            reference=ref, amount=50, currency="usd", idempotency_key=f"k{index}", off_session=False, livemode=False
        )
    keys = [e.idempotency_key for e in fresh.ledger()]
    assert (len(keys), keys[0], keys[-1]) == (LEDGER_SIZE, "k2", f"k{LEDGER_SIZE + 1}")


def test_refunds() -> None:
    paid = charge(reference("4242424242424242"))
    refund = processor.refund(
        charge_reference=paid.reference, amount=500, currency="usd", idempotency_key="r1", livemode=False
    )
    assert refund.status == "succeeded"
    assert refund.reference.startswith("re_test_")
    assert refund == processor.refund(
        charge_reference=paid.reference, amount=500, currency="usd", idempotency_key="r1", livemode=False
    )
    unknown = processor.refund(
        charge_reference="ch_other", amount=500, currency="usd", idempotency_key="r2", livemode=False
    )
    assert (unknown.status, unknown.failure_reason) == ("failed", "unknown")
    assert isinstance(unknown, RefundResult)


def test_unknown_reference_is_declined_not_crashed() -> None:
    assert processor.card_verify("nothing:abc", livemode=False) == UNKNOWN_CARD
    assert charge("nothing:abc").decline == UNKNOWN_CARD


def test_card_update_accepts_new_expiry() -> None:
    ref = reference("4242424242424242")
    assert processor.card_update(ref, exp_month=1, exp_year=2035, livemode=False) is None
    assert processor.card_update("nothing:abc", exp_month=1, exp_year=2035, livemode=False) == UNKNOWN_CARD


def test_registry() -> None:
    assert processor_names() == ["test"]
    assert processor_get("test").name == "test"
    assert processor_default().name == "test"
    with pytest.raises(
        ImproperlyConfigured, match="No payment processor named 'stripe'; the known processors are: test"
    ):
        processor_get("stripe")
    with override_settings(BILLFOLD_PROCESSOR="stripe"), pytest.raises(ImproperlyConfigured):
        processor_default()


def test_system_check_reports_an_unknown_processor() -> None:
    assert check_processor_setting() == []
    with override_settings(BILLFOLD_PROCESSOR="strpe"):
        [error] = check_processor_setting()
    assert error.id == "payments.E001"
    assert error.msg == "BILLFOLD_PROCESSOR is 'strpe', which is not a payment processor."
    assert error.hint == "Set it to one of: test."
