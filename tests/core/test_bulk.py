"""``rows_insert`` and ``rows_update`` write what ``save()`` writes, for many rows at once."""

from __future__ import annotations

import pytest

from billfold.core.bulk import rows_insert, rows_update
from billfold.customers.models import Customer, TaxId
from billfold.events.models import Event

pytestmark = pytest.mark.django_db


def _fields(obj: object) -> dict[str, object]:
    return {f.attname: getattr(obj, f.attname) for f in type(obj)._meta.concrete_fields}  # type: ignore[attr-defined]


def _event(index: int) -> Event:
    return Event(
        public_id=f"evt_bulk{index}",
        type="customer.created",
        api_version="2026-10-28.endive",
        data={"object": {"id": f"cus_{index}", "balance": index}},
        object_id=f"cus_{index}",
    )


def test_rows_insert_writes_every_row_in_order_and_sets_their_keys() -> None:
    events = [_event(i) for i in range(3)]
    rows_insert(events)
    keys = [e.pk for e in events]
    assert keys == sorted(keys) and None not in keys
    assert [_fields(e) for e in Event.objects.filter(pk__in=keys).order_by("pk")] == [_fields(e) for e in events]
    assert not events[0]._state.adding


def test_rows_insert_takes_the_keys_of_related_rows_saved_since_they_were_assigned() -> None:
    customer = Customer(public_id="cus_bulk", livemode=False, invoice_prefix="BULK0001")
    tax_ids = [
        TaxId(public_id=f"txi_bulk{i}", customer=customer, type="eu_vat", value=f"DE12345678{i}") for i in range(2)
    ]
    rows_insert([customer])
    rows_insert(tax_ids)
    assert list(TaxId.objects.filter(customer=customer).order_by("pk").values_list("value", flat=True)) == [
        "DE123456780",
        "DE123456781",
    ]
    # Still the same related object, not read again.
    assert tax_ids[0].customer is customer


def test_rows_insert_refuses_a_row_already_saved() -> None:
    event = _event(0)
    event.save()
    with pytest.raises(ValueError, match="new rows of one model"):
        rows_insert([event])


def test_rows_update_writes_the_fields_given_or_all_of_them() -> None:
    events = [_event(i) for i in range(3)]
    rows_insert(events)
    events[0].type, events[2].type = "customer.updated", "customer.deleted"
    events[1].object_id = "cus_other"
    rows_update(events, ["type"])
    assert list(Event.objects.order_by("pk").values_list("type", "object_id")) == [
        ("customer.updated", "cus_0"),
        ("customer.created", "cus_1"),
        ("customer.deleted", "cus_2"),
    ]
    rows_update(events)
    assert [_fields(e) for e in Event.objects.order_by("pk")] == [_fields(e) for e in events]


def test_rows_update_refuses_rows_of_two_models() -> None:
    customer = Customer.objects.create(public_id="cus_bulk", livemode=False, invoice_prefix="BULK0001")
    event = _event(0)
    event.save()
    with pytest.raises(TypeError, match="rows of one model"):
        rows_update([event, customer])
