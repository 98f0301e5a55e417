"""A real SMTP server (aiosmtpd) for the email tests, with Django's SMTP backend pointed at it."""

from __future__ import annotations

import email
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from billfold.core import clock
from billfold.emails.sending import SETTLE, SendReport, emails_send_due

BUSINESS = "Acme Cloud"
SENDER = "billing@acme.example"


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    @property
    def text(self) -> str:
        part = self.message.get_body(("plain",))
        assert part is not None
        # SMTP carries CRLF line ends.
        return str(part.get_content()).replace("\r\n", "\n")

    @property
    def html(self) -> str:
        part = self.message.get_body(("html",))
        assert part is not None
        return str(part.get_content()).replace("\r\n", "\n")


class Mailbox:
    """What the SMTP server received; set ``refuse_data``/``refuse_rcpt`` to an SMTP reply to refuse."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.received: list[Received] = []
        self.refuse_data: str | None = None
        self.refuse_rcpt: str | None = None
        # Called as each message arrives, before the server answers it.
        self.on_data: Callable[[], None] | None = None
        self.controller: Controller | None = None

    async def handle_RCPT(  # aiosmtpd's hook names
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if self.refuse_rcpt is not None:
            return self.refuse_rcpt
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.refuse_data is not None:
            return self.refuse_data
        content = envelope.original_content or b""
        message = email.message_from_bytes(content, policy=default_policy)
        assert isinstance(message, EmailMessage)
        self.received.append(Received(str(envelope.mail_from), list(envelope.rcpt_tos), message))
        if self.on_data is not None:
            self.on_data()
        return "250 Message accepted for delivery"

    def start(self) -> None:
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def only(self) -> Received:
        assert len(self.received) == 1, [r.message["Subject"] for r in self.received]
        return self.received[0]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def mailbox(settings: Any) -> Iterator[Mailbox]:
    box = Mailbox(_free_port())
    box.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = box.port
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    settings.BILLFOLD_BUSINESS_NAME = BUSINESS
    settings.DEFAULT_FROM_EMAIL = SENDER
    settings.SITE_URL = "https://billing.acme.example"
    try:
        yield box
    finally:
        box.stop()


def send_all() -> SendReport:
    """What a sender does over the next seconds: send what is due, then, once the settling delay of
    emails queued by events has passed, those too. Returns the second pass's report."""
    emails_send_due()
    with clock.frozen_at(clock.now() + SETTLE):
        return emails_send_due()
