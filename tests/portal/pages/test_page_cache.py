"""The overview's kept HTML: served again while nothing it shows changed, rebuilt as soon as
anything does, with a fresh nonce and CSRF token on every response, and never across browsers."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from billfold.billing.invoices.items import invoiceitem_create
from billfold.billing.invoices.services import invoice_create
from billfold.billing.invoices.transitions import invoice_finalize
from billfold.billing.subscriptions import services as subscription_services
from billfold.catalog.services import product_update
from billfold.core.clock import frozen_at
from billfold.customers.services import customer_update
from billfold.events.models import Event
from billfold.events.selectors import customer_events_version
from billfold.payments.models import PaymentMethod
from billfold.payments.services import payment_method_detach
from billfold.portal.configurations import portal_configuration_update
from tests.portal.pages.test_pages import signed_in
from tests.portal.pages.world import T0, World, session_for, session_path, world_build

pytestmark = pytest.mark.django_db


@pytest.fixture
def world() -> World:
    return world_build()


def overview(client: Client, at: dt.datetime = T0) -> str:
    with frozen_at(at):
        response = client.get("/p/")
    assert response.status_code == 200
    html = response.content.decode()
    nonce = re.search(r'<style nonce="([^"]+)">', html)
    assert nonce is not None and f"'nonce-{nonce.group(1)}'" in response["Content-Security-Policy"]
    return html


def without_tokens(html: str) -> str:
    html = re.sub(r'nonce="[^"]+"', 'nonce=""', html)
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', 'name="csrfmiddlewaretoken" value=""', html)


def test_the_overview_is_kept_and_served_with_fresh_tokens(world: World) -> None:
    client = signed_in(world)
    first = overview(client)
    with CaptureQueriesContext(connection) as queries, frozen_at(T0):
        second = client.get("/p/").content.decode()
    # The browser's access, the brand and the customer's events version: nothing else is read.
    assert len(queries.captured_queries) == 3, [q["sql"][:80] for q in queries.captured_queries]
    assert without_tokens(second) == without_tokens(first)
    nonces = {re.search(r'<style nonce="([^"]+)">', html).group(1) for html in (first, second)}  # type: ignore[union-attr]
    assert len(nonces) == 2
    tokens = re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', second)
    assert tokens and all(token != "" and not token.startswith("csrf-") for token in tokens)
    # The token in the kept page works: renewing (a POST) is accepted by the CSRF check.
    strict = Client(enforce_csrf_checks=True)
    strict.cookies = client.cookies
    with frozen_at(T0):
        page = strict.get("/p/").content.decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert token is not None
        assert strict.post("/p/sign-out", {"csrfmiddlewaretoken": token.group(1)}).status_code in (200, 302)


def test_each_change_to_what_the_page_shows_is_seen_at_once(world: World) -> None:
    client = signed_in(world)
    assert "Jenny Rosen" in overview(client)

    with frozen_at(T0):
        customer_update(customer=world.jenny, values={"name": "Jenny Appleseed"})
    assert "Jenny Appleseed" in overview(client)

    # A change to a shared object (the product's name on the subscription card).
    with frozen_at(T0):
        product_update(product=world.basic, values={"name": "Basic Plus"})
    assert "Basic Plus" in overview(client)

    # The next payment follows the quantity.
    with frozen_at(T0):
        subscription_services.subscription_update(
            subscription=world.jenny_sub,
            values={
                "items": [{"id": world.jenny_sub.items.get().public_id, "quantity": 5}],
                "proration_behavior": "none",
            },
        )
    assert "$50.00 on June 1, 2031" in overview(client)

    # A new invoice appears in the history.
    with frozen_at(T0):
        invoiceitem_create(customer=world.jenny, livemode=False, amount=777, currency="usd")
        invoice = invoice_create(customer=world.jenny, livemode=False, pending_invoice_items_behavior="include")
        invoice_finalize(invoice=invoice)
    assert "$7.77" in overview(client)

    # The configuration: turning off invoice history hides it.
    with frozen_at(T0):
        portal_configuration_update(
            configuration=world.configuration, values={"features": {"invoice_history": {"enabled": False}}}
        )
    assert "Invoice history" not in overview(client)


def test_another_day_renders_again(world: World) -> None:
    """Dates relative to today ("expires", "renews") are rendered again after midnight."""
    late = T0.replace(hour=23, minute=55)
    client = Client()
    with frozen_at(late):
        assert client.get(session_path(session_for(world.jenny, at=late))).status_code == 302
    overview(client, late)
    with CaptureQueriesContext(connection) as queries:
        overview(client, late + dt.timedelta(seconds=20))
    assert len(queries.captured_queries) == 3  # kept
    with CaptureQueriesContext(connection) as queries:
        overview(client, late + dt.timedelta(minutes=10))
    assert len(queries.captured_queries) > 3  # the next day: built again


def test_browsers_and_customers_never_share_a_kept_page(world: World) -> None:
    jenny = signed_in(world)
    overview(jenny)
    other_jenny = signed_in(world)
    with CaptureQueriesContext(connection) as queries:
        overview(other_jenny)
    assert len(queries.captured_queries) > 3  # its own access: built for it
    bob = Client()
    with frozen_at(T0):
        assert bob.get(session_path(session_for(world.bob))).status_code == 302
    html = overview(bob)
    assert "Bob" in html and "Jenny" not in html


def test_a_flash_message_is_shown_once_and_never_kept(world: World) -> None:
    client = signed_in(world)
    overview(client)
    with frozen_at(T0):
        response = client.post(f"/p/subscriptions/{world.jenny_sub.public_id}/cancel", {"reason": "unused"})
    assert response.status_code == 302
    shown = overview(client)
    assert "Your subscription will be canceled on" in shown and "Renew subscription" in shown
    again = overview(client)
    assert "Your subscription will be canceled on" not in again and "Renew subscription" in again


def test_events_carry_their_customer(world: World) -> None:
    with frozen_at(T0):
        customer_update(customer=world.jenny, values={"name": "J"})
    latest = Event.objects.order_by("-pk").first()
    assert latest is not None and (latest.type, latest.customer_id) == ("customer.updated", world.jenny.public_id)
    invoice = Event.objects.filter(type="invoice.created").first()
    assert invoice is not None and invoice.customer_id == invoice.data["object"]["customer"]
    products = Event.objects.filter(type="product.created")
    assert products.exists() and set(products.values_list("customer_id", flat=True)) == {""}
    before = customer_events_version(world.jenny.public_id)
    with frozen_at(T0):
        customer_update(customer=world.bob, values={"name": "B"})
    assert customer_events_version(world.jenny.public_id) == before
    with frozen_at(T0):
        product_update(product=world.pro, values={"name": "Pro 2"})
    assert customer_events_version(world.jenny.public_id) != before


def test_a_detached_card_event_names_the_customer_it_left(world: World) -> None:
    card = PaymentMethod.objects.filter(customer=world.bob).first()
    assert card is not None
    with frozen_at(T0):
        payment_method_detach(payment_method=card)
    detached = Event.objects.get(type="payment_method.detached")
    assert detached.data["object"]["customer"] is None
    assert detached.customer_id == world.bob.public_id


def test_two_locales_of_one_language_are_kept_apart(world: World) -> None:
    client = signed_in(world)
    with frozen_at(T0):
        american = client.get("/p/", HTTP_ACCEPT_LANGUAGE="en-US").content.decode()
        british = client.get("/p/", HTTP_ACCEPT_LANGUAGE="en-GB").content.decode()
    assert "June 1, 2031" in american and "1 June 2031" in british
