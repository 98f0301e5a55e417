"""Why a card was refused, in the customer's language.

The processor's message (Stripe's English wording) is what the API returns; pages and emails show
customers the same reason translated, found by its decline code. Reasons meant for developers (a
live card in test mode, a processor that is not set up...) stay as the processor gave them.
"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

# Stripe's messages for its decline codes, the English text being the processor's own.
_DECLINED = _("Your card was declined.")
_REASONS: dict[str, Promise] = {
    "generic_decline": _DECLINED,
    "lost_card": _DECLINED,
    "stolen_card": _DECLINED,
    "do_not_honor": _DECLINED,
    "insufficient_funds": _("Your card has insufficient funds."),
    "expired_card": _("Your card has expired."),
    "incorrect_cvc": _("Your card's security code is incorrect."),
    "processing_error": _("An error occurred while processing your card. Try again in a little bit."),
    "authentication_required": _("Your card was declined. This transaction requires authentication."),
}


def decline_reason(decline_code: str | None, fallback: str | None) -> str | Promise:
    """The customer's reason for ``decline_code`` (``charge.outcome.reason``, ``last_payment_error.
    decline_code``), lazily translated into the language active when it is rendered; ``fallback``
    (the processor's message) for a refusal without a decline code a customer would understand."""
    if decline_code and decline_code in _REASONS:
        return _REASONS[decline_code]
    return fallback or _DECLINED
