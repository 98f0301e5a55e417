"""Signing in to the dashboard in a real browser: the way back to the page asked for, the lockout
after repeated wrong passwords, signing out, and the test/live mode switch."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page

from billfold.catalog.services import product_create
from tests.dashboard.helpers import EMAIL, PASSWORD, shot, sign_in_browser, staff_user

pytestmark = pytest.mark.django_db(transaction=True)


def fill_sign_in(page: Page, email: str, password: str) -> None:
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_staff_sign_in_and_out(page: Page, live_server: Any) -> None:
    staff_user()
    page.goto(f"{live_server.url}/dashboard/customers?q=jenny")
    assert page.url == f"{live_server.url}/dashboard/sign-in?next=%2Fdashboard%2Fcustomers%3Fq%3Djenny"
    assert page.get_by_role("heading", level=1).inner_text() == "Sign in to your dashboard"
    shot(page, "dashboard-sign-in")

    fill_sign_in(page, EMAIL, "not the password")
    assert page.get_by_role("alert").inner_text() == "The email address or password is incorrect."
    # The email address stays; the password is never sent back.
    assert page.get_by_label("Email address").input_value() == EMAIL
    assert page.get_by_label("Password").input_value() == ""

    fill_sign_in(page, EMAIL, PASSWORD)
    assert page.url == f"{live_server.url}/dashboard/customers?q=jenny"
    assert page.get_by_role("heading", level=1).inner_text() == "Customers"

    page.get_by_text(EMAIL, exact=True).first.click()
    page.get_by_role("button", name="Sign out").click()
    assert page.get_by_role("status").inner_text() == "You are signed out."
    page.goto(f"{live_server.url}/dashboard/")
    assert "/dashboard/sign-in" in page.url


def test_the_sign_in_page_on_a_phone(page: Page, live_server: Any) -> None:
    page.set_viewport_size({"width": 390, "height": 740})
    page.goto(f"{live_server.url}/dashboard/sign-in")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "dashboard-sign-in-phone")


def test_repeated_wrong_passwords_lock_the_account(page: Page, live_server: Any) -> None:
    staff_user()
    page.goto(f"{live_server.url}/dashboard/sign-in")
    for _ in range(4):
        fill_sign_in(page, EMAIL, "guess")
        assert page.get_by_role("alert").inner_text() == "The email address or password is incorrect."
    fill_sign_in(page, EMAIL, "guess")
    locked = "Too many failed sign-in attempts. For your security, signing in is paused: try again in 15 minutes."
    assert page.get_by_role("alert").inner_text() == locked
    # The right password does not get through the lock.
    fill_sign_in(page, EMAIL, PASSWORD)
    assert page.get_by_role("alert").inner_text() == locked
    assert "/dashboard/sign-in" in page.url
    shot(page, "dashboard-sign-in-locked")


def test_the_mode_switch_keeps_test_and_live_data_apart(page: Page, live_server: Any) -> None:
    product_create(livemode=False, values={"name": "Sandbox plan"})
    product_create(livemode=True, values={"name": "Real plan"})
    sign_in_browser(page, live_server)
    page.goto(f"{live_server.url}/dashboard/products")
    table = page.get_by_role("table")
    assert table.get_by_role("link", name="Sandbox plan").is_visible()
    assert table.get_by_role("link", name="Real plan").count() == 0
    switch = page.get_by_role("switch", name="Test mode")
    assert switch.get_attribute("aria-checked") == "true"
    assert page.get_by_role("note").inner_text().startswith("TEST MODE")

    switch.click()
    assert page.url == f"{live_server.url}/dashboard/products"
    assert page.get_by_role("switch", name="Test mode").get_attribute("aria-checked") == "false"
    assert page.get_by_role("note").count() == 0
    table = page.get_by_role("table")
    assert table.get_by_role("link", name="Real plan").is_visible()
    assert table.get_by_role("link", name="Sandbox plan").count() == 0
    shot(page, "dashboard-products-live")
    # The mode holds on every page until switched back.
    page.goto(f"{live_server.url}/dashboard/customers")
    assert page.get_by_role("switch", name="Test mode").get_attribute("aria-checked") == "false"
    page.get_by_role("switch", name="Test mode").click()
    assert page.url == f"{live_server.url}/dashboard/customers"
    assert page.get_by_role("note").is_visible()
