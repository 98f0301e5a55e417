"""Developers > Webhooks: the endpoints of the current mode, each with its signing secret and every
delivery made to it; created, changed, rolled, resent and deleted through ``events.endpoints`` and
``events.delivery``, the functions the API and the worker use."""

from __future__ import annotations

import datetime as dt
from typing import Any

from cryptography.fernet import InvalidToken
from django.contrib import messages
from django.db.models import Count, Prefetch, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from billfold.core import clock
from billfold.core.errors import DomainError, NotFound
from billfold.dashboard.forms.common import add_domain_error
from billfold.dashboard.forms.developers import WEBHOOK_PARAMS, RollForm, WebhookEndpointForm
from billfold.dashboard.pages import paginate, query_without_page, render_page
from billfold.dashboard.security import livemode, safe_next, staff_page
from billfold.dashboard.templatetags.dashboard import when
from billfold.events import delivery as deliveries
from billfold.events import endpoints
from billfold.events.endpoints import MAX_ENDPOINTS
from billfold.events.models import Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint

SECTION = "developers"
TAB = "dashboard:webhooks"
# The window of the list's failure rate.
RECENT = dt.timedelta(days=7)
FILTERS: tuple[tuple[str, str], ...] = (
    ("all", "All"),
    ("succeeded", "Succeeded"),
    ("failed", "Failed"),
    ("pending", "Pending"),
)
# Attempts are in order of the time they started; the pk breaks ties.
ATTEMPT_ORDER = ("started", "pk")


def _endpoint(request: HttpRequest, endpoint_id: str) -> WebhookEndpoint:
    try:
        return endpoints.webhook_endpoint_get(public_id=endpoint_id, livemode=livemode(request))
    except NotFound:
        raise Http404("No such webhook endpoint") from None


def _context(**extra: Any) -> dict[str, Any]:
    return {"developer_tab": TAB, **extra}


def failure_rates(endpoint_ids: list[int], *, since: dt.datetime) -> dict[int, tuple[int, int]]:
    """Endpoint pk → (failed attempts, attempts) since ``since``; a 2xx answer is a success."""
    success = Q(status_code__gte=200, status_code__lt=300)
    rows = (
        WebhookAttempt.objects.filter(delivery__endpoint_id__in=endpoint_ids, started__gte=since)
        .values("delivery__endpoint_id")
        .annotate(total=Count("pk"), failed=Count("pk", filter=~success | Q(status_code__isnull=True)))
    )
    return {row["delivery__endpoint_id"]: (row["failed"], row["total"]) for row in rows}


@staff_page
@require_http_methods(["GET", "HEAD"])
def webhook_list(request: HttpRequest) -> HttpResponse:
    rows = list(endpoints.webhook_endpoint_list(livemode=livemode(request)).order_by("-created", "-pk"))
    rates = failure_rates([e.pk for e in rows], since=clock.now() - RECENT)
    listed = []
    for endpoint in rows:
        failed, total = rates.get(endpoint.pk, (0, 0))
        listed.append(
            {
                "endpoint": endpoint,
                "all_events": "*" in endpoint.enabled_events,
                "event_count": len(endpoint.enabled_events),
                "failed": failed,
                "attempts": total,
                "failure_percent": round(100 * failed / total) if total else None,
            }
        )
    return render_page(
        request,
        "dashboard/developers/webhook_list.html",
        _context(endpoints=listed, full=len(rows) >= MAX_ENDPOINTS, max_endpoints=MAX_ENDPOINTS),
        section=SECTION,
    )


def _save(request: HttpRequest, endpoint: WebhookEndpoint | None) -> HttpResponse:
    editing = endpoint is not None
    initial = WebhookEndpointForm.initial_for(endpoint) if endpoint is not None else None
    form = WebhookEndpointForm(request.POST if request.method == "POST" else None, initial=initial, editing=editing)
    if request.method == "POST" and form.is_valid():
        values = form.endpoint_values()
        try:
            if endpoint is None:
                endpoint = endpoints.webhook_endpoint_create(
                    livemode=livemode(request),
                    url=values["url"],
                    enabled_events=values["enabled_events"],
                    description=values["description"],
                ).endpoint
                messages.success(
                    request, "The endpoint was added. Reveal its signing secret below to verify its deliveries."
                )
            else:
                endpoint = endpoints.webhook_endpoint_update(endpoint=endpoint, values=values)
                messages.success(request, "Your changes were saved.")
        except DomainError as refused:
            add_domain_error(form, refused, WEBHOOK_PARAMS)
        else:
            return redirect("dashboard:webhook", endpoint_id=endpoint.public_id)
    return render_page(
        request,
        "dashboard/developers/webhook_form.html",
        _context(form=form, endpoint=endpoint),
        section=SECTION,
        status=400 if request.method == "POST" else 200,
    )


@staff_page
@require_http_methods(["GET", "HEAD", "POST"])
def webhook_new(request: HttpRequest) -> HttpResponse:
    return _save(request, None)


@staff_page
@require_http_methods(["GET", "HEAD", "POST"])
def webhook_edit(request: HttpRequest, endpoint_id: str) -> HttpResponse:
    return _save(request, _endpoint(request, endpoint_id))


@staff_page
@require_http_methods(["GET", "HEAD", "POST"])
def webhook_detail(request: HttpRequest, endpoint_id: str) -> HttpResponse:
    """The endpoint and its deliveries; a POST here (the "Reveal" button) shows the signing secret."""
    endpoint = _endpoint(request, endpoint_id)
    now = clock.now()
    secret = None
    if request.method == "POST":
        try:
            secret = endpoints.webhook_endpoint_secrets(endpoint, now=now)[0]
        except InvalidToken:
            messages.error(
                request,
                "The signing secret cannot be read: it was encrypted under another SECRET_KEY. "
                "Roll the secret to make a new one.",
            )
    status = request.GET.get("status", "all")
    if status not in dict(FILTERS):
        status = "all"
    rows = WebhookDelivery.objects.filter(endpoint=endpoint).select_related("event")
    if status != "all":
        rows = rows.filter(status=status)
    rows = rows.prefetch_related(
        Prefetch("attempt_log", queryset=WebhookAttempt.objects.order_by(*ATTEMPT_ORDER))
    ).order_by("-created", "-pk")
    previous_until = endpoint.previous_secret_expires
    return render_page(
        request,
        "dashboard/developers/webhook_detail.html",
        _context(
            endpoint=endpoint,
            secret=secret,
            previous_until=previous_until if previous_until is not None and previous_until > now else None,
            page=paginate(request, rows),
            status=status,
            filters=FILTERS,
            pager_query=query_without_page(request),
            now=now,
        ),
        section=SECTION,
    )


@staff_page
@require_http_methods(["GET", "HEAD", "POST"])
def webhook_roll(request: HttpRequest, endpoint_id: str) -> HttpResponse:
    endpoint = _endpoint(request, endpoint_id)
    back = reverse("dashboard:webhook", args=[endpoint.public_id])
    form = RollForm(request.POST if request.method == "POST" else None, initial={"expires": "24h"})
    if request.method == "POST" and form.is_valid():
        keep = form.expires_in()
        endpoints.webhook_endpoint_roll_secret(endpoint=endpoint, keep_previous_for=keep)
        if keep:
            until = when(clock.now() + keep)
            done = f"The previous secret also signs deliveries until {until} UTC, so either one verifies them."
        else:
            done = "The previous secret no longer signs deliveries."
        messages.success(request, f"The signing secret was rolled. {done} Reveal the new secret below.")
        return redirect(back)
    return render_page(
        request,
        "dashboard/developers/roll.html",
        _context(
            form=form,
            heading="Roll the signing secret?",
            explanation=[
                f"A new secret signs the deliveries to {endpoint.url}.",
                "Until the current secret stops working, every delivery carries a signature made with each of "
                "them, so your receiver keeps verifying while you switch it to the new secret. Choose “Now” if "
                "the secret leaked.",
            ],
            button="Roll secret",
            action=reverse("dashboard:webhook-roll", args=[endpoint.public_id]),
            back=back,
        ),
        section=SECTION,
        status=400 if request.method == "POST" else 200,
    )


@staff_page
@require_http_methods(["GET", "HEAD", "POST"])
def webhook_status(request: HttpRequest, endpoint_id: str) -> HttpResponse:
    """Disable (after a confirmation) or enable the endpoint."""
    endpoint = _endpoint(request, endpoint_id)
    enabled = endpoint.status == WebhookEndpoint.ENABLED
    back = reverse("dashboard:webhook", args=[endpoint.public_id])
    if request.method == "POST":
        endpoints.webhook_endpoint_update(endpoint=endpoint, values={"disabled": enabled})
        messages.success(
            request,
            "The endpoint was disabled: no events are sent to it."
            if enabled
            else "The endpoint was enabled: new events are sent to it.",
        )
        return redirect(back)
    if enabled:
        confirm = {
            "heading": "Disable this endpoint?",
            "explanation": [
                f"No events are sent to {endpoint.url} while it is disabled, and deliveries still waiting to be "
                "sent or retried are marked failed.",
                "You can enable it again later, and resend the events it missed from its page.",
            ],
            "button": "Disable endpoint",
        }
    else:
        confirm = {
            "heading": "Enable this endpoint?",
            "explanation": [f"New events of the types it listens to are sent to {endpoint.url} again."],
            "button": "Enable endpoint",
            "button_class": "primary",
        }
    return render_page(
        request,
        "dashboard/developers/confirm.html",
        _context(**confirm, action=reverse("dashboard:webhook-status", args=[endpoint.public_id]), back=back),
        section=SECTION,
    )


@staff_page
@require_http_methods(["GET", "HEAD", "POST"])
def webhook_delete(request: HttpRequest, endpoint_id: str) -> HttpResponse:
    endpoint = _endpoint(request, endpoint_id)
    if request.method == "POST":
        endpoints.webhook_endpoint_delete(endpoint=endpoint)
        messages.success(request, f"The endpoint {endpoint.url} was deleted.")
        return redirect("dashboard:webhooks")
    return render_page(
        request,
        "dashboard/developers/confirm.html",
        _context(
            heading="Delete this endpoint?",
            explanation=[
                f"Events are no longer sent to {endpoint.url}, and its delivery history and signing secret are "
                "deleted with it. This cannot be undone.",
                "To stop deliveries for a while instead, disable the endpoint.",
            ],
            button="Delete endpoint",
            action=reverse("dashboard:webhook-delete", args=[endpoint.public_id]),
            back=reverse("dashboard:webhook", args=[endpoint.public_id]),
        ),
        section=SECTION,
    )


@staff_page
@require_POST
def webhook_resend(request: HttpRequest, endpoint_id: str, event_id: str) -> HttpResponse:
    """Send an event to the endpoint again now (the worker does, within a second or so)."""
    endpoint = _endpoint(request, endpoint_id)
    back = safe_next(request, request.POST.get("next"), reverse("dashboard:webhook", args=[endpoint.public_id]))
    row = (
        WebhookDelivery.objects.filter(endpoint=endpoint, event__public_id=event_id, event__livemode=endpoint.livemode)
        .order_by("-created", "-pk")
        .first()
    )
    if row is None:
        raise Http404("This event was never sent to this endpoint")
    try:
        deliveries.delivery_resend(delivery=row)
    except DomainError as refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, f"{event_id} was queued: the worker sends it to {endpoint.url} in a moment.")
    return redirect(back)


def event_deliveries(event: Event) -> list[WebhookDelivery]:
    """An event's deliveries with their endpoint and attempts, for its page."""
    return list(
        WebhookDelivery.objects.filter(event=event)
        .select_related("endpoint", "event")
        .prefetch_related(Prefetch("attempt_log", queryset=WebhookAttempt.objects.order_by(*ATTEMPT_ORDER)))
        .order_by("-created", "-pk")
    )
