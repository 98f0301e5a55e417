"""Signing in through the login link with a one-time passcode."""

from __future__ import annotations

import datetime as dt

import pytest

from billfold.core.clock import frozen_at
from billfold.customers.models import Customer
from billfold.customers.services import customer_create
from billfold.emails.models import Email
from billfold.portal import login
from billfold.portal.configurations import portal_configuration_create, portal_configuration_update
from billfold.portal.models import LoginCode, PortalAccess, PortalConfiguration, RateCounter
from billfold.portal.sessions import NewAccess
from billfold.portal.throttle import RateLimited
from tests.billing.subscription_factories import recurring, subscribe

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2031, 5, 1, 9, 0, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)
ADDRESS = "203.0.113.7"


@pytest.fixture
def configuration() -> PortalConfiguration:
    with frozen_at(T0):
        return portal_configuration_create(
            livemode=False, values={"features": {"invoice_history": {"enabled": True}}, "login_page": {"enabled": True}}
        )


@pytest.fixture
def link(configuration: PortalConfiguration) -> str:
    assert configuration.login_link is not None
    return configuration.login_link.token


def person(email: str = "jenny@example.com", at: dt.datetime = T0, **values: object) -> Customer:
    with frozen_at(at):
        return customer_create(livemode=False, values={"email": email, **values})


def ask(
    link: str, email: str = "jenny@example.com", at: dt.datetime = T0, address: str = ADDRESS
) -> login.CodeRequested:
    with frozen_at(at):
        return login.login_code_request(link_token=link, email=email, client_address=address)


def sent_codes() -> list[str]:
    return [str(e.context["code"]) for e in Email.objects.filter(kind="passcode").order_by("pk")]


def verify(
    link: str, code: str, email: str = "jenny@example.com", at: dt.datetime = T0, address: str = ADDRESS
) -> NewAccess:
    with frozen_at(at):
        return login.login_code_verify(link_token=link, email=email, code=code, client_address=address)


def refusal(link: str, code: str, email: str = "jenny@example.com", at: dt.datetime = T0) -> str:
    with pytest.raises(login.LoginCodeRefused) as raised:
        verify(link, code, email, at)
    assert raised.value.message == "That code is not valid. Check the latest email we sent you, or ask for a new code."
    return raised.value.reason


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_code_is_sent_hashed_and_signs_in_once(link: str) -> None:
    customer = person()
    answer = ask(link, email="  Jenny@Example.com ")
    assert answer == login.CodeRequested(email="jenny@example.com", expires=T0 + 10 * MINUTE)
    (email,) = Email.objects.filter(kind="passcode")
    code = str(email.context["code"])
    assert (email.to_email, email.customer_id, len(code), code.isdigit()) == (
        "jenny@example.com",
        customer.public_id,
        6,
        True,
    )
    stored = LoginCode.objects.get()
    assert code not in stored.code_hash and len(stored.code_hash) == 64
    opened = verify(link, f"{code[:3]} {code[3:]}", at=T0 + 9 * MINUTE)
    assert (opened.access.customer_id, opened.access.via, opened.access.can_change_email) == (
        customer.pk,
        PortalAccess.LOGIN_LINK,
        False,
    )
    assert opened.access.expires == T0 + 69 * MINUTE
    assert refusal(link, code, at=T0 + 9 * MINUTE) == "used"
    assert PortalAccess.objects.count() == 1


def test_expired_code(link: str) -> None:
    person()
    ask(link)
    (code,) = sent_codes()
    assert refusal(link, code, at=T0 + 10 * MINUTE) == "expired"
    assert PortalAccess.objects.count() == 0


def test_wrong_codes_lock_the_code_after_five_tries(link: str) -> None:
    person()
    ask(link)
    (code,) = sent_codes()
    for attempt in range(1, 6):
        assert refusal(link, wrong(code)) == "wrong"
        assert LoginCode.objects.get().attempts == attempt
    # The right code no longer works, and the tries stop counting.
    assert refusal(link, code) == "locked"
    assert LoginCode.objects.get().attempts == 5
    # A new code works.
    ask(link, at=T0 + MINUTE)
    assert verify(link, sent_codes()[-1], at=T0 + MINUTE).access is not None


def test_only_the_latest_code_is_valid(link: str) -> None:
    person()
    ask(link)
    ask(link, at=T0 + MINUTE)
    first, second = sent_codes()
    assert LoginCode.objects.filter(superseded__isnull=False).count() == 1
    if first != second:
        assert refusal(link, first, at=T0 + MINUTE) == "wrong"
    assert verify(link, second, at=T0 + MINUTE).access is not None


def test_unknown_email_gets_the_same_answer_and_nothing_is_sent(link: str) -> None:
    person()
    known = ask(link, email="jenny@example.com")
    unknown = ask(link, email="nobody@example.com")
    assert (known.expires, unknown.expires) == (T0 + 10 * MINUTE, T0 + 10 * MINUTE)
    assert [e.to_email for e in Email.objects.all()] == ["jenny@example.com"]
    assert LoginCode.objects.filter(email="nobody@example.com").count() == 0
    assert refusal(link, "123456", email="nobody@example.com") == "no_code"
    # A deleted customer's email is unknown too.
    gone = person(email="gone@example.com")
    gone.deleted = True
    gone.save(update_fields=["deleted"])
    ask(link, email="gone@example.com")
    assert Email.objects.count() == 1


def test_customer_choice_among_several_with_the_same_email(link: str) -> None:
    oldest = person(
        at=T0 - dt.timedelta(days=30),
        payment_method="pm_card_visa",
        invoice_settings={"default_payment_method": "pm_card_visa"},
    )
    subscribed_middle = person(
        at=T0 - dt.timedelta(days=20),
        payment_method="pm_card_visa",
        invoice_settings={"default_payment_method": "pm_card_visa"},
    )
    person(email="JENNY@example.com", at=T0 - dt.timedelta(days=10))
    newest = person(at=T0 - dt.timedelta(days=1))
    assert login.customer_for_login(livemode=False, email="jenny@example.com") == newest
    price = recurring(1000)
    subscribe(oldest, price, when=T0 - dt.timedelta(days=30))
    subscribe(subscribed_middle, price, when=T0 - dt.timedelta(days=20))
    assert login.customer_for_login(livemode=False, email="jenny@example.com") == subscribed_middle
    ask(link)
    assert Email.objects.get(kind="passcode").customer_id == subscribed_middle.public_id
    assert verify(link, sent_codes()[0]).access.customer_id == subscribed_middle.pk
    # Live-mode customers never sign in through a test-mode link.
    assert login.customer_for_login(livemode=True, email="jenny@example.com") is None


def test_requests_are_rate_limited_per_email_and_per_address(link: str) -> None:
    person()
    for minute in range(5):
        ask(link, at=T0 + minute * MINUTE)
    with pytest.raises(RateLimited) as raised:
        ask(link, at=T0 + 5 * MINUTE)
    assert (raised.value.http_status, raised.value.code, raised.value.retry_after) == (429, "rate_limit", 10 * MINUTE)
    assert len(sent_codes()) == 5
    # Another email from the same address still works; the email's limit reopens with the next window.
    ask(link, email="other@example.com", at=T0 + 5 * MINUTE)
    ask(link, at=T0 + 15 * MINUTE)
    assert len(sent_codes()) == 6
    # Per address: 20 requests in a window, whatever the emails.
    for index in range(20):
        ask(link, email=f"a{index}@example.com", at=T0 + 30 * MINUTE, address="198.51.100.1")
    with pytest.raises(RateLimited):
        ask(link, email="fresh@example.com", at=T0 + 30 * MINUTE, address="198.51.100.1")
    ask(link, email="fresh@example.com", at=T0 + 30 * MINUTE, address="198.51.100.2")
    # Unknown and known emails are limited alike, so the limit tells nothing either.
    for _ in range(5):
        ask(link, email="nobody@example.com", at=T0 + 45 * MINUTE)
    with pytest.raises(RateLimited):
        ask(link, email="nobody@example.com", at=T0 + 45 * MINUTE)
    # Counters hold hashes, never the email or the address, and old windows are cleared.
    assert not RateCounter.objects.filter(key__contains="@").exists()
    assert not RateCounter.objects.filter(window_start__lt=T0 + 15 * MINUTE).exists()


def test_attempts_are_rate_limited_per_address(link: str) -> None:
    person()
    for index in range(40):
        with pytest.raises(login.LoginCodeRefused):
            verify(link, "000000", email=f"x{index}@example.com")
    with pytest.raises(RateLimited):
        verify(link, "000000", email="y@example.com")
    ask(link)
    with pytest.raises(RateLimited):
        verify(link, sent_codes()[0])
    verify(link, sent_codes()[0], address="198.51.100.9")


def test_attempts_are_rate_limited_per_email(link: str) -> None:
    person()
    for minute in range(4):
        ask(link, at=T0 + minute * MINUTE)
        code = sent_codes()[-1]
        for _ in range(5):
            assert refusal(link, wrong(code), at=T0 + minute * MINUTE) == "wrong"
    # 20 tries for this email in the window: even the right code of a new request is refused.
    ask(link, at=T0 + 4 * MINUTE)
    with pytest.raises(RateLimited):
        verify(link, sent_codes()[-1], at=T0 + 4 * MINUTE, address="198.51.100.3")


def test_dead_links_refuse_everything(configuration: PortalConfiguration, link: str) -> None:
    person()
    with frozen_at(T0):
        portal_configuration_update(configuration=configuration, values={"login_page": {"enabled": False}})
    with pytest.raises(login.LoginLinkInvalid):
        ask(link)
    with pytest.raises(login.LoginLinkInvalid):
        ask("test_unknown")
    assert Email.objects.count() == 0
