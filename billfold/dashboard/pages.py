"""Rendering a dashboard page: the shell's context (navigation, mode) around each page's own."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from billfold.dashboard.security import livemode

# (section, label, URL name) of the left navigation, in order.
NAVIGATION: tuple[tuple[str, str, str], ...] = (
    ("home", "Home", "dashboard:home"),
    ("products", "Product catalog", "dashboard:products"),
    ("customers", "Customers", "dashboard:customers"),
    ("subscriptions", "Subscriptions", "dashboard:subscriptions"),
    ("invoices", "Invoices", "dashboard:invoices"),
    ("portal", "Customer portal", "dashboard:portal-settings"),
    ("branding", "Branding", "dashboard:branding"),
    ("developers", "Developers", "dashboard:developers"),
)
# (label, URL name) of the Developers section's tabs, in order.
DEVELOPER_TABS: tuple[tuple[str, str], ...] = (
    ("API keys", "dashboard:developers"),
    ("Webhooks", "dashboard:webhooks"),
    ("Events", "dashboard:events"),
    ("Test clocks", "dashboard:test-clocks"),
    ("Emails", "dashboard:emails"),
)
PAGE_SIZE = 25


def render_page(
    request: HttpRequest, template: str, context: dict[str, Any] | None = None, *, section: str, status: int = 200
) -> HttpResponse:
    full: dict[str, Any] = {
        "livemode": livemode(request),
        "section": section,
        "navigation": NAVIGATION,
        "developer_tabs": DEVELOPER_TABS,
        **(context or {}),
    }
    return render(request, template, full, status=status)


def paginate(request: HttpRequest, rows: QuerySet[Any]) -> Page[Any]:
    """One page of ``rows`` (25 a page, ``?page=N``); out-of-range pages show the last one."""
    return Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))


def query_without_page(request: HttpRequest) -> str:
    """The current query string without ``page``, for the pager's links to keep the filters."""
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()
