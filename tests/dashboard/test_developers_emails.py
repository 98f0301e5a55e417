"""Developers > Emails: the list and its filters, a mail's headers and bodies, the HTML body served alone
under its own strict policy, login codes never shown, the mode kept apart, staff only."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from billfold.core.clock import frozen_at
from billfold.customers.models import Customer
from billfold.customers.services import customer_create
from billfold.dashboard.security import CONTENT_SECURITY_POLICY, LIVEMODE_KEY
from billfold.emails import sending
from billfold.emails.models import Email
from billfold.emails.services import email_passcode_send
from tests.dashboard.helpers import monthly_price, signed_in_client, subscribe

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2030, 5, 4, 10, 0, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)
CODE = "482913"
HTML_POLICY = (
    "default-src 'none'; img-src data: https:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'self'; sandbox allow-popups allow-popups-to-escape-sandbox"
)


def buyer(email: str = "jenny@example.com", *, livemode: bool = False, **values: Any) -> Customer:
    with frozen_at(T0):
        return customer_create(livemode=livemode, values={"email": email, "name": "Jenny Rosen", **values})


def with_card(email: str = "jenny@example.com") -> Customer:
    return buyer(email, payment_method="pm_card_visa", invoice_settings={"default_payment_method": "pm_card_visa"})


def receipt(email: str = "jenny@example.com") -> Email:
    """The receipt of a paid first invoice, sent."""
    who = with_card(email)
    subscribe(
        who,
        monthly_price(1500, name="Team", at=T0),
        at=T0,
        collection_method="charge_automatically",
        days_until_due=None,
    )
    send_all()
    return Email.objects.get(kind="receipt", to_email=email)


def live_email() -> Email:
    return Email.objects.create(
        public_id="eml_live",
        kind="receipt",
        livemode=True,
        to_email="live@example.com",
        subject="Your receipt",
        text_body="Thanks",
        html_body="<p>Thanks</p>",
        status="sent",
        attempts=1,
        sent_at=T0,
    )


def passcode(email: str = "ada@example.com") -> Email:
    with frozen_at(T0):
        row = email_passcode_send(customer=buyer(email), code=CODE, expires_at=T0 + 10 * MINUTE)
    assert row is not None
    return row


def send_all() -> None:
    """A sender's next seconds: what is due now, then what waited out the settling delay."""
    with frozen_at(T0 + MINUTE):
        sending.emails_send_due()
    with frozen_at(T0 + MINUTE + sending.SETTLE):
        sending.emails_send_due()


def url(name: str, *args: str) -> str:
    return reverse(f"dashboard:{name}", args=args)


def text_of(html: bytes) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html.decode()).split())


def test_the_list_shows_recipient_subject_kind_status_and_date_of_this_modes_emails() -> None:
    code = passcode()
    sent = receipt()
    live_email()
    response = signed_in_client().get(url("emails"))
    assert response.status_code == 200
    page = text_of(response.content)
    assert sent.status == "sent" and sent.subject
    assert f"jenny@example.com {sent.subject} Receipt Sent May 4, 2030, 10:01" in page
    # The login code mail was sent by the same pass, at once.
    code.refresh_from_db()
    assert f"ada@example.com {code.subject} Login code Sent May 4, 2030, 10:01" in page
    assert "live@example.com" not in page
    assert 'aria-current="page">Emails</a>' in response.content.decode()


def test_the_list_filters_by_recipient_kind_and_status() -> None:
    receipt()
    passcode()
    Email.objects.create(
        public_id="eml_failed", kind="receipt", to_email="bounce@example.com", status="failed", attempts=7
    )
    client = signed_in_client()
    by_recipient = text_of(client.get(url("emails"), {"to": "JENNY@"}).content)
    assert "jenny@example.com" in by_recipient and "ada@example.com" not in by_recipient
    by_kind = text_of(client.get(url("emails"), {"kind": "passcode"}).content)
    assert "ada@example.com" in by_kind and "jenny@example.com" not in by_kind
    failed = client.get(url("emails"), {"status": "failed"})
    assert "bounce@example.com Written when sent Receipt Failed 7 attempts" in text_of(failed.content)
    assert "jenny@example.com" not in text_of(failed.content)
    # The filters are kept in the form, and an unknown kind filters nothing.
    assert '<option value="failed" selected>' in failed.content.decode()
    assert "jenny@example.com" in text_of(client.get(url("emails"), {"kind": "nonsense"}).content)
    assert "No emails match these filters." in text_of(client.get(url("emails"), {"to": "nobody"}).content)


def test_a_sent_email_shows_its_headers_and_text_and_frames_its_html_alone() -> None:
    sent = receipt()
    client = signed_in_client()
    response = client.get(url("email", sent.public_id))
    assert response.status_code == 200
    html = response.content.decode()
    page = text_of(response.content)
    assert f"To jenny@example.com Subject {sent.subject} Date Sat, 04 May 2030 10:01:05 +0000" in page
    assert f"<dt>Message-ID</dt><dd>&lt;{sent.public_id}@localhost&gt;</dd>" in html
    assert "Auto-Submitted auto-generated" in page
    assert sent.text_body.strip().splitlines()[0] in html
    assert (
        f'<iframe class="email-frame" src="{url("email-html", sent.public_id)}" '
        'sandbox="allow-popups allow-popups-to-escape-sandbox"' in html
    )
    # The page's policy is the dashboard's, plus frames from this site: only on this page.
    assert response["Content-Security-Policy"] == f"{CONTENT_SECURITY_POLICY}; frame-src 'self'"
    assert "frame-src" not in client.get(url("emails"))["Content-Security-Policy"]
    # The mail's own HTML is never written into the dashboard's page.
    assert sent.html_body[:200] not in html


def test_the_html_body_is_served_alone_under_its_own_strict_policy() -> None:
    sent = receipt()
    Email.objects.filter(pk=sent.pk).update(
        html_body="<html><head><title>x</title></head><body><script>alert(1)</script><p>Thanks</p></body></html>"
    )
    response = signed_in_client().get(url("email-html", sent.public_id))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert response["Content-Security-Policy"] == HTML_POLICY
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    assert response["Cache-Control"] == "private, no-store"
    assert response.content.decode() == (
        '<html><head><base target="_blank"><title>x</title></head><body><script>alert(1)</script><p>Thanks</p>'
        "</body></html>"
    )


def test_login_codes_are_never_shown() -> None:
    queued = passcode()
    client = signed_in_client()
    # Waiting to be sent, the row still holds the code: the dashboard draws the mail with it masked.
    for path in (url("email", queued.public_id), url("email-html", queued.public_id), url("emails")):
        body = client.get(path).content.decode()
        assert CODE not in body, path
    detail = client.get(url("email", queued.public_id)).content.decode()
    assert "••••••" in detail
    assert "Login codes are the customer&#x27;s secret" in detail
    assert "••••••" in client.get(url("email-html", queued.public_id)).content.decode()
    send_all()
    queued.refresh_from_db()
    assert (queued.status, queued.text_body, "code" in queued.context) == ("sent", "", False)
    detail = client.get(url("email", queued.public_id)).content.decode()
    assert CODE not in detail and "••••••" in detail
    assert "Your login code" in detail


def test_a_code_kept_in_an_old_stored_body_is_masked_too() -> None:
    row = passcode()
    Email.objects.filter(pk=row.pk).update(
        status="sent", context={"locale": "en"}, text_body=f"Your login code\n\n{CODE}\n", html_body=f"<p>{CODE}</p>"
    )
    client = signed_in_client()
    for path in (url("email", row.public_id), url("email-html", row.public_id)):
        assert CODE not in client.get(path).content.decode(), path


def test_an_email_not_sent_yet_is_shown_as_it_would_be_drawn_now() -> None:
    subscribe(
        with_card(), monthly_price(1500, at=T0), at=T0, collection_method="charge_automatically", days_until_due=None
    )
    row = Email.objects.get(kind="receipt")
    assert (row.status, row.subject, row.text_body) == ("queued", "", "")
    detail = signed_in_client().get(url("email", row.public_id))
    page = text_of(detail.content)
    assert "Not sent: this is the email as it would be drawn now." in page
    assert "$15.00" in page
    assert url("email-html", row.public_id) in detail.content.decode()


def test_emails_of_the_other_mode_are_not_found() -> None:
    live = live_email()
    client = signed_in_client()
    assert client.get(url("email", live.public_id)).status_code == 404
    assert client.get(url("email-html", live.public_id)).status_code == 404
    session = client.session
    session[LIVEMODE_KEY] = True
    session.save()
    assert client.get(url("email", live.public_id)).status_code == 200


def test_email_pages_are_for_staff_only(client: Client) -> None:
    sent = receipt()
    for path in (url("emails"), url("email", sent.public_id), url("email-html", sent.public_id)):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith("/dashboard/sign-in?next="), path
        assert sent.subject not in response.content.decode()


def test_email_pages_only_read() -> None:
    sent = receipt()
    client = signed_in_client()
    for path in (url("emails"), url("email", sent.public_id), url("email-html", sent.public_id)):
        assert client.post(path).status_code == 405, path
    # Without the CSRF token a POST is refused before it reaches the page.
    client.handler.enforce_csrf_checks = True
    assert client.post(url("email", sent.public_id)).status_code == 403
