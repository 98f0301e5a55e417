"""What every dashboard page shares: staff-only access, the test/live mode, and strict headers.

The dashboard serves its scripts and styles as static files only, so its Content-Security-Policy
allows no inline script or style at all, and no other origin: the machine may be offline and a
page must not load anything a self-hoster did not install.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob: https:; font-src 'self'; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
# The session key holding the mode the dashboard shows; test mode until switched.
LIVEMODE_KEY = "dashboard_livemode"

View = Callable[..., HttpResponse]


def livemode(request: HttpRequest) -> bool:
    return bool(request.session.get(LIVEMODE_KEY, False))


def set_livemode(request: HttpRequest, value: bool) -> None:
    request.session[LIVEMODE_KEY] = value


def client_address(request: HttpRequest) -> str:
    """The address the request came from; behind a trusted proxy, the one the proxy saw.

    Only the last ``X-Forwarded-For`` entry is the proxy's own: earlier ones are whatever the
    client chose to send.
    """
    if getattr(settings, "SECURE_PROXY_SSL_HEADER", None):
        forwarded = str(request.META.get("HTTP_X_FORWARDED_FOR", ""))
        last = forwarded.rsplit(",", 1)[-1].strip()
        if last:
            return last
    return str(request.META.get("REMOTE_ADDR", ""))


def safe_next(request: HttpRequest, candidate: str | None, default: str) -> str:
    """``candidate`` if it is a path on this site, else ``default`` (no open redirects)."""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return default


def _harden(response: HttpResponse, *, private: bool) -> HttpResponse:
    response.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.setdefault("Referrer-Policy", "same-origin")
    response.setdefault("X-Robots-Tag", "noindex, nofollow")
    if private:
        # Pages show customer data: never kept in shared caches or the browser's back-forward cache.
        response["Cache-Control"] = "private, no-store"
    return response


def is_staff(request: HttpRequest) -> bool:
    user = request.user
    return bool(user.is_authenticated and user.is_active and user.is_staff)


def public_page(view: View) -> View:
    """A page anyone may open (the sign-in page), with the dashboard's headers."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return _harden(view(request, *args, **kwargs), private=True)

    return wrapped


def staff_page(view: View) -> View:
    """A page for signed-in staff; anyone else is sent to sign in, and comes back here after."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not is_staff(request):
            target = request.get_full_path() if request.method in ("GET", "HEAD") else reverse("dashboard:home")
            return _harden(redirect(f"{reverse('dashboard:sign-in')}?{urlencode({'next': target})}"), private=True)
        return _harden(view(request, *args, **kwargs), private=True)

    return wrapped
