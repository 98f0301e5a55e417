"""A real HTTP server for webhook tests: records every POST and answers as told."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """``answers`` are used in order (the last one repeats): an HTTP status, or ``"hang"`` to wait
    ``hang_seconds`` before answering 200."""

    url: str
    answers: list[int | str] = field(default_factory=lambda: [200])
    hang_seconds: float = 2.0
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_answer(self) -> int | str:
        with self.lock:
            return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """Wait (for other threads or processes to send) until ``count`` requests have arrived."""
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return list(self.received)


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            answer = receiver.next_answer()
            if answer == "hang":
                time.sleep(receiver.hang_seconds)
                answer = 200
            with receiver.lock:
                receiver.received.append(Received(self.path, dict(self.headers.items()), body))
            assert isinstance(answer, int)
            payload = b'{"received": true}' if answer < 300 else b"something broke"
            self.send_response(answer)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


def start_receiver() -> tuple[Receiver, ThreadingHTTPServer]:
    receiver = Receiver(url="")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/webhook"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return receiver, server


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made, server = start_receiver()
    try:
        yield made
    finally:
        server.shutdown()
        server.server_close()
