"""Developers > Events: the log with its filters, and an event's JSON, deliveries and related pages."""

from __future__ import annotations

import datetime as dt
import html
import json
import re

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from billfold.catalog.services import product_create
from billfold.core.clock import frozen_at
from billfold.customers.services import customer_delete
from billfold.dashboard.views.developers_events import highlighted_json
from billfold.events.endpoints import webhook_endpoint_create
from billfold.events.models import Event
from tests.dashboard.helpers import customer, monthly_price, signed_in_client, staff_user, subscribe
from tests.dashboard.test_developers_keys import in_live_mode

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2030, 4, 10, 8, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


def listed(client: Client, query: str = "") -> list[str]:
    """The event ids the log shows, in order."""
    page = client.get(reverse("dashboard:events") + query).content.decode()
    return re.findall(r'<div class="muted mono small">(evt_\w+)</div>', page)


def ids(*events: Event) -> list[str]:
    return [event.public_id for event in events]


def event(object_id: str, kind: str) -> Event:
    return Event.objects.get(object_id=object_id, type=kind)


def test_the_log_lists_the_modes_events_newest_first() -> None:
    jenny = customer(at=T0, email="jenny@example.com")
    ada = customer(at=T0 + DAY, email="ada@example.com")
    live = customer(livemode=True, at=T0, email="live@example.com")
    client = signed_in_client()
    created = [event(ada.public_id, "customer.created"), event(jenny.public_id, "customer.created")]
    assert listed(client) == ids(*created)
    page = client.get(reverse("dashboard:events")).content.decode()
    assert 'aria-current="page">Events</a>' in page and "Apr 11, 2030, 08:00" in page
    assert listed(in_live_mode(client)) == ids(event(live.public_id, "customer.created"))


def test_filters_by_type_prefix_object_and_dates() -> None:
    buyer = customer(at=T0, email="jenny@example.com")
    product = product_create(livemode=False, values={"name": "Widget"})
    with frozen_at(T0 + 2 * DAY):
        subscription = subscribe(buyer, monthly_price(1500, at=T0 + 2 * DAY), at=T0 + 2 * DAY)
    client = signed_in_client()
    everything = list(Event.objects.filter(livemode=False).order_by("-created", "-pk"))
    customer_events = [e for e in everything if e.type.startswith("customer.")]
    invoice_events = [e for e in everything if e.type.startswith("invoice.")]
    assert customer_events and invoice_events

    assert listed(client, "?type=customer.created") == ids(event(buyer.public_id, "customer.created"))
    assert listed(client, "?type=customer.") == ids(*customer_events)
    assert listed(client, "?type=customer.*") == ids(*customer_events)
    assert listed(client, "?type=invoice.") == ids(*invoice_events)
    assert listed(client, "?type=invoice") == ids(*[e for e in everything if e.type.startswith("invoice")])
    assert listed(client, f"?object={subscription.public_id}") == ids(
        *[e for e in everything if e.object_id == subscription.public_id]
    )
    assert listed(client, f"?object={product.public_id}") == ids(event(product.public_id, "product.created"))
    # Whole days in UTC, both ends included.
    assert listed(client, "?since=2030-04-10&until=2030-04-10") == ids(event(buyer.public_id, "customer.created"))
    since_12th = [e for e in everything if e.created >= T0 + 2 * DAY - dt.timedelta(hours=8)]
    assert listed(client, "?since=2030-04-12") == ids(*since_12th)
    assert listed(client, "?type=invoice.&since=2030-04-13") == []
    page = client.get(reverse("dashboard:events") + "?type=invoice.&since=2030-04-13").content.decode()
    assert "No events match these filters." in page and "Clear filters" in page


def test_bad_filters_are_shown_by_their_field_and_kept() -> None:
    customer(at=T0, email="jenny@example.com")
    client = signed_in_client()
    page = client.get(reverse("dashboard:events") + "?type=customer.&since=10/04/2030").content.decode()
    assert '<p class="error" id="id_since_error">Enter a date such as 2026-11-24.</p>' in page
    assert 'value="customer."' in page and 'value="10/04/2030"' in page
    assert "the list below is not filtered" in page

    page = client.get(reverse("dashboard:events") + "?since=2030-04-12&until=2030-04-11").content.decode()
    assert "The end date is before the start date." in page
    assert 'value="2030-04-12"' in page and 'value="2030-04-11"' in page


def test_the_log_is_paginated_and_the_pages_keep_the_filters() -> None:
    for index in range(27):
        customer(at=T0 + dt.timedelta(minutes=index), email=f"c{index}@example.com")
    client = signed_in_client()
    first = client.get(reverse("dashboard:events") + "?type=customer.created").content.decode()
    assert len(re.findall(r"evt_\w+</div>", first)) == 25
    assert 'href="?type=customer.created&amp;page=2"' in first and "Page 1 of 2" in first
    assert len(listed(client, "?type=customer.created&page=2")) == 2


def test_an_event_shows_its_json_escaped_exactly_as_the_api_renders_it(test_key: str) -> None:
    buyer = customer(at=T0, email="jenny@example.com", name="<script>alert(1)</script> & Co")
    created = event(buyer.public_id, "customer.created")
    client = signed_in_client()
    page = client.get(reverse("dashboard:event", args=[created.public_id])).content.decode()

    assert "<script>alert" not in page
    shown = re.search(r'<pre class="json" id="event-json"[^>]*>(.*?)</pre>', page, re.S)
    assert shown is not None
    text = html.unescape(re.sub(r"<[^>]+>", "", shown.group(1)))
    as_api = Client().get(f"/v1/events/{created.public_id}", HTTP_AUTHORIZATION=f"Bearer {test_key}").json()
    assert json.loads(text) == as_api
    assert text.startswith('{\n  "id": "' + created.public_id + '",')
    assert '<span class="json-string">&quot;&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co&quot;</span>' in page
    assert '<span class="json-key">&quot;livemode&quot;</span>: <span class="json-literal">false</span>' in page
    assert 'data-copy="event-json" hidden' in page


def test_highlighting_escapes_every_piece() -> None:
    rendered = str(highlighted_json({'a"<b>': ["</pre>", -1.5e3, None, True], "n": 12}))
    assert "<b>" not in rendered and "</pre>" not in rendered
    assert (
        '<span class="json-key">&quot;a\\&quot;&lt;b&gt;&quot;</span>: [\n    '
        '<span class="json-string">&quot;&lt;/pre&gt;&quot;</span>,\n    '
        '<span class="json-number">-1500.0</span>,\n    <span class="json-literal">null</span>'
    ) in rendered


def test_an_event_links_to_the_pages_of_the_objects_it_is_about() -> None:
    buyer = customer(at=T0, email="jenny@example.com")
    price = monthly_price(1500, at=T0)
    subscription = subscribe(buyer, price, at=T0)
    invoice_event = Event.objects.filter(type="invoice.created").get()
    invoice_id = invoice_event.object_id
    client = signed_in_client()

    def related(evt: Event) -> list[str]:
        page = client.get(reverse("dashboard:event", args=[evt.public_id])).content.decode()
        section = page.split("<dt>Related pages</dt>", 1)[1].split("</dd>", 1)[0]
        return re.findall(r'<a href="([^"]+)">', section)

    assert related(invoice_event) == [
        reverse("dashboard:invoice", args=[invoice_id]),
        reverse("dashboard:customer", args=[buyer.public_id]),
        reverse("dashboard:subscription", args=[subscription.public_id]),
    ]
    assert related(event(subscription.public_id, "customer.subscription.created")) == [
        reverse("dashboard:subscription", args=[subscription.public_id]),
        reverse("dashboard:customer", args=[buyer.public_id]),
    ]
    # A price's page is its product's.
    assert related(event(price.public_id, "price.created")) == [
        reverse("dashboard:product", args=[price.product.public_id])
    ]
    # A deleted customer has no page any more.
    with frozen_at(T0 + DAY):
        customer_delete(customer=buyer)
    assert related(event(buyer.public_id, "customer.created")) == []


def test_an_event_lists_its_deliveries_with_a_resend_button() -> None:
    with frozen_at(T0):
        made = webhook_endpoint_create(livemode=False, url="http://127.0.0.1:9/hooks", enabled_events=["*"])
    buyer = customer(at=T0, email="jenny@example.com")
    created = event(buyer.public_id, "customer.created")
    page = signed_in_client().get(reverse("dashboard:event", args=[created.public_id])).content.decode()
    assert "http://127.0.0.1:9/hooks" in page and "Not attempted yet" in page
    resend = reverse("dashboard:webhook-resend", args=[made.endpoint.public_id, created.public_id])
    assert f'action="{resend}"' in page
    assert f'name="next" value="{reverse("dashboard:event", args=[created.public_id])}"' in page


def test_event_pages_are_for_staff_of_the_events_mode_only() -> None:
    buyer = customer(at=T0, email="jenny@example.com")
    created = event(buyer.public_id, "customer.created")
    pages = [reverse("dashboard:events"), reverse("dashboard:event", args=[created.public_id])]
    for path in pages:
        assert Client().get(path)["Location"].startswith("/dashboard/sign-in?next="), path
    outsider = Client()
    outsider.force_login(User.objects.create_user(username="someone@example.com", password="irrelevant pass"))
    assert {outsider.get(path).status_code for path in pages} == {302}
    client = signed_in_client(staff_user("dev@example.com"))
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        assert response["Cache-Control"] == "private, no-store", path
        html_text = response.content.decode()
        assert "<script>" not in html_text and "style=" not in html_text and "<style" not in html_text, path
    assert in_live_mode(client).get(pages[1]).status_code == 404
