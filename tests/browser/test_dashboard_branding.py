"""The Branding page in a real browser: the previews follow the colors, font and corners as they are
changed, a logo uploaded shows in them at once, refusals are shown next to their field, and the saved
brand is what the portal's login page wears. Desktop and phone screenshots."""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import Browser, FilePayload, FrameLocator, Page, expect

from billfold.branding.models import Brand
from billfold.files.models import StoredFile
from billfold.portal.configurations import portal_configuration_default, portal_configuration_update
from tests.browser.conftest import screenshot
from tests.dashboard.helpers import sign_in_browser

pytestmark = pytest.mark.django_db(transaction=True)


def logo_png() -> FilePayload:
    """A wordmark-like logo for a dark header: a yellow mark and three light bars, on a transparent background."""
    image = Image.new("RGBA", (240, 64), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((4, 8, 52, 56), radius=12, fill="#ffd400")
    draw.ellipse((16, 20, 40, 44), fill="#0b3d2e")
    for row, width in enumerate((170, 120, 150)):
        draw.rounded_rectangle((66, 12 + row * 16, 66 + width, 20 + row * 16), radius=4, fill="#e8f3ee")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return {"name": "acme-logo.png", "mimeType": "image/png", "buffer": buffer.getvalue()}


def watch(page: Page) -> list[str]:
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    return problems


def open_branding(page: Page, live_server: Any) -> None:
    sign_in_browser(page, live_server)
    page.goto(f"{live_server.url}/dashboard/branding")
    wait_for_previews(page)


def wait_for_previews(page: Page, contains: str = "") -> None:
    """Until each preview shows one loaded page (a redraw loads the new one beside the old first)."""
    page.wait_for_function(
        """(contains) => {
            const frames = document.querySelectorAll("iframe[data-preview]");
            return frames.length === 3 && [...frames].every((frame) =>
                !frame.classList.contains("loading") && frame.src.includes(contains));
        }""",
        arg=contains,
    )


def shot(page: Page, name: str) -> None:
    """The whole page drawn at once: the viewport is made as tall as the page first, since a full-page
    capture paints neither frames below the fold nor the sticky save bar where it really is."""
    viewport = page.viewport_size
    assert viewport is not None
    height = int(page.evaluate("document.documentElement.scrollHeight"))
    page.set_viewport_size({"width": viewport["width"], "height": max(height, viewport["height"])})
    page.wait_for_timeout(300)
    screenshot(page, name)
    page.set_viewport_size(viewport)


def preview(page: Page, kind: str) -> FrameLocator:
    return page.frame_locator(f"iframe[data-preview={kind}]")


def style(frame: FrameLocator, selector: str, prop: str) -> str:
    return str(frame.locator(selector).first.evaluate(f"(el) => getComputedStyle(el)['{prop}']"))


def test_the_previews_follow_the_colors_font_and_corners(page: Page, live_server: Any) -> None:
    problems = watch(page)
    open_branding(page, live_server)
    login = preview(page, "login")
    assert login.get_by_role("heading", name="Manage your billing").is_visible()
    assert style(login, ".brandbar", "backgroundColor") == "rgb(255, 255, 255)"
    shot(page, "dashboard-branding")

    page.get_by_label("Business name").fill("Acme Cloud")
    page.get_by_role("textbox", name="Brand color", exact=True).fill("#0b3d2e")
    # The picker follows the hex code, and the previews follow both.
    assert page.get_by_label("Brand color: pick a color").input_value() == "#0b3d2e"
    wait_for_previews(page, "brand_color=%230b3d2e")
    assert style(login, ".brandbar", "backgroundColor") == "rgb(11, 61, 46)"
    # White text on the dark header.
    assert style(login, ".brand-name", "color") == "rgb(255, 255, 255)"
    assert login.locator(".brand-name").inner_text() == "Acme Cloud"
    portal = preview(page, "portal")
    assert style(portal, ".brandbar", "backgroundColor") == "rgb(11, 61, 46)"

    # The native picker drives the hex code the same way.
    page.get_by_label("Accent color: pick a color").fill("#ffd400")
    assert page.get_by_role("textbox", name="Accent color", exact=True).input_value() == "#ffd400"
    wait_for_previews(page, "accent_color=%23ffd400")
    button = login.get_by_role("button", name="Send code")
    assert button.evaluate("(el) => getComputedStyle(el).backgroundColor") == "rgb(255, 212, 0)"
    # Ink, not white, on the yellow button.
    assert button.evaluate("(el) => getComputedStyle(el).color") == "rgb(26, 31, 54)"
    email = preview(page, "email")
    assert email.get_by_role("link", name="View invoice").is_visible()

    page.get_by_text("Georgia / Times").click()
    page.get_by_text("Pill").click()
    wait_for_previews(page, "font=serif&corner_shape=pill")
    assert "Georgia" in style(login, "body", "fontFamily")
    assert button.evaluate("(el) => getComputedStyle(el).borderRadius") == "999px"
    shot(page, "dashboard-branding-changed")

    # A very light brand color: the header's text turns to ink so it stays readable.
    page.get_by_role("textbox", name="Brand color", exact=True).fill("#f4f1ea")
    wait_for_previews(page, "brand_color=%23f4f1ea")
    assert style(login, ".brand-name", "color") == "rgb(26, 31, 54)"

    page.get_by_role("button", name="Save branding").click()
    assert page.get_by_role("status").inner_text() == "Your branding was saved: customers see it from now on."
    brand = Brand.objects.get()
    assert (brand.business_name, brand.brand_color, brand.accent_color, brand.font, brand.corner_shape) == (
        "Acme Cloud",
        "#f4f1ea",
        "#ffd400",
        "serif",
        "pill",
    )
    assert problems == [], problems


def test_a_logo_uploaded_shows_in_the_previews_then_on_the_portal(page: Page, live_server: Any) -> None:
    open_branding(page, live_server)
    page.get_by_role("textbox", name="Brand color", exact=True).fill("#0b3d2e")
    page.get_by_role("textbox", name="Accent color", exact=True).fill("#1f7a5c")
    page.get_by_label("Logo optional").set_input_files(logo_png())
    expect(page.get_by_text("acme-logo.png is uploaded and will be used when you save.")).to_be_visible()
    stored = StoredFile.objects.get()
    assert (stored.purpose, stored.width, stored.height) == ("business_logo", 240, 64)
    wait_for_previews(page, f"logo={stored.public_id}")
    for kind in ("login", "portal", "email"):
        logo = preview(page, kind).locator(f"img[src='/files/{stored.public_id}/acme-logo.png']")
        assert logo.evaluate("(img) => img.complete && img.naturalWidth") == 240, kind
    assert page.get_by_role("img", name="The logo you uploaded").evaluate("(img) => img.naturalWidth") == 240
    shot(page, "dashboard-branding-logo")
    page.get_by_role("button", name="Save branding").click()
    assert page.get_by_role("status").is_visible()
    assert Brand.objects.get().logo_id == stored.pk

    # The real login page wears it.
    configuration = portal_configuration_update(
        configuration=portal_configuration_default(livemode=False), values={"login_page": {"enabled": True}}
    )
    assert configuration.login_link is not None
    page.goto(f"{live_server.url}/p/login/{configuration.login_link.token}")
    assert page.locator(".brandbar").evaluate("(el) => getComputedStyle(el).backgroundColor") == "rgb(11, 61, 46)"
    assert page.locator("img.brand-logo").evaluate("(img) => img.naturalWidth") == 240
    shot(page, "portal-login-branded")


def test_refusals_are_shown_next_to_their_field(page: Page, live_server: Any) -> None:
    open_branding(page, live_server)
    page.get_by_label("Business name").fill("Acme Cloud")
    # A file that is not an image is refused as soon as it is chosen.
    page.get_by_label("Icon optional").set_input_files(
        {"name": "icon.png", "mimeType": "image/png", "buffer": b"GIF89a not a png"}
    )
    error = page.locator("#id_icon_error")
    assert error.inner_text().startswith("The file is not a JPEG or PNG image")
    assert page.locator(".brand-image-icon").inner_text() == "No icon"
    # A color that is not one is flagged when the field is left, and refused by the server.
    color = page.get_by_role("textbox", name="Brand color", exact=True)
    color.fill("#12345")
    color.press("Tab")
    assert page.locator("#id_brand_color_error").inner_text().startswith("“#12345” is not a color.")
    assert color.get_attribute("aria-invalid") == "true"
    page.get_by_role("button", name="Save branding").click()
    assert page.get_by_role("alert").first.inner_text() == (
        "Please correct the highlighted fields below. Everything else you typed is kept."
    )
    assert page.locator("#id_brand_color_error").inner_text().startswith("“#12345” is not a color.")
    assert page.get_by_label("Business name").input_value() == "Acme Cloud"
    assert color.input_value() == "#12345"
    shot(page, "dashboard-branding-refused")
    assert not Brand.objects.exists()


def test_the_page_on_a_phone(page: Page, live_server: Any) -> None:
    problems = watch(page)
    page.set_viewport_size({"width": 375, "height": 812})
    open_branding(page, live_server)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    # The previews are stacked, one under the other.
    boxes = [page.locator(f"iframe[data-preview={kind}]").bounding_box() for kind in ("login", "portal", "email")]
    assert all(box is not None for box in boxes)
    lefts = {round(box["x"]) for box in boxes if box is not None}
    assert len(lefts) == 1
    shot(page, "dashboard-branding-phone")
    assert problems == [], problems


def test_without_javascript_the_preview_button_redraws_the_previews(browser: Browser, live_server: Any) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, java_script_enabled=False)
    page = context.new_page()
    try:
        open_branding(page, live_server)
        # No picker without the script: the hex codes take the colors.
        assert page.locator("input[type=color]").first.is_hidden()
        page.get_by_role("textbox", name="Brand color", exact=True).fill("#5b2a86")
        page.get_by_label("Square", exact=True).check()
        page.get_by_role("button", name="Update preview").click()
        wait_for_previews(page, "brand_color=%235b2a86")
        login = preview(page, "login")
        assert style(login, ".brandbar", "backgroundColor") == "rgb(91, 42, 134)"
        assert (
            login.get_by_role("button", name="Send code").evaluate("(el) => getComputedStyle(el).borderRadius") == "0px"
        )
        assert page.get_by_role("textbox", name="Brand color", exact=True).input_value() == "#5b2a86"
        assert not Brand.objects.exists()
        shot(page, "dashboard-branding-no-script")
        page.get_by_role("button", name="Save branding").click()
        assert (Brand.objects.get().brand_color, Brand.objects.get().corner_shape) == ("#5b2a86", "square")
    finally:
        context.close()
