"""``billfold listen --forward-to URL``: forward new events to a local URL as they happen.

Like ``stripe listen``: each event of the chosen mode is POSTed, signed with a secret made for this
session (printed at the start), to the URL given; one line per event says how it was answered.
Only events that happen after the start are sent; nothing is retried and no delivery row is kept.
"""

from __future__ import annotations

import argparse
import signal
import threading
from types import FrameType
from typing import Any
from urllib.parse import urlsplit

from django.core.management.base import BaseCommand, CommandError

from billfold.core import clock
from billfold.events.delivery import event_body
from billfold.events.event_types import EVENT_TYPES
from billfold.events.outbound import post
from billfold.events.signing import new_secret, signature_header
from billfold.events.stream import EventStream


def _url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise argparse.ArgumentTypeError("give an http:// or https:// URL, e.g. http://localhost:4242/webhook")
    return value


def _events(value: str) -> list[str]:
    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name not in EVENT_TYPES]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown event type {unknown[0]!r} (e.g. customer.created,invoice.paid)")
    return names


def _positive(value: str) -> float:
    number = float(value)
    if number <= 0:
        raise argparse.ArgumentTypeError("must be more than 0")
    return number


class Command(BaseCommand):
    help = "Forward new events to a local URL, signed with a secret made for this session (like `stripe listen`)."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--forward-to", required=True, type=_url, help="the URL events are POSTed to")
        parser.add_argument("--events", type=_events, help="comma-separated event types (default: all)")
        parser.add_argument("--live", action="store_true", help="forward live-mode events instead of test-mode ones")
        parser.add_argument(
            "--interval", type=_positive, default=0.25, help="seconds between looks (default: %(default)s)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        self.stopped = threading.Event()
        previous = {sig: signal.signal(sig, self._stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            self._listen(options["forward_to"], options["events"], live=options["live"], interval=options["interval"])
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        self.stopped.set()

    def _say(self, line: str) -> None:
        self.stdout.write(line)
        self.stdout.flush()

    def _listen(self, url: str, types: list[str] | None, *, live: bool, interval: float) -> None:
        secret = new_secret()
        stream = EventStream(livemode=live, types=types)
        mode = "live" if live else "test"
        self._say(f"Ready! Forwarding {mode}-mode events to {url}.")
        self._say(f"Your webhook signing secret is {secret} (^C to quit)")
        while not self.stopped.is_set():
            try:
                events = stream.poll()
            except Exception as error:
                raise CommandError(f"Reading events failed: {type(error).__name__}: {error}") from error
            for event in events:
                body = event_body(event)
                now = clock.now()
                header = signature_header(body, secrets=[secret], timestamp=clock.to_unix(now))
                # The developer named this URL on their own machine: test-mode address rules
                # (loopback and private networks allowed) apply in both modes.
                outcome = post(url, body, headers={"Stripe-Signature": header}, livemode=False)
                answer = f"[{outcome.status_code}]" if outcome.status_code is not None else f"[ERROR] {outcome.error}"
                stamp = now.strftime("%Y-%m-%d %H:%M:%S")
                self._say(f"{stamp}  {event.type} [{event.public_id}] --> POST {url} {answer}")
                if self.stopped.is_set():
                    break
            self.stopped.wait(interval)
        self._say("Stopped.")
