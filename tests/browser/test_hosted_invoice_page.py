"""The hosted invoice page in a real browser: what a customer sees, the PDF link, the CSP."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page

from tests.billing.test_invoice_pages import finalized_invoice
from tests.browser.conftest import screenshot

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_customer_reads_the_invoice_and_downloads_its_pdf(page: Page, live_server: Any) -> None:
    invoice = finalized_invoice()
    violations: list[str] = []
    page.on("console", lambda message: violations.append(message.text) if message.type == "error" else None)
    page.on("response", lambda r: violations.append(f"{r.status} {r.url}") if r.status >= 400 else None)

    response = page.goto(f"{live_server.url}/i/{invoice.hosted_token}")
    assert response is not None and response.status == 200
    assert "frame-ancestors 'none'" in (response.headers.get("content-security-policy") or "")
    body = page.locator("body")
    assert invoice.number is not None
    assert invoice.number in body.inner_text()
    assert "Jenny Rosen" in body.inner_text()
    assert "Pro seat" in body.inner_text()
    # The page's own styles load under its strict CSP: nothing was refused.
    assert violations == []
    assert page.evaluate("getComputedStyle(document.body).fontFamily") != ""
    screenshot(page, "hosted-invoice-page")

    link = page.get_by_role("link", name="Download PDF")
    pdf = page.request.get(f"{live_server.url}{link.get_attribute('href')}")
    assert pdf.status == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.body().startswith(b"%PDF-")


def test_the_page_fits_a_phone(page: Page, live_server: Any) -> None:
    invoice = finalized_invoice()
    page.set_viewport_size({"width": 375, "height": 740})
    page.goto(f"{live_server.url}/i/{invoice.hosted_token}")
    # No sideways scrolling on a phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot(page, "hosted-invoice-page-phone")


def test_a_customer_pays_by_card_after_a_decline(page: Page, live_server: Any) -> None:
    invoice = finalized_invoice()
    page.goto(f"{live_server.url}/i/{invoice.hosted_token}")
    page.get_by_label("Name on card").fill("Jenny Rosen")
    page.get_by_label("Card number").fill("4000 0000 0000 0002")
    page.get_by_label("Expiry (MM / YY)").fill("12 / 34")
    page.get_by_label("CVC").fill("123")
    page.get_by_role("button", name="Pay €64.26").click()
    assert page.get_by_role("alert").inner_text() == "Your card was declined."
    # What was typed is still there; only the card number needs changing.
    assert page.get_by_label("Name on card").input_value() == "Jenny Rosen"
    screenshot(page, "hosted-invoice-page-declined")

    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_role("button", name="Pay €64.26").click()
    assert "your payment went through" in page.get_by_role("status").inner_text()
    assert page.locator(".badge").inner_text() == "Paid"
    screenshot(page, "hosted-invoice-page-paid")
    invoice.refresh_from_db()
    assert invoice.status == "paid"


def test_the_page_wears_the_brand(page: Page, live_server: Any) -> None:
    from billfold.branding.services import brand_update
    from billfold.files.services import file_create
    from tests.branding.test_brand import png

    icon = file_create(livemode=False, purpose="business_icon", filename="i.png", content=png("#ffd400", (64, 64)))
    brand_update(
        values={
            "business_name": "Acme Cloud",
            "brand_color": "#0b3d2e",
            "accent_color": "#ffd400",
            "corner_shape": "pill",
            "font": "serif",
            "icon": icon,
        }
    )
    invoice = finalized_invoice()
    page.goto(f"{live_server.url}/i/{invoice.hosted_token}")
    bar = page.locator(".brandbar")
    assert "Acme Cloud" in bar.inner_text()
    assert page.evaluate("getComputedStyle(document.querySelector('.brandbar')).color") == "rgb(255, 255, 255)"
    button = page.get_by_role("button", name="Pay €64.26")
    # The label on the yellow accent is dark, whatever the merchant picked.
    assert button.evaluate("b => getComputedStyle(b).color") == "rgb(26, 31, 54)"
    assert page.locator(".brandbar img").evaluate("img => img.naturalWidth") == 64
    screenshot(page, "hosted-invoice-page-branded")
