"""Card number checks and fingerprints: what is kept of a card, and what is refused."""

from __future__ import annotations

import datetime as dt
import string

import pytest
from django.test import override_settings
from hypothesis import given
from hypothesis import strategies as st

from billfold.payments.cards import card_fingerprint, card_problem, expiry_problem, full_year, luhn_valid
from billfold.payments.processors.base import CardInput, Decline

TODAY = dt.date(2030, 6, 15)


def with_check_digit(payload: str) -> str:
    """``payload`` followed by the digit that makes it pass the Luhn check."""
    for digit in string.digits:
        if luhn_valid(payload + digit):
            return payload + digit
    raise AssertionError("some digit always completes a Luhn number")


@pytest.mark.parametrize(
    ("number", "valid"),
    [
        ("4242424242424242", True),
        ("378282246310005", True),
        ("6011111111111117", True),
        ("4242424242424241", False),
        ("4242424242424243", False),
        ("1234567812345678", False),
        ("79927398713", True),
    ],
)
def test_luhn(number: str, valid: bool) -> None:
    assert luhn_valid(number) is valid


@given(
    payload=st.text(alphabet=string.digits, min_size=11, max_size=18),
    position=st.integers(0, 18),
    shift=st.integers(1, 9),
)
def test_luhn_catches_every_single_digit_mistake(payload: str, position: int, shift: int) -> None:
    number = with_check_digit(payload)
    index = position % len(number)
    mistyped = number[:index] + str((int(number[index]) + shift) % 10) + number[index + 1 :]
    assert luhn_valid(number)
    assert not luhn_valid(mistyped)


def test_fingerprint_is_stable_short_and_free_of_the_number() -> None:
    fingerprint = card_fingerprint("4242424242424242")
    assert fingerprint == card_fingerprint("4242424242424242")
    assert len(fingerprint) == 16
    assert fingerprint.isalnum() and fingerprint.isascii()
    assert "4242" not in fingerprint
    assert card_fingerprint("5555555555554444") != fingerprint


def test_fingerprint_depends_on_the_server_secret() -> None:
    with override_settings(SECRET_KEY="one secret, long enough to be a real one 0123456789"):
        first = card_fingerprint("4242424242424242")
    with override_settings(SECRET_KEY="another secret, long enough to be a real one 98765"):
        second = card_fingerprint("4242424242424242")
    assert first != second


@given(payload=st.text(alphabet=string.digits, min_size=15, max_size=15))
def test_fingerprints_of_different_numbers_differ(payload: str) -> None:
    number = with_check_digit(payload)
    other = with_check_digit(payload[:-1] + str((int(payload[-1]) + 1) % 10))
    assert card_fingerprint(number) != card_fingerprint(other)


def card(number: str = "4242424242424242", month: int = 12, year: int = 2031, cvc: str | None = "123") -> CardInput:
    return CardInput(number=number, exp_month=month, exp_year=year, cvc=cvc)


@pytest.mark.parametrize(
    ("details", "code", "param"),
    [
        (card(number="4242-4242-4242-4242"), "invalid_number", "number"),
        (card(number="42424242"), "invalid_number", "number"),
        (card(number="4242424242424242424242"), "invalid_number", "number"),
        # Full-width digits pass str.isdigit() but are not card digits.
        (card(number="\uff14\uff12" * 8), "invalid_number", "number"),
        (card(number="4242424242424241"), "incorrect_number", "number"),
        (card(month=13), "invalid_expiry_month", "exp_month"),
        (card(month=0), "invalid_expiry_month", "exp_month"),
        (card(month=5, year=2030), "invalid_expiry_month", "exp_month"),
        (card(year=2029), "invalid_expiry_year", "exp_year"),
        (card(year=29), "invalid_expiry_year", "exp_year"),
        (card(year=2081), "invalid_expiry_year", "exp_year"),
        (card(cvc="12"), "invalid_cvc", "cvc"),
        (card(cvc="12345"), "invalid_cvc", "cvc"),
        (card(cvc="12a"), "invalid_cvc", "cvc"),
    ],
)
def test_card_problems(details: CardInput, code: str, param: str) -> None:
    problem = card_problem(details, today=TODAY)
    assert problem is not None
    assert (problem.code, problem.param, problem.decline_code) == (code, param, None)


@pytest.mark.parametrize(
    "details",
    [
        card(),
        card(number="4242 4242 4242 4242"),
        card(month=6, year=2030),
        card(year=31),
        card(year=2080),
        card(cvc=None),
        card(cvc="1234"),
    ],
)
def test_usable_cards(details: CardInput) -> None:
    assert card_problem(details, today=TODAY) is None


def test_cvc_length_can_be_required_per_brand() -> None:
    assert card_problem(card(cvc="123"), today=TODAY, cvc_lengths=(4,)) == Decline(
        "invalid_cvc", "Your card's security code is invalid.", param="cvc"
    )
    assert card_problem(card(cvc="1234"), today=TODAY, cvc_lengths=(4,)) is None


def test_expiry_messages_and_two_digit_years() -> None:
    assert expiry_problem(13, 2031, today=TODAY) == Decline(
        "invalid_expiry_month", "Your card's expiration month is invalid.", param="exp_month"
    )
    assert expiry_problem(1, 2020, today=TODAY) == Decline(
        "invalid_expiry_year", "Your card's expiration year is invalid.", param="exp_year"
    )
    assert (full_year(30), full_year(2030), full_year(99)) == (2030, 2030, 2099)


def test_card_input_never_shows_number_or_cvc() -> None:
    shown = repr(card(number="4000056655665556", cvc="987"))
    assert "4000056655665556" not in shown
    assert "987" not in shown
    assert shown == "CardInput(exp_month=12, exp_year=2031)"
