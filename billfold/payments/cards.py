"""Card numbers handled without being kept: format checks and fingerprints.

The number and CVC pass through these functions and are dropped; only the fingerprint, the
last four digits and the expiry leave them. Error messages never repeat what was typed.
"""

from __future__ import annotations

import datetime as dt
import string

from django.utils.crypto import salted_hmac

from billfold.payments.processors.base import CardInput, Decline

_BASE62 = string.digits + string.ascii_letters
FINGERPRINT_LENGTH = 16
# Cards expire at most this many years ahead; a later year is a typing mistake.
MAX_YEARS_AHEAD = 50


def luhn_valid(number: str) -> bool:
    """The check digit every card number carries (ISO/IEC 7812)."""
    total = 0
    for position, char in enumerate(reversed(number)):
        digit = int(char)
        if position % 2 == 1:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def card_fingerprint(number: str) -> str:
    """The same number always gives the same fingerprint, so a card can be recognised across
    customers; without the server secret the number cannot be brute-forced back from it."""
    digest = salted_hmac("billfold.payments.card_fingerprint", number, algorithm="sha256").digest()
    value = int.from_bytes(digest[:12], "big")
    chars = []
    for _ in range(FINGERPRINT_LENGTH):
        value, index = divmod(value, 62)
        chars.append(_BASE62[index])
    return "".join(chars)


def full_year(year: int) -> int:
    """``30`` means 2030, as card forms print it."""
    return 2000 + year if year < 100 else year


def expiry_problem(exp_month: int, exp_year: int, *, today: dt.date) -> Decline | None:
    """Why this expiry cannot be a usable card's (a month that does not exist, or has passed), or None."""
    if not 1 <= exp_month <= 12:
        return Decline("invalid_expiry_month", "Your card's expiration month is invalid.", param="exp_month")
    year = full_year(exp_year)
    if year < today.year or year > today.year + MAX_YEARS_AHEAD:
        return Decline("invalid_expiry_year", "Your card's expiration year is invalid.", param="exp_year")
    if year == today.year and exp_month < today.month:
        return Decline("invalid_expiry_month", "Your card's expiration month is invalid.", param="exp_month")
    return None


def card_problem(card: CardInput, *, today: dt.date, cvc_lengths: tuple[int, ...] = (3, 4)) -> Decline | None:
    """Why these details cannot be a usable card, or None. ``param`` names the card field."""
    number = card.number.replace(" ", "")
    if not number.isascii() or not number.isdigit() or not 12 <= len(number) <= 19:
        return Decline("invalid_number", "Your card number is not a valid card number.", param="number")
    if not luhn_valid(number):
        return Decline("incorrect_number", "Your card number is incorrect.", param="number")
    expiry = expiry_problem(card.exp_month, card.exp_year, today=today)
    if expiry is not None:
        return expiry
    if card.cvc is not None and not (card.cvc.isascii() and card.cvc.isdigit() and len(card.cvc) in cvc_lengths):
        return Decline("invalid_cvc", "Your card's security code is invalid.", param="cvc")
    return None
