"""Sending queued emails: claim due rows, render, hand them to Django's email backend, record.

The worker runs ``run_sender`` in a thread of its own (``sender_running``), so mail waits neither
for a long billing batch nor billing for a slow SMTP server. Any number of senders may share a
database: a sender claims a batch of due rows by setting their ``claimed_until`` to now + LEASE
(``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL, a conditional ``UPDATE`` per row on SQLite,
as billing/renewals.py claims), sends them over one backend connection, and records each outcome
only while it still holds the row, so two senders never send one row.

A failed try keeps the row queued and tries again later, waiting 1 minute, then 2, 4... up to an
hour between tries, for 3 days in all (``retry_delay``); then the row is marked failed. So an SMTP
server that is down or refuses for a while delays mail and loses none. A refusal that trying
again cannot change (the server rejects the recipient's address with a 5xx) fails the row at once.

Rows written by an event are not sent the moment they appear: a sender first schedules them
SETTLE later. An API request can take back what it committed moments before (a subscription
created with ``payment_behavior=error_if_incomplete`` whose card is declined is removed with its
events, billing/subscriptions/undo.py, and their emails with them); the delay lets that happen
before the mail goes. The delay counts from when a sender first sees the row, on the sender's
clock, because events of a test clock's customers carry the clock's time. Login codes are due at once.

A sender killed in the instant between the SMTP server's acceptance and the row being marked
sent would send that row again once the lease runs out; the mail keeps its Message-ID, which
lets the receiving side recognise the repeat.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import smtplib
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.mime.image import MIMEImage
from email.utils import formataddr, parseaddr
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection, transaction
from django.db.models import F, Q, QuerySet

from billfold.billing.renewals import sqlite_turn
from billfold.core import clock
from billfold.emails import kinds
from billfold.emails.content import PasscodeExpired, Rendered, email_render
from billfold.emails.models import Email

logger = logging.getLogger("billfold.emails")

# How long a claim keeps other senders off a row: far longer than sending a batch takes. A sender
# starts no new send past half of it (``_out_of_time``), so it never sends on a claim that ran out.
LEASE = dt.timedelta(minutes=10)
# How long an event's email waits after a sender first sees it (see the module's docstring).
SETTLE = dt.timedelta(seconds=5)
# Waits between tries: FIRST_RETRY, doubling, at most LONGEST_WAIT; given up after GIVE_UP_AFTER of waiting.
FIRST_RETRY = dt.timedelta(minutes=1)
LONGEST_WAIT = dt.timedelta(hours=1)
GIVE_UP_AFTER = dt.timedelta(days=3)
# Rows claimed at a time, and seconds between looks when nothing is due (a login code waits at most this).
BATCH = 50
IDLE_SECONDS = 1.0
# After an unexpected error (the database went away), seconds before trying again.
ERROR_WAIT_SECONDS = 10.0
SLEEP_SLICE = 0.2


def _wait_after(attempts: int) -> dt.timedelta:
    doubled: dt.timedelta = FIRST_RETRY * 2 ** min(attempts - 1, 20)
    return min(doubled, LONGEST_WAIT)


def retry_delay(attempts: int) -> dt.timedelta | None:
    """The wait after the ``attempts``-th failed try; None when the waits so far reach GIVE_UP_AFTER."""
    waited = sum((_wait_after(n) for n in range(1, attempts)), dt.timedelta())
    if waited >= GIVE_UP_AFTER:
        return None
    return _wait_after(attempts)


@dataclass
class SendReport:
    """One pass: rows claimed, sent, to be tried again, failed for good, and given back unsent."""

    claimed: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    returned: int = 0

    def describe(self) -> str:
        parts = [f"{self.sent} email{'s' if self.sent != 1 else ''} sent"]
        if self.retrying:
            parts.append(f"{self.retrying} to be tried again")
        if self.failed:
            parts.append(f"{self.failed} failed for good")
        if self.returned:
            parts.append(f"{self.returned} given back unsent")
        return ", ".join(parts)


def _unclaimed(now: dt.datetime) -> Q:
    return Q(claimed_until__isnull=True) | Q(claimed_until__lte=now)


def emails_due(*, now: dt.datetime) -> QuerySet[Email]:
    """Queued rows whose time has come, that no sender holds; longest waiting first."""
    return (
        Email.objects.filter(status=Email.QUEUED, next_attempt_at__lte=now)
        .filter(_unclaimed(now))
        .order_by("next_attempt_at", "pk")
    )


def _settle(now: dt.datetime) -> None:
    """Schedule rows no sender has seen yet SETTLE from now (looked for first: most passes find none)."""
    fresh = Email.objects.filter(status=Email.QUEUED, next_attempt_at__isnull=True)
    if fresh.exists():
        with sqlite_turn(), transaction.atomic():
            fresh.update(next_attempt_at=now + SETTLE)


def _claim(*, now: dt.datetime, limit: int) -> list[int]:
    until = now + LEASE
    due = emails_due(now=now)
    if connection.vendor == "postgresql":
        with transaction.atomic():
            # Rows another sender is claiming right now are skipped, not waited for.
            ids = list(due.select_for_update(skip_locked=True).values_list("pk", flat=True)[:limit])
            if ids:
                Email.objects.filter(pk__in=ids).update(claimed_until=until)
        return ids
    if not due.exists():
        return []
    claimed: list[int] = []
    with sqlite_turn(), transaction.atomic():
        for pk in list(due.values_list("pk", flat=True)[:limit]):
            # Only one sender's UPDATE finds the row unclaimed; the others change nothing.
            if Email.objects.filter(_unclaimed(now), pk=pk, status=Email.QUEUED).update(claimed_until=until) == 1:
                claimed.append(pk)
    return claimed


def _record(email: Email, claim: dt.datetime, **values: Any) -> bool:
    """Write the outcome while this sender still holds the row; False when it no longer does (the
    row was taken back with its event, or the claim ran out)."""
    with sqlite_turn(), transaction.atomic():
        updated = Email.objects.filter(pk=email.pk, claimed_until=claim).update(claimed_until=None, **values)
    if not updated:
        logger.warning("Email %s was no longer held by this sender when its outcome was recorded", email.public_id)
    return bool(updated)


def _forget_secret(email: Email) -> dict[str, Any]:
    """What a row keeps of a login code once it is sent or dropped: nothing of the code itself."""
    if email.kind != kinds.PASSCODE:
        return {}
    return {"context": {k: v for k, v in email.context.items() if k != "code"}}


def _sent(email: Email, claim: dt.datetime, rendered: Rendered, now: dt.datetime) -> bool:
    secret = email.kind == kinds.PASSCODE
    return _record(
        email,
        claim,
        status=Email.SENT,
        attempts=F("attempts") + 1,
        sent_at=now,
        last_error="",
        subject=rendered.subject,
        # The bodies hold the code: a login code is not kept once it has left.
        text_body="" if secret else rendered.text,
        html_body="" if secret else rendered.html,
        **_forget_secret(email),
    )


def _failed(email: Email, claim: dt.datetime, error: str, now: dt.datetime, *, permanent: bool) -> bool:
    """Record a failed try: tried again after ``retry_delay``, or failed for good. True if retrying."""
    attempts = email.attempts + 1
    delay = None if permanent else retry_delay(attempts)
    if delay is None:
        _record(email, claim, status=Email.FAILED, attempts=attempts, last_error=error[:2000], **_forget_secret(email))
        logger.error("Email %s (%s to %s) failed for good: %s", email.public_id, email.kind, email.to_email, error)
        return False
    _record(email, claim, attempts=attempts, next_attempt_at=now + delay, last_error=error[:2000])
    logger.warning("Email %s could not be sent (%s); trying again in %s", email.public_id, error, delay)
    return True


def _permanent(error: Exception) -> bool:
    """A refusal trying again cannot change: the server rejected every recipient with a 5xx (no such
    mailbox). Anything else (server down, a 4xx, authentication, a rejected sender) may be fixed meanwhile."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(500 <= code < 600 for code, _ in error.recipients.values())
    return False


def _describe(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"


def sender_address(business_name: str) -> str:
    """``DEFAULT_FROM_EMAIL``, with the business's name as display name when it has none."""
    configured = str(settings.DEFAULT_FROM_EMAIL)
    name, address = parseaddr(configured)
    return configured if name else formataddr((business_name, address))


def _message(email: Email, rendered: Rendered, backend: BaseEmailBackend) -> EmailMultiAlternatives:
    sender = sender_address(rendered.branding.business_name)
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    message = EmailMultiAlternatives(
        subject=rendered.subject,
        body=rendered.text,
        from_email=sender,
        to=[email.to_email],
        connection=backend,
        headers={
            # Stable across tries: a resent row is recognisably the same mail.
            "Message-ID": f"<{email.public_id}@{domain}>",
            # Automatic mail: out-of-office replies and autoresponders leave it alone (RFC 3834).
            "Auto-Submitted": "auto-generated",
            # The language it is written in (RFC 3282): mail clients offer to translate others.
            "Content-Language": rendered.language,
        },
    )
    message.attach_alternative(rendered.html, "text/html")
    logo = rendered.branding.logo
    if logo is not None:
        image = MIMEImage(logo.content, _subtype=logo.subtype)
        image.add_header("Content-ID", f"<{logo.content_id}>")
        image.add_header("Content-Disposition", "inline", filename=f"logo.{logo.subtype}")
        message.attach(image)
        # The image belongs to the HTML (cid:), not beside it as an attachment.
        message.mixed_subtype = "related"
    return message


class _Connection:
    """One backend connection for the batch, reopened after a failed send (the SMTP session may be broken)."""

    def __init__(self) -> None:
        self.backend: BaseEmailBackend = get_connection(fail_silently=False)
        self.broken: Exception | None = None
        self.opened = False

    def get(self) -> BaseEmailBackend:
        if self.broken is not None:
            raise self.broken
        if not self.opened:
            try:
                self.backend.open()
            except Exception as error:
                # The server cannot be reached: the rest of the batch waits for the next try without asking again.
                self.broken = error
                raise
            self.opened = True
        return self.backend

    def reset(self) -> None:
        self.close()

    def close(self) -> None:
        if self.opened:
            self.opened = False
            # Closing a broken session fails too; the next open starts afresh all the same.
            with contextlib.suppress(Exception):
                self.backend.close()


def _never() -> bool:
    return False


def emails_send_due(*, limit: int = BATCH, should_stop: Callable[[], bool] = _never) -> SendReport:
    """One pass: claim up to ``limit`` due emails and send them over one connection."""
    report = SendReport()
    started = clock.now()
    _settle(started)
    ids = _claim(now=started, limit=limit)
    report.claimed = len(ids)
    if not ids:
        return report
    claim = started + LEASE
    rows = {row.pk: row for row in Email.objects.select_related("event").filter(pk__in=ids)}
    pending = [rows[pk] for pk in ids if pk in rows]
    conn = _Connection()
    try:
        for index, email in enumerate(pending):
            now = clock.now()
            if should_stop() or now - started >= LEASE / 2:
                # Given back at once, so another sender (or the next pass) need not wait for the lease.
                rest = [row.pk for row in pending[index:]]
                with sqlite_turn(), transaction.atomic():
                    Email.objects.filter(pk__in=rest, claimed_until=claim).update(claimed_until=None)
                report.returned += len(rest)
                break
            _send_one(email, claim, conn, now, report)
    finally:
        conn.close()
    return report


def _send_one(email: Email, claim: dt.datetime, conn: _Connection, now: dt.datetime, report: SendReport) -> None:
    try:
        rendered = email_render(email, now=now)
    except PasscodeExpired as error:
        _failed(email, claim, str(error), now, permanent=True)
        report.failed += 1
        return
    except Exception as error:
        # A template bug: kept for a fixed template rather than lost.
        logger.exception("Rendering email %s (%s) failed", email.public_id, email.kind)
        if _failed(email, claim, f"rendering failed: {_describe(error)}", now, permanent=False):
            report.retrying += 1
        else:
            report.failed += 1
        return
    try:
        backend = conn.get()
        _message(email, rendered, backend).send()
    except Exception as error:
        conn.reset()
        if _failed(email, claim, _describe(error), now, permanent=_permanent(error)):
            report.retrying += 1
        else:
            report.failed += 1
        return
    _sent(email, claim, rendered, clock.now())
    report.sent += 1


def _wait(seconds: float, should_stop: Callable[[], bool]) -> None:
    deadline = time.monotonic() + seconds
    while not should_stop() and (left := deadline - time.monotonic()) > 0:
        time.sleep(min(SLEEP_SLICE, left))


def run_sender(
    should_stop: Callable[[], bool],
    *,
    once: bool = False,
    idle: float = IDLE_SECONDS,
    say: Callable[[str], None] | None = None,
) -> None:
    """Send due emails until ``should_stop()``; with ``once``, until nothing is due. Stops between emails."""
    try:
        while not should_stop():
            try:
                report = emails_send_due(should_stop=should_stop)
            except Exception:
                logger.exception("A pass of the email sender failed; trying again in %g s", ERROR_WAIT_SECONDS)
                # The database went away or a query failed: the next pass starts on a fresh connection.
                connection.close()
                if once:
                    return
                _wait(ERROR_WAIT_SECONDS, should_stop)
                continue
            if say is not None and report.claimed:
                say(report.describe())
            if report.claimed == 0:
                if once:
                    return
                _wait(idle, should_stop)
    finally:
        # This thread's own database connection.
        connection.close()


@contextmanager
def sender_running(
    *, should_stop: Callable[[], bool], once: bool = False, say: Callable[[str], None] | None = None
) -> Iterator[threading.Thread]:
    """Run the sender in a thread for the duration of the block.

    Leaving the block stops it (after the email it is sending) and waits for it; with ``once``,
    a block left normally waits for it to send everything due instead.
    """
    done = threading.Event()

    def stop() -> bool:
        return done.is_set() or should_stop()

    thread = threading.Thread(
        target=run_sender, args=(stop,), kwargs={"once": once, "say": say}, name="billfold-emails", daemon=True
    )
    thread.start()
    try:
        yield thread
    except BaseException:
        done.set()
        raise
    finally:
        if not once:
            done.set()
        thread.join()
