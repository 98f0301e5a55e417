"""Subscriptions and invoices in a real browser: filters, canceling (at period end or now, after a
confirmation), and voiding or settling invoices; every action goes through the billing services."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page

from billfold.billing.models import Invoice, Subscription
from billfold.events.models import Event
from tests.dashboard.helpers import customer, monthly_price, shot, sign_in_browser, subscribe

pytestmark = pytest.mark.django_db(transaction=True)


def a_subscription(email: str = "jenny@example.com", name: str = "Jenny Rosen") -> Subscription:
    buyer = customer(email=email, name=name)
    return subscribe(buyer, monthly_price(2900), quantity=2)


def test_cancel_a_subscription_at_period_end_then_keep_it(page: Page, live_server: Any) -> None:
    subscription = a_subscription()
    sign_in_browser(page, live_server)
    page.goto(f"{live_server.url}/dashboard/subscriptions")
    page.get_by_role("link", name="Jenny Rosen").click()
    page.get_by_role("link", name="Cancel subscription").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Cancel this subscription?"
    # At period end is the default choice.
    assert page.get_by_role("radio", name="At the end of the current period").is_checked()
    page.get_by_role("button", name="Cancel subscription").click()
    assert page.get_by_role("status").first.inner_text() == (
        "The subscription will be canceled at the end of the current period."
    )
    subscription.refresh_from_db()
    assert (subscription.status, subscription.cancel_at_period_end) == ("active", True)
    shot(page, "dashboard-subscription-cancels-at-period-end")

    page.get_by_role("button", name="Don't cancel").click()
    assert page.get_by_role("status").inner_text() == "The subscription will renew as usual."
    subscription.refresh_from_db()
    assert subscription.cancel_at_period_end is False


def test_cancel_a_subscription_now(page: Page, live_server: Any) -> None:
    subscription = a_subscription()
    other = a_subscription("ada@example.com", "Ada Lovelace")
    sign_in_browser(page, live_server)
    page.goto(f"{live_server.url}/dashboard/subscriptions/{subscription.public_id}/cancel")
    # Backing out changes nothing.
    page.get_by_role("link", name="Keep subscription").click()
    subscription.refresh_from_db()
    assert subscription.status == "active"

    page.get_by_role("link", name="Cancel subscription").click()
    page.get_by_role("radio", name="Immediately").check()
    page.get_by_role("button", name="Cancel subscription").click()
    assert page.get_by_role("status").inner_text() == "The subscription was canceled."
    subscription.refresh_from_db()
    assert subscription.status == "canceled" and subscription.ended_at is not None
    assert Event.objects.filter(object_id=subscription.public_id, type="customer.subscription.deleted").count() == 1
    assert page.get_by_role("link", name="Cancel subscription").count() == 0

    # The list shows current subscriptions by default; canceled ones under their filter.
    page.goto(f"{live_server.url}/dashboard/subscriptions")
    table = page.get_by_role("table")
    assert table.get_by_role("link", name="Ada Lovelace").is_visible()
    assert table.get_by_role("link", name="Jenny Rosen").count() == 0
    page.get_by_role("link", name="Canceled").click()
    table = page.get_by_role("table")
    assert table.get_by_role("link", name="Jenny Rosen").is_visible()
    assert table.get_by_role("link", name="Ada Lovelace").count() == 0
    shot(page, "dashboard-subscriptions-canceled")
    other.refresh_from_db()
    assert other.status == "active"


def test_void_an_invoice(page: Page, live_server: Any) -> None:
    subscription = a_subscription()
    invoice = Invoice.objects.get(subscription_id=subscription.public_id)
    assert invoice.status == "open"
    sign_in_browser(page, live_server)
    page.goto(f"{live_server.url}/dashboard/invoices?status=open")
    page.get_by_role("link", name=str(invoice.number)).click()
    assert page.get_by_role("heading", level=1).inner_text().startswith("$58.00")

    # The hosted page and the PDF are linked.
    hosted = page.get_by_role("link", name="Hosted invoice page (opens in a new tab)")
    assert hosted.get_attribute("href") == f"/i/{invoice.hosted_token}"
    pdf = page.request.get(live_server.url + str(page.get_by_role("link", name="Download PDF").get_attribute("href")))
    assert pdf.status == 200 and pdf.body().startswith(b"%PDF-")

    page.get_by_role("link", name="Void invoice").click()
    assert page.get_by_role("heading", level=1).inner_text() == f"Void invoice {invoice.number}?"
    shot(page, "dashboard-invoice-void-confirm")
    page.get_by_role("button", name="Void invoice").click()
    assert page.get_by_role("status").inner_text() == "The invoice was voided."
    invoice.refresh_from_db()
    assert invoice.status == "void"
    assert page.locator(".page-head .badge").inner_text() == "Void"
    # A void invoice has no more actions.
    assert page.get_by_role("group", name="Invoice actions").count() == 0
    page.goto(f"{live_server.url}/dashboard/invoices?status=void")
    assert page.get_by_role("link", name=str(invoice.number)).is_visible()


def test_mark_uncollectible_then_paid_out_of_band(page: Page, live_server: Any) -> None:
    subscription = a_subscription()
    invoice = Invoice.objects.get(subscription_id=subscription.public_id)
    sign_in_browser(page, live_server)
    page.goto(f"{live_server.url}/dashboard/invoices/{invoice.public_id}")
    page.get_by_role("link", name="Mark uncollectible").click()
    page.get_by_role("button", name="Mark uncollectible").click()
    assert page.get_by_role("status").inner_text() == "The invoice was marked uncollectible."
    invoice.refresh_from_db()
    assert invoice.status == "uncollectible"

    page.get_by_role("link", name="Mark paid").click()
    assert "Record that $58.00 was paid outside Billfold" in page.locator("main").inner_text()
    page.get_by_role("button", name="Mark paid").click()
    assert page.get_by_role("status").inner_text() == "The invoice was marked as paid out of band."
    invoice.refresh_from_db()
    assert (invoice.status, invoice.paid_out_of_band, invoice.amount_paid) == ("paid", True, 5800)
    shot(page, "dashboard-invoice-paid")


def test_create_a_subscription_from_the_customer_page(page: Page, live_server: Any) -> None:
    jenny = customer(
        email="jenny@example.com",
        name="Jenny Rosen",
        payment_method="pm_card_visa",
        invoice_settings={"default_payment_method": "pm_card_visa"},
    )
    monthly_price(2900, name="Team")
    sign_in_browser(page, live_server)
    page.goto(f"{live_server.url}/dashboard/customers/{jenny.public_id}")
    page.get_by_role("link", name="Add subscription").click()
    assert page.get_by_label("Customer", exact=True).input_value() == jenny.public_id
    # Nothing chosen yet: the form says what is missing and keeps the rest.
    page.get_by_label("Quantity").fill("4")
    page.get_by_role("button", name="Create subscription").click()
    assert page.get_by_text("Choose the price to subscribe to.").is_visible()
    assert page.get_by_label("Quantity").input_value() == "4"
    page.get_by_label("Price").select_option(label="$29.00 / month")
    shot(page, "dashboard-subscription-new")
    page.get_by_role("button", name="Create subscription").click()
    assert page.get_by_role("status").first.inner_text() == "The subscription was created."
    subscription = Subscription.objects.get(customer=jenny)
    assert (subscription.status, subscription.items.get().quantity) == ("active", 4)
    assert page.get_by_text("$116.00").first.is_visible()
