"""The outbox: claiming, sending over SMTP, retrying with backoff, never twice, login codes, the worker's thread.

A real SMTP server (aiosmtpd, ``conftest.py``) receives every mail; time is moved with the project's clock.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billfold.core import clock
from billfold.core.clock import frozen_at
from billfold.customers.models import Customer
from billfold.customers.services import customer_create
from billfold.emails import branding, kinds, sending
from billfold.emails.models import Email
from billfold.emails.services import email_enqueue_for_event, email_passcode_send
from billfold.events.models import Event
from tests.emails.conftest import BUSINESS, SENDER, Mailbox

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2030, 5, 4, 10, 0, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)


def customer(email: str | None = "jenny@example.com", *, livemode: bool = False, **values: Any) -> Customer:
    return customer_create(livemode=livemode, values={"email": email, "name": "Jenny Rosen", **values})


def passcode(who: Customer | None = None, *, code: str = "482913", valid: dt.timedelta = 10 * MINUTE) -> Email:
    with frozen_at(T0):
        row = email_passcode_send(customer=who or customer(), code=code, expires_at=T0 + valid)
    assert row is not None
    return row


def passcode_now() -> Email:
    """A login code asked for now, on real time (for the tests of real threads)."""
    now = clock.now()
    row = email_passcode_send(customer=customer(), code="482913", expires_at=now + 10 * MINUTE)
    assert row is not None
    return row


def send_at(moment: dt.datetime, **kwargs: Any) -> sending.SendReport:
    with frozen_at(moment):
        return sending.emails_send_due(**kwargs)


PASSCODE_TEXT = f"""{BUSINESS}

[Test mode: this email is about test data. No real money has moved.]

Your login code

482913

Enter this code to sign in to your {BUSINESS} billing account. It expires in 10 minutes and works once.

If you did not ask for it, ignore this email: nobody can sign in without the code.

--
This email was sent by {BUSINESS} about your account.
"""


def test_a_login_code_is_sent_at_once_then_forgotten(mailbox: Mailbox) -> None:
    row = passcode()
    report = send_at(T0)
    assert (report.claimed, report.sent, report.retrying, report.failed) == (1, 1, 0, 0)

    received = mailbox.only()
    message = received.message
    assert (received.mail_from, received.rcpt_tos) == (SENDER, ["jenny@example.com"])
    assert (message["From"], message["To"], message["Subject"]) == (
        f"{BUSINESS} <{SENDER}>",
        "jenny@example.com",
        f"Your {BUSINESS} login code",
    )
    assert message["Message-ID"] == f"<{row.public_id}@acme.example>"
    assert message["Auto-Submitted"] == "auto-generated"
    assert received.text == PASSCODE_TEXT
    html = received.html
    assert ">482913</p>" in html
    assert "It expires in 10 minutes and works once." in html
    assert "Test mode: this email is about test data." in html
    # Nothing for a mail client to fetch: no remote images, stylesheets or scripts.
    assert "src=" not in html and "<link" not in html and "<script" not in html and "<style" not in html

    row.refresh_from_db()
    assert (row.status, row.attempts, row.sent_at, row.claimed_until, row.last_error) == ("sent", 1, T0, None, "")
    # The code is not kept once it has left: neither in the context nor in the stored bodies.
    assert "code" not in row.context
    assert (row.subject, row.text_body, row.html_body) == (f"Your {BUSINESS} login code", "", "")
    # Sent once: another pass finds nothing.
    assert send_at(T0 + MINUTE).claimed == 0
    assert len(mailbox.received) == 1


def test_the_minutes_left_are_counted_when_the_code_is_sent(mailbox: Mailbox) -> None:
    passcode()
    send_at(T0 + 3 * MINUTE + dt.timedelta(seconds=30))
    assert "It expires in 7 minutes and works once." in mailbox.only().text


def test_a_code_that_expired_before_it_could_be_sent_is_dropped(mailbox: Mailbox) -> None:
    row = passcode(valid=MINUTE)
    report = send_at(T0 + 2 * MINUTE)
    assert (report.sent, report.failed) == (0, 1)
    assert mailbox.received == []
    row.refresh_from_db()
    assert (row.status, row.attempts, row.last_error) == (
        "failed",
        1,
        "The login code expired 60 s before it could be sent.",
    )
    assert "code" not in row.context


def test_a_refusing_or_unreachable_server_delays_mail_and_loses_none(mailbox: Mailbox) -> None:
    row = passcode(valid=60 * MINUTE)
    mailbox.refuse_data = "451 4.3.0 Mailbox temporarily unavailable"
    report = send_at(T0)
    assert (report.sent, report.retrying) == (0, 1)
    row.refresh_from_db()
    assert (row.status, row.attempts, row.next_attempt_at, row.claimed_until) == ("queued", 1, T0 + MINUTE, None)
    assert row.last_error == "SMTPDataError: (451, b'4.3.0 Mailbox temporarily unavailable')"

    # Not due again before its time.
    assert send_at(T0 + MINUTE - dt.timedelta(seconds=1)).claimed == 0

    mailbox.stop()
    report = send_at(T0 + MINUTE)
    assert (report.sent, report.retrying) == (0, 1)
    row.refresh_from_db()
    # The wait doubles.
    assert (row.status, row.attempts, row.next_attempt_at) == ("queued", 2, T0 + 3 * MINUTE)
    assert row.last_error.startswith("ConnectionRefusedError: ")

    mailbox.refuse_data = None
    mailbox.start()
    assert send_at(T0 + 3 * MINUTE).sent == 1
    assert send_at(T0 + 30 * MINUTE).claimed == 0
    received = mailbox.only()
    assert received.message["Subject"] == f"Your {BUSINESS} login code"
    row.refresh_from_db()
    assert (row.status, row.attempts, row.sent_at, row.last_error) == ("sent", 3, T0 + 3 * MINUTE, "")


def test_one_down_server_costs_the_batch_one_connection_attempt(mailbox: Mailbox) -> None:
    rows = [passcode(customer(f"c{n}@example.com"), valid=60 * MINUTE) for n in range(3)]
    mailbox.stop()
    report = send_at(T0)
    assert (report.claimed, report.retrying) == (3, 3)
    for row in rows:
        row.refresh_from_db()
        assert (row.status, row.attempts, row.next_attempt_at) == ("queued", 1, T0 + MINUTE)


def test_a_recipient_the_server_rejects_for_good_fails_at_once(mailbox: Mailbox) -> None:
    row = passcode()
    mailbox.refuse_rcpt = "550 5.1.1 No such user here"
    report = send_at(T0)
    assert (report.sent, report.retrying, report.failed) == (0, 0, 1)
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("failed", 1)
    assert row.last_error == ("SMTPRecipientsRefused: {'jenny@example.com': (550, b'5.1.1 No such user here')}")
    assert mailbox.received == []


def test_retries_back_off_exponentially_to_an_hour_and_stop_after_three_days() -> None:
    assert [sending.retry_delay(n) for n in range(1, 9)] == [MINUTE * m for m in (1, 2, 4, 8, 16, 32, 60, 60)]
    # 1 + 2 + ... + 32 = 63 minutes over the first six waits, then an hour each: 3 days are reached after 78 tries.
    assert sending.retry_delay(77) == 60 * MINUTE
    assert sending.retry_delay(78) is None


def test_the_last_try_that_fails_marks_the_email_failed(mailbox: Mailbox) -> None:
    row = passcode(valid=60 * MINUTE)
    Email.objects.filter(pk=row.pk).update(attempts=77)
    mailbox.refuse_data = "421 4.7.0 Try again later"
    report = send_at(T0)
    assert (report.retrying, report.failed) == (0, 1)
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("failed", 78)
    assert row.last_error == "SMTPDataError: (421, b'4.7.0 Try again later')"


def test_a_claimed_email_is_left_to_its_sender_until_the_lease_runs_out(db: None) -> None:
    row = passcode()
    assert sending._claim(now=T0, limit=10) == [row.pk]
    assert sending._claim(now=T0 + sending.LEASE - dt.timedelta(seconds=1), limit=10) == []
    # A sender that died keeps nothing for ever.
    assert sending._claim(now=T0 + sending.LEASE, limit=10) == [row.pk]


@pytest.mark.django_db(transaction=True)
def test_two_senders_at_once_send_every_email_exactly_once(mailbox: Mailbox) -> None:
    who = customer()
    rows = [passcode(who, code=f"{n:06d}", valid=60 * MINUTE) for n in range(30)]
    errors: list[BaseException] = []

    def sender() -> None:
        try:
            while sending.emails_send_due(limit=4).claimed:
                pass
        except BaseException as error:  # surfaced by the assertion below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=sender) for _ in range(2)]
    # The clock is frozen for the whole process, here rather than in each thread: the threads would
    # restore each other's "previous" moment and leave it frozen.
    with frozen_at(T0):
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert clock.now() != T0
    assert errors == []
    ids = sorted(r.message["Message-ID"] for r in mailbox.received)
    assert ids == sorted(f"<{row.public_id}@acme.example>" for row in rows)
    assert list(Email.objects.values_list("status", "attempts").distinct()) == [("sent", 1)]


def test_a_business_logo_travels_inside_the_email(mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
    logo = branding.Logo(content=png, subtype="png", height=32)
    monkeypatch.setattr(
        "billfold.emails.content.email_branding",
        lambda: branding.Branding(business_name=BUSINESS, brand_color="#0a7d32", on_brand_color="#ffffff", logo=logo),
    )
    passcode()
    send_at(T0)
    message = mailbox.only().message
    assert message.get_content_type() == "multipart/related"
    image = next(part for part in message.walk() if part.get_content_type() == "image/png")
    assert image["Content-ID"] == "<logo>"
    assert image.get_payload(decode=True) == png
    html = mailbox.only().html
    assert f'<img src="cid:logo" alt="{BUSINESS}" height="32"' in html
    assert "background-color:#0a7d32;" in html


def test_a_brand_color_that_is_not_a_color_falls_back_to_the_default(
    mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        "billfold.emails.content.email_branding",
        lambda: branding.Branding(business_name=BUSINESS, brand_color="red;background:url(x)", on_brand_color="#fff"),
    )
    passcode()
    send_at(T0)
    html = mailbox.only().html
    assert "url(x)" not in html
    assert f"background-color:{branding.DEFAULT_BRAND_COLOR};" in html
    assert f"color:{branding.DEFAULT_ON_BRAND_COLOR};" in html


def test_live_mode_emails_carry_no_test_mode_notice(mailbox: Mailbox) -> None:
    passcode(customer(livemode=True))
    send_at(T0)
    received = mailbox.only()
    assert "Test mode" not in received.text and "Test mode" not in received.html


def test_test_mode_emails_go_only_to_the_allowed_recipients(mailbox: Mailbox, settings: Any) -> None:
    settings.BILLFOLD_TEST_EMAIL_RECIPIENTS = ["@team.example", "ops@example.com"]
    with frozen_at(T0):
        assert email_passcode_send(customer=customer("jenny@example.com"), code="1", expires_at=T0 + MINUTE) is None
        assert email_passcode_send(customer=customer("Ops@Example.com"), code="1", expires_at=T0 + MINUTE)
        assert email_passcode_send(customer=customer("dev@team.example"), code="1", expires_at=T0 + MINUTE)
        # Live mode always reaches the customer.
        live = customer("jenny@example.com", livemode=True)
        assert email_passcode_send(customer=live, code="1", expires_at=T0 + MINUTE)
    settings.BILLFOLD_TEST_EMAIL_RECIPIENTS = []
    with frozen_at(T0):
        assert email_passcode_send(customer=customer("dev@team.example"), code="1", expires_at=T0 + MINUTE) is None
    assert sorted(Email.objects.values_list("to_email", flat=True)) == [
        "Ops@Example.com",
        "dev@team.example",
        "jenny@example.com",
    ]


def test_no_email_for_a_customer_without_an_address_or_a_kind_turned_off(mailbox: Mailbox, settings: Any) -> None:
    with frozen_at(T0):
        assert email_passcode_send(customer=customer(None), code="1", expires_at=T0 + MINUTE) is None
        settings.BILLFOLD_EMAILS = ["receipt"]
        assert email_passcode_send(customer=customer(), code="1", expires_at=T0 + MINUTE) is None
    assert Email.objects.count() == 0


def test_events_the_emails_do_not_handle_cost_no_query(db: None) -> None:
    event = Event(public_id="evt_1", type="customer.created", data={"object": {"id": "cus_1"}})
    with CaptureQueriesContext(connection) as queries:
        for _ in range(100):
            email_enqueue_for_event(event)
    assert len(queries) == 0


def test_unknown_kinds_and_conflicting_tls_settings_are_refused_at_startup(settings: Any) -> None:
    settings.BILLFOLD_EMAILS = ["receipt", "reciept"]
    with pytest.raises(ImproperlyConfigured, match="BILLFOLD_EMAILS names unknown kinds of email: reciept"):
        kinds.settings_check()
    settings.BILLFOLD_EMAILS = list(kinds.KINDS)
    settings.BILLFOLD_TEST_EMAIL_RECIPIENTS = ["example.com"]
    with pytest.raises(ImproperlyConfigured, match=r"'example\.com' is neither an address"):
        kinds.settings_check()
    settings.BILLFOLD_TEST_EMAIL_RECIPIENTS = ["*"]
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = True
    with pytest.raises(ImproperlyConfigured, match="EMAIL_USE_TLS and EMAIL_USE_SSL are both on"):
        kinds.settings_check()


def test_the_file_outbox_keeps_mail_on_disk(mailbox: Mailbox, settings: Any, tmp_path: Path) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path)
    passcode()
    assert send_at(T0).sent == 1
    [written] = list(tmp_path.iterdir())
    content = written.read_text()
    assert f"Subject: Your {BUSINESS} login code" in content
    assert "482913" in content
    assert mailbox.received == []


@pytest.mark.django_db(transaction=True)
def test_the_worker_sends_emails_from_its_own_thread(mailbox: Mailbox) -> None:
    passcode_now()
    out = io.StringIO()
    call_command("worker", "--once", stdout=out)
    assert mailbox.only().message["Subject"] == f"Your {BUSINESS} login code"
    assert "worker: 1 email sent" in out.getvalue()
    assert Email.objects.get().status == "sent"


@pytest.mark.django_db(transaction=True)
def test_the_sender_thread_sends_promptly_and_stops_when_asked(mailbox: Mailbox) -> None:
    stop = threading.Event()
    with sending.sender_running(should_stop=stop.is_set) as thread:
        passcode_now()
        deadline = time.monotonic() + 10
        # A real thread on real time: wait for the mail (it is due at once; the sender looks every second).
        while not mailbox.received and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(mailbox.received) == 1
        stop.set()
        thread.join(timeout=5)
        assert not thread.is_alive()


@pytest.mark.django_db(transaction=True)
def test_sigterm_stops_the_worker_with_its_sender_after_the_email_in_hand(mailbox: Mailbox) -> None:
    row = passcode_now()
    # The signal arrives while the email is being sent.
    mailbox.on_data = lambda: os.kill(os.getpid(), signal.SIGTERM)
    # Should the email never arrive, stop the worker anyway so the test fails instead of hanging.
    safety = threading.Timer(30, lambda: os.kill(os.getpid(), signal.SIGTERM))
    safety.start()
    out = io.StringIO()
    try:
        call_command("worker", "--sleep", "0.1", stdout=out)
    finally:
        safety.cancel()
    lines = [line.split(" worker: ", 1)[1] for line in out.getvalue().splitlines()]
    # The billing loop and the sender stop side by side: their last words may come in either order.
    assert sorted(lines[1:]) == ["1 email sent", "SIGTERM received: stopping after the current row", "stopped"]
    assert len(mailbox.received) == 1
    row.refresh_from_db()
    assert (row.status, row.claimed_until) == ("sent", None)
    assert not any(thread.name == "billfold-emails" for thread in threading.enumerate())


def test_the_sender_shows_the_business_name_unless_the_address_has_one(mailbox: Mailbox, settings: Any) -> None:
    settings.BILLFOLD_BUSINESS_NAME = 'Café "Zürich", Inc.'
    passcode()
    send_at(T0)
    sender = mailbox.only().message["From"].addresses[0]
    assert (sender.display_name, sender.addr_spec) == ('Café "Zürich", Inc.', SENDER)

    settings.DEFAULT_FROM_EMAIL = "Billing Team <team@acme.example>"
    passcode()
    send_at(T0)
    assert str(mailbox.received[1].message["From"]) == "Billing Team <team@acme.example>"
