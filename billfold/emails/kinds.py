"""Which emails Billfold sends, and to whom in test mode: read from settings on every use, so a
changed setting applies to the next email (and tests can override it).

- ``BILLFOLD_EMAILS``: the kinds that are sent (default: all of ``KINDS``). A kind left out is
  not queued at all.
- ``BILLFOLD_TEST_EMAIL_RECIPIENTS``: who may receive test-mode emails. Stripe sends test-mode
  emails only to its account's team; a self-hosted server has no team list, so the operator
  names the addresses (``dev@example.com``) or domains (``@example.com``) instead. ``*`` (the
  default, so the quick start's outbox shows everything) lets every test-mode email through;
  an empty value sends none. Live-mode emails always go to the customer.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

RECEIPT = "receipt"
PAYMENT_FAILED = "payment_failed"
UPCOMING_RENEWAL = "upcoming_renewal"
TRIAL_ENDING = "trial_ending"
PASSCODE = "passcode"
KINDS = (RECEIPT, PAYMENT_FAILED, UPCOMING_RENEWAL, TRIAL_ENDING, PASSCODE)


def kind_enabled(kind: str) -> bool:
    return kind in settings.BILLFOLD_EMAILS


def recipient_allowed(*, livemode: bool, address: str) -> bool:
    """Whether a mail of this mode may go to ``address``."""
    if livemode:
        return True
    address = address.strip().lower()
    for pattern in settings.BILLFOLD_TEST_EMAIL_RECIPIENTS:
        pattern = pattern.strip().lower()
        if pattern == "*" or pattern == address or (pattern.startswith("@") and address.endswith(pattern)):
            return True
    return False


def settings_check() -> None:
    """Refuse, at startup, settings that would only fail when the first email is due."""
    unknown = [kind for kind in settings.BILLFOLD_EMAILS if kind not in KINDS]
    if unknown:
        raise ImproperlyConfigured(
            f"BILLFOLD_EMAILS names unknown kinds of email: {', '.join(unknown)}. "
            f"Choose among {', '.join(KINDS)} (comma-separated), or leave it unset to send them all."
        )
    for pattern in settings.BILLFOLD_TEST_EMAIL_RECIPIENTS:
        if pattern != "*" and "@" not in pattern:
            raise ImproperlyConfigured(
                f"BILLFOLD_TEST_EMAIL_RECIPIENTS: {pattern!r} is neither an address (dev@example.com), a domain "
                "(@example.com) nor * (everyone)."
            )
    if settings.EMAIL_USE_TLS and settings.EMAIL_USE_SSL:
        raise ImproperlyConfigured(
            "EMAIL_USE_TLS and EMAIL_USE_SSL are both on; set only one: EMAIL_USE_TLS for STARTTLS (usually port "
            "587), EMAIL_USE_SSL for implicit TLS (usually port 465)."
        )
