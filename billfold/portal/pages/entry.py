"""Getting into the portal: the login link's pages (email, then passcode), the portal session URL,
and signing out.

The login pages answer the same for every email, known or not (``login_code_request`` sends
nothing to an unknown one): the passcode page is shown either way, with the same words.
"""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from billfold.branding.selectors import brand_theme
from billfold.core.crypto import sha256_hex
from billfold.portal.configurations import login_link_get, login_page_url
from billfold.portal.login import (
    CODE_TTL,
    LoginCodeRefused,
    LoginLinkInvalid,
    login_code_request,
    login_code_verify,
)
from billfold.portal.models import LoginLink, PortalAccess, PortalSession
from billfold.portal.pages.access import (
    Portal,
    clear_access_cookie,
    client_address,
    harden,
    language_for,
    page,
    portal_page,
    rate_limited_message,
    set_access_cookie,
)
from billfold.portal.pages.forms import CodeForm, EmailForm
from billfold.portal.sessions import PortalLinkRefused, portal_access_end, portal_session_redeem
from billfold.portal.throttle import RateLimited


def _login_page(
    request: HttpRequest, link: LoginLink | None, template: str, context: dict[str, Any], *, status: int = 200
) -> HttpResponse:
    nonce = secrets.token_urlsafe(16)
    language = language_for(request)
    configuration = link.configuration if link is not None else None
    with translation.override(language.code):
        return page(
            request,
            template,
            {
                **context,
                "link": link,
                "business_profile": configuration.business_profile if configuration else {},
                "return_url": configuration.default_return_url if configuration else None,
                "language": language,
            },
            nonce=nonce,
            theme=brand_theme(),
            status=status,
        )


def _dead_link(request: HttpRequest) -> HttpResponse:
    return _login_page(request, None, "portal/link_invalid.html", {}, status=404)


@require_safe
def login_page(request: HttpRequest, token: str) -> HttpResponse:
    """The login link: an email field, prefilled from ``?prefilled_email=`` (still editable)."""
    link = login_link_get(token=token)
    if link is None:
        return _dead_link(request)
    prefilled = request.GET.get("prefilled_email", "")[:512]
    form = EmailForm(initial={"email": prefilled} if prefilled else None)
    return _login_page(request, link, "portal/login.html", {"form": form})


def _code_page(
    request: HttpRequest,
    link: LoginLink,
    *,
    email: str,
    form: CodeForm | None = None,
    error: str | None = None,
    sent: bool = False,
    status: int = 200,
) -> HttpResponse:
    form = form or CodeForm(initial={"email": email})
    minutes = int(CODE_TTL.total_seconds() // 60)
    return _login_page(
        request,
        link,
        "portal/passcode.html",
        {"form": form, "email": email, "error": error, "sent": sent, "minutes": minutes},
        status=status,
    )


@require_POST
def login_send_code(request: HttpRequest, token: str) -> HttpResponse:
    """Send a code (or send a new one: the resend button posts here too), then ask for it."""
    link = login_link_get(token=token)
    if link is None:
        return _dead_link(request)
    form = EmailForm(request.POST)
    if not form.is_valid():
        return _login_page(request, link, "portal/login.html", {"form": form}, status=400)
    email = form.cleaned_data["email"]
    try:
        # The code's email is written in the language of the page the customer is on.
        login_code_request(
            link_token=token,
            email=email,
            client_address=client_address(request),
            locale=str(language_for(request).locale),
        )
    except LoginLinkInvalid:
        return _dead_link(request)
    except RateLimited as refused:
        with translation.override(language_for(request).code):
            message = rate_limited_message(refused)
        form.add_error(None, message)
        return _login_page(request, link, "portal/login.html", {"form": form}, status=429)
    return _code_page(request, link, email=email, sent=True)


@require_POST
def login_verify(request: HttpRequest, token: str) -> HttpResponse:
    link = login_link_get(token=token)
    if link is None:
        return _dead_link(request)
    form = CodeForm(request.POST)
    if not form.is_valid():
        email = str(request.POST.get("email", ""))[:512]
        if "email" in form.errors:
            # The hidden email went missing or was altered: start again from the email page.
            return HttpResponseRedirect(reverse("portal:login", kwargs={"token": token}))
        return _code_page(request, link, email=email, form=form, status=400)
    email = form.cleaned_data["email"]
    language = language_for(request)
    try:
        opened = login_code_verify(
            link_token=token, email=email, code=form.cleaned_data["code"], client_address=client_address(request)
        )
    except LoginLinkInvalid:
        return _dead_link(request)
    except RateLimited as refused:
        with translation.override(language.code):
            message = rate_limited_message(refused)
        return _code_page(
            request, link, email=email, form=CodeForm(initial={"email": email}), error=message, status=429
        )
    except LoginCodeRefused as refused:
        with translation.override(language.code):
            if refused.reason in ("expired", "superseded"):
                message = _("This code has expired. Ask for a new code below.")
            elif refused.reason == "locked":
                message = _("Too many wrong codes were entered. Ask for a new code below.")
            else:
                message = _("That code is not valid. Check the latest email we sent you, or ask for a new code.")
        # The typed code is kept so the customer can spot a typo.
        return _code_page(request, link, email=email, form=form, error=message, status=400)
    response = HttpResponseRedirect(reverse("portal:home"))
    set_access_cookie(request, response, opened.token)
    return harden(response, secrets.token_urlsafe(16))


@require_safe
def session_open(request: HttpRequest, secret: str) -> HttpResponse:
    """A portal session's URL: used once, it becomes this browser's access and leads to its flow."""
    try:
        opened = portal_session_redeem(secret=secret)
    except PortalLinkRefused as refused:
        return _link_refused(request, secret, refused)
    response = HttpResponseRedirect(flow_start(opened.access))
    set_access_cookie(request, response, opened.token)
    # The URL held a secret: no cache keeps this answer, and the next page sends no Referer elsewhere.
    return harden(response, secrets.token_urlsafe(16))


def _link_refused(request: HttpRequest, secret: str, refused: PortalLinkRefused) -> HttpResponse:
    session = (
        PortalSession.objects.select_related("customer", "configuration").filter(secret_hash=sha256_hex(secret)).first()
    )
    return_url = None
    customer = None
    if session is not None:
        return_url = session.return_url or session.configuration.default_return_url
        customer = session.customer
    nonce = secrets.token_urlsafe(16)
    language = language_for(request, locale=session.locale if session else None, customer=customer)
    with translation.override(language.code):
        response = page(
            request,
            "portal/link_expired.html",
            {"return_url": return_url, "code": refused.code, "language": language},
            nonce=nonce,
            theme=brand_theme(),
            status=403 if session is not None else 404,
        )
    return response


def flow_start(access: PortalAccess) -> str:
    """Where a freshly opened session lands: its deep link's page, or the overview."""
    flow = access.session.flow if access.session is not None else None
    if not flow:
        return reverse("portal:home")
    kind = flow["type"]
    if kind == "payment_method_update":
        return reverse("portal:card-add")
    if kind == "subscription_cancel":
        return reverse("portal:cancel", kwargs={"subscription_id": flow[kind]["subscription"]})
    if kind == "subscription_update":
        return reverse("portal:update", kwargs={"subscription_id": flow[kind]["subscription"]})
    if kind == "subscription_update_confirm":
        confirm = flow[kind]
        item = confirm["items"][0]
        query = {key: item[key] for key in ("price", "quantity") if item.get(key) is not None}
        url = reverse("portal:update-confirm", kwargs={"subscription_id": confirm["subscription"]})
        return f"{url}?{urlencode(query)}"
    return reverse("portal:home")


@require_POST
@portal_page
def sign_out(request: HttpRequest, portal: Portal) -> HttpResponse:
    portal_access_end(access=portal.access)
    target = portal.return_url
    if target:
        response = page(request, "portal/redirect.html", {"url": target}, nonce=portal.nonce, theme=portal.theme)
    elif portal.access.login_link is not None and portal.access.login_link.deactivated is None:
        response = HttpResponseRedirect(login_page_url(portal.access.login_link))
    else:
        response = page(request, "portal/signed_out.html", {}, nonce=portal.nonce, theme=portal.theme)
    clear_access_cookie(response)
    # The decorator renews the cookie unless the response already names it: keep it deleted.
    return response
