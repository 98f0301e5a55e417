"""Every dashboard page: staff only, strict headers, CSRF on forms, and the test/live mode kept apart."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import quote

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from billfold.catalog.models import Product
from billfold.catalog.services import product_create
from billfold.core.clock import frozen_at
from billfold.events.models import Event
from tests.billing.test_invoice_pages import finalized_invoice
from tests.dashboard.helpers import customer, monthly_price, signed_in_client, staff_user, subscribe
from tests.dashboard.test_metrics import NOW, make_history

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2030, 3, 1, 12, tzinfo=dt.UTC)


def every_page() -> list[str]:
    """The path of every dashboard page, with objects for the ones that show one."""
    invoice = finalized_invoice()
    buyer = customer(at=T0, email="jenny@example.com")
    price = monthly_price(1000, at=T0)
    subscription = subscribe(buyer, price, at=T0)
    product = price.product
    event = Event.objects.filter(type="customer.created").order_by("pk").first()
    assert event is not None
    return [
        reverse("dashboard:home"),
        reverse("dashboard:home") + "?range=12m",
        reverse("dashboard:products"),
        reverse("dashboard:product-new"),
        reverse("dashboard:product", args=[product.public_id]),
        reverse("dashboard:product-edit", args=[product.public_id]),
        reverse("dashboard:product-archive", args=[product.public_id]),
        reverse("dashboard:price-new", args=[product.public_id]),
        reverse("dashboard:price-active", args=[price.public_id]),
        reverse("dashboard:customers"),
        reverse("dashboard:customer-new"),
        reverse("dashboard:customer", args=[buyer.public_id]),
        reverse("dashboard:customer-edit", args=[buyer.public_id]),
        reverse("dashboard:subscriptions"),
        reverse("dashboard:subscription-new"),
        reverse("dashboard:subscription", args=[subscription.public_id]),
        reverse("dashboard:subscription-cancel", args=[subscription.public_id]),
        reverse("dashboard:invoices"),
        reverse("dashboard:invoice", args=[invoice.public_id]),
        reverse("dashboard:invoice-action", args=[invoice.public_id, "void"]),
        reverse("dashboard:portal-settings"),
        reverse("dashboard:portal-link-deactivate"),
        reverse("dashboard:branding"),
        reverse("dashboard:developers"),
        reverse("dashboard:api-key-new"),
        reverse("dashboard:webhooks"),
        reverse("dashboard:webhook-new"),
        reverse("dashboard:events"),
        reverse("dashboard:event", args=[event.public_id]),
        reverse("dashboard:test-clocks"),
        reverse("dashboard:test-clock-new"),
        reverse("dashboard:emails"),
    ]


def test_signed_out_people_are_sent_to_sign_in_from_every_page(client: Client) -> None:
    pages = every_page()
    for path in pages:
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"] == f"/dashboard/sign-in?next={quote(path, safe='')}", path
    # Actions refuse too, and change nothing.
    product = Product.objects.get(name="Pro")
    response = client.post(reverse("dashboard:product-archive", args=[product.public_id]))
    assert response.status_code == 302
    assert response["Location"] == "/dashboard/sign-in?next=%2Fdashboard%2F"
    product.refresh_from_db()
    assert product.active is True


def test_people_without_staff_access_are_sent_to_sign_in() -> None:
    pages = every_page()
    client = Client()
    client.force_login(User.objects.create_user(username="someone@example.com", password="irrelevant pass"))
    assert {client.get(path).status_code for path in pages} == {302}


def test_every_page_is_locked_down_for_staff() -> None:
    pages = every_page()
    client = signed_in_client()
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        policy = response["Content-Security-Policy"]
        assert "script-src 'self';" in policy and "style-src 'self';" in policy, path
        assert "frame-ancestors 'none'" in policy and "unsafe-inline" not in policy, path
        assert response["Cache-Control"] == "private, no-store", path
        assert response["X-Frame-Options"] == "DENY", path
        html = response.content.decode()
        # No inline script or style anywhere (the CSP would block them).
        assert "<script>" not in html and "style=" not in html and "<style" not in html, path


def test_the_root_leads_to_the_dashboard(client: Client) -> None:
    response = client.get("/")
    assert (response.status_code, response["Location"]) == (302, "/dashboard/")


def test_forms_need_the_csrf_token() -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_user())
    response = client.post(reverse("dashboard:customer-new"), {"email": "jenny@example.com"})
    assert response.status_code == 403
    response = client.post(reverse("dashboard:sign-out"))
    assert response.status_code == 403


def test_sign_out_is_a_post() -> None:
    client = signed_in_client()
    assert client.get(reverse("dashboard:sign-out")).status_code == 405
    response = client.post(reverse("dashboard:sign-out"))
    assert response["Location"] == "/dashboard/sign-in?signed_out=1"
    assert client.get(reverse("dashboard:home")).status_code == 302


def test_the_mode_switch_shows_one_mode_at_a_time() -> None:
    test_product = product_create(livemode=False, values={"name": "Test widget"})
    live_product = product_create(livemode=True, values={"name": "Live widget"})
    client = signed_in_client()
    listing = client.get(reverse("dashboard:products")).content.decode()
    assert "Test widget" in listing and "Live widget" not in listing
    assert "Test mode</strong>" in listing
    assert client.get(reverse("dashboard:product", args=[live_product.public_id])).status_code == 404

    response = client.post(reverse("dashboard:mode"), {"livemode": "true", "section": "products"})
    assert response["Location"] == "/dashboard/products"
    listing = client.get(reverse("dashboard:products")).content.decode()
    assert "Live widget" in listing and "Test widget" not in listing
    assert "Test mode</strong>" not in listing
    assert client.get(reverse("dashboard:product", args=[test_product.public_id])).status_code == 404


def test_sign_in_only_returns_to_this_site() -> None:
    staff_user()
    client = Client()
    response = client.post(
        reverse("dashboard:sign-in") + "?next=https://evil.example/",
        {"email": "owner@example.com", "password": "correct horse battery staple", "next": "https://evil.example/"},
    )
    assert response["Location"] == "/dashboard/"


def test_a_tiered_price_from_the_form() -> None:
    product = product_create(livemode=False, values={"name": "Team"})
    client = signed_in_client()
    form = {
        "type": "recurring",
        "pricing": "volume",
        "currency": "eur",
        "interval": "month",
        "interval_count": "1",
        "tax_behavior": "exclusive",
        "tier_0_up_to": "5",
        "tier_0_unit": "12",
        "tier_1_up_to": "20",
        "tier_1_unit": "10",
        "tier_1_flat": "5.50",
        "tier_2_unit": "8",
        "make_default": "on",
    }
    response = client.post(reverse("dashboard:price-new", args=[product.public_id]), form)
    assert response.status_code == 302
    product.refresh_from_db()
    price = product.default_price
    assert price is not None
    assert (price.billing_scheme, price.tiers_mode, price.currency, price.tax_behavior) == (
        "tiered",
        "volume",
        "eur",
        "exclusive",
    )
    assert price.tiers == [
        {
            "up_to": 5,
            "unit_amount": 1200,
            "unit_amount_decimal": "1200",
            "flat_amount": None,
            "flat_amount_decimal": None,
        },
        {
            "up_to": 20,
            "unit_amount": 1000,
            "unit_amount_decimal": "1000",
            "flat_amount": 550,
            "flat_amount_decimal": "550",
        },
        {
            "up_to": None,
            "unit_amount": 800,
            "unit_amount_decimal": "800",
            "flat_amount": None,
            "flat_amount_decimal": None,
        },
    ]
    listing = client.get(reverse("dashboard:products")).content.decode()
    assert "Volume tiers from €8.00 / month" in listing


def test_tiers_out_of_order_are_refused_with_the_catalogs_reason() -> None:
    product = product_create(livemode=False, values={"name": "Team"})
    client = signed_in_client()
    form = {
        "type": "one_time",
        "pricing": "graduated",
        "currency": "usd",
        "tax_behavior": "unspecified",
        "tier_0_up_to": "10",
        "tier_0_unit": "5",
        "tier_1_up_to": "3",
        "tier_1_unit": "4",
        "tier_2_unit": "3",
    }
    response = client.post(reverse("dashboard:price-new", args=[product.public_id]), form)
    assert response.status_code == 400
    assert "Tiers must be in ascending order of up_to: tier 1 has up_to=3 after 10." in response.content.decode()
    assert 'name="tier_1_up_to" value="3"' in response.content.decode()
    assert not product.prices.exists()


def test_home_shows_the_figures_as_charts_and_tables() -> None:
    with frozen_at(NOW):
        make_history()
        client = signed_in_client()
        html = client.get(reverse("dashboard:home")).content.decode()
        headlines = re.findall(r'<p class="headline">([^<]*)</p>', html)
        assert headlines == ["$68.00", "4", "+4 / \N{MINUS SIGN}1", "1"]
        assert "Churn rate 20.0%: 1 of the 5 active in the range ended" in html
        assert html.count('<svg class="chart"') == 4
        # Every chart's numbers are in a table too: the failed payment on June 15, MRR on June 5.
        assert '<tr><th scope="row">Jun 15</th><td class="num">1</td></tr>' in html
        assert '<tr><th scope="row">Jun 5</th><td class="num">$68.00</td></tr>' in html
        # Another currency has its own MRR.
        euros = client.get(reverse("dashboard:home") + "?currency=eur&range=12m").content.decode()
        assert re.findall(r'<p class="headline">([^<]*)</p>', euros)[0] == "€7.00"
        assert '<tr><th scope="row">Jun 2030</th>' in euros


def test_tax_code_search_for_the_product_form(client: Client) -> None:
    url = reverse("dashboard:tax-codes") + "?q=saas+business"
    assert client.get(url).status_code == 302  # staff only, like every page
    staff = signed_in_client()
    found = staff.get(url).json()["data"]
    assert [code["id"] for code in found[:3]] == ["txcd_10103001", "txcd_10103101", "txcd_10103000"]
    assert found[0]["name"] == "Software as a service (SaaS) - business use"
    assert staff.get(reverse("dashboard:tax-codes") + "?q=").json() == {"data": []}
