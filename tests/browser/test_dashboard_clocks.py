"""Developers > Test clocks and Emails in a real browser: create a clock, add a subscribed customer,
advance it a month watching its progress, see the renewal it billed, then open the receipt email."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import transaction
from playwright.sync_api import Page, expect

from billfold.billing.models import Invoice
from billfold.clocks import advance
from billfold.clocks import models as clock_models
from billfold.core import clock
from billfold.emails import sending
from billfold.emails.models import Email
from tests.browser.conftest import ARTIFACTS
from tests.dashboard.helpers import monthly_price, shot, sign_in_browser

pytestmark = pytest.mark.django_db(transaction=True)

# How long each third of the way takes, so that the progress can be watched.
PAUSE = 1.5


def _slowly(*, clock: clock_models.TestClock, until: dt.datetime) -> None:
    """Stands in for a long advance: moves the clock a third, then two thirds of the way, pausing each time."""
    start = clock.frozen_time
    for fraction in (1, 2):
        with transaction.atomic():
            advance.clock_move_to(clock=clock, moment=start + (until - start) * fraction / 3)
        time.sleep(PAUSE)


_slowly.commits_itself = True  # type: ignore[attr-defined]


@contextmanager
def slow_advances() -> Iterator[None]:
    """``_slowly`` runs first in every advance (before the billing engine's hook), while the block lasts."""
    hooks = advance.advance_hooks()
    for hook in hooks:
        advance.unregister_advance_hook(hook)
    advance.register_advance_hook(_slowly)
    for hook in hooks:
        advance.register_advance_hook(hook)
    try:
        yield
    finally:
        advance.unregister_advance_hook(_slowly)


def test_advance_a_clock_by_a_month_and_open_the_receipt(page: Page, live_server: Any) -> None:
    monthly_price(2500, name="Team")
    sign_in_browser(page, live_server)
    page.goto(f"{live_server.url}/dashboard/developers/test-clocks")
    expect(page.get_by_role("heading", name="No test clocks yet")).to_be_visible()
    shot(page, "dashboard-clocks-empty")

    page.get_by_role("link", name="New test clock").first.click()
    page.get_by_label("Name").fill("Monthly renewal")
    page.get_by_label("Start date and time (UTC)").fill("2030-01-01T12:00")
    shot(page, "dashboard-clock-new")
    page.get_by_role("button", name="Create test clock").click()
    expect(page.get_by_role("heading", name="Monthly renewal")).to_be_visible()
    expect(page.locator("[data-clock-now]")).to_have_text("Jan 1, 2030, 12:00")

    page.get_by_role("link", name="Add customer").first.click()
    page.get_by_label("Name").fill("Ada Lovelace")
    page.get_by_label("Email address").fill("ada@example.com")
    page.get_by_label("Visa •••• 4242: every payment succeeds").check()
    page.get_by_label("Subscribe to").select_option(label="Team · $25.00 / month")
    shot(page, "dashboard-clock-add-customer")
    page.get_by_role("button", name="Add customer").click()
    expect(page.get_by_role("status").first).to_have_text(
        "The customer was added to the clock and subscribed (active)."
    )
    customers = page.get_by_role("region", name="Customers on this clock")
    expect(customers.get_by_role("link", name="Ada Lovelace")).to_be_visible()
    subscriptions = page.get_by_role("region", name="Their subscriptions")
    expect(subscriptions).to_contain_text("Team")
    expect(subscriptions).to_contain_text("Feb 1, 2030, 12:00")
    shot(page, "dashboard-clock-detail")

    with slow_advances():
        page.get_by_role("button", name="+1 month").click()
        expect(page.get_by_text("Advancing to Feb 1, 2030, 12:00", exact=False).first).to_be_visible()
        # The page follows the advance by itself: the bar moves, then the page shows the result.
        page.wait_for_function(
            "() => { const bar = document.querySelector('[data-clock-bar]'); return bar && bar.value > 0; }",
            timeout=10_000,
        )
        shot(page, "dashboard-clock-advancing")
        expect(page.get_by_role("heading", name="Last advance")).to_be_visible(timeout=30_000)
    report = page.get_by_role("region", name="Last advance")
    expect(report).to_contain_text("Advanced from Jan 1, 2030, 12:00 to Feb 1, 2030, 12:00. 1 invoice created.")
    expect(page.locator("[data-clock-now]")).to_have_text("Feb 1, 2030, 12:00")
    renewal = Invoice.objects.order_by("-pk").first()
    assert renewal is not None and renewal.status == "paid"
    assert renewal.created == dt.datetime(2030, 2, 1, 12, tzinfo=dt.UTC)
    expect(report.get_by_role("link", name=str(renewal.number))).to_be_visible()
    shot(page, "dashboard-clock-advanced")
    page.set_viewport_size({"width": 375, "height": 800})
    shot(page, "dashboard-clock-advanced-phone")
    page.get_by_role("link", name="Test clocks").first.click()
    expect(page.get_by_role("table")).to_contain_text("Monthly renewal")
    shot(page, "dashboard-clocks-phone")
    page.set_viewport_size({"width": 1280, "height": 900})
    shot(page, "dashboard-clocks")

    # What a worker's sender does in the next seconds: the first receipt, the renewal notice a week
    # before the renewal, and the renewal's receipt go out.
    sending.emails_send_due()
    with clock.frozen_at(clock.now() + sending.SETTLE):
        sending.emails_send_due()
    assert list(Email.objects.order_by("pk").values_list("kind", "status")) == [
        ("receipt", "sent"),
        ("upcoming_renewal", "sent"),
        ("receipt", "sent"),
    ]

    page.get_by_role("link", name="Emails", exact=True).click()
    page.get_by_label("Kind").select_option(label="Receipt")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("table").get_by_role("row")).to_have_count(3)
    shot(page, "dashboard-emails")
    page.get_by_role("link", name="ada@example.com").first.click()
    headers = page.get_by_role("region", name="Headers")
    expect(headers).to_contain_text("ada@example.com")
    frame = page.frame_locator("iframe.email-frame")
    expect(frame.get_by_role("heading", level=1)).to_have_text(f"Receipt #{renewal.number}")
    expect(frame.get_by_text("Thank you for your payment of $25.00", exact=False)).to_be_visible()
    expect(page.get_by_role("region", name="Text body")).to_contain_text("$25.00")
    shot(page, "dashboard-email-detail")
    page.set_viewport_size({"width": 375, "height": 800})
    page.reload()
    expect(frame.get_by_role("heading", level=1)).to_be_visible()
    shot(page, "dashboard-email-detail-phone")
    # The framed body as a phone shows it once scrolled to (a full-page capture leaves frames off-screen blank).
    page.locator("iframe.email-frame").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "dashboard-email-detail-phone-body.png"))


def test_live_mode_offers_the_switch_back_to_test_clocks(page: Page, live_server: Any) -> None:
    sign_in_browser(page, live_server)
    page.goto(f"{live_server.url}/dashboard/developers/test-clocks")
    page.get_by_role("switch", name="Test mode").click()
    page.goto(f"{live_server.url}/dashboard/developers/test-clocks")
    expect(page.get_by_role("heading", name="Test clocks are a test-mode tool")).to_be_visible()
    shot(page, "dashboard-clocks-live-mode")
    page.get_by_role("button", name="Switch to test mode").click()
    expect(page).to_have_url(f"{live_server.url}/dashboard/developers/test-clocks")
    expect(page.get_by_role("heading", name="No test clocks yet")).to_be_visible()
