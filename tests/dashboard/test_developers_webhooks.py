"""Developers > Webhooks: endpoints created, changed and deleted through the endpoint services, the
signing secret revealed and rolled, every delivery with its attempts, and resending one."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
import stripe
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from billfold.core.clock import frozen_at
from billfold.customers.models import Customer
from billfold.customers.services import customer_create
from billfold.events import delivery
from billfold.events.endpoints import NewEndpoint, webhook_endpoint_create
from billfold.events.models import Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from tests.dashboard.helpers import signed_in_client, staff_user
from tests.dashboard.test_developers_keys import in_live_mode
from tests.events.receiver import Receiver, receiver

__all__ = ["receiver"]

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2030, 5, 1, 12, 0, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)


def endpoint(url: str, *, events: list[str] | None = None, livemode: bool = False, **extra: Any) -> NewEndpoint:
    with frozen_at(T0):
        return webhook_endpoint_create(
            livemode=livemode, url=url, enabled_events=events or ["customer.created"], **extra
        )


def new_customer(email: str = "jenny@example.com", *, at: dt.datetime = T0) -> Customer:
    with frozen_at(at):
        return customer_create(livemode=False, values={"email": email})


def deliver_at(moment: dt.datetime) -> int:
    with frozen_at(moment):
        return delivery.deliver_due()


def form_data(**values: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "url": "https://example.com/hooks",
        "description": "Order system",
        "scope": "selected",
        "events": ["customer.created", "invoice.paid"],
    }
    data.update(values)
    return data


def test_the_list_shows_each_endpoint_of_the_mode_with_its_recent_failure_rate(receiver: Receiver) -> None:
    receiver.answers = [500, 200]
    made = endpoint(receiver.url, description="CRM sync")
    new_customer()
    assert deliver_at(T0) == 1  # 500
    assert deliver_at(T0 + MINUTE) == 1  # 200
    # Endpoints made afterwards: nothing is sent to them.
    endpoint("https://example.com/all", events=["*"])
    with frozen_at(T0):
        webhook_endpoint_create(livemode=True, url="https://live.example.com/hooks", enabled_events=["*"])
    client = signed_in_client()

    with frozen_at(T0 + dt.timedelta(hours=1)):
        html = client.get(reverse("dashboard:webhooks")).content.decode()
    assert receiver.url in html and "CRM sync" in html and "https://example.com/all" in html
    assert "live.example.com" not in html
    assert "1 event</td>" in html and "All events" in html
    assert '50%</span> <span class="muted small">(1 of 2)' in html
    assert "No attempts" in html
    assert made.secret not in html
    # A week later the old attempts no longer count.
    with frozen_at(T0 + dt.timedelta(days=8)):
        html = client.get(reverse("dashboard:webhooks")).content.decode()
    assert "(1 of 2)" not in html and html.count("No attempts") == 2

    live = in_live_mode(client).get(reverse("dashboard:webhooks")).content.decode()
    assert "live.example.com" in live and receiver.url not in live


def test_an_endpoint_is_created_with_the_chosen_events() -> None:
    client = signed_in_client()
    response = client.post(reverse("dashboard:webhook-new"), form_data())
    made = WebhookEndpoint.objects.get()
    assert response["Location"] == reverse("dashboard:webhook", args=[made.public_id])
    assert (made.url, made.description, made.enabled_events, made.status, made.livemode) == (
        "https://example.com/hooks",
        "Order system",
        ["customer.created", "invoice.paid"],
        "enabled",
        False,
    )
    page = client.get(response["Location"]).content.decode()
    assert "The endpoint was added." in page and "2 events" in page


def test_all_events_and_live_mode() -> None:
    client = in_live_mode(signed_in_client())
    client.post(reverse("dashboard:webhook-new"), form_data(scope="all", events=[], description=""))
    made = WebhookEndpoint.objects.get()
    assert (made.enabled_events, made.livemode, made.description) == (["*"], True, None)


def test_refusals_are_shown_by_their_field_and_everything_typed_is_kept() -> None:
    client = signed_in_client()
    # The endpoint service's own URL check, as for the API.
    response = client.post(reverse("dashboard:webhook-new"), form_data(url="ftp://files.example.com/x"))
    html = response.content.decode()
    assert response.status_code == 400
    assert re.search(r'<p class="error" id="id_url_error">Invalid URL: &#x27;ftp://files.example.com/x&#x27;', html)
    assert 'value="ftp://files.example.com/x"' in html
    assert ">\nOrder system</textarea>" in html
    assert re.search(r'value="customer.created"[^>]* checked', html)
    assert re.search(r'value="invoice.paid"[^>]* checked', html)
    assert "2 selected" in html

    response = client.post(reverse("dashboard:webhook-new"), form_data(events=[]))
    html = response.content.decode()
    assert response.status_code == 400
    assert "Choose at least one event type, or send all events." in html
    assert 'value="https://example.com/hooks"' in html

    response = client.post(reverse("dashboard:webhook-new"), form_data(events=["customer.created", "made.up"]))
    assert "made.up is not an event type Billfold knows." in response.content.decode()

    # Live mode sends to public addresses only.
    live = in_live_mode(signed_in_client(User.objects.get()))
    response = live.post(reverse("dashboard:webhook-new"), form_data(url="http://127.0.0.1:4242/hooks"))
    assert response.status_code == 400
    assert "127.0.0.1 is not a public address." in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_editing_changes_the_endpoint_and_can_disable_it() -> None:
    made = endpoint("https://example.com/hooks", description="Old")
    client = signed_in_client()
    edit = reverse("dashboard:webhook-edit", args=[made.endpoint.public_id])
    form = client.get(edit).content.decode()
    assert 'value="https://example.com/hooks"' in form and ">\nOld</textarea>" in form
    assert re.search(r'name="enabled"[^>]* checked', form)

    bad = client.post(edit, form_data(url="not a url", enabled="on"))
    assert bad.status_code == 400
    made.endpoint.refresh_from_db()
    assert made.endpoint.url == "https://example.com/hooks"

    response = client.post(edit, form_data(url="https://example.com/v2/hooks", description="", scope="all"))
    assert response.status_code == 302
    made.endpoint.refresh_from_db()
    assert (made.endpoint.url, made.endpoint.description, made.endpoint.enabled_events, made.endpoint.status) == (
        "https://example.com/v2/hooks",
        None,
        ["*"],
        "disabled",
    )


def test_disabling_and_deleting_ask_first() -> None:
    made = endpoint("https://example.com/hooks")
    public_id = made.endpoint.public_id
    client = signed_in_client()
    page = client.get(reverse("dashboard:webhook-status", args=[public_id])).content.decode()
    assert "Disable this endpoint?" in page and "marked failed" in page
    assert WebhookEndpoint.objects.get().status == "enabled"
    client.post(reverse("dashboard:webhook-status", args=[public_id]))
    assert WebhookEndpoint.objects.get().status == "disabled"
    assert "Enable this endpoint?" in client.get(reverse("dashboard:webhook-status", args=[public_id])).content.decode()
    client.post(reverse("dashboard:webhook-status", args=[public_id]))
    assert WebhookEndpoint.objects.get().status == "enabled"

    page = client.get(reverse("dashboard:webhook-delete", args=[public_id])).content.decode()
    assert "Delete this endpoint?" in page and "This cannot be undone." in page
    assert WebhookEndpoint.objects.exists()
    response = client.post(reverse("dashboard:webhook-delete", args=[public_id]), follow=True)
    assert "The endpoint https://example.com/hooks was deleted." in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_the_signing_secret_is_revealed_on_demand_and_rolled(receiver: Receiver) -> None:
    made = endpoint(receiver.url)
    detail = reverse("dashboard:webhook", args=[made.endpoint.public_id])
    client = signed_in_client()
    assert made.secret not in client.get(detail).content.decode()
    revealed = client.post(detail).content.decode()
    assert f'value="{made.secret}" readonly' in revealed
    # Revealing keeps the deliveries' filter.
    filtered = client.get(detail + "?status=failed").content.decode()
    assert f'<form method="post" action="{detail}?status=failed" class="copy-row secret-row">' in filtered

    with frozen_at(T0):
        response = client.post(reverse("dashboard:webhook-roll", args=[made.endpoint.public_id]), {"expires": "24h"})
    assert response["Location"] == detail
    with frozen_at(T0):
        page = client.get(detail).content.decode()
        assert "The signing secret was rolled." in page
        assert "The previous secret also signs deliveries until May 2, 2030, 12:00 UTC." in page
        new_secret = re.findall(r'value="(whsec_\w+)" readonly', client.post(detail).content.decode())[0]
    assert new_secret != made.secret
    # Deliveries carry both signatures: either secret verifies them.
    new_customer()
    assert deliver_at(T0 + MINUTE) == 1
    [got] = receiver.received
    for secret in (made.secret, new_secret):
        event = stripe.Webhook.construct_event(got.body.decode(), got.headers["Stripe-Signature"], secret)
        assert event.type == "customer.created"


def test_every_delivery_is_listed_with_its_attempts_and_filters(receiver: Receiver) -> None:
    receiver.answers = [503, 200, 200]
    made = endpoint(receiver.url)
    first = new_customer("first@example.com")
    second = new_customer("second@example.com")
    assert deliver_at(T0) == 2  # the first fails (503), the second is delivered
    assert deliver_at(T0 + MINUTE) == 1  # the first's retry
    third = new_customer("third@example.com", at=T0 + 2 * MINUTE)  # not sent yet
    client = signed_in_client()
    detail = reverse("dashboard:webhook", args=[made.endpoint.public_id])

    with frozen_at(T0 + 3 * MINUTE):
        html = client.get(detail).content.decode()
    events = {c.public_id: Event.objects.get(object_id=c.public_id).public_id for c in (first, second, third)}
    assert all(event_id in html for event_id in events.values())
    assert html.count('class="delivery"') == 3
    assert "HTTP 503" in html and "something broke" in html and "HTTP 200" in html
    assert "{&quot;received&quot;: true}" in html
    assert "2 attempts" in html and "0 attempts · sending now" in html

    with frozen_at(T0 + 3 * MINUTE):
        pending = client.get(detail + "?status=pending").content.decode()
        succeeded = client.get(detail + "?status=succeeded").content.decode()
        failed = client.get(detail + "?status=failed").content.decode()
    assert pending.count('class="delivery"') == 1 and events[third.public_id] in pending
    assert succeeded.count('class="delivery"') == 2 and events[third.public_id] not in succeeded
    assert "No failed deliveries." in failed


def test_an_error_without_an_answer_is_shown(receiver: Receiver) -> None:
    made = endpoint("http://127.0.0.1:9/closed")
    new_customer()
    deliver_at(T0)
    [attempt] = WebhookAttempt.objects.all()
    assert attempt.status_code is None and attempt.error
    html = signed_in_client().get(reverse("dashboard:webhook", args=[made.endpoint.public_id])).content.decode()
    assert "No answer" in html and attempt.error in html


def test_resending_a_failed_delivery_makes_a_new_attempt(receiver: Receiver) -> None:
    receiver.answers = [500]
    made = endpoint(receiver.url)
    customer = new_customer()
    event = Event.objects.get(object_id=customer.public_id)
    # Three days of retries, then the delivery fails.
    moment = T0
    while WebhookDelivery.objects.get().status == "pending":
        deliver_at(moment)
        moment = WebhookDelivery.objects.get().next_attempt_at or moment
    row = WebhookDelivery.objects.get()
    attempts_before = row.attempts
    assert row.status == "failed" and attempts_before > 5

    receiver.answers = [200]
    client = signed_in_client()
    later = T0 + dt.timedelta(days=10)
    resend = reverse("dashboard:webhook-resend", args=[made.endpoint.public_id, event.public_id])
    with frozen_at(later):
        response = client.post(resend, follow=True)
    assert f"{event.public_id} was queued: the worker sends it to {receiver.url} in a moment." in (
        response.content.decode()
    )
    row.refresh_from_db()
    assert (row.status, row.next_attempt_at, row.finished) == ("pending", later, None)
    event.refresh_from_db()
    assert event.pending_webhooks == 1

    assert deliver_at(later) == 1
    row.refresh_from_db()
    event.refresh_from_db()
    assert (row.status, row.attempts, event.pending_webhooks) == ("succeeded", attempts_before + 1, 0)
    last = WebhookAttempt.objects.filter(delivery=row).order_by("-pk").first()
    assert last is not None and (last.started, last.status_code) == (later, 200)
    assert len(receiver.received) == attempts_before + 1


def test_resending_a_delivered_event_sends_it_again_and_counts_it_pending(receiver: Receiver) -> None:
    made = endpoint(receiver.url)
    event = Event.objects.get(object_id=new_customer().public_id)
    assert deliver_at(T0) == 1
    client = signed_in_client()
    back = reverse("dashboard:event", args=[event.public_id])
    with frozen_at(T0 + MINUTE):
        response = client.post(
            reverse("dashboard:webhook-resend", args=[made.endpoint.public_id, event.public_id]), {"next": back}
        )
    assert response["Location"] == back
    event.refresh_from_db()
    assert event.pending_webhooks == 1
    assert deliver_at(T0 + MINUTE) == 1
    event.refresh_from_db()
    assert event.pending_webhooks == 0 and len(receiver.received) == 2
    assert WebhookDelivery.objects.get().attempts == 2


def test_resending_a_pending_delivery_makes_it_due_now(receiver: Receiver) -> None:
    receiver.answers = [500, 200]
    made = endpoint(receiver.url)
    event = Event.objects.get(object_id=new_customer().public_id)
    deliver_at(T0)
    assert WebhookDelivery.objects.get().next_attempt_at == T0 + MINUTE
    with frozen_at(T0 + dt.timedelta(seconds=5)):
        signed_in_client().post(reverse("dashboard:webhook-resend", args=[made.endpoint.public_id, event.public_id]))
    assert WebhookDelivery.objects.get().next_attempt_at == T0 + dt.timedelta(seconds=5)
    assert deliver_at(T0 + dt.timedelta(seconds=5)) == 1
    assert WebhookDelivery.objects.get().status == "succeeded"


def test_resending_to_a_disabled_endpoint_is_refused(receiver: Receiver) -> None:
    made = endpoint(receiver.url)
    event = Event.objects.get(object_id=new_customer().public_id)
    deliver_at(T0)
    WebhookEndpoint.objects.update(status="disabled")
    response = signed_in_client().post(
        reverse("dashboard:webhook-resend", args=[made.endpoint.public_id, event.public_id]), follow=True
    )
    assert "This endpoint is disabled: enable it to send events to it again." in response.content.decode()
    assert WebhookDelivery.objects.get().status == "succeeded"
    # An event never sent to the endpoint has nothing to resend.
    other = endpoint("https://example.com/other")
    missing = signed_in_client(User.objects.get()).post(
        reverse("dashboard:webhook-resend", args=[other.endpoint.public_id, event.public_id])
    )
    assert missing.status_code == 404


def test_webhook_pages_are_for_staff_only_and_actions_need_csrf() -> None:
    made = endpoint("http://127.0.0.1:9/hooks")
    event = Event.objects.get(object_id=new_customer().public_id)
    public_id = made.endpoint.public_id
    pages = [
        reverse("dashboard:webhooks"),
        reverse("dashboard:webhook-new"),
        reverse("dashboard:webhook", args=[public_id]),
        reverse("dashboard:webhook-edit", args=[public_id]),
        reverse("dashboard:webhook-status", args=[public_id]),
        reverse("dashboard:webhook-roll", args=[public_id]),
        reverse("dashboard:webhook-delete", args=[public_id]),
    ]
    for path in pages:
        assert Client().get(path)["Location"].startswith("/dashboard/sign-in?next="), path
    # Revealing the secret is a POST to the endpoint's page: refused without staff access.
    response = Client().post(pages[2])
    assert response.status_code == 302 and made.secret not in response.content.decode()
    assert Client().post(pages[6]).status_code == 302
    assert WebhookEndpoint.objects.exists()

    guarded = Client(enforce_csrf_checks=True)
    guarded.force_login(staff_user())
    assert guarded.post(pages[2]).status_code == 403
    assert guarded.post(pages[6]).status_code == 403
    assert guarded.post(reverse("dashboard:webhook-resend", args=[public_id, event.public_id])).status_code == 403
    assert guarded.post(pages[1], form_data()).status_code == 403
    assert WebhookEndpoint.objects.count() == 1
    assert guarded.get(reverse("dashboard:webhook-resend", args=[public_id, event.public_id])).status_code == 405

    for path in pages:
        response = guarded.get(path)
        assert response.status_code == 200, path
        assert response["Cache-Control"] == "private, no-store", path
        html = response.content.decode()
        assert "<script>" not in html and "style=" not in html and "<style" not in html, path
        assert 'aria-current="page">Webhooks</a>' in html, path
    # Another mode's endpoint has no page here.
    assert in_live_mode(guarded).get(pages[2]).status_code == 404
