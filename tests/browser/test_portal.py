"""The customer portal in a real browser, without JavaScript of its own: sign in by the passcode received
over SMTP, change the plan after seeing the prorated amount, cancel and renew, cards, billing address, invoices, and
the same through a portal session URL's deep link. Screenshots at desktop and phone widths."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from playwright.sync_api import Page, Route, ViewportSize, expect

from billfold.billing.models import Subscription
from billfold.core.clock import frozen_at
from billfold.customers.models import Customer
from billfold.emails.models import Email
from billfold.emails.sending import emails_send_due
from billfold.payments.models import PaymentMethod
from billfold.portal.configurations import portal_configuration_update
from tests.browser.conftest import screenshot
from tests.emails.conftest import Mailbox, mailbox  # noqa: F401  (the fixture)
from tests.portal.pages.world import T0, session_for, session_path, world_build

pytestmark = pytest.mark.django_db(transaction=True)
PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1280, "height": 900}


def shots(page: Page, name: str) -> None:
    screenshot(page, f"portal-{name}-desktop")
    page.set_viewport_size(PHONE)
    screenshot(page, f"portal-{name}-phone")
    page.set_viewport_size(DESKTOP)


def merchant_site(route: Route) -> None:
    route.fulfill(status=200, content_type="text/html", body="<title>Merchant</title><h1>Merchant account</h1>")


def test_login_link_and_every_page(page: Page, live_server: Any, settings: Any, mailbox: Mailbox) -> None:  # noqa: F811
    settings.SITE_URL = live_server.url
    world = world_build()
    page.route("https://merchant.example/**", merchant_site)
    with frozen_at(T0 + dt.timedelta(minutes=1)):
        page.goto(f"{live_server.url}/p/login/{world.link_token}?prefilled_email=jenny%40example.com")
        expect(page.get_by_label("Email")).to_have_value("jenny@example.com")
        shots(page, "login")
        page.get_by_role("button", name="Send code").click()
        expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
        # The code arrives by SMTP, as a customer receives it.
        emails_send_due()
        received = mailbox.only()
        assert received.rcpt_tos == ["jenny@example.com"]
        code = re.search(r"\b(\d{6})\b", received.text)
        assert code is not None, received.text
        page.get_by_label("Code").fill("12")
        page.get_by_role("button", name="Continue").click()
        expect(page.get_by_text("The code has 6 digits")).to_be_visible()
        shots(page, "passcode-error")
        page.get_by_label("Code").fill(code.group(1))
        page.get_by_role("button", name="Continue").click()
        expect(page.get_by_role("heading", name="Billing", exact=True)).to_be_visible()
        expect(page.get_by_text("$10.00 per seat per month")).to_be_visible()
        shots(page, "overview")

        # Switch to Pro, seeing the prorated amount first.
        page.get_by_role("link", name="Update subscription").click()
        page.get_by_label("$30.00 per month").check()
        shots(page, "update")
        page.get_by_role("button", name="Continue").click()
        expect(page.locator("#preview-amount")).to_have_text("$40.00")
        shots(page, "update-confirm")
        page.get_by_role("button", name="Confirm").click()
        expect(page.get_by_text("Your plan was updated.")).to_be_visible()
        expect(page.get_by_text("$30.00 per month")).to_be_visible()

        # Back to Basic with 3 seats.
        page.get_by_role("link", name="Update subscription").click()
        page.get_by_label("$10.00 per seat per month").check()
        page.get_by_label("Quantity").fill("3")
        page.get_by_role("button", name="Continue").click()
        expect(page.locator("#preview-amount")).to_be_visible()
        page.get_by_role("button", name="Confirm").click()
        expect(page.get_by_text("Your plan was updated.")).to_be_visible()
        item = Subscription.objects.get(pk=world.jenny_sub.pk).items.get(deleted=False)
        assert (item.price_id, item.quantity) == (world.basic_month.pk, 3)

        # Cancel with a reason, then renew.
        page.get_by_role("link", name="Cancel subscription").click()
        page.get_by_label("It's too expensive").check()
        shots(page, "cancel")
        page.get_by_role("button", name="Cancel subscription").click()
        expect(page.get_by_text("Your subscription will be canceled on")).to_be_visible()
        assert Subscription.objects.get(pk=world.jenny_sub.pk).cancellation_details["feedback"] == "too_expensive"
        shots(page, "overview-canceling")
        page.get_by_role("button", name="Renew subscription").click()
        expect(page.get_by_text("Your subscription was renewed")).to_be_visible()

        # Cards: a declined one is refused keeping what was typed, then 4242 is added.
        page.get_by_role("link", name="Add payment method").click()
        page.get_by_label("Name on card").fill("Jenny Rosen")
        page.get_by_label("Card number").fill("4000 0000 0000 0002")
        page.get_by_label("Expiry (MM / YY)").fill("04 / 34")
        page.get_by_label("CVC").fill("123")
        page.get_by_role("button", name="Save card").click()
        expect(page.get_by_role("alert")).to_contain_text("declined")
        expect(page.get_by_label("Name on card")).to_have_value("Jenny Rosen")
        shots(page, "card-declined")
        page.get_by_label("Card number").fill("4242 4242 4242 4242")
        page.get_by_label("CVC").fill("123")
        page.get_by_role("button", name="Save card").click()
        expect(page.get_by_text("Your card was added.")).to_be_visible()
        assert PaymentMethod.objects.filter(customer=world.jenny).count() == 2

        # Billing address.
        page.get_by_role("link", name="Update information").click()
        address = page.get_by_role("group", name="Billing address")
        address.get_by_label("Address line 1").fill("1 Main St")
        address.get_by_label("City").fill("Springfield")
        address.get_by_label("Postal code").fill("12345")
        address.get_by_label("Country").fill("US")
        shots(page, "billing")
        page.get_by_role("button", name="Save", exact=True).click()
        expect(page.get_by_text("Your billing information was saved.")).to_be_visible()
        assert Customer.objects.get(pk=world.jenny.pk).address == {
            "line1": "1 Main St",
            "city": "Springfield",
            "postal_code": "12345",
            "country": "US",
        }

        # Invoices: the PDF downloads.
        with page.expect_download() as download:
            page.get_by_role("link", name="PDF").first.click()
        path = download.value.path()
        assert path is not None and path.read_bytes()[:5] == b"%PDF-"
        shots(page, "overview-after")

        # Back to the merchant.
        page.get_by_role("link", name="Return to").click()
        expect(page.get_by_role("heading", name="Merchant account")).to_be_visible()


def test_session_deep_link_cancel_redirects_to_the_merchant(page: Page, live_server: Any, settings: Any) -> None:
    settings.SITE_URL = live_server.url
    world = world_build()
    page.route("https://merchant.example/**", merchant_site)
    created = session_for(
        world.jenny,
        flow_data={
            "type": "subscription_cancel",
            "subscription_cancel": {"subscription": world.jenny_sub.public_id},
            "after_completion": {"type": "redirect", "redirect": {"return_url": "https://merchant.example/bye"}},
        },
    )
    with frozen_at(T0 + dt.timedelta(minutes=1)):
        page.goto(live_server.url + session_path(created))
        expect(page.get_by_role("heading", name="Cancel subscription")).to_be_visible()
        page.get_by_label("I don't use it enough").check()
        page.get_by_role("button", name="Cancel subscription").click()
        expect(page.get_by_role("heading", name="Merchant account")).to_be_visible()
        assert page.url == "https://merchant.example/bye"
        assert Subscription.objects.get(pk=world.jenny_sub.pk).cancel_at_period_end is True
        # The same URL again: a friendly expired page with the way back.
        page.goto(live_server.url + session_path(created))
        expect(page.get_by_role("heading", name="This link has expired")).to_be_visible()
        shots(page, "link-expired")


def test_session_deep_links_land_on_their_pages(page: Page, live_server: Any, settings: Any) -> None:
    settings.SITE_URL = live_server.url
    world = world_build()
    item = world.jenny_sub.items.get(deleted=False).public_id
    sub = world.jenny_sub.public_id
    flows: dict[str, tuple[dict[str, Any], str]] = {
        "payment_method_update": ({"type": "payment_method_update"}, "Add a card"),
        "subscription_update": (
            {"type": "subscription_update", "subscription_update": {"subscription": sub}},
            "Update subscription",
        ),
        "subscription_update_confirm": (
            {
                "type": "subscription_update_confirm",
                "subscription_update_confirm": {
                    "subscription": sub,
                    "items": [{"id": item, "price": world.pro_month.public_id}],
                },
                "after_completion": {
                    "type": "hosted_confirmation",
                    "hosted_confirmation": {"custom_message": "Welcome to Pro!"},
                },
            },
            "Confirm your update",
        ),
    }
    for name, (flow, heading) in flows.items():
        created = session_for(world.jenny, flow_data=flow)
        with frozen_at(T0 + dt.timedelta(minutes=1)):
            page.goto(live_server.url + session_path(created))
            expect(page.get_by_role("heading", name=heading)).to_be_visible()
            shots(page, f"deep-link-{name}")
    with frozen_at(T0 + dt.timedelta(minutes=1)):
        page.get_by_role("button", name="Confirm").click()
        expect(page.get_by_text("Welcome to Pro!")).to_be_visible()
        shots(page, "done")


def test_keyboard_only_sign_in_and_a_translated_portal(page: Page, live_server: Any, settings: Any) -> None:
    settings.SITE_URL = live_server.url
    world = world_build()
    with frozen_at(T0 + dt.timedelta(minutes=1)):
        page.goto(f"{live_server.url}/p/login/{world.link_token}")
        # The email field has focus on arrival; typing and Enter send the code.
        expect(page.get_by_label("Email")).to_be_focused()
        page.keyboard.type("jenny@example.com")
        expect(page.get_by_label("Email")).to_have_value("jenny@example.com")
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
        expect(page.locator("input[name=email]").first).to_have_value("jenny@example.com")
        email = Email.objects.filter(kind="passcode", customer_id=world.jenny.public_id).order_by("-pk").first()
        assert email is not None
        page.keyboard.type(str(email.context["code"]))
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", name="Billing", exact=True)).to_be_visible()
        # Tab from the top: the skip link comes first, then the way back to the merchant.
        page.keyboard.press("Tab")
        expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
        page.keyboard.press("Tab")
        expect(page.get_by_role("link", name="Return to")).to_be_focused()

        created = session_for(world.jenny, at=T0 + dt.timedelta(minutes=1), locale="fr")
        page.goto(live_server.url + session_path(created))
        expect(page.get_by_role("heading", name="Facturation", exact=True)).to_be_visible()
        expect(page.get_by_text("20,00\xa0$US le 1 juin 2031")).to_be_visible()
        shots(page, "overview-fr")


def test_a_downgrade_waits_for_the_end_of_the_period(page: Page, live_server: Any, settings: Any) -> None:
    settings.SITE_URL = live_server.url
    world = world_build()
    deferred = {"schedule_at_period_end": {"conditions": [{"type": "decreasing_item_amount"}]}}
    with frozen_at(T0):
        portal_configuration_update(
            configuration=world.configuration, values={"features": {"subscription_update": deferred}}
        )
    created = session_for(world.jenny, at=T0 + dt.timedelta(minutes=1))
    with frozen_at(T0 + dt.timedelta(minutes=1)):
        page.goto(live_server.url + session_path(created))
        page.get_by_role("link", name="Update subscription").click()
        page.get_by_label("Quantity").fill("1")
        page.get_by_role("button", name="Continue").click()
        expect(
            page.get_by_text(
                "Your plan changes to Basic · $10.00 per seat per month on June 1, 2031; you keep Basic · $10.00 "
                "per seat per month \N{MULTIPLICATION SIGN} 2 until then."
            )
        ).to_be_visible()
        expect(page.get_by_text("Nothing is charged today.")).to_be_visible()
        expect(page.locator("#preview-amount")).to_have_text("$10.00")
        shots(page, "scheduled-confirm")
        page.get_by_role("button", name="Confirm").click()
        expect(
            page.get_by_text("Your plan changes to Basic · $10.00 per seat per month on June 1, 2031.")
        ).to_be_visible()
        expect(page.get_by_text("Basic · $10.00 per seat per month from June 1, 2031")).to_be_visible()
        expect(page.get_by_text("$10.00 on June 1, 2031")).to_be_visible()
        shots(page, "scheduled-overview")
        page.get_by_role("button", name="Cancel scheduled change").click()
        expect(page.get_by_text("The scheduled change was canceled")).to_be_visible()
        expect(page.get_by_text("$20.00 on June 1, 2031")).to_be_visible()
    subscription = Subscription.objects.get(pk=world.jenny_sub.pk)
    assert (subscription.schedule_id, subscription.items.get(deleted=False).quantity) == (None, 2)
