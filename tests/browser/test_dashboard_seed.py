"""The no-code path end to end, as a merchant and then their customer do it in a browser: add a product
(image, tax code, statement descriptor, unit label), activate the portal's login link and copy it,
configure the portal, find the customer by email, then sign in to the portal through the copied link
with the code received by a real SMTP server, and find the configuration applied there."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from billfold.catalog.models import Price, Product
from billfold.emails.sending import emails_send_due
from billfold.portal.configurations import portal_configuration_default
from tests.browser.test_dashboard_catalog import fill_product, png
from tests.dashboard.helpers import customer, monthly_price, shot, sign_in_browser, subscribe
from tests.emails.conftest import Mailbox, mailbox  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db(transaction=True)
NOW = dt.datetime.now(dt.UTC)
CODE = re.compile(r"\b(\d{6})\b")


def test_from_a_new_product_to_a_customer_signed_in_through_the_copied_link(
    browser: Browser,
    page: Page,
    live_server: Any,
    settings: Any,
    mailbox: Mailbox,  # noqa: F811
) -> None:
    settings.SITE_URL = live_server.url  # links point at the server under test
    starter = monthly_price(1000, at=NOW - dt.timedelta(days=3), name="Starter")
    jenny = customer(
        at=NOW - dt.timedelta(days=3),
        email="jenny.rosen@example.com",
        name="Jenny Rosen",
        payment_method="pm_card_visa",
        invoice_settings={"default_payment_method": "pm_card_visa"},
    )
    subscribe(
        jenny, starter, at=NOW - dt.timedelta(days=3), collection_method="charge_automatically", days_until_due=None
    )
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    sign_in_browser(page, live_server)

    # 1. Product catalog > + Add product, with every field of the seed.
    page.goto(f"{live_server.url}/dashboard/products")
    page.get_by_role("link", name="Add product").first.click()
    fill_product(page)
    page.get_by_label("Image").set_input_files(png())
    page.get_by_role("button", name="Add product").click()
    expect(page.get_by_role("status")).to_have_text("Cloud Pro was added to your catalog.")
    product = Product.objects.get(name="Cloud Pro")
    assert (product.tax_code, product.statement_descriptor, product.unit_label) == (
        "txcd_10103001",
        "ACME CLOUD",
        "seat",
    )
    assert len(product.images) == 1
    pro = Price.objects.get(product=product)

    # 2. Customer portal > Activate link, then copy it.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Customer portal").click()
    expect(page.get_by_role("heading", name="Customer portal", level=1)).to_be_visible()
    page.get_by_role("button", name="Activate link").click()
    expect(page.get_by_role("status")).to_contain_text("The portal login link is active")
    link = page.get_by_label("Login link")
    expect(link).to_have_value(re.compile(rf"^{re.escape(live_server.url)}/p/login/test_\w+$"))
    page.get_by_role("button", name="Copy link").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    copied = str(page.evaluate("navigator.clipboard.readText()"))
    assert copied == link.input_value()
    shot(page, "dashboard-portal-settings")

    # 3. Configure the portal: a headline, and plan switching between Starter and the new product.
    page.get_by_label("Headline").fill("Manage your Acme Cloud plan")
    page.get_by_label("Terms of service URL").fill("https://acme.example/terms")
    page.get_by_label("Customers can change their subscriptions").check()
    page.get_by_role("group", name="Changes allowed").get_by_label("Switch plans").check()
    offered = page.get_by_role("group", name="Products customers can switch between")
    offered.get_by_label("$10.00 / month").check()
    offered.get_by_label("$29.00 / month").check()
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("status")).to_have_text("The customer portal settings were saved.")
    features = portal_configuration_default(livemode=False).features["subscription_update"]
    assert features["enabled"] and {p["product"] for p in features["products"]} == {
        starter.product.public_id,
        product.public_id,
    }

    # 4. Customers: enter the email address in the search bar.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Customers").click()
    search = page.get_by_role("searchbox", name="Search customers")
    search.fill("jenny.rosen@example.com")
    search.press("Enter")
    expect(page.get_by_role("link", name="Jenny Rosen")).to_be_visible()
    shot(page, "dashboard-seed-customer-search")

    # 5. The customer opens the copied link in a browser of their own and signs in with the emailed code.
    customer_context = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        portal = customer_context.new_page()
        portal.goto(copied)
        portal.get_by_label("Email").fill("jenny.rosen@example.com")
        portal.get_by_role("button", name="Send code").click()
        expect(portal.get_by_role("heading", name="Check your email")).to_be_visible()
        emails_send_due()
        received = mailbox.only()
        assert received.rcpt_tos == ["jenny.rosen@example.com"]
        found = CODE.search(received.text)
        assert found is not None, received.text
        portal.get_by_label("Code").fill(found.group(1))
        portal.get_by_role("button", name="Continue").click()
        expect(portal.get_by_text("Manage your Acme Cloud plan")).to_be_visible()
        expect(portal.get_by_text("$10.00 per month")).to_be_visible()
        portal.get_by_role("link", name="Update subscription").click()
        expect(portal.get_by_label(re.compile(r"\$29\.00 per seat per month"))).to_be_visible()
        shot(portal, "portal-seed-update-offers-new-product")
        assert pro.public_id in portal.content()
    finally:
        customer_context.close()
