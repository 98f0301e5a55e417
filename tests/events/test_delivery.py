"""Webhook deliveries to a real HTTP receiver: signatures, retries and backoff, timeouts, claims."""

from __future__ import annotations

import datetime as dt
import json
import re
import socket
from pathlib import Path
from typing import Any

import pytest
import stripe
from django.test import Client

from billfold.core.clock import frozen_at, to_unix
from billfold.customers.models import Customer
from billfold.customers.services import customer_create
from billfold.events import delivery
from billfold.events.endpoints import (
    NewEndpoint,
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_roll_secret,
    webhook_endpoint_update,
)
from billfold.events.models import Event, WebhookAttempt, WebhookDelivery
from tests.events.receiver import Received, Receiver

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2030, 5, 1, 12, 0, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)


def endpoint(url: str, *, events: list[str] | None = None, livemode: bool = False) -> NewEndpoint:
    with frozen_at(T0):
        return webhook_endpoint_create(livemode=livemode, url=url, enabled_events=events or ["customer.created"])


def new_customer(email: str = "jenny@example.com", *, livemode: bool = False) -> Customer:
    with frozen_at(T0):
        return customer_create(livemode=livemode, values={"email": email})


def event_of(customer: Customer) -> Event:
    return Event.objects.get(object_id=customer.public_id, type="customer.created")


def deliver_at(moment: dt.datetime) -> int:
    with frozen_at(moment):
        return delivery.deliver_due()


def verified(received: Received, secret: str) -> Any:
    """The event, checked with Stripe's own library as a receiver would. (Its freshness check only
    refuses timestamps older than five minutes; the frozen clock is in the future.)"""
    return stripe.Webhook.construct_event(received.body.decode(), received.headers["Stripe-Signature"], secret)


def timestamp(received: Received) -> int:
    return int(received.headers["Stripe-Signature"].split(",")[0].removeprefix("t="))


def test_an_event_is_delivered_signed_and_byte_for_byte_as_the_api_renders_it(
    receiver: Receiver, test_key: str
) -> None:
    created = endpoint(receiver.url)
    customer = new_customer()
    event = event_of(customer)
    assert event.pending_webhooks == 1
    row = WebhookDelivery.objects.get(event=event)
    assert (row.status, row.attempts, row.next_attempt_at, row.endpoint_id) == ("pending", 0, T0, created.endpoint.pk)
    as_api = Client().get(f"/v1/events/{event.public_id}", HTTP_AUTHORIZATION=f"Bearer {test_key}").content

    assert deliver_at(T0) == 1
    [got] = receiver.received
    assert got.body == as_api
    assert got.path == "/webhook"
    assert got.headers["Content-Type"] == "application/json; charset=utf-8"
    assert timestamp(got) == to_unix(T0)
    assert verified(got, created.secret).id == event.public_id
    with pytest.raises(stripe.SignatureVerificationError):
        verified(got, "whsec_wrong")
    assert json.loads(got.body)["pending_webhooks"] == 1
    event.refresh_from_db()
    row.refresh_from_db()
    assert event.pending_webhooks == 0
    assert (row.status, row.attempts, row.next_attempt_at, row.claimed_until, row.finished) == (
        "succeeded",
        1,
        None,
        None,
        T0,
    )
    [attempt] = WebhookAttempt.objects.filter(delivery=row)
    assert (attempt.started, attempt.status_code, attempt.response_excerpt, attempt.error) == (
        T0,
        200,
        '{"received": true}',
        "",
    )
    assert attempt.duration_ms < 5000
    assert deliver_at(T0 + MINUTE) == 0


def test_a_failed_attempt_is_retried_with_backoff_and_a_new_timestamp(receiver: Receiver) -> None:
    receiver.answers = [500, 200]
    created = endpoint(receiver.url)
    event = event_of(new_customer())
    assert deliver_at(T0) == 1
    row = WebhookDelivery.objects.get(event=event)
    assert (row.status, row.attempts, row.next_attempt_at) == ("pending", 1, T0 + MINUTE)
    assert deliver_at(T0 + MINUTE - dt.timedelta(seconds=1)) == 0
    assert deliver_at(T0 + MINUTE) == 1
    first, second = receiver.received
    assert (timestamp(first), timestamp(second)) == (to_unix(T0), to_unix(T0 + MINUTE))
    assert first.body == second.body
    assert verified(second, created.secret).id == event.public_id
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("succeeded", 2)
    attempts = list(WebhookAttempt.objects.filter(delivery=row).order_by("pk"))
    assert [(a.started, a.status_code, a.response_excerpt) for a in attempts] == [
        (T0, 500, "something broke"),
        (T0 + MINUTE, 200, '{"received": true}'),
    ]


def test_retries_double_until_three_days_then_the_delivery_fails(receiver: Receiver) -> None:
    receiver.answers = [503]
    endpoint(receiver.url)
    event = event_of(new_customer())
    deadline = T0 + dt.timedelta(days=3)
    # 1, 2, 4 ... 512 minutes, then every 12 hours; the last retry lands on the deadline itself.
    expected: list[dt.datetime] = [T0]
    wait = MINUTE
    while expected[-1] < deadline:
        expected.append(min(expected[-1] + wait, deadline))
        wait = min(wait * 2, dt.timedelta(hours=12))
    moments: list[dt.datetime] = []
    row = WebhookDelivery.objects.get(event=event)
    while row.status == "pending":
        assert row.next_attempt_at is not None
        moments.append(row.next_attempt_at)
        assert deliver_at(row.next_attempt_at) == 1
        row.refresh_from_db()
    assert moments == expected
    assert len(moments) == 16
    assert (row.status, row.attempts, row.finished, row.next_attempt_at) == ("failed", 16, deadline, None)
    assert len(receiver.received) == 16
    event.refresh_from_db()
    # Stripe's count of webhooks not (yet) delivered: a failed one stays counted.
    assert event.pending_webhooks == 1


def test_an_endpoint_that_hangs_past_the_timeout_is_a_failed_attempt(receiver: Receiver, settings: Any) -> None:
    settings.BILLFOLD_WEBHOOK_TIMEOUT = 0.3
    receiver.answers = ["hang", 200]
    receiver.hang_seconds = 1.5
    endpoint(receiver.url)
    event = event_of(new_customer())
    assert deliver_at(T0) == 1
    row = WebhookDelivery.objects.get(event=event)
    [attempt] = WebhookAttempt.objects.filter(delivery=row)
    assert (attempt.status_code, attempt.error) == (None, "timed out after 0.3 s")
    assert 300 <= attempt.duration_ms < 1500
    assert (row.status, row.attempts, row.next_attempt_at) == ("pending", 1, T0 + MINUTE)
    assert deliver_at(T0 + MINUTE) == 1
    row.refresh_from_db()
    assert row.status == "succeeded"


def test_a_delivery_claimed_by_a_worker_that_died_is_taken_over_after_its_lease(receiver: Receiver) -> None:
    endpoint(receiver.url)
    event = event_of(new_customer())
    with frozen_at(T0):
        [abandoned] = delivery.delivery_claim(now=T0)
    # The first worker died before sending: its claim keeps others off until the lease runs out.
    assert deliver_at(T0 + delivery.lease() - dt.timedelta(seconds=1)) == 0
    assert receiver.received == []
    assert deliver_at(T0 + delivery.lease()) == 1
    assert len(receiver.received) == 1
    # Had it come back, the old claim no longer sends anything.
    with frozen_at(T0 + delivery.lease()):
        assert delivery.delivery_attempt(abandoned) is None
    assert len(receiver.received) == 1
    row = WebhookDelivery.objects.get(event=event)
    assert (row.status, row.attempts, WebhookAttempt.objects.filter(delivery=row).count()) == ("succeeded", 1, 1)


def test_two_workers_claiming_at_once_take_different_deliveries(receiver: Receiver) -> None:
    endpoint(receiver.url)
    for index in range(3):
        new_customer(f"c{index}@example.com")
    with frozen_at(T0):
        first = delivery.delivery_claim(now=T0, limit=2)
        second = delivery.delivery_claim(now=T0, limit=2)
        third = delivery.delivery_claim(now=T0, limit=2)
    assert (len(first), len(second), third) == (2, 1, [])
    assert {c.delivery_id for c in first}.isdisjoint({c.delivery_id for c in second})
    with frozen_at(T0):
        outcomes = [delivery.delivery_attempt(claim) for claim in first + second]
    assert [o.status_code if o else None for o in outcomes] == [200, 200, 200]
    assert len(receiver.received) == 3


def test_a_rolled_secret_signs_beside_the_old_one_for_24_hours(receiver: Receiver) -> None:
    created = endpoint(receiver.url)
    with frozen_at(T0):
        rolled = webhook_endpoint_roll_secret(endpoint=created.endpoint)
    assert rolled.secret != created.secret and rolled.secret.startswith("whsec_")
    new_customer("a@example.com")
    assert deliver_at(T0 + dt.timedelta(hours=23, minutes=59)) == 1
    during = receiver.received[-1]
    assert during.headers["Stripe-Signature"].count("v1=") == 2
    assert verified(during, created.secret).type == "customer.created"
    assert verified(during, rolled.secret).type == "customer.created"

    new_customer("b@example.com")
    assert deliver_at(T0 + dt.timedelta(hours=24)) == 1
    after = receiver.received[-1]
    assert after.headers["Stripe-Signature"].count("v1=") == 1
    assert verified(after, rolled.secret).type == "customer.created"
    with pytest.raises(stripe.SignatureVerificationError):
        verified(after, created.secret)


def test_events_go_to_endpoints_of_their_mode_that_want_their_type(receiver: Receiver) -> None:
    everything = endpoint(receiver.url, events=["*"])
    invoices = endpoint(receiver.url, events=["invoice.paid"])
    live = endpoint("https://hooks.example.com/billfold", events=["*"], livemode=True)
    event = event_of(new_customer())
    assert list(WebhookDelivery.objects.filter(event=event).values_list("endpoint_id", flat=True)) == [
        everything.endpoint.pk
    ]
    live_event = event_of(new_customer(livemode=True))
    assert list(WebhookDelivery.objects.filter(event=live_event).values_list("endpoint_id", flat=True)) == [
        live.endpoint.pk
    ]
    webhook_endpoint_delete(endpoint=live.endpoint)
    # Changes reach the routing at once (the per-process cache is checked against the version row).
    webhook_endpoint_update(endpoint=invoices.endpoint, values={"enabled_events": ["customer.created"]})
    webhook_endpoint_update(endpoint=everything.endpoint, values={"disabled": True})
    second = event_of(new_customer("b@example.com"))
    assert list(WebhookDelivery.objects.filter(event=second).values_list("endpoint_id", flat=True)) == [
        invoices.endpoint.pk
    ]
    # Disabling stopped the delivery still pending for the disabled endpoint.
    assert WebhookDelivery.objects.get(event=event).status == "failed"
    assert deliver_at(T0) == 1
    assert [json.loads(r.body)["id"] for r in receiver.received] == [second.public_id]


def test_deleting_an_endpoint_drops_its_deliveries_from_pending_webhooks(receiver: Receiver) -> None:
    first = endpoint(receiver.url)
    endpoint(receiver.url)
    event = event_of(new_customer())
    assert event.pending_webhooks == 2
    webhook_endpoint_delete(endpoint=first.endpoint)
    event.refresh_from_db()
    assert event.pending_webhooks == 1
    assert WebhookDelivery.objects.filter(event=event).count() == 1
    # Deleting the event (an undone preview) takes its deliveries with it.
    event.delete()
    assert WebhookDelivery.objects.count() == 0


def test_recording_an_event_costs_one_read_when_no_endpoint_wants_it(
    receiver: Receiver, django_assert_num_queries: Any
) -> None:
    from billfold.events.endpoints import route_event

    endpoint(receiver.url, events=["invoice.paid"])
    event = event_of(new_customer())
    assert event.pending_webhooks == 0
    with django_assert_num_queries(1):
        route_event(event)
    endpoint(receiver.url, events=["customer.created"])
    route_event(event)  # reloads the changed endpoint list
    # The version read, the deliveries' insert and the pending_webhooks update.
    with django_assert_num_queries(3):
        route_event(event)


def test_live_mode_never_sends_to_private_addresses_unless_allowed(
    receiver: Receiver, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from billfold.core.errors import InvalidParam

    with pytest.raises(InvalidParam) as refused:
        endpoint(receiver.url, livemode=True)
    assert refused.value.param == "url"
    assert "127.0.0.1 is not a public address" in refused.value.message
    # A host name is checked when resolved, at each delivery; the connection goes to the address
    # that was checked, never to a second lookup's answer.
    port = receiver.url.split(":")[2].split("/")[0]
    real = socket.getaddrinfo
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        lambda host, *args, **kwargs: real("127.0.0.1" if host == "hooks.example.test" else host, *args, **kwargs),
    )
    created = endpoint(f"http://hooks.example.test:{port}/hook", livemode=True)
    event = event_of(new_customer(livemode=True))
    assert deliver_at(T0) == 1
    attempt = WebhookAttempt.objects.get(delivery__event=event)
    assert attempt.status_code is None
    assert attempt.error.startswith("refused: 127.0.0.1 is not a public address")
    assert receiver.received == []

    settings.BILLFOLD_WEBHOOK_ALLOW_PRIVATE = True
    assert deliver_at(T0 + MINUTE) == 1
    [got] = receiver.received
    assert got.headers["Host"] == f"hooks.example.test:{port}"
    assert verified(got, created.secret).id == event.public_id


def test_test_mode_refuses_link_local_addresses(receiver: Receiver) -> None:
    from billfold.core.errors import InvalidParam

    with pytest.raises(InvalidParam) as refused:
        endpoint("http://169.254.169.254/latest/meta-data")
    assert refused.value.message == (
        "Invalid URL: 169.254.169.254 is a link-local, multicast or reserved address, which webhooks are never sent to."
    )


def test_the_events_list_filters_on_delivery_success(receiver: Receiver, test_key: str) -> None:
    receiver.answers = [200, 500]
    endpoint(receiver.url)
    delivered = event_of(new_customer("a@example.com"))
    failing = event_of(new_customer("b@example.com"))
    assert deliver_at(T0) == 2

    def listed(success: str) -> list[str]:
        answer = (
            Client().get("/v1/events", {"delivery_success": success}, HTTP_AUTHORIZATION=f"Bearer {test_key}").json()
        )
        return [e["id"] for e in answer["data"]]

    assert listed("true") == [delivered.public_id]
    assert listed("false") == [failing.public_id]


def test_every_event_type_billfold_writes_can_be_subscribed_to() -> None:
    from billfold.events.event_types import EVENT_TYPES

    source = Path(__file__).resolve().parents[2] / "billfold"
    pattern = re.compile(r'(?:type="|record\([a-z_]+, "|event_type = ")([a-z_]+(?:\.[a-z_]+)+)"')
    written = {m.group(1) for path in source.rglob("*.py") for m in pattern.finditer(path.read_text())}
    assert {"customer.created", "invoice.paid", "customer.subscription.created", "setup_intent.succeeded"} <= written
    assert sorted(written - EVENT_TYPES) == []


def test_https_endpoints_must_present_a_trusted_certificate_for_their_name(tmp_path: Path) -> None:
    import http.server
    import ssl
    import threading

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    (tmp_path / "cert.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        endpoint(f"https://localhost:{server.server_address[1]}/hook")
        event = event_of(new_customer())
        assert deliver_at(T0) == 1
    finally:
        server.shutdown()
        server.server_close()
    attempt = WebhookAttempt.objects.get(delivery__event=event)
    # A self-signed certificate is not trusted: nothing is sent, the attempt fails and is retried.
    assert attempt.status_code is None
    assert "CERTIFICATE_VERIFY_FAILED" in attempt.error
    assert WebhookDelivery.objects.get(event=event).next_attempt_at == T0 + MINUTE


def test_a_secret_encrypted_under_another_secret_key_fails_the_attempt_clearly(
    receiver: Receiver, settings: Any
) -> None:
    endpoint(receiver.url)
    event = event_of(new_customer())
    settings.SECRET_KEY = "a-different-secret-key-" + "x" * 30
    assert deliver_at(T0) == 1
    attempt = WebhookAttempt.objects.get(delivery__event=event)
    assert (attempt.status_code, attempt.error) == (
        None,
        "the endpoint's signing secret cannot be decrypted (SECRET_KEY changed?); roll the secret",
    )
    assert receiver.received == []
    assert WebhookDelivery.objects.get(event=event).next_attempt_at == T0 + MINUTE


def test_at_most_sixteen_endpoints_per_mode() -> None:
    from billfold.core.errors import InvalidParam
    from billfold.events.models import WebhookEndpoint

    for index in range(16):
        endpoint(f"https://hooks.example.com/{index}")
    with pytest.raises(InvalidParam) as refused:
        endpoint("https://hooks.example.com/17")
    assert (refused.value.param, refused.value.message) == (
        "url",
        "You can have at most 16 webhook endpoints in test mode. Delete one you no longer use first.",
    )
    assert WebhookEndpoint.objects.count() == 16
    # The other mode has its own sixteen.
    assert endpoint("https://hooks.example.com/live", livemode=True).endpoint.livemode is True
