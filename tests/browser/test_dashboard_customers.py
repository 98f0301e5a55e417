"""Customers in a real browser: finding one by email or id, its page, creating and editing one."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page

from billfold.customers.models import Customer
from tests.dashboard.helpers import customer, monthly_price, shot, sign_in_browser, subscribe

pytestmark = pytest.mark.django_db(transaction=True)


def test_search_a_customer_by_email_and_open_it(page: Page, live_server: Any) -> None:
    jenny = customer(email="jenny.rosen@example.com", name="Jenny Rosen", payment_method="pm_card_visa")
    customer(email="ada@example.com", name="Ada Lovelace")
    customer(livemode=True, email="jenny.live@example.com", name="Jenny Live")
    subscribe(jenny, monthly_price(2900), quantity=3)
    sign_in_browser(page, live_server)
    page.goto(f"{live_server.url}/dashboard/customers")

    search = page.get_by_role("searchbox", name="Search customers")
    search.fill("jenny.rosen@example")
    search.press("Enter")
    rows = page.get_by_role("table").get_by_role("row")
    assert rows.count() == 2  # the header and Jenny; live-mode customers are not shown in test mode
    shot(page, "dashboard-customers-search")
    page.get_by_role("link", name="Jenny Rosen").click()

    assert page.get_by_role("heading", level=1).inner_text() == "Jenny Rosen"
    main = page.locator("main").inner_text()
    assert "Visa •••• 4242" in main
    assert "Pro \N{MULTIPLICATION SIGN} 3" in main
    assert "customer.subscription.created" in main
    assert page.get_by_role("region", name="Invoices").get_by_role("link").count() == 1
    shot(page, "dashboard-customer-detail")

    # An exact id goes straight to the customer.
    page.get_by_role("link", name="Customers").first.click()
    page.get_by_role("searchbox", name="Search customers").fill(jenny.public_id)
    page.get_by_role("button", name="Search").click()
    assert page.url == f"{live_server.url}/dashboard/customers/{jenny.public_id}"


def test_create_and_edit_a_customer(page: Page, live_server: Any) -> None:
    sign_in_browser(page, live_server)
    page.goto(f"{live_server.url}/dashboard/customers/new")
    page.get_by_label("Name").fill("Hans Muster")
    page.get_by_label("Email address").fill("hans@")
    page.get_by_label("City").fill("Berlin")
    page.get_by_label("Country").fill("Germany")
    page.get_by_role("button", name="Add customer").click()
    assert page.locator(".error").all_inner_texts() == ["Enter the country's two-letter code, such as US, GB or DE."]
    page.get_by_label("Country").fill("de")
    page.get_by_role("button", name="Add customer").click()
    # The email address is checked by the customer service, as for the API.
    assert page.locator(".error").all_inner_texts() == ["Invalid email address: hans@"]
    assert page.get_by_label("Name").input_value() == "Hans Muster"
    assert page.get_by_label("City").input_value() == "Berlin"
    assert not Customer.objects.exists()

    page.get_by_label("Email address").fill("hans@example.de")
    page.get_by_role("button", name="Add customer").click()
    assert page.get_by_role("status").inner_text() == "The customer was created."
    hans = Customer.objects.get()
    assert (hans.name, hans.email, hans.livemode) == ("Hans Muster", "hans@example.de", False)
    assert hans.address == {
        "line1": None,
        "line2": None,
        "city": "Berlin",
        "state": None,
        "postal_code": None,
        "country": "DE",
    }

    page.get_by_role("link", name="Edit customer").click()
    page.get_by_label("Phone").fill("+49 30 1234567")
    page.get_by_role("button", name="Save changes").click()
    assert page.get_by_role("status").inner_text() == "Your changes were saved."
    hans.refresh_from_db()
    assert hans.phone == "+49 30 1234567"
