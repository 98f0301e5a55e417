"""Every dashboard page in a real browser, on a desktop and on a phone: it loads under its CSP with
nothing refused, fits the screen, and is saved as a screenshot (test-artifacts/screenshots/)."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse
from playwright.sync_api import Page

from billfold.billing.models import Invoice, Subscription
from billfold.catalog.models import Product
from billfold.core.clock import frozen_at
from billfold.customers.models import Customer
from tests.dashboard.helpers import shot, sign_in_browser
from tests.dashboard.test_metrics import NOW, make_history

pytestmark = pytest.mark.django_db(transaction=True)


def pages() -> dict[str, str]:
    make_history()
    product = Product.objects.get(name="Pro", livemode=False, prices__unit_amount=2900)
    buyer = Customer.objects.get(email="c@example.com")
    subscription = Subscription.objects.filter(livemode=False, status="active").order_by("pk").first()
    assert subscription is not None
    invoice = Invoice.objects.filter(livemode=False, status="open").order_by("pk").first()
    assert invoice is not None
    return {
        "home": reverse("dashboard:home"),
        "products": reverse("dashboard:products"),
        "product-new": reverse("dashboard:product-new"),
        "product": reverse("dashboard:product", args=[product.public_id]),
        "product-edit": reverse("dashboard:product-edit", args=[product.public_id]),
        "price-new": reverse("dashboard:price-new", args=[product.public_id]),
        "customers": reverse("dashboard:customers"),
        "customer": reverse("dashboard:customer", args=[buyer.public_id]),
        "customer-new": reverse("dashboard:customer-new"),
        "subscriptions": reverse("dashboard:subscriptions") + "?status=all",
        "subscription": reverse("dashboard:subscription", args=[subscription.public_id]),
        "subscription-cancel": reverse("dashboard:subscription-cancel", args=[subscription.public_id]),
        "invoices": reverse("dashboard:invoices"),
        "invoice": reverse("dashboard:invoice", args=[invoice.public_id]),
        "invoice-void": reverse("dashboard:invoice-action", args=[invoice.public_id, "void"]),
    }


def watch(page: Page) -> list[str]:
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    return problems


@pytest.mark.parametrize(("width", "suffix"), [(1280, ""), (390, "-phone")])
def test_every_page_on_a_desktop_and_a_phone(page: Page, live_server: Any, width: int, suffix: str) -> None:
    with frozen_at(NOW):
        paths = pages()
        sign_in_browser(page, live_server)
        page.set_viewport_size({"width": width, "height": 900})
        problems = watch(page)
        for name, path in paths.items():
            response = page.goto(live_server.url + path)
            assert response is not None and response.status == 200, name
            # The stylesheet applied (the CSP let it in) and nothing scrolls sideways.
            assert page.evaluate("getComputedStyle(document.body).margin") == "0px", name
            assert page.evaluate("document.documentElement.scrollWidth") <= width, name
            shot(page, f"dashboard-{name}{suffix}")
        assert problems == []


def test_the_phone_menu_opens_and_closes_with_the_keyboard(page: Page, live_server: Any) -> None:
    sign_in_browser(page, live_server)
    page.set_viewport_size({"width": 390, "height": 800})
    page.goto(live_server.url + reverse("dashboard:home"))
    menu = page.get_by_role("button", name="Menu")
    navigation = page.get_by_role("navigation", name="Main")
    assert navigation.is_hidden()
    menu.focus()
    page.keyboard.press("Enter")
    assert menu.get_attribute("aria-expanded") == "true"
    assert navigation.get_by_role("link", name="Customers").is_visible()
    shot(page, "dashboard-menu-phone")
    page.keyboard.press("Escape")
    assert navigation.is_hidden() and menu.get_attribute("aria-expanded") == "false"


def test_the_keyboard_reaches_the_content_first(page: Page, live_server: Any) -> None:
    sign_in_browser(page, live_server)
    page.goto(live_server.url + reverse("dashboard:products"))
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    assert skip.evaluate("link => link === document.activeElement")
    assert skip.is_visible()  # shown when focused
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    # From the main content on: the page's own first control, not the navigation.
    assert page.evaluate("document.activeElement.textContent.trim()") == "+ Add product"
