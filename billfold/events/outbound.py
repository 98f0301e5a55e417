"""One outbound webhook POST: resolve, check the address, connect to that very address, send.

The host name is resolved here and the connection goes to the address that was checked (the
``Host`` header and, for https, the certificate check and SNI still use the name), so a DNS answer
that changes between the check and the connection cannot redirect a delivery to a private
address. Redirects are never followed; every wait has a timeout; only the start of the answer is
kept.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import urllib3
from django.conf import settings

from billfold.events.addresses import Address, address_refusal

# How much of an answer is kept with the attempt (bytes); the rest is not even read.
RESPONSE_EXCERPT = 2048
USER_AGENT = "Billfold/1.0 (+webhooks)"


@dataclass(frozen=True)
class Outcome:
    """What one POST came to: an HTTP status (None when no answer came) or an error, and how long
    it took in milliseconds."""

    status_code: int | None
    excerpt: str
    error: str
    duration_ms: int

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class AddressRefused(Exception):
    """The host resolves only to addresses webhooks of this mode may not go to."""


def _resolve(host: str, port: int, *, livemode: bool) -> Address:
    """The first address of ``host`` that webhooks of this mode may go to."""
    try:
        literal: Address | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        candidates: list[Address] = [literal]
    else:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        candidates = [ipaddress.ip_address(info[4][0]) for info in infos]
    refusals: list[str] = []
    for address in candidates:
        refusal = address_refusal(address, livemode=livemode)
        if refusal is None:
            return address
        refusals.append(refusal)
    raise AddressRefused(refusals[0] if refusals else f"{host} has no address")


def _excerpt(response: urllib3.BaseHTTPResponse, *, deadline: float) -> bytes:
    """The start of the body: up to RESPONSE_EXCERPT bytes, read for at most until ``deadline``
    (an answer trickling in byte by byte must not hold the sender past its timeout)."""
    got = b""
    while len(got) < RESPONSE_EXCERPT and time.monotonic() < deadline:
        chunk = response.read1(RESPONSE_EXCERPT - len(got))
        if not chunk:
            break
        got += chunk
    return got


def post(url: str, body: bytes, *, headers: dict[str, str], livemode: bool, timeout: float | None = None) -> Outcome:
    """POST ``body`` to ``url``; never raises for network trouble (the outcome says what happened)."""
    started = time.monotonic()
    seconds = settings.BILLFOLD_WEBHOOK_TIMEOUT if timeout is None else timeout

    def outcome(status: int | None = None, excerpt: str = "", error: str = "") -> Outcome:
        return Outcome(status, excerpt, error, int((time.monotonic() - started) * 1000))

    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return outcome(error="invalid port in the URL")
    if parts.scheme not in ("http", "https") or not host:
        return outcome(error="only http:// and https:// URLs receive webhooks")
    try:
        address = _resolve(host, port, livemode=livemode)
    except AddressRefused as refused:
        return outcome(error=f"refused: {refused}")
    except (OSError, UnicodeError, ValueError) as error:
        return outcome(error=f"could not resolve {host}: {error}")
    pool: urllib3.HTTPConnectionPool
    limits = urllib3.Timeout(connect=seconds, read=seconds)
    if parts.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            str(address),
            port,
            timeout=limits,
            retries=False,
            cert_reqs="CERT_REQUIRED",
            assert_hostname=host,
            server_hostname=host,
        )
    else:
        pool = urllib3.HTTPConnectionPool(str(address), port, timeout=limits, retries=False)
    path = parts.path or "/"
    if parts.query:
        path += f"?{parts.query}"
    default_port = 443 if parts.scheme == "https" else 80
    netloc = f"[{host}]" if ":" in host else host
    sent = {
        **headers,
        "Host": netloc if port == default_port else f"{netloc}:{port}",
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
    }
    try:
        response = pool.urlopen(
            "POST", path, body=body, headers=sent, redirect=False, retries=False, preload_content=False
        )
        try:
            excerpt = _excerpt(response, deadline=time.monotonic() + seconds)
        finally:
            response.close()
        return outcome(status=response.status, excerpt=excerpt.decode("utf-8", errors="replace"))
    except urllib3.exceptions.TimeoutError:
        return outcome(error=f"timed out after {seconds:g} s")
    except urllib3.exceptions.HTTPError as error:
        return outcome(error=f"{type(error).__name__}: {error}"[:500])
    finally:
        pool.close()
