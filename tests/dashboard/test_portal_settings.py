"""Customer portal settings: the login link, every option of the default configuration through the
form (with the API's refusals shown by their field and the rest kept), and opening the portal as a
customer."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from billfold.events.models import Event
from billfold.portal.configurations import portal_configuration_default
from billfold.portal.models import LoginLink, PortalSession
from tests.dashboard.helpers import customer, monthly_price, signed_in_client

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2030, 3, 1, 12, tzinfo=dt.UTC)
URL = "/dashboard/portal"


def form_of(client: Client) -> dict[str, Any]:
    """What the browser would send back unchanged: every field of the page's settings form."""
    response = client.get(URL)
    form = response.context["form"]
    data: dict[str, Any] = {}
    for name in form.fields:
        value = form[name].value()
        if isinstance(value, bool):
            if value:
                data[name] = "on"
        elif value is not None:
            data[name] = value
    return data


def test_activate_copy_and_deactivate_the_login_link() -> None:
    client = signed_in_client()
    page = client.get(URL).content.decode()
    assert "Activate link" in page and 'id="portal-login-url"' not in page

    response = client.post(reverse("dashboard:portal-link-activate"))
    assert response["Location"] == "/dashboard/portal#login-link"
    configuration = portal_configuration_default(livemode=False)
    assert configuration.login_link is not None
    url = f"http://127.0.0.1:8000/p/login/{configuration.login_link.token}"
    page = client.get(URL).content.decode()
    assert f'value="{url}"' in page and 'data-copy="portal-login-url"' in page
    assert configuration.login_link.token.startswith("test_")
    # The link opens the login page.
    assert Client().get(f"/p/login/{configuration.login_link.token}").status_code == 200

    # Deactivating asks first, and then the shared address is dead for good.
    confirm = client.get(reverse("dashboard:portal-link-deactivate")).content.decode()
    assert "Deactivate the login link?" in confirm and url in confirm
    client.post(reverse("dashboard:portal-link-deactivate"))
    assert LoginLink.objects.get(token=configuration.login_link.token).deactivated is not None
    assert Client().get(f"/p/login/{configuration.login_link.token}").status_code == 404
    assert "Activate link" in client.get(URL).content.decode()
    # Activating again makes a new address.
    client.post(reverse("dashboard:portal-link-activate"))
    new = portal_configuration_default(livemode=False).login_link
    assert new is not None and new.token != configuration.login_link.token


def test_the_link_belongs_to_the_mode_shown() -> None:
    client = signed_in_client()
    client.post(reverse("dashboard:mode"), {"livemode": "true", "section": "portal"})
    client.post(reverse("dashboard:portal-link-activate"))
    live = portal_configuration_default(livemode=True).login_link
    assert live is not None and not live.token.startswith("test_")
    assert portal_configuration_default(livemode=False).login_link is None


def test_every_option_is_saved_through_the_configuration_service() -> None:
    pro = monthly_price(2000, at=T0, name="Pro")
    basic = monthly_price(1000, at=T0, name="Basic")
    client = signed_in_client()
    data = form_of(client)
    data.update(
        {
            "headline": "Manage your Acme plan",
            "terms_of_service_url": "https://acme.example/terms",
            "privacy_policy_url": "acme.example/privacy",  # the scheme is assumed
            "default_return_url": "https://acme.example/account",
            "customer_enabled": "on",
            "customer_allowed_updates": ["email", "address", "tax_id"],
            "payment_methods_enabled": "on",
            "invoice_history_enabled": "on",
            "cancel_enabled": "on",
            "cancel_mode": "immediately",
            "cancel_proration_behavior": "create_prorations",
            "cancellation_reason_enabled": "on",
            "cancellation_reasons": ["too_expensive", "unused"],
            "update_enabled": "on",
            "update_allowed": ["price", "quantity"],
            "update_proration_behavior": "always_invoice",
            "schedule_decreasing": "on",
            "trial_update_behavior": "continue_trial",
            "billing_cycle_anchor": "now",
            f"price_{pro.public_id}": "on",
            f"price_{basic.public_id}": "on",
            f"qty_{pro.product.public_id}_enabled": "on",
            f"qty_{pro.product.public_id}_minimum": "1",
            f"qty_{pro.product.public_id}_maximum": "25",
        }
    )
    response = client.post(URL, data)
    assert response.status_code == 302, response.context["form"].errors if response.context else ""
    configuration = portal_configuration_default(livemode=False)
    assert configuration.business_profile == {
        "headline": "Manage your Acme plan",
        "terms_of_service_url": "https://acme.example/terms",
        "privacy_policy_url": "https://acme.example/privacy",
    }
    assert configuration.default_return_url == "https://acme.example/account"
    features = configuration.features
    assert features["customer_update"] == {"enabled": True, "allowed_updates": ["email", "address", "tax_id"]}
    assert features["subscription_cancel"]["mode"] == "immediately"
    assert features["subscription_cancel"]["proration_behavior"] == "create_prorations"
    assert features["subscription_cancel"]["cancellation_reason"] == {
        "enabled": True,
        "options": ["too_expensive", "unused"],
    }
    update = features["subscription_update"]
    assert update["enabled"] and update["default_allowed_updates"] == ["price", "quantity"]
    assert update["proration_behavior"] == "always_invoice"
    assert update["schedule_at_period_end"] == {"conditions": [{"type": "decreasing_item_amount"}]}
    assert (update["trial_update_behavior"], update["billing_cycle_anchor"]) == ("continue_trial", "now")
    offered = {entry["product"]: entry for entry in update["products"]}
    assert offered[pro.product.public_id] == {
        "product": pro.product.public_id,
        "prices": [pro.public_id],
        "adjustable_quantity": {"enabled": True, "minimum": 1, "maximum": 25},
    }
    assert offered[basic.product.public_id]["adjustable_quantity"] == {"enabled": False, "minimum": 1, "maximum": None}
    assert Event.objects.filter(type="billing_portal.configuration.updated").count() == 1

    # The page shows what was saved; saving it unchanged writes nothing.
    again = form_of(client)
    assert again["headline"] == "Manage your Acme plan"
    assert again[f"price_{pro.public_id}"] == "on" and again[f"qty_{pro.product.public_id}_maximum"] == 25
    assert client.post(URL, again).status_code == 302
    assert Event.objects.filter(type="billing_portal.configuration.updated").count() == 1


def test_refusals_are_shown_by_their_field_and_keep_what_was_typed() -> None:
    client = signed_in_client()
    data = form_of(client)
    data.update(
        {
            "headline": "H" * 61,
            "terms_of_service_url": "not a url at all",
            "default_return_url": "https://acme.example/account",
            "cancellation_reason_enabled": "on",
            "cancellation_reasons": [],
        }
    )
    response = client.post(URL, data)
    assert response.status_code == 400
    form = response.context["form"]
    assert "headline" in form.errors and "terms_of_service_url" in form.errors
    assert form.errors["cancellation_reasons"] == ["Tick at least one reason, or stop asking why customers cancel."]
    html = response.content.decode()
    assert 'value="https://acme.example/account"' in html
    assert portal_configuration_default(livemode=False).default_return_url is None


def test_a_service_refusal_is_shown_next_to_its_field() -> None:
    """Plan switching without any price to switch to is refused by the configuration service (the API's rule)."""
    monthly_price(2000, at=T0, name="Pro")
    client = signed_in_client()
    data = form_of(client)
    data.update({"update_enabled": "on", "update_allowed": ["price"], "headline": "Kept headline"})
    response = client.post(URL, data)
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert "only among the products you list" in str(errors)
    assert 'value="Kept headline"' in response.content.decode()


def test_quantity_bounds_are_checked_per_product() -> None:
    pro = monthly_price(2000, at=T0, name="Pro")
    client = signed_in_client()
    data = form_of(client)
    key = pro.product.public_id
    data.update(
        {
            f"price_{pro.public_id}": "on",
            f"qty_{key}_enabled": "on",
            f"qty_{key}_minimum": "10",
            f"qty_{key}_maximum": "5",
        }
    )
    response = client.post(URL, data)
    assert response.status_code == 400
    assert "The maximum must be greater than the minimum." in response.content.decode()
    assert f'name="qty_{key}_minimum" value="10"' in response.content.decode()


def test_more_than_ten_products_are_refused_by_the_service() -> None:
    prices = [monthly_price(1000 + n, at=T0, name=f"Plan {n:02d}") for n in range(11)]
    client = signed_in_client()
    data = form_of(client)
    data.update({f"price_{price.public_id}": "on" for price in prices})
    response = client.post(URL, data)
    assert response.status_code == 400
    assert "at most 10 products" in response.content.decode()


def test_open_the_portal_as_a_customer_from_the_settings_and_the_customer_page() -> None:
    jenny = customer(at=T0, email="jenny@example.com", name="Jenny Rosen")
    client = signed_in_client()
    response = client.post(reverse("dashboard:portal-preview"), {"as": "JENNY@example.com"})
    assert response.status_code == 302 and "/p/session/" in response["Location"]
    session = PortalSession.objects.get()
    assert session.customer_id == jenny.pk
    assert session.return_url == "http://testserver/dashboard/portal"
    # The session link opens the portal as Jenny.
    portal = Client()
    opened = portal.get(response["Location"], follow=True)
    assert opened.status_code == 200 and "jenny@example.com" in opened.content.decode()

    response = client.post(reverse("dashboard:customer-portal", args=[jenny.public_id]))
    assert response.status_code == 302
    assert PortalSession.objects.order_by("-pk").first().return_url == (  # type: ignore[union-attr]
        f"http://testserver/dashboard/customers/{jenny.public_id}"
    )


def test_an_unknown_customer_is_said_so_and_kept() -> None:
    client = signed_in_client()
    response = client.post(reverse("dashboard:portal-preview"), {"as": "nobody@example.com"}, follow=True)
    html = response.content.decode()
    assert "No test-mode customer has the email or id “nobody@example.com”" in html
    assert 'value="nobody@example.com"' in html
    assert not PortalSession.objects.exists()


def test_links_and_preview_are_posts_with_csrf() -> None:
    client = signed_in_client()
    assert client.get(reverse("dashboard:portal-link-activate")).status_code == 405
    assert client.get(reverse("dashboard:portal-preview")).status_code == 405
    strict = Client(enforce_csrf_checks=True)
    strict.cookies = client.cookies
    assert strict.post(reverse("dashboard:portal-link-activate")).status_code == 403
    assert strict.post(URL, {}).status_code == 403
