"""Signing in through a login link with a one-time passcode sent by email (PRODUCT.md §4.2).

- Asking for a code never reveals whether the email belongs to a customer: the answer is the
  same, and for an unknown email nothing is sent.
- When several customers share the email, the most recently created one with a running
  subscription (active, trialing or past due) is signed in, else the most recent one.
- Codes are 6 digits, stored as an HMAC keyed with SECRET_KEY, good for ``CODE_TTL``, for one
  use and ``MAX_CODE_ATTEMPTS`` tries; asking again makes the older codes useless.
- Asking and trying are rate-limited per email and per client address, in the database, so the
  limits hold across every web process.

Call these outside a transaction (the portal's views do): a refused attempt still counts, and
an outer transaction rolled back on the refusal would undo the count.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef

from billfold.billing.models import Subscription
from billfold.core import clock
from billfold.core.crypto import constant_time_equals
from billfold.core.errors import DomainError
from billfold.customers.models import Customer
from billfold.emails.services import email_passcode_send
from billfold.portal.configurations import login_link_get
from billfold.portal.models import LoginCode, LoginLink, PortalAccess
from billfold.portal.sessions import NewAccess, portal_access_open
from billfold.portal.throttle import Limit, rate_limit_hit

CODE_TTL = dt.timedelta(minutes=10)
CODE_DIGITS = 6
MAX_CODE_ATTEMPTS = 5
# Statuses that count as "has an active subscription" when choosing among customers.
RUNNING_STATUSES = ("active", "trialing", "past_due")
_WINDOW = dt.timedelta(minutes=15)
REQUESTS_PER_EMAIL = Limit("login_code_request:email", 5, _WINDOW)
REQUESTS_PER_ADDRESS = Limit("login_code_request:address", 20, _WINDOW)
ATTEMPTS_PER_EMAIL = Limit("login_code_verify:email", 20, _WINDOW)
ATTEMPTS_PER_ADDRESS = Limit("login_code_verify:address", 40, _WINDOW)
_TOO_MANY_REQUESTS = "Too many codes were asked for. Wait a few minutes, then ask for a new code."
_TOO_MANY_ATTEMPTS = "Too many attempts. Wait a few minutes, then try again."


class LoginLinkInvalid(DomainError):
    http_status = 404

    def __init__(self) -> None:
        super().__init__(
            "This login link is no longer active. Ask the business for its current link.", code="login_link_invalid"
        )


class LoginCodeRefused(DomainError):
    """A code that does not sign in. One message whatever the reason, so that no answer tells
    whether the email belongs to a customer; ``reason`` says which for logs and tests:
    ``no_code`` (none asked for this email, or an unknown email), ``wrong``, ``expired``,
    ``used``, ``superseded`` or ``locked`` (too many wrong tries)."""

    def __init__(self, reason: str) -> None:
        super().__init__(
            "That code is not valid. Check the latest email we sent you, or ask for a new code.",
            code="login_code_invalid",
        )
        self.reason = reason


@dataclass(frozen=True)
class CodeRequested:
    """What asking for a code answers, identical for known and unknown emails."""

    email: str
    expires: dt.datetime


def email_normalize(email: str) -> str:
    return email.strip().lower()


def _code_hash(salt: str, code: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), f"{salt}:{code}".encode(), hashlib.sha256).hexdigest()


def _link(token: str) -> LoginLink:
    link = login_link_get(token=token)
    if link is None:
        raise LoginLinkInvalid()
    return link


def customer_for_login(*, livemode: bool, email: str) -> Customer | None:
    """The customer an email signs in as: the newest with a running subscription, else the newest."""
    running = Subscription.objects.filter(customer=OuterRef("pk"), status__in=RUNNING_STATUSES)
    return (
        Customer.objects.filter(livemode=livemode, deleted=False, email__iexact=email_normalize(email))
        .annotate(running=Exists(running))
        .order_by("-running", "-created", "-pk")
        .first()
    )


def _count(limit: Limit, key: str, message: str) -> None:
    # Its own transaction: the hit stays counted even when what follows is refused.
    with transaction.atomic():
        rate_limit_hit(limit=limit, key=key, message=message)


def login_code_request(*, link_token: str, email: str, client_address: str, locale: str | None = None) -> CodeRequested:
    """Send a new code to ``email`` if it belongs to a customer; answer the same either way.

    ``locale`` is the login page's language (``language_for(request)``): the email is written in it."""
    link = _link(link_token)
    email = email_normalize(email)
    _count(REQUESTS_PER_ADDRESS, client_address, _TOO_MANY_REQUESTS)
    _count(REQUESTS_PER_EMAIL, f"{link.livemode}:{email}", _TOO_MANY_REQUESTS)
    now = clock.now()
    expires = now + CODE_TTL
    with transaction.atomic():
        customer = customer_for_login(livemode=link.livemode, email=email)
        if customer is not None:
            LoginCode.objects.filter(login_link=link, email=email, used__isnull=True, superseded__isnull=True).update(
                superseded=now
            )
            code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
            salt = secrets.token_hex(16)
            LoginCode.objects.create(
                login_link=link,
                customer=customer,
                email=email,
                salt=salt,
                code_hash=_code_hash(salt, code),
                created=now,
                expires=expires,
            )
            # Queued in the same transaction: the code and its email exist together or not at all.
            email_passcode_send(customer=customer, code=code, expires_at=expires, locale=locale)
    return CodeRequested(email=email, expires=expires)


def login_code_verify(*, link_token: str, email: str, code: str, client_address: str) -> NewAccess:
    """Sign in with the latest code sent to ``email`` through this link; refused codes count as tries."""
    link = _link(link_token)
    email = email_normalize(email)
    _count(ATTEMPTS_PER_ADDRESS, client_address, _TOO_MANY_ATTEMPTS)
    _count(ATTEMPTS_PER_EMAIL, f"{link.livemode}:{email}", _TOO_MANY_ATTEMPTS)
    reason: str
    with transaction.atomic():
        latest = (
            LoginCode.objects.select_for_update(of=("self",))
            .select_related("customer")
            .filter(login_link=link, email=email)
            .order_by("-created", "-pk")
            .first()
        )
        reason = _attempt(latest, code)
        if reason == "ok":
            assert latest is not None
            return portal_access_open(
                customer=latest.customer,
                configuration=link.configuration,
                via=PortalAccess.LOGIN_LINK,
                login_link=link,
            )
    # Raised after the block so that the counted try is committed with it.
    raise LoginCodeRefused(reason)


def _attempt(latest: LoginCode | None, code: str) -> str:
    """Check ``code`` against the latest code, counting the try; "ok" marks it used."""
    now = clock.now()
    if latest is None or latest.customer.deleted:
        return "no_code"
    if latest.used is not None:
        return "used"
    if latest.superseded is not None:
        return "superseded"
    if now >= latest.expires:
        return "expired"
    if latest.attempts >= MAX_CODE_ATTEMPTS:
        return "locked"
    latest.attempts += 1
    given = "".join(code.split())
    matches = constant_time_equals(_code_hash(latest.salt, given), latest.code_hash)
    if matches:
        latest.used = now
    latest.save(update_fields=["attempts", "used"])
    return "ok" if matches else "wrong"
