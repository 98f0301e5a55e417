"""Developers > API keys: the secret keys of the current mode; create, roll and revoke them.

A key is stored hashed (``accounts.services``), so its secret exists in clear only in the request
that makes it. The page that shows it comes right after (post/redirect/get, so reloading it never
makes another key): the secret waits for it in the staff member's server-side session and is
removed from there by that page, which is therefore the one and only time it is shown.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from billfold.accounts import selectors, services
from billfold.accounts.models import ApiKey
from billfold.core import clock
from billfold.core.errors import DomainError, NotFound
from billfold.dashboard.forms.common import add_domain_error
from billfold.dashboard.forms.developers import API_KEY_PARAMS, ApiKeyForm, RollForm
from billfold.dashboard.pages import render_page
from billfold.dashboard.security import livemode, staff_page
from billfold.dashboard.templatetags.dashboard import when

SECTION = "developers"
TAB = "dashboard:developers"
# The session key under which a new secret waits for the page that shows it.
_NEW_SECRET = "dashboard_new_api_key"  # noqa: S105 - a session key, not a secret
# Revoked and expired keys listed under the active ones, newest first.
INACTIVE_SHOWN = 50


@dataclass(frozen=True)
class KeyRow:
    key: ApiKey
    # "active", "expiring" (rolled, still working until ``key.expires_at``), "expired" or "revoked".
    state: str


def masked(key: ApiKey) -> str:
    """``sk_test_…a1B2``: enough to recognise a key, nothing to use it with."""
    return f"{key.prefix}…{key.last4}"


def _state(key: ApiKey, now: dt.datetime) -> str:
    if key.revoked_at is not None:
        return "revoked"
    if key.expires_at is not None:
        return "expiring" if key.expires_at > now else "expired"
    return "active"


def _key(request: HttpRequest, key_id: str) -> ApiKey:
    try:
        return selectors.api_key_get(public_id=key_id, livemode=livemode(request))
    except NotFound:
        raise Http404("No such API key") from None


def _context(**extra: object) -> dict[str, object]:
    return {"developer_tab": TAB, **extra}


@staff_page
@require_http_methods(["GET", "HEAD"])
def api_key_list_page(request: HttpRequest) -> HttpResponse:
    now = clock.now()
    rows = [KeyRow(key, _state(key, now)) for key in selectors.api_key_list(livemode=livemode(request))]
    rows.sort(key=lambda row: (row.key.created, row.key.pk), reverse=True)
    working = [row for row in rows if row.state in ("active", "expiring")]
    stopped = [row for row in rows if row.state not in ("active", "expiring")]
    return render_page(
        request,
        "dashboard/developers/api_keys.html",
        _context(
            keys=working,
            inactive=stopped[:INACTIVE_SHOWN],
            inactive_count=len(stopped),
            api_base=f"{settings.SITE_URL}/v1",
        ),
        section=SECTION,
    )


def _reveal_next(request: HttpRequest, created: services.CreatedKey, *, replaces: ApiKey | None = None) -> HttpResponse:
    note: dict[str, str] = {"id": created.key.public_id, "secret": created.secret}
    if replaces is not None and replaces.expires_at is not None:
        note["replaces"] = masked(replaces)
        note["replaces_until"] = replaces.expires_at.isoformat()
    request.session[_NEW_SECRET] = note
    return redirect("dashboard:api-key-secret", key_id=created.key.public_id)


@staff_page
@require_http_methods(["GET", "HEAD", "POST"])
def api_key_new(request: HttpRequest) -> HttpResponse:
    form = ApiKeyForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            created = services.api_key_create(livemode=livemode(request), name=form.cleaned_data["name"].strip())
        except DomainError as refused:
            add_domain_error(form, refused, API_KEY_PARAMS)
        else:
            return _reveal_next(request, created)
    return render_page(
        request,
        "dashboard/developers/api_key_form.html",
        _context(form=form),
        section=SECTION,
        status=400 if request.method == "POST" else 200,
    )


@staff_page
@require_GET
def api_key_secret(request: HttpRequest, key_id: str) -> HttpResponse:
    """The new key's secret, shown once: reading it here removes it from the session."""
    key = _key(request, key_id)
    note = request.session.get(_NEW_SECRET)
    if not isinstance(note, dict) or note.get("id") != key.public_id:
        messages.info(
            request,
            "A key's secret is shown only once, right after the key is created or rolled. "
            "If you no longer have it, roll the key to get a new secret.",
        )
        return redirect("dashboard:developers")
    del request.session[_NEW_SECRET]
    until = note.get("replaces_until")
    return render_page(
        request,
        "dashboard/developers/api_key_secret.html",
        _context(
            key=key,
            secret=note["secret"],
            replaces=note.get("replaces"),
            replaces_until=dt.datetime.fromisoformat(until) if until else None,
            now=clock.now(),
        ),
        section=SECTION,
    )


def _refuse_stopped(request: HttpRequest, key: ApiKey, doing: str) -> HttpResponse | None:
    state = _state(key, clock.now())
    if state == "revoked" or state == "expired":
        messages.error(request, f"The key {masked(key)} is {state}: it cannot be {doing}.")
        return redirect("dashboard:developers")
    return None


@staff_page
@require_http_methods(["GET", "HEAD", "POST"])
def api_key_roll(request: HttpRequest, key_id: str) -> HttpResponse:
    key = _key(request, key_id)
    refused_now = _refuse_stopped(request, key, "rolled")
    if refused_now is not None:
        return refused_now
    if key.expires_at is not None:
        messages.error(
            request,
            f"The key {masked(key)} was already rolled: it stops working on {when(key.expires_at)}. "
            "Roll the key that replaced it instead.",
        )
        return redirect("dashboard:developers")
    form = RollForm(request.POST if request.method == "POST" else None, initial={"expires": "1h"})
    if request.method == "POST" and form.is_valid():
        try:
            created = services.api_key_roll(key=key, expires_in=form.expires_in())
        except DomainError as refused:
            messages.error(request, refused.message)
            return redirect("dashboard:developers")
        key.refresh_from_db()
        return _reveal_next(request, created, replaces=key)
    return render_page(
        request,
        "dashboard/developers/roll.html",
        _context(
            form=form,
            heading=f"Roll the key {key.name or masked(key)}?",
            explanation=[
                f"A new secret key replaces {masked(key)}; it is shown once, on the next page.",
                "Choose how long the current secret keeps working, so that your app can switch to the new one "
                "without failing requests. Choose “Now” if the secret leaked.",
            ],
            button="Roll key",
            action=reverse("dashboard:api-key-roll", args=[key.public_id]),
            back=reverse("dashboard:developers"),
        ),
        section=SECTION,
        status=400 if request.method == "POST" else 200,
    )


@staff_page
@require_http_methods(["GET", "HEAD", "POST"])
def api_key_revoke(request: HttpRequest, key_id: str) -> HttpResponse:
    key = _key(request, key_id)
    refused_now = _refuse_stopped(request, key, "revoked")
    if refused_now is not None:
        return refused_now
    expiring = key.expires_at is not None
    if request.method == "POST":
        services.api_key_revoke(key=key)
        messages.success(request, f"The key {masked(key)} was revoked: requests made with it are refused.")
        return redirect("dashboard:developers")
    explanation = [
        f"Requests made with {masked(key)} are refused from now on (within a second on every server). "
        "This cannot be undone."
    ]
    if expiring:
        explanation.append(
            f"It was rolled and would stop working on {when(key.expires_at)} UTC anyway: revoke it now once "
            "your apps use the new key."
        )
    others = selectors.api_key_list(livemode=key.livemode).filter(revoked_at__isnull=True).exclude(pk=key.pk)
    if not any(_state(other, clock.now()) == "active" for other in others):
        mode = "live" if key.livemode else "test"
        explanation.append(f"It is your only working {mode}-mode key: create another one first if an app needs one.")
    return render_page(
        request,
        "dashboard/confirm.html",
        _context(
            heading=f"{'Expire the old' if expiring else 'Revoke the'} key {key.name or masked(key)} now?",
            explanation=explanation,
            button="Expire key now" if expiring else "Revoke key",
            action=reverse("dashboard:api-key-revoke", args=[key.public_id]),
            back=reverse("dashboard:developers"),
        ),
        section=SECTION,
    )
