"""Product catalog in a real browser: + Add product with every field and a first price, refusals that
keep what was typed (and an uploaded image), archiving, and adding or deactivating prices."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import FilePayload, Page

from billfold.catalog.models import Price, Product
from billfold.files.models import StoredFile
from tests.dashboard.helpers import oversized_png, png_bytes, shot, sign_in_browser

pytestmark = pytest.mark.django_db(transaction=True)


def png(name: str = "logo.png") -> FilePayload:
    return {"name": name, "mimeType": "image/png", "buffer": png_bytes(16, 16)}


def open_new_product(page: Page, live_server: Any) -> None:
    sign_in_browser(page, live_server)
    page.goto(f"{live_server.url}/dashboard/products")
    page.get_by_role("link", name="Add product").first.click()
    assert page.get_by_role("heading", level=1).inner_text() == "Add a product"


def fill_product(page: Page, *, descriptor: str = "ACME CLOUD", amount: str = "29.00") -> None:
    page.get_by_label("Name").fill("Cloud Pro")
    page.get_by_label("Description optional", exact=True).fill("Everything a growing team needs.")
    page.get_by_label("Tax code").fill("txcd_10103001")
    page.get_by_label("Statement descriptor").fill(descriptor)
    page.get_by_label("Unit label").fill("seat")
    page.get_by_label("Recurring").check()
    page.get_by_label("Amount").fill(amount)
    page.get_by_label("Currency").select_option("usd")
    page.get_by_label("Billing period").select_option("month")


def test_add_a_product_with_every_field_and_a_recurring_price(page: Page, live_server: Any) -> None:
    open_new_product(page, live_server)
    fill_product(page)
    # The tax code is found by searching Stripe's list, ranked by the catalog's search.
    page.get_by_label("Tax code").fill("saas business")
    suggestions = page.locator("#tax-code-suggestions")
    assert suggestions.get_by_role("paragraph").inner_text() == "7 matching tax codes"
    first = suggestions.get_by_role("button").first
    assert first.inner_text().startswith("Software as a service (SaaS) - business use txcd_10103001")
    shot(page, "dashboard-product-tax-code-search")
    first.click()
    assert page.get_by_label("Tax code").input_value() == "txcd_10103001"
    assert suggestions.is_hidden()
    page.get_by_label("Image").set_input_files(png())
    # The chosen image is previewed before anything is sent.
    assert page.get_by_role("img", name="Preview of logo.png").is_visible()
    page.get_by_label("Free trial (days)").fill("14")
    shot(page, "dashboard-product-new-filled")
    page.get_by_role("button", name="Add product").click()

    assert page.get_by_role("status").inner_text() == "Cloud Pro was added to your catalog."
    product = Product.objects.get(name="Cloud Pro")
    assert (
        product.livemode,
        product.description,
        product.tax_code,
        product.statement_descriptor,
        product.unit_label,
    ) == (
        False,
        "Everything a growing team needs.",
        "txcd_10103001",
        "ACME CLOUD",
        "seat",
    )
    stored = StoredFile.objects.get()
    assert (stored.purpose, stored.content_type, stored.filename, stored.width) == (
        "product_image",
        "image/png",
        "logo.png",
        16,
    )
    assert product.images == [f"http://127.0.0.1:8000/files/{stored.public_id}/logo.png"]
    price = Price.objects.get(product=product)
    assert product.default_price_id == price.pk
    assert (price.unit_amount, price.currency, price.recurring_interval, price.recurring_interval_count) == (
        2900,
        "usd",
        "month",
        1,
    )
    assert price.recurring_trial_period_days == 14
    body = page.locator("main").inner_text()
    assert "Software as a service (SaaS) - business use" in body
    assert "$29.00 / month" in body
    assert "14-day free trial" in body
    # The image is served by Billfold from this site, under the page's strict CSP.
    image = page.locator("img.product-image")
    assert image.evaluate("img => img.naturalWidth") == 16
    shot(page, "dashboard-product-created")


def test_refusals_keep_what_was_typed_and_the_uploaded_image(page: Page, live_server: Any) -> None:
    open_new_product(page, live_server)
    fill_product(page, descriptor="BAD*NAME", amount="29.999")
    page.get_by_label("Image").set_input_files(
        {"name": "photo.png", "mimeType": "image/png", "buffer": b"GIF89a not a png"}
    )
    page.get_by_role("button", name="Add product").click()

    errors = page.locator(".error").all_inner_texts()
    assert errors == [
        "The file is not a JPEG or PNG image (its content was checked, not its name). Upload a JPEG or PNG smaller "
        "than 2 MB (2097152 bytes).",
        "USD amounts have at most 2 decimals.",
    ]
    # Everything typed is still there.
    assert page.get_by_label("Name").input_value() == "Cloud Pro"
    assert page.get_by_label("Description optional", exact=True).input_value() == "Everything a growing team needs."
    assert page.get_by_label("Tax code").input_value() == "txcd_10103001"
    assert page.get_by_label("Statement descriptor").input_value() == "BAD*NAME"
    assert page.get_by_label("Unit label").input_value() == "seat"
    assert page.get_by_label("Amount").input_value() == "29.999"
    shot(page, "dashboard-product-refused")

    # The amount fixed, a real image chosen: now the descriptor is refused (by the catalog's rules),
    # and the image, already stored, is kept for the next try.
    page.get_by_label("Amount").fill("29.99")
    page.get_by_label("Image").set_input_files(png("team.png"))
    page.get_by_role("button", name="Add product").click()
    assert page.locator(".error").all_inner_texts() == [
        "The statement descriptor cannot contain any of these characters: < > \\ ' \" * (found *)."
    ]
    assert page.get_by_text("team.png is uploaded and will be used.").is_visible()
    assert page.get_by_role("img", name="The uploaded image").evaluate("img => img.naturalWidth") == 16
    shot(page, "dashboard-product-pending-image")
    assert not Product.objects.exists()

    page.get_by_label("Statement descriptor").fill("ACME CLOUD")
    page.get_by_role("button", name="Add product").click()
    assert page.get_by_role("status").inner_text() == "Cloud Pro was added to your catalog."
    product = Product.objects.get()
    stored = StoredFile.objects.get()
    assert product.images == [f"http://127.0.0.1:8000/files/{stored.public_id}/team.png"]
    assert Price.objects.get().unit_amount == 2999


def test_an_oversized_image_is_refused(page: Page, live_server: Any) -> None:
    open_new_product(page, live_server)
    fill_product(page)
    page.get_by_label("Image").set_input_files({"name": "huge.png", "mimeType": "image/png", "buffer": oversized_png()})
    page.get_by_role("button", name="Add product").click()
    assert page.locator(".error").all_inner_texts() == [
        "The file is too large: images must be smaller than 2 MB (2097152 bytes). Resize or compress it and upload "
        "it again."
    ]
    assert page.get_by_label("Name").input_value() == "Cloud Pro"
    assert not Product.objects.exists() and not StoredFile.objects.exists()


def test_archive_add_and_deactivate_prices(page: Page, live_server: Any) -> None:
    open_new_product(page, live_server)
    fill_product(page)
    page.get_by_role("button", name="Add product").click()
    product = Product.objects.get()

    page.get_by_role("link", name="Add price").click()
    page.get_by_label("One time").check()
    page.get_by_label("Amount").fill("abc")
    page.get_by_role("button", name="Add price").click()
    assert page.locator(".error").all_inner_texts() == ["Enter an amount such as 19.99."]
    page.get_by_label("Amount").fill("250")
    page.get_by_label("Price description").fill("Setup fee")
    page.get_by_role("button", name="Add price").click()
    assert page.get_by_role("status").inner_text() == "The price was added."
    setup = Price.objects.get(nickname="Setup fee")
    assert (setup.unit_amount, setup.recurring_interval) == (25000, None)

    # Deactivating asks first; cancelling changes nothing.
    page.get_by_role("link", name="Deactivate $250.00 one time").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Deactivate the price $250.00 one time of Cloud Pro?"
    page.get_by_role("link", name="Cancel").click()
    setup.refresh_from_db()
    assert setup.active is True
    page.get_by_role("link", name="Deactivate $250.00 one time").click()
    page.get_by_role("button", name="Deactivate price").click()
    assert page.get_by_role("status").inner_text() == "The price was deactivated."
    setup.refresh_from_db()
    assert setup.active is False

    # The default price cannot be deactivated: the catalog says why.
    page.get_by_role("link", name="Deactivate $29.00 / month").click()
    page.get_by_role("button", name="Deactivate price").click()
    assert (
        page.get_by_role("alert")
        .inner_text()
        .startswith(
            f"The price {product.default_price.public_id if product.default_price else ''} is the default price"
        )
    )

    page.get_by_role("link", name="Archive").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Archive Cloud Pro?"
    shot(page, "dashboard-product-archive-confirm")
    page.get_by_role("button", name="Archive product").click()
    assert page.get_by_role("status").inner_text() == "Cloud Pro is archived: it can no longer be bought."
    product.refresh_from_db()
    assert product.active is False
    page.goto(f"{live_server.url}/dashboard/products")
    assert page.get_by_role("link", name="Cloud Pro").count() == 0
    page.get_by_role("button", name="Archived").click()
    assert page.get_by_role("link", name="Cloud Pro").is_visible()


def test_edit_a_product(page: Page, live_server: Any) -> None:
    open_new_product(page, live_server)
    fill_product(page)
    page.get_by_label("Image").set_input_files(png())
    page.get_by_role("button", name="Add product").click()
    page.get_by_role("link", name="Edit product").click()
    assert page.get_by_label("Statement descriptor").input_value() == "ACME CLOUD"
    page.get_by_label("Unit label").fill("a label far too long")
    page.get_by_label("Name").fill("Cloud Team")
    page.get_by_role("button", name="Save changes").click()
    assert page.locator(".error").all_inner_texts() == [
        "The unit label must be at most 12 characters long; 'a label far too long' has 20."
    ]
    assert page.get_by_label("Name").input_value() == "Cloud Team"
    page.get_by_label("Unit label").fill("")
    page.get_by_label("Remove the image").check()
    page.get_by_role("button", name="Save changes").click()
    assert page.get_by_role("status").inner_text() == "Your changes were saved."
    product = Product.objects.get()
    assert (product.name, product.unit_label, product.images) == ("Cloud Team", None, [])


def test_a_tiered_price_shows_only_the_fields_it_needs(page: Page, live_server: Any) -> None:
    open_new_product(page, live_server)
    page.get_by_label("Name").fill("Team seats")
    tiers = page.get_by_role("group", name="Tiers for graduated or volume pricing")
    assert tiers.is_hidden() and page.get_by_label("Amount").is_visible()
    page.get_by_label("Pricing model").select_option("volume")
    assert tiers.is_visible() and page.get_by_label("Amount").is_hidden()
    page.get_by_label("Tier 1: up to").fill("5")
    page.get_by_label("Tier 1: per unit").fill("12")
    page.get_by_label("Tier 2: per unit").fill("8")
    page.get_by_label("One time").check()
    assert page.get_by_label("Billing period").is_hidden()
    page.get_by_label("Recurring").check()
    assert page.get_by_label("Billing period").is_visible()
    shot(page, "dashboard-product-new-tiered")
    page.get_by_role("button", name="Add product").click()
    assert page.get_by_role("status").inner_text() == "Team seats was added to your catalog."
    price = Price.objects.get()
    assert (price.billing_scheme, price.tiers_mode, price.recurring_interval) == ("tiered", "volume", "month")
    assert [(t["up_to"], t["unit_amount"]) for t in price.tiers or []] == [(5, 1200), (None, 800)]
    assert "Volume tiers from $8.00 / month" in page.locator("main").inner_text()
