"""Developers > Events: the log of the current mode's events, newest first, with filters, and one
event's JSON exactly as ``GET /v1/events/{id}`` answers it, its webhook deliveries and links to the
dashboard pages of the objects it is about."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_http_methods

from billfold.billing.invoices.selectors import invoice_get
from billfold.billing.subscriptions.selectors import subscription_get
from billfold.catalog.selectors import product_get
from billfold.core import clock
from billfold.core.errors import NotFound
from billfold.customers.selectors import customer_get
from billfold.dashboard.forms.developers import EventFilterForm
from billfold.dashboard.pages import paginate, query_without_page, render_page
from billfold.dashboard.security import livemode, staff_page
from billfold.dashboard.views.developers_webhooks import event_deliveries
from billfold.events.delivery import event_body
from billfold.events.event_types import EVENT_TYPES
from billfold.events.models import Event

SECTION = "developers"
TAB = "dashboard:events"

# Objects with a dashboard page: the field of an event's object naming one, what it is called, the
# page's URL name, and the selector that says whether it exists in this mode.
_Getter = Callable[..., Any]
_PAGES: tuple[tuple[str, str, str, _Getter], ...] = (
    ("customer", "Customer", "dashboard:customer", customer_get),
    ("subscription", "Subscription", "dashboard:subscription", subscription_get),
    ("invoice", "Invoice", "dashboard:invoice", invoice_get),
    ("product", "Product", "dashboard:product", product_get),
)
_JSON_TOKEN = re.compile(r'("(?:[^"\\]|\\.)*")(\s*:)?|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)|\b(true|false|null)\b')


def filtered_events(*, livemode: bool, filters: dict[str, Any]) -> QuerySet[Event]:
    """The mode's events matching the log's filters: ``type`` exact when it names an event type,
    else as the start of one (``invoice.``); ``object`` exact; ``since``/``until`` whole days, UTC."""
    events = Event.objects.filter(livemode=livemode)
    kind = filters.get("type") or ""
    if kind:
        events = events.filter(type=kind) if kind in EVENT_TYPES else events.filter(type__startswith=kind)
    if filters.get("object"):
        events = events.filter(object_id=filters["object"])
    since: dt.date | None = filters.get("since")
    until: dt.date | None = filters.get("until")
    if since is not None:
        events = events.filter(created__gte=dt.datetime.combine(since, dt.time(0), tzinfo=dt.UTC))
    if until is not None:
        events = events.filter(created__lt=dt.datetime.combine(until + dt.timedelta(days=1), dt.time(0), tzinfo=dt.UTC))
    return events


@staff_page
@require_http_methods(["GET", "HEAD"])
def event_list_page(request: HttpRequest) -> HttpResponse:
    mode = livemode(request)
    form = EventFilterForm(request.GET)
    filters = form.cleaned_data if form.is_valid() else {}
    events = filtered_events(livemode=mode, filters=filters).only(
        "public_id", "type", "created", "object_id", "pending_webhooks", "livemode"
    )
    types = Event.objects.filter(livemode=mode).values_list("type", flat=True).distinct().order_by("type")
    return render_page(
        request,
        "dashboard/developers/event_list.html",
        {
            "developer_tab": TAB,
            "form": form,
            "filtered": bool(filters and any(filters.values())),
            "page": paginate(request, events.order_by("-created", "-pk")),
            "pager_query": query_without_page(request),
            "types": list(types),
        },
        section=SECTION,
    )


def highlighted_json(data: Any) -> SafeString:
    """``data`` as indented JSON, every piece escaped, with keys, strings, numbers and literals in
    spans for the stylesheet to colour."""
    text = json.dumps(data, indent=2, ensure_ascii=False)
    out: list[str] = []
    position = 0
    for match in _JSON_TOKEN.finditer(text):
        out.append(escape(text[position : match.start()]))
        string, colon, number, literal = match.groups()
        if string is not None:
            css = "json-key" if colon else "json-string"
            out.append(f'<span class="{css}">{escape(string)}</span>{escape(colon or "")}')
        elif number is not None:
            out.append(f'<span class="json-number">{escape(number)}</span>')
        else:
            out.append(f'<span class="json-literal">{escape(literal)}</span>')
        position = match.end()
    out.append(escape(text[position:]))
    return mark_safe("".join(out))  # noqa: S308 - every piece above is escaped


def _object_id(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) and value else None


def related_pages(obj: dict[str, Any], *, livemode: bool) -> list[dict[str, str]]:
    """Links to the dashboard pages of the event's object and of the objects it belongs to, when
    they exist in this mode (a deleted customer has no page any more)."""
    kind = obj.get("object")
    candidates: list[tuple[str, str]] = []
    if kind in {field for field, *_ in _PAGES}:
        candidates.append((str(kind), str(obj.get("id", ""))))
    if kind == "price":
        candidates.append(("product", _object_id(obj.get("product")) or ""))
    for field, *_ in _PAGES:
        if field != kind and (related := _object_id(obj.get(field))):
            candidates.append((field, related))
    links: list[dict[str, str]] = []
    seen: set[str] = set()
    for field, object_id in candidates:
        if not object_id or object_id in seen:
            continue
        seen.add(object_id)
        _, label, url_name, getter = next(page for page in _PAGES if page[0] == field)
        try:
            getter(public_id=object_id, livemode=livemode)
        except NotFound:
            continue
        links.append({"label": label, "id": object_id, "url": reverse(url_name, args=[object_id])})
    return links


@staff_page
@require_http_methods(["GET", "HEAD"])
def event_detail(request: HttpRequest, event_id: str) -> HttpResponse:
    event = Event.objects.filter(public_id=event_id, livemode=livemode(request)).first()
    if event is None:
        raise Http404("No such event")
    # What the API and every webhook send now (``pending_webhooks`` included).
    data = json.loads(event_body(event))
    obj = event.data.get("object") or {}
    return render_page(
        request,
        "dashboard/developers/event_detail.html",
        {
            "developer_tab": TAB,
            "event": event,
            "json": highlighted_json(data),
            "related": related_pages(obj, livemode=event.livemode),
            "deliveries": event_deliveries(event),
            "now": clock.now(),
        },
        section=SECTION,
    )
