"""After an action: where the customer goes next.

A portal session made with ``flow_data`` says what follows its flow's action
(``after_completion``): back to the merchant (``redirect``), a confirmation page with the
merchant's message (``hosted_confirmation``), or the portal's overview. Any other action, or the
same action outside the flow, returns to the overview with a short notice.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from billfold.portal.pages.access import Portal, page


def in_flow(portal: Portal, kind: str, subscription_id: str | None = None) -> bool:
    """Whether the session's deep link is ``kind`` (for ``subscription_id``, when it names one)."""
    flow = portal.flow
    if not flow:
        return False
    kinds: tuple[str, ...] = (kind,)
    if kind == "subscription_update":
        kinds = ("subscription_update", "subscription_update_confirm")
    if flow["type"] not in kinds:
        return False
    target = flow.get(flow["type"]) or {}
    return subscription_id is None or target.get("subscription") == subscription_id


def redirect_page(request: HttpRequest, portal: Portal, url: str) -> HttpResponse:
    """Leave for another site. A page that moves on by itself (meta refresh) rather than an HTTP
    redirect: the form's POST answered with a redirect to another origin would break the CSP's
    ``form-action 'self'`` in browsers that apply it to redirects."""
    return page(request, "portal/redirect.html", {"url": url}, nonce=portal.nonce, theme=portal.theme)


def finish(
    request: HttpRequest, portal: Portal, *, kind: str, notice: str, subscription_id: str | None = None
) -> HttpResponse:
    """What follows a completed action: the flow's ``after_completion``, else the overview."""
    if in_flow(portal, kind, subscription_id):
        assert portal.flow is not None
        after = portal.flow.get("after_completion") or {}
        if after.get("type") == "redirect" and after.get("redirect"):
            return redirect_page(request, portal, after["redirect"]["return_url"])
        if after.get("type") == "hosted_confirmation":
            messages.success(request, notice)
            return HttpResponseRedirect(reverse("portal:done"))
    messages.success(request, notice)
    return HttpResponseRedirect(reverse("portal:home"))
