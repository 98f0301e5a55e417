"""``billfold listen``: a real subprocess forwarding new events to a local receiver."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import IO

import pytest
import stripe
from django.db import connection

from billfold.catalog.services import product_create
from billfold.core.ids import new_id
from billfold.customers.services import customer_create
from billfold.events.models import Event
from billfold.events.stream import EventStream
from tests.events.receiver import Receiver

ROOT = Path(__file__).resolve().parents[2]
# The `billfold` command, pointed at the test database (a file on SQLite, the test database's name
# on PostgreSQL: both are in the connection's NAME).
LISTEN = textwrap.dedent(
    """
    import os, sys
    from django.conf import settings
    settings.DATABASES["default"]["NAME"] = os.environ["LISTEN_TEST_DATABASE"]
    from billfold.cli.main import main
    main(["billfold", "listen", *sys.argv[1:]])
    """
)


def read_line(stream: IO[str]) -> str:
    line = stream.readline()
    assert line, "listen exited early"
    return line.rstrip("\n")


@pytest.mark.django_db(transaction=True)
def test_listen_forwards_new_events_of_its_mode_signed_with_the_session_secret(receiver: Receiver) -> None:
    old = customer_create(livemode=False, values={"email": "before@example.com"})
    process = subprocess.Popen(
        [sys.executable, "-c", LISTEN, "--forward-to", receiver.url, "--events", "customer.created,product.created"],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "billfold.settings",
            "LISTEN_TEST_DATABASE": str(connection.settings_dict["NAME"]),
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert read_line(process.stdout) == f"Ready! Forwarding test-mode events to {receiver.url}."
        announced = read_line(process.stdout)
        assert announced.startswith("Your webhook signing secret is whsec_") and announced.endswith(" (^C to quit)")
        secret = announced.split()[5]

        customer_create(livemode=True, values={"email": "live@example.com"})
        customer = customer_create(livemode=False, values={"email": "jenny@example.com"})
        customer_create(livemode=False, values={"email": "x@example.com", "name": "ignored"}).delete()
        product = product_create(livemode=False, values={"name": "Pro"})
        got = receiver.wait_for(3)
        line = read_line(process.stdout)
        forwarded = Event.objects.get(object_id=customer.public_id)
        assert line.endswith(f"customer.created [{forwarded.public_id}] --> POST {receiver.url} [200]")
        events = [stripe.Webhook.construct_event(r.body.decode(), r.headers["Stripe-Signature"], secret) for r in got]
        # Neither the event from before the start, nor the live one, nor another type.
        assert [(e.type, e.data.object.id) for e in events] == [
            ("customer.created", customer.public_id),
            ("customer.created", events[1].data.object.id),
            ("product.created", product.public_id),
        ]
        assert old.public_id not in {e.data.object.id for e in events}
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0
    assert out.splitlines()[-1] == "Stopped."
    assert len(receiver.received) == 3


def event_row(pk: int) -> Event:
    return Event.objects.create(
        pk=pk,
        public_id=new_id("evt"),
        livemode=False,
        type="customer.created",
        api_version="2026-10-28.endive",
        data={"object": {"id": f"cus_{pk}"}},
        object_id=f"cus_{pk}",
    )


@pytest.mark.django_db
def test_the_stream_catches_events_that_commit_out_of_id_order() -> None:
    event_row(100)
    event_row(98)
    stream = EventStream(livemode=False, start_window=3)
    # Of the newest three ids, 99 did not exist at the start: a transaction in flight, perhaps.
    assert stream.poll() == []
    event_row(103)
    assert [e.pk for e in stream.poll()] == [103]
    # 101 and 102 were skipped over; a transaction that took 101 commits late and is still caught.
    event_row(101)
    event_row(99)
    assert [e.pk for e in stream.poll()] == [99, 101]
    assert stream.poll() == []
    assert sorted(stream.gaps) == [102]
    # A gap no event fills (a rolled-back transaction) is forgotten after a while.
    stream.gap_wait = 0
    assert stream.poll() == []
    assert stream.gaps == {}


@pytest.mark.django_db
def test_the_stream_filters_by_mode_and_type() -> None:
    stream = EventStream(livemode=True, types=["customer.created"])
    customer_create(livemode=False, values={"email": "test@example.com"})
    live = customer_create(livemode=True, values={"email": "live@example.com"})
    assert [e.object_id for e in stream.poll()] == [live.public_id]
