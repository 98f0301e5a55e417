"""``row_get`` and ``row_insert`` give what the ORM gives."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from billfold.clocks.models import TestClock as Clock
from billfold.core import clock
from billfold.core.rows import row_get, row_insert
from billfold.customers.models import Customer
from billfold.events.models import Event

pytestmark = pytest.mark.django_db


def _customer(*, public_id: str = "cus_rows", invoice_prefix: str = "ROWS0001", **values: Any) -> Customer:
    return Customer.objects.create(public_id=public_id, livemode=False, invoice_prefix=invoice_prefix, **values)


def _fields(obj: object) -> dict[str, object]:
    return {f.attname: getattr(obj, f.attname) for f in type(obj)._meta.concrete_fields}  # type: ignore[attr-defined]


def test_row_get_builds_the_instance_the_orm_builds() -> None:
    frozen = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    test_clock = Clock.objects.create(
        public_id="clock_rows", livemode=False, frozen_time=frozen, deletes_after=frozen + dt.timedelta(days=30)
    )
    made = _customer(
        email="jenny@example.com",
        address={"city": "Berlin", "country": "DE"},
        preferred_locales=["de"],
        delinquent=True,
        balance=-1234,
        test_clock=test_clock,
    )
    found = row_get(Customer, public_id="cus_rows", livemode=False)
    assert found is not None
    assert _fields(found) == _fields(Customer.objects.get(pk=made.pk))
    assert found.delinquent is True
    assert found.created.tzinfo is not None
    assert found.test_clock == test_clock
    assert found._state.adding is False


def test_row_get_misses_and_modes() -> None:
    _customer()
    assert row_get(Customer, public_id="cus_rows", livemode=True) is None
    assert row_get(Customer, public_id="cus_other", livemode=False) is None


def test_row_get_refuses_an_ambiguous_key() -> None:
    _customer(public_id="cus_a", invoice_prefix="AAAA0001", email="same@example.com")
    _customer(public_id="cus_b", invoice_prefix="BBBB0001", email="same@example.com")
    with pytest.raises(Customer.MultipleObjectsReturned):
        row_get(Customer, email="same@example.com", livemode=False)


def test_row_insert_writes_what_save_writes() -> None:
    at = clock.now().replace(microsecond=123456)
    event = row_insert(
        Event(
            public_id="evt_rows",
            livemode=True,
            type="customer.created",
            api_version="2026-10-28.endive",
            data={"object": {"id": "cus_x", "name": "Jenny Rosén"}},
            object_id="cus_x",
            created=at,
        )
    )
    assert event.pk is not None
    assert event._state.adding is False
    stored = Event.objects.get(pk=event.pk)
    assert _fields(stored) == _fields(event)
    assert stored.created == at
    assert stored.data == {"object": {"id": "cus_x", "name": "Jenny Rosén"}}
    second = row_insert(Event(public_id="evt_rows2", type="t", api_version="v", data={}, object_id=""))
    assert second.pk == event.pk + 1
    assert second.pending_webhooks == 0
