"""What every portal page shares: the signed-in browser, its language, and strict headers.

A browser is signed in by a cookie holding the random token of a ``PortalAccess`` (only its
SHA-256 is stored): HttpOnly, SameSite=Lax, Secure when the site is served over HTTPS, scoped to
``/p/``. Each page slides the access an hour forward (``portal_access_use``) and renews the
cookie's lifetime to match, so both end an hour after the last page the customer opened.

Pages load one static stylesheet; the brand's colors arrive as CSS variables in a ``<style>``
element carrying the response's nonce. No script runs anywhere in the portal, and no other site
may frame it (``frame-ancestors 'none'``) or receive its forms (``form-action 'self'``).
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.utils.translation import ngettext

from billfold.branding.selectors import brand_theme
from billfold.branding.theme import Theme
from billfold.core import locales as languages
from billfold.core.crypto import sha256_hex
from billfold.core.locales import Language
from billfold.customers.models import Customer
from billfold.portal.configurations import login_page_url
from billfold.portal.models import PortalAccess, PortalConfiguration
from billfold.portal.sessions import ACCESS_IDLE_TIMEOUT, portal_access_use
from billfold.portal.throttle import RateLimited

COOKIE_NAME = "billfold_portal"
COOKIE_PATH = "/p/"
# The languages the portal's pages are translated into (Django's language codes).


def content_security_policy(nonce: str) -> str:
    return (
        f"default-src 'none'; style-src 'self' 'nonce-{nonce}'; img-src 'self' data:; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    )


def harden(response: HttpResponse, nonce: str) -> HttpResponse:
    response["Content-Security-Policy"] = content_security_policy(nonce)
    # same-origin: keeps the session URL and pages out of other sites' Referer headers, while
    # forms still send the Origin the CSRF check wants.
    response["Referrer-Policy"] = "same-origin"
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Cache-Control"] = "private, no-store"
    response["X-Frame-Options"] = "DENY"
    return response


def _browser_tags(request: HttpRequest) -> list[str]:
    """The browser's Accept-Language tags, most preferred first."""
    weighted = []
    for position, part in enumerate(request.headers.get("Accept-Language", "").split(",")):
        tag, _, quality = part.strip().partition(";q=")
        try:
            weight = float(quality) if quality else 1.0
        except ValueError:
            weight = 0.0
        if tag and tag != "*" and weight > 0:
            weighted.append((-weight, position, tag))
    return [tag for _, _, tag in sorted(weighted)]


def language_for(request: HttpRequest, *, locale: str | None = None, customer: Customer | None = None) -> Language:
    """A session's explicit ``locale``, else the customer's preferred_locales, else the browser's."""
    tags: list[str] = []
    if locale and locale != "auto":
        tags.append(locale)
    if customer is not None:
        tags.extend(str(tag) for tag in customer.preferred_locales or [])
    tags.extend(_browser_tags(request))
    return languages.language_for(tags)


@dataclass
class Portal:
    """The signed-in customer's view of the portal, handed to every page."""

    access: PortalAccess
    nonce: str
    language: Language
    theme: Theme
    features: dict[str, Any] = field(default_factory=dict)

    @property
    def customer(self) -> Customer:
        return self.access.customer

    @property
    def configuration(self) -> PortalConfiguration:
        return self.access.configuration

    @property
    def livemode(self) -> bool:
        return self.access.livemode

    @property
    def flow(self) -> dict[str, Any] | None:
        session = self.access.session
        return session.flow if session is not None else None

    @property
    def return_url(self) -> str | None:
        session = self.access.session
        if session is not None and session.return_url:
            return session.return_url
        return self.configuration.default_return_url

    def enabled(self, feature: str) -> bool:
        return bool(self.features.get(feature, {}).get("enabled"))


def client_address(request: HttpRequest) -> str:
    """The address the request came from, for rate limits; behind a trusted proxy, the one the
    proxy saw (only the last ``X-Forwarded-For`` entry is the proxy's own)."""
    if getattr(settings, "SECURE_PROXY_SSL_HEADER", None):
        last = request.META.get("HTTP_X_FORWARDED_FOR", "").rsplit(",", 1)[-1].strip()
        if last:
            return str(last)
    return str(request.META.get("REMOTE_ADDR", ""))


def rate_limited_message(refused: RateLimited) -> str:
    """What a refused try says: how long to wait, in whole minutes."""
    minutes = max(1, -(-int(refused.retry_after.total_seconds()) // 60))
    return ngettext(
        "Too many attempts. Wait %(minutes)d minute, then try again.",
        "Too many attempts. Wait %(minutes)d minutes, then try again.",
        minutes,
    ) % {"minutes": minutes}


def set_access_cookie(request: HttpRequest, response: HttpResponse, token: str) -> None:
    response.set_cookie(
        COOKIE_NAME,
        token,
        max_age=int(ACCESS_IDLE_TIMEOUT.total_seconds()),
        path=COOKIE_PATH,
        secure=request.is_secure() or bool(settings.SESSION_COOKIE_SECURE),
        httponly=True,
        samesite="Lax",
    )


def clear_access_cookie(response: HttpResponse) -> None:
    response.delete_cookie(COOKIE_NAME, path=COOKIE_PATH, samesite="Lax")


def page(
    request: HttpRequest,
    template: str,
    context: dict[str, Any],
    *,
    nonce: str,
    theme: Theme,
    status: int = 200,
) -> HttpResponse:
    """A portal page in the brand's colors, with its nonce and headers."""
    response = render(request, template, {**context, "nonce": nonce, "theme": theme}, status=status)
    return harden(response, nonce)


def _signed_out(request: HttpRequest, token: str | None) -> HttpResponse:
    """The page for a browser whose access ended: how to get back in, if we still know."""
    nonce = secrets.token_urlsafe(16)
    ended = (
        PortalAccess.objects.select_related("session", "login_link", "configuration", "customer")
        .filter(token_hash=sha256_hex(token))
        .first()
        if token
        else None
    )
    return_url = login_url = None
    customer = None
    if ended is not None:
        customer = ended.customer
        if ended.session is not None and ended.session.return_url:
            return_url = ended.session.return_url
        else:
            return_url = ended.configuration.default_return_url
        if ended.login_link is not None and ended.login_link.deactivated is None:
            login_url = login_page_url(ended.login_link)
    language = language_for(request, customer=customer)
    with translation.override(language.code):
        response = page(
            request,
            "portal/signed_out.html",
            {"return_url": return_url, "login_url": login_url, "language": language},
            nonce=nonce,
            theme=brand_theme(),
            status=401,
        )
    clear_access_cookie(response)
    return response


PortalView = Callable[..., HttpResponse]


def portal_page(view: PortalView) -> Callable[..., HttpResponse]:
    """A page for a signed-in browser: ``view(request, portal, ...)``; anyone else sees how to sign in."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        token = request.COOKIES.get(COOKIE_NAME)
        access = portal_access_use(token=token) if token else None
        if access is None:
            return _signed_out(request, token)
        session = access.session
        language = language_for(request, locale=session.locale if session else None, customer=access.customer)
        portal = Portal(
            access=access,
            nonce=secrets.token_urlsafe(16),
            language=language,
            theme=brand_theme(),
            features=dict(access.configuration.features or {}),
        )
        with translation.override(language.code):
            try:
                response = view(request, portal, *args, **kwargs)
            except Http404:
                # Another customer's id, a feature turned off, a subscription that ended meanwhile:
                # one branded page that leads back to the overview, whatever the reason.
                response = page(
                    request,
                    "portal/not_found.html",
                    {"portal": portal, "language": language, "return_url": portal.return_url},
                    nonce=portal.nonce,
                    theme=portal.theme,
                    status=404,
                )
        harden(response, portal.nonce)
        assert token is not None
        if response.cookies.get(COOKIE_NAME) is None:
            set_access_cookie(request, response, token)
        return response

    return wrapped
