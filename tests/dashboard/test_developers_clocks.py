"""Developers > Test clocks: create, attach customers, advance (progress, then what happened), refusals
that keep what was typed, live mode, delete with confirmation, staff only and CSRF."""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from billfold.billing.models import Invoice, Subscription
from billfold.clocks import advance
from billfold.clocks import models as clock_models
from billfold.clocks import services as clock_services
from billfold.core import clock
from billfold.customers.models import Customer
from billfold.customers.services import customer_create
from billfold.dashboard.security import LIVEMODE_KEY
from billfold.dashboard.views import developers_clocks
from billfold.events.models import Event
from tests.dashboard.helpers import monthly_price, signed_in_client, subscribe

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2030, 1, 1, 12, tzinfo=dt.UTC)
Callbacks = Callable[..., Any]


def new_clock(name: str = "Renewals", at: dt.datetime = T0) -> clock_models.TestClock:
    return clock_services.test_clock_create(livemode=False, frozen_time=at, name=name)


def on_clock(test_clock: clock_models.TestClock, **values: Any) -> Customer:
    return customer_create(livemode=False, values={"test_clock": test_clock.public_id, **values})


def subscribed_clock() -> tuple[clock_models.TestClock, Customer, Subscription]:
    """A clock with one customer on a $10 monthly plan billed by invoice, started at T0."""
    test_clock = new_clock()
    buyer = on_clock(test_clock, name="Jenny Rosen", email="jenny@example.com")
    subscription = subscribe(buyer, monthly_price(1000, at=T0), at=T0)
    return test_clock, buyer, subscription


def url(name: str, *args: str) -> str:
    return reverse(f"dashboard:{name}", args=args)


def text_of(html: bytes) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html.decode()).split())


def test_the_list_shows_each_clock_with_its_time_status_and_customers() -> None:
    busy, _, _ = subscribed_clock()
    new_clock("Empty", at=dt.datetime(2031, 6, 15, 8, 30, tzinfo=dt.UTC))
    clock_services.test_clock_delete(test_clock=new_clock("Gone"))
    response = signed_in_client().get(url("test-clocks"))
    assert response.status_code == 200
    page = text_of(response.content)
    assert "Renewals clock_" in page
    assert "Jan 1, 2030, 12:00 Ready 1" in page
    assert "Empty" in page and "Jun 15, 2031, 08:30 Ready 0" in page
    assert "Gone" not in page
    assert url("test-clock", busy.public_id) in response.content.decode()
    assert 'aria-current="page">Test clocks</a>' in response.content.decode()


def test_creating_a_clock_starts_it_at_the_time_typed_in_utc() -> None:
    client = signed_in_client()
    form = client.get(url("test-clock-new"))
    assert form.status_code == 200
    assert 'type="datetime-local"' in form.content.decode()
    response = client.post(url("test-clock-new"), {"name": "Annual renewal", "frozen_time": "2030-02-28T23:30"})
    created = clock_models.TestClock.objects.get()
    assert response.status_code == 302
    assert response["Location"] == url("test-clock", created.public_id)
    assert (created.name, created.frozen_time, created.status) == (
        "Annual renewal",
        dt.datetime(2030, 2, 28, 23, 30, tzinfo=dt.UTC),
        "ready",
    )
    assert Event.objects.filter(type="test_helpers.test_clock.created", object_id=created.public_id).count() == 1
    detail = client.get(response["Location"])
    assert "Feb 28, 2030, 23:30" in text_of(detail.content)
    assert "The test clock was created." in detail.content.decode()


@pytest.mark.parametrize(
    ("typed", "error"),
    [
        ("", "Choose the time the clock starts at."),
        ("next tuesday", "Enter a date and time such as 2030-01-31 09:00 (UTC)."),
        ("3100-01-01T00:00", "Choose a time between the years 1970 and 2999."),
    ],
)
def test_a_refused_clock_keeps_what_was_typed(typed: str, error: str) -> None:
    response = signed_in_client().post(url("test-clock-new"), {"name": "Keep me", "frozen_time": typed})
    assert response.status_code == 400
    html = response.content.decode()
    assert f'<p class="error" id="id_frozen_time_error">{error}</p>' in html
    assert 'value="Keep me"' in html
    if typed:
        assert f'value="{typed}"' in html
    assert not clock_models.TestClock.objects.exists()


def test_a_customer_added_with_a_card_and_a_plan_lives_on_the_clock_and_is_billed_at_its_time() -> None:
    test_clock = new_clock()
    price = monthly_price(2500, name="Team", at=T0)
    client = signed_in_client()
    form = client.get(url("test-clock-customer-new", test_clock.public_id))
    assert form.status_code == 200
    assert f'<option value="{price.public_id}">Team · $25.00 / month</option>' in form.content.decode()
    response = client.post(
        url("test-clock-customer-new", test_clock.public_id),
        {"name": "Ada", "email": "ada@example.com", "card": "pm_card_visa", "price": price.public_id},
    )
    assert response.status_code == 302
    assert response["Location"] == url("test-clock", test_clock.public_id)
    buyer = Customer.objects.get()
    assert (buyer.test_clock_id, buyer.created, buyer.email) == (test_clock.pk, T0, "ada@example.com")
    subscription = Subscription.objects.get(customer=buyer)
    assert subscription.status == "active"
    invoice = Invoice.objects.get(customer=buyer)
    assert (invoice.status, invoice.total, invoice.created) == ("paid", 2500, T0)
    detail = client.get(response["Location"])
    html = detail.content.decode()
    assert "The customer was added to the clock and subscribed (active)." in html
    assert url("customer", buyer.public_id) in html
    assert url("subscription", subscription.public_id) in html
    # The next renewal, on the clock's calendar.
    assert "Feb 1, 2030, 12:00" in text_of(detail.content)


def test_a_customer_without_a_card_is_invoiced_and_one_refused_keeps_what_was_typed() -> None:
    test_clock = new_clock()
    price = monthly_price(1000, at=T0)
    client = signed_in_client()
    refused = client.post(
        url("test-clock-customer-new", test_clock.public_id),
        {"name": "Ada", "email": "not an address", "card": "pm_card_visa", "price": price.public_id},
    )
    assert refused.status_code == 400
    html = refused.content.decode()
    assert "Invalid email address: not an address" in html
    assert 'value="Ada"' in html and 'value="not an address"' in html
    assert re.search(r'value="pm_card_visa"[^>]*checked', html)
    assert re.search(rf'<option value="{price.public_id}" selected>', html)
    assert not Customer.objects.exists()
    client.post(
        url("test-clock-customer-new", test_clock.public_id), {"name": "Bo", "card": "", "price": price.public_id}
    )
    subscription = Subscription.objects.get()
    assert (subscription.collection_method, subscription.days_until_due) == ("send_invoice", 30)


def test_advancing_shows_progress_then_the_new_time_and_the_invoices_it_created(
    django_capture_on_commit_callbacks: Callbacks,
) -> None:
    test_clock, buyer, _ = subscribed_clock()
    client = signed_in_client()
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(url("test-clock-advance", test_clock.public_id), {"step": "month"})
    assert response.status_code == 302
    assert response["Location"] == url("test-clock", test_clock.public_id)
    # The request only started the advance; the run waits for the background thread.
    assert len(callbacks) == 1
    test_clock.refresh_from_db()
    assert (test_clock.status, test_clock.frozen_time) == ("advancing", T0)
    assert Invoice.objects.filter(customer=buyer).count() == 1

    progress = client.get(url("test-clock", test_clock.public_id))
    html = progress.content.decode()
    page = text_of(progress.content)
    assert "Advancing the clock to Feb 1, 2030, 12:00." in page
    assert "Advancing to Feb 1, 2030, 12:00" in page
    assert '<progress max="100" value="0"' in html
    assert "dashboard/clocks.js" in html
    assert "<noscript>" in html and "Refresh the page" in html
    # Nothing that would change the clock meanwhile is offered.
    assert url("test-clock-customer-new", test_clock.public_id) not in html
    assert url("test-clock-delete", test_clock.public_id) not in html
    status = client.get(url("test-clock-status", test_clock.public_id)).json()
    assert status == {
        "id": test_clock.public_id,
        "status": "advancing",
        "frozen_time": clock.to_unix(T0),
        "frozen_time_text": "Jan 1, 2030, 12:00",
        "target_text": "Feb 1, 2030, 12:00",
        "percent": 0,
    }

    developers_clocks.advance_run(test_clock.pk)

    ready = client.get(url("test-clock", test_clock.public_id))
    page = text_of(ready.content)
    renewal = Invoice.objects.filter(customer=buyer).order_by("-pk").first()
    assert renewal is not None and renewal.created == dt.datetime(2030, 2, 1, 12, tzinfo=dt.UTC)
    assert "Feb 1, 2030, 12:00 UTC Ready" in page
    assert "Advanced from Jan 1, 2030, 12:00 to Feb 1, 2030, 12:00. 1 invoice created." in page
    assert url("invoice", renewal.public_id) in ready.content.decode()
    assert "invoice.created 1" in page
    assert "dashboard/clocks.js" not in ready.content.decode()
    assert client.get(url("test-clock-status", test_clock.public_id)).json()["status"] == "ready"
    # The advance froze time for its own thread only.
    assert abs((clock.now() - dt.datetime.now(dt.UTC)).total_seconds()) < 60


def test_a_typed_time_advances_to_it() -> None:
    test_clock = new_clock()
    client = signed_in_client()
    response = client.post(url("test-clock-advance", test_clock.public_id), {"frozen_time": "2030-01-05T08:15:30"})
    assert response.status_code == 302
    test_clock.refresh_from_db()
    assert test_clock.status_details == {
        "advancing": {"target_frozen_time": clock.to_unix(dt.datetime(2030, 1, 5, 8, 15, 30, tzinfo=dt.UTC))}
    }


def _refused_advance(test_clock: clock_models.TestClock, data: dict[str, str]) -> str:
    events = Event.objects.count()
    response = signed_in_client().post(url("test-clock-advance", test_clock.public_id), data)
    assert response.status_code == 400
    test_clock.refresh_from_db()
    assert (test_clock.status, test_clock.frozen_time) == ("ready", T0)
    assert Event.objects.count() == events
    return response.content.decode()


def test_advancing_into_the_past_is_refused_next_to_the_field_keeping_the_time_typed() -> None:
    test_clock = new_clock()
    html = _refused_advance(test_clock, {"frozen_time": "2029-12-31T12:00"})
    assert re.search(
        r'<p class="error" id="id_frozen_time_error">frozen_time must be after the test clock&#x27;s current frozen '
        r"time, 2030-01-01T12:00:00Z \(1893499200\)",
        html,
    )
    assert 'value="2029-12-31T12:00"' in html


def test_a_time_past_the_advance_limit_is_refused() -> None:
    test_clock = new_clock()
    html = _refused_advance(test_clock, {"frozen_time": "2032-01-01T12:00:01"})
    assert "is too far ahead: one advance of this test clock can reach 2032-01-01T12:00:00Z" in html
    assert 'value="2032-01-01T12:00:01"' in html
    # The field says how far one advance may go.
    assert "One advance can reach Jan 1, 2032, 12:00 at most" in html


def test_a_quick_step_past_the_limit_is_refused_showing_the_time_it_stands_for() -> None:
    def sixty_days(*, clock: clock_models.TestClock) -> dt.datetime:
        return clock.frozen_time + dt.timedelta(days=60)

    test_clock = new_clock()
    advance.register_advance_limit(sixty_days)
    try:
        html = _refused_advance(test_clock, {"step": "year"})
    finally:
        advance.unregister_advance_limit(sixty_days)
    assert "is too far ahead: one advance of this test clock can reach 2030-03-02T12:00:00Z" in html
    assert 'id="id_frozen_time_error"' in html
    assert 'value="2031-01-01T12:00:00"' in html


def test_a_stalled_advance_can_be_resumed(django_capture_on_commit_callbacks: Callbacks) -> None:
    test_clock, _, _ = subscribed_clock()
    client = signed_in_client()
    with django_capture_on_commit_callbacks():
        client.post(url("test-clock-advance", test_clock.public_id), {"step": "week"})
    assert "Resume the advance" not in client.get(url("test-clock", test_clock.public_id)).content.decode()
    with clock.frozen_at(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)):
        assert "Resume the advance" in client.get(url("test-clock", test_clock.public_id)).content.decode()
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(url("test-clock-advance", test_clock.public_id), {"resume": "1"})
    assert response.status_code == 302
    assert len(callbacks) == 1
    developers_clocks.advance_run(test_clock.pk)
    test_clock.refresh_from_db()
    assert (test_clock.status, test_clock.frozen_time) == ("ready", T0 + dt.timedelta(weeks=1))


@pytest.mark.django_db(transaction=True)
def test_the_advance_runs_in_a_background_thread_after_the_request() -> None:
    test_clock, buyer, _ = subscribed_clock()
    client = signed_in_client()
    response = client.post(url("test-clock-advance", test_clock.public_id), {"step": "month"})
    assert response.status_code == 302
    deadline = time.monotonic() + 30
    while clock_models.TestClock.objects.get(pk=test_clock.pk).status == "advancing" and time.monotonic() < deadline:
        time.sleep(0.1)
    test_clock.refresh_from_db()
    assert (test_clock.status, test_clock.frozen_time) == ("ready", dt.datetime(2030, 2, 1, 12, tzinfo=dt.UTC))
    assert Invoice.objects.filter(customer=buyer).count() == 2


def test_time_frozen_by_a_background_advance_stays_in_its_thread() -> None:
    inside = threading.Event()
    leave = threading.Event()

    def simulate() -> None:
        with clock.thread_own_time(), clock.frozen_at(T0):
            assert clock.now() == T0
            inside.set()
            leave.wait(5)

    thread = threading.Thread(target=simulate)
    thread.start()
    try:
        assert inside.wait(5)
        assert clock.now() != T0
        assert clock.now().year >= 2025
    finally:
        leave.set()
        thread.join()


def test_deleting_asks_first_then_deletes_the_clock_and_its_customers() -> None:
    test_clock, buyer, _ = subscribed_clock()
    client = signed_in_client()
    confirm = client.get(url("test-clock-delete", test_clock.public_id))
    assert confirm.status_code == 200
    page = text_of(confirm.content)
    assert "Delete the test clock Renewals?" in page
    assert "This clock has its 1 customer. Deleting the clock deletes its customers with it" in page
    test_clock.refresh_from_db()
    assert test_clock.deleted is False
    response = client.post(url("test-clock-delete", test_clock.public_id))
    assert response.status_code == 302
    assert response["Location"] == url("test-clocks")
    test_clock.refresh_from_db()
    buyer.refresh_from_db()
    assert (test_clock.deleted, buyer.deleted) == (True, True)
    assert "The test clock and its customers were deleted." in client.get(url("test-clocks")).content.decode()
    assert client.get(url("test-clock", test_clock.public_id)).status_code == 404


def test_an_advancing_clock_cannot_be_deleted(django_capture_on_commit_callbacks: Callbacks) -> None:
    test_clock = new_clock()
    client = signed_in_client()
    with django_capture_on_commit_callbacks():
        client.post(url("test-clock-advance", test_clock.public_id), {"step": "day"})
    response = client.post(url("test-clock-delete", test_clock.public_id))
    assert response.status_code == 302
    test_clock.refresh_from_db()
    assert (test_clock.deleted, test_clock.status) == (False, "advancing")


def test_live_mode_explains_clocks_are_a_test_mode_tool_and_offers_the_switch() -> None:
    test_clock = new_clock()
    client = signed_in_client()
    session = client.session
    session[LIVEMODE_KEY] = True
    session.save()
    for path in (url("test-clocks"), url("test-clock-new"), url("test-clock", test_clock.public_id)):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "Test clocks are a test-mode tool" in response.content.decode()
        assert test_clock.public_id not in response.content.decode()
    # Nothing is made or moved from live mode.
    assert client.post(url("test-clock-new"), {"name": "Live", "frozen_time": "2030-01-01T00:00"}).status_code == 200
    client.post(url("test-clock-advance", test_clock.public_id), {"step": "day"})
    assert clock_models.TestClock.objects.count() == 1
    assert clock_models.TestClock.objects.get().status == "ready"
    assert client.get(url("test-clock-status", test_clock.public_id)).status_code == 404
    switched = client.post(url("mode"), {"livemode": "false", "section": "developers", "tab": "dashboard:test-clocks"})
    assert switched["Location"] == url("test-clocks")
    assert client.session[LIVEMODE_KEY] is False


def test_clock_pages_are_for_staff_only(client: Client) -> None:
    test_clock = new_clock()
    for path in (
        url("test-clocks"),
        url("test-clock", test_clock.public_id),
        url("test-clock-status", test_clock.public_id),
        url("test-clock-customer-new", test_clock.public_id),
        url("test-clock-delete", test_clock.public_id),
    ):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith("/dashboard/sign-in?next="), path
    client.post(url("test-clock-advance", test_clock.public_id), {"step": "day"})
    client.post(url("test-clock-delete", test_clock.public_id))
    client.post(url("test-clock-new"), {"frozen_time": "2030-01-01T00:00"})
    test_clock.refresh_from_db()
    assert (test_clock.status, test_clock.deleted, clock_models.TestClock.objects.count()) == ("ready", False, 1)


def test_clock_forms_need_the_csrf_token() -> None:
    test_clock = new_clock()
    client = signed_in_client()
    client.handler.enforce_csrf_checks = True
    page = client.get(url("test-clock", test_clock.public_id)).content.decode()
    assert page.count('name="csrfmiddlewaretoken"') >= 3
    for path, data in (
        (url("test-clock-new"), {"frozen_time": "2030-01-01T00:00"}),
        (url("test-clock-advance", test_clock.public_id), {"step": "day"}),
        (url("test-clock-customer-new", test_clock.public_id), {"name": "Ada"}),
        (url("test-clock-delete", test_clock.public_id), {}),
    ):
        assert client.post(path, data).status_code == 403, path
    test_clock.refresh_from_db()
    assert (test_clock.status, test_clock.deleted) == ("ready", False)
    assert (clock_models.TestClock.objects.count(), Customer.objects.count()) == (1, 0)


def test_clock_pages_keep_the_strict_policy() -> None:
    test_clock = new_clock()
    response = signed_in_client().get(url("test-clock", test_clock.public_id))
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy and "unsafe-inline" not in policy
    assert "<script>" not in response.content.decode()
    assert " style=" not in response.content.decode()
