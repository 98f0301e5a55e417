"""Developers > API keys, Webhooks and Events in a real browser, on a desktop and on a phone."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
import stripe
from django.urls import reverse
from playwright.sync_api import Page, ViewportSize, expect

from billfold.accounts.models import ApiKey
from billfold.accounts.services import api_key_create
from billfold.core.clock import frozen_at
from billfold.events import delivery
from billfold.events.models import Event, WebhookDelivery, WebhookEndpoint
from tests.dashboard.helpers import customer, monthly_price, shot, sign_in_browser, subscribe
from tests.events.receiver import Receiver, receiver

__all__ = ["receiver"]

pytestmark = pytest.mark.django_db(transaction=True)

PHONE: ViewportSize = {"width": 375, "height": 812}


def watch(page: Page) -> list[str]:
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    return problems


def unexpected(problems: list[str], *refused_forms: str) -> list[str]:
    """The problems besides the 400 answers of forms refused on purpose (and the console's note of them)."""
    allowed = {f"400 {url}" for url in refused_forms}
    return [p for p in problems if p not in allowed and "status of 400 (Bad Request)" not in p]


def fits(page: Page, width: int) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth") <= width)


def test_create_a_key_see_its_secret_once_and_copy_it(page: Page, live_server: Any) -> None:
    api_key_create(livemode=False, name="Quick start")
    sign_in_browser(page, live_server)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    problems = watch(page)
    page.goto(f"{live_server.url}/dashboard/developers")
    tabs = page.get_by_role("navigation", name="Developers")
    assert tabs.get_by_role("link", name="API keys").get_attribute("aria-current") == "page"
    assert page.get_by_role("table").get_by_role("row").count() == 2
    shot(page, "dashboard-developers-keys")

    page.get_by_role("link", name="Create secret key").first.click()
    page.get_by_role("button", name="Create key").click()
    assert page.locator(".error").all_inner_texts() == [
        "Give the key a name, so that you can tell it from the others later."
    ]
    page.get_by_label("Name").fill("Billing backend")
    shot(page, "dashboard-developers-key-new")
    page.get_by_role("button", name="Create key").click()

    assert "You will not see it again" in page.get_by_role("alert").inner_text()
    secret = page.get_by_role("textbox", name="Secret key").input_value()
    assert secret.startswith("sk_test_") and len(secret) == 56
    copy = page.locator("button[data-copy=new-secret]")
    copy.click()
    expect(copy).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == secret
    shot(page, "dashboard-developers-key-secret")

    page.get_by_role("link", name="Done").click()
    assert secret not in page.content()
    assert page.get_by_role("row", name="Billing backend").is_visible()
    page.go_back()
    assert secret not in page.content()
    assert ApiKey.objects.filter(name="Billing backend").count() == 1

    # Roll it, keeping the old secret for a day.
    page.goto(f"{live_server.url}/dashboard/developers")
    page.get_by_role("row", name="Billing backend").get_by_role("link", name="Roll").click()
    page.get_by_label("In 24 hours").check()
    shot(page, "dashboard-developers-key-roll")
    page.get_by_role("button", name="Roll key").click()
    rolled = page.get_by_role("textbox", name="Secret key").input_value()
    assert rolled != secret and "keeps working until" in page.locator("main").inner_text()
    page.get_by_role("link", name="Done").click()
    assert page.get_by_role("row", name="Billing backend").count() == 2
    shot(page, "dashboard-developers-keys-rolled")

    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/dashboard/developers")
    assert fits(page, PHONE["width"])
    shot(page, "dashboard-developers-keys-phone")
    assert unexpected(problems, f"{live_server.url}/dashboard/developers/keys/new") == []
    assert len(problems) == 2


def test_create_a_webhook_endpoint_and_resend_a_delivery(page: Page, live_server: Any, receiver: Receiver) -> None:
    sign_in_browser(page, live_server)
    problems = watch(page)
    page.goto(f"{live_server.url}/dashboard/developers/webhooks")
    shot(page, "dashboard-developers-webhooks-empty")
    page.get_by_role("link", name="Add endpoint").first.click()

    page.get_by_label("Endpoint URL").fill("localhost:4242/hooks")
    page.get_by_label("Description").fill("Fulfilment")
    search = page.get_by_role("searchbox", name="Search event types")
    search.fill("customer.cre")
    assert page.locator("[data-event-type]:visible").count() == 1
    page.get_by_label("customer.created").check()
    search.fill("invoice paid")
    assert [t.get_attribute("data-event-type") for t in page.locator("[data-event-type]:visible").all()] == [
        "invoice.paid"
    ]
    page.get_by_label("invoice.paid").check()
    assert page.locator("[data-selected-count]").inner_text() == "2 selected"
    search.fill("nothing.like.this")
    assert page.get_by_text("No event type matches your search.").is_visible()
    search.press("Enter")  # filters; does not send the form
    assert page.url.endswith("/webhooks/new")
    search.fill("")
    page.get_by_role("button", name="Add endpoint").click()

    # The endpoint service refuses the URL; the form keeps everything.
    assert page.locator("#id_url_error").inner_text().startswith("Invalid URL: 'localhost:4242/hooks'.")
    assert page.get_by_label("Description").input_value() == "Fulfilment"
    assert page.get_by_label("customer.created").is_checked() and page.get_by_label("invoice.paid").is_checked()
    shot(page, "dashboard-developers-webhook-form-error")
    page.get_by_label("Endpoint URL").fill(receiver.url)
    page.get_by_role("button", name="Add endpoint").click()
    assert "The endpoint was added." in page.get_by_role("status").inner_text()
    made = WebhookEndpoint.objects.get()
    assert made.enabled_events == ["customer.created", "invoice.paid"]

    page.get_by_role("button", name="Reveal").click()
    secret = page.get_by_role("textbox", name="Signing secret").input_value()
    assert secret.startswith("whsec_")

    # An event, delivered by the worker's code; the first attempt fails, the resend succeeds.
    receiver.answers = [500, 200]
    buyer = customer(email="jenny@example.com", name="Jenny Rosen")
    assert delivery.deliver_due() == 1
    page.reload()
    row = page.locator("details.delivery").first
    assert "customer.created" in row.inner_text() and "Pending" in row.inner_text()
    row.locator("summary").click()
    assert "HTTP 500" in row.inner_text() and "something broke" in row.inner_text()
    shot(page, "dashboard-developers-webhook")
    row.get_by_role("button", name="Resend").click()
    assert "was queued" in page.get_by_role("status").inner_text()
    assert delivery.deliver_due() == 1
    got = receiver.received[-1]
    sent = stripe.Webhook.construct_event(got.body.decode(), got.headers["Stripe-Signature"], secret)
    assert sent.data.object.id == buyer.public_id
    assert WebhookDelivery.objects.get().status == "succeeded"
    page.get_by_role("link", name="Succeeded").click()
    page.locator("details.delivery summary").first.click()
    assert "HTTP 200" in page.locator("details.delivery").first.inner_text()
    shot(page, "dashboard-developers-webhook-succeeded")

    page.goto(f"{live_server.url}/dashboard/developers/webhooks")
    assert page.get_by_role("row", name=receiver.url).get_by_text("50%").is_visible()
    shot(page, "dashboard-developers-webhooks")
    page.set_viewport_size(PHONE)
    for name, path in (
        ("webhooks", "/dashboard/developers/webhooks"),
        ("webhook", f"/dashboard/developers/webhooks/{made.public_id}"),
        ("webhook-new", "/dashboard/developers/webhooks/new"),
    ):
        page.goto(live_server.url + path)
        assert fits(page, PHONE["width"]), name
        shot(page, f"dashboard-developers-{name}-phone")
    assert unexpected(problems, f"{live_server.url}/dashboard/developers/webhooks/new") == []


def test_open_the_events_log_filter_it_and_read_an_event(page: Page, live_server: Any) -> None:
    moment = dt.datetime(2030, 4, 10, 8, 0, tzinfo=dt.UTC)
    buyer = customer(at=moment, email="jenny@example.com", name="Jenny <Rosen>")
    with frozen_at(moment):
        subscribe(buyer, monthly_price(2900, at=moment), at=moment)
    sign_in_browser(page, live_server)
    problems = watch(page)
    page.goto(f"{live_server.url}{reverse('dashboard:events')}")
    rows = page.get_by_role("table").get_by_role("row")
    assert rows.count() == 1 + Event.objects.filter(livemode=False).count()
    shot(page, "dashboard-developers-events")

    page.get_by_label("Event type").fill("customer.")
    page.get_by_label("From").fill("2030-04-10")
    page.get_by_role("button", name="Filter").click()
    shown = [t.inner_text() for t in page.locator("tbody th a").all()]
    assert shown and all(kind.startswith("customer.") for kind in shown)
    assert page.get_by_label("Event type").input_value() == "customer."
    shot(page, "dashboard-developers-events-filtered")

    page.get_by_role("link", name="customer.created").click()
    assert page.get_by_role("heading", name="customer.created").is_visible()
    data = json.loads(page.locator("pre.json").inner_text())
    assert data["type"] == "customer.created" and data["data"]["object"]["name"] == "Jenny <Rosen>"
    assert page.get_by_role("link", name=f"Customer {buyer.public_id}").is_visible()
    shot(page, "dashboard-developers-event")
    page.get_by_role("link", name=f"Customer {buyer.public_id}").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Jenny <Rosen>"

    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}{reverse('dashboard:events')}")
    assert fits(page, PHONE["width"])
    shot(page, "dashboard-developers-events-phone")
    invoice_event = Event.objects.filter(type="invoice.created").get()
    page.goto(f"{live_server.url}{reverse('dashboard:event', args=[invoice_event.public_id])}")
    assert fits(page, PHONE["width"])
    shot(page, "dashboard-developers-event-phone")
    assert problems == []
