"""The sender threads the worker runs: one hanging endpoint holds one thread, never the others."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
import stripe
from django.core.management import call_command
from django.db import connection

from billfold.customers.services import customer_create
from billfold.events.delivery import DeliveryThreads
from billfold.events.endpoints import webhook_endpoint_create
from billfold.events.models import WebhookDelivery
from tests.events.receiver import Receiver, start_receiver


@pytest.mark.django_db(transaction=True)
def test_a_hanging_endpoint_does_not_delay_the_others(receiver: Receiver, settings: Any) -> None:
    settings.BILLFOLD_WEBHOOK_TIMEOUT = 5
    hanging, server = start_receiver()
    hanging.answers = ["hang"]
    hanging.hang_seconds = 3
    try:
        webhook_endpoint_create(livemode=False, url=hanging.url, enabled_events=["customer.created"])
        webhook_endpoint_create(livemode=False, url=receiver.url, enabled_events=["customer.created"])
        for index in range(3):
            customer_create(livemode=False, values={"email": f"c{index}@example.com"})
        threads = DeliveryThreads(count=2)
        started = time.monotonic()
        threads.start()
        try:
            assert len(receiver.wait_for(3, timeout=2.5)) == 3
            # All three reached the healthy endpoint while the first POST to the other still hangs.
            assert time.monotonic() - started < 2.5
            assert hanging.received == []
        finally:
            threads.stop()
            threads.join()
    finally:
        server.shutdown()
        server.server_close()
    assert WebhookDelivery.objects.filter(endpoint__url=receiver.url, status="succeeded").count() == 3


@pytest.mark.django_db(transaction=True)
def test_worker_once_sends_the_due_deliveries_and_exits(receiver: Receiver) -> None:
    webhook_endpoint_create(livemode=False, url=receiver.url, enabled_events=["*"])
    customer_create(livemode=False, values={"email": "jenny@example.com"})
    call_command("worker", "--once", stdout=io.StringIO())
    assert len(receiver.received) == 1
    assert list(WebhookDelivery.objects.values_list("status", "attempts")) == [("succeeded", 1)]


WORKER = textwrap.dedent(
    """
    import os, sys
    from django.conf import settings
    settings.DATABASES["default"]["NAME"] = os.environ["WORKER_TEST_DATABASE"]
    from billfold.cli.main import main
    main(["billfold", "worker", *sys.argv[1:]])
    """
)


@pytest.mark.django_db(transaction=True)
def test_the_worker_sends_deliveries_as_they_come_and_stops_cleanly_on_sigterm(receiver: Receiver) -> None:
    created = webhook_endpoint_create(livemode=False, url=receiver.url, enabled_events=["customer.created"])
    process = subprocess.Popen(
        [sys.executable, "-c", WORKER, "--sleep", "0.2"],
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, "WORKER_TEST_DATABASE": str(connection.settings_dict["NAME"])},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        customer = customer_create(livemode=False, values={"email": "jenny@example.com"})
        [got] = receiver.wait_for(1)
        event = stripe.Webhook.construct_event(got.body.decode(), got.headers["Stripe-Signature"], created.secret)
        assert event.data.object.id == customer.public_id
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, out
    assert out.splitlines()[-1].endswith("worker: stopped")
    assert list(WebhookDelivery.objects.values_list("status", "attempts", "claimed_until")) == [("succeeded", 1, None)]
