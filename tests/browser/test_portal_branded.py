"""The portal's main pages in a second branding and a second language (German), for people to look at:
the brand's colors, font and corners are applied, its text stays readable on a light brand color,
and the German pages are German throughout."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from billfold.branding.selectors import brand_theme
from billfold.branding.services import brand_update
from billfold.branding.theme import contrast
from billfold.core.clock import frozen_at
from billfold.emails.models import Email
from tests.browser.test_portal import shots
from tests.portal.pages.world import T0, session_for, session_path, world_build

pytestmark = pytest.mark.django_db(transaction=True)
NOW = T0 + dt.timedelta(minutes=1)


def rgb(hex_color: str) -> str:
    value = hex_color.lstrip("#")
    red, green, blue = (int(value[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgb({red}, {green}, {blue})"


def test_main_pages_in_a_second_branding_and_in_german(page: Page, live_server: Any, settings: Any) -> None:
    settings.SITE_URL = live_server.url
    world = world_build()
    # A light brand color: its header text must turn dark to stay readable.
    brand_update(
        values={
            "business_name": "Nordlicht Software",
            "brand_color": "#f5d90a",
            "accent_color": "#0b6e4f",
            "font": "serif",
            "corner_shape": "square",
        }
    )
    page.set_extra_http_headers({"Accept-Language": "de-DE,de;q=0.9"})
    with frozen_at(NOW):
        page.goto(f"{live_server.url}/p/login/{world.link_token}?prefilled_email=jenny%40example.com")
        expect(page.get_by_role("button", name="Code senden")).to_be_visible()
        theme = brand_theme()
        header = page.locator("header.brandbar")
        assert header.evaluate("e => getComputedStyle(e).backgroundColor") == rgb(theme.brand)
        assert header.evaluate("e => getComputedStyle(e).color") == rgb(theme.brand_text)
        assert contrast(theme.brand, theme.brand_text) >= 4.5
        assert "Georgia" in page.evaluate("getComputedStyle(document.body).fontFamily")
        shots(page, "login-de-branded")
        page.get_by_role("button", name="Code senden").click()
        email = Email.objects.filter(kind="passcode").order_by("-pk").first()
        assert email is not None and email.context["locale"] == "de_DE"
        page.get_by_label("Code").fill(str(email.context["code"]))
        page.get_by_role("button", name="Weiter").click()
        expect(page.get_by_role("heading", name="Abrechnung", exact=True)).to_be_visible()
        expect(page.get_by_text("Nordlicht Software").first).to_be_visible()
        button = page.get_by_role("link", name="Abonnement ändern")
        assert button.evaluate("e => getComputedStyle(e).borderRadius") == "0px"
        shots(page, "overview-de-branded")
        button.click()
        expect(page.get_by_role("heading", name="Abonnement ändern")).to_be_visible()
        shots(page, "update-de-branded")
        page.goto(f"{live_server.url}/p/billing")
        shots(page, "billing-de-branded")
        page.goto(f"{live_server.url}/p/invoices")
        shots(page, "invoices-de-branded")

        # The same pages through a session URL in English keep the branding.
        created = session_for(world.jenny, at=NOW, locale="en")
        page.goto(live_server.url + session_path(created))
        expect(page.get_by_role("heading", name="Billing", exact=True)).to_be_visible()
        shots(page, "overview-en-branded")
