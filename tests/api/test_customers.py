"""/v1/customers through the official stripe SDK against a live server."""

from __future__ import annotations

from types import ModuleType

import pytest

from billfold.customers.models import Customer
from billfold.events.models import Event


def test_create_retrieve_update_delete(sdk: ModuleType) -> None:
    customer = sdk.Customer.create(
        email="jenny@example.com",
        name="Jenny Rosen",
        phone="+15555550100",
        address={"line1": "1 Main St", "city": "Springfield", "postal_code": "12345", "country": "US"},
        shipping={"name": "Jenny", "address": {"line1": "2 Side St", "country": "US"}},
        preferred_locales=["de", "en"],
        invoice_prefix="JENNY",
        metadata={"plan": "pro"},
    )
    assert customer.id.startswith("cus_")
    assert customer.object == "customer"
    assert customer.livemode is False
    assert customer.email == "jenny@example.com"
    assert customer.address.city == "Springfield"
    assert customer.address.line2 is None
    assert customer.shipping.address.line1 == "2 Side St"
    assert customer.invoice_prefix == "JENNY"
    assert customer.next_invoice_sequence == 1
    assert customer.preferred_locales == ["de", "en"]
    assert customer.metadata.to_dict() == {"plan": "pro"}

    fetched = sdk.Customer.retrieve(customer.id)
    assert fetched.to_dict() == customer.to_dict()

    updated = sdk.Customer.modify(customer.id, name="", phone="+15555550111", metadata={"plan": "", "seats": "3"})
    assert updated.name is None
    assert updated.phone == "+15555550111"
    assert updated.metadata.to_dict() == {"seats": "3"}

    deleted = sdk.Customer.delete(customer.id)
    assert deleted.to_dict() == {"id": customer.id, "object": "customer", "deleted": True}
    assert sdk.Customer.retrieve(customer.id).deleted is True
    assert customer.id not in [c.id for c in sdk.Customer.list(limit=100).data]

    types = list(Event.objects.filter(object_id=customer.id).order_by("pk").values_list("type", flat=True))
    assert types == ["customer.created", "customer.updated", "customer.deleted"]
    update_event = Event.objects.get(object_id=customer.id, type="customer.updated")
    assert update_event.data["previous_attributes"] == {
        "name": "Jenny Rosen",
        "phone": "+15555550100",
        "metadata": {"plan": "pro", "seats": None},
    }


def test_generated_invoice_prefix_is_unique_and_uppercase(sdk: ModuleType) -> None:
    prefixes = {sdk.Customer.create().invoice_prefix for _ in range(5)}
    assert len(prefixes) == 5
    assert all(p.isupper() or p.isdigit() for p in prefixes)


def test_duplicate_invoice_prefix_refused_and_nothing_written(sdk: ModuleType) -> None:
    sdk.Customer.create(invoice_prefix="ACME")
    before = (Customer.objects.count(), Event.objects.count())
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.Customer.create(invoice_prefix="ACME")
    assert raised.value.param == "invoice_prefix"
    assert (Customer.objects.count(), Event.objects.count()) == before


@pytest.mark.parametrize(
    ("params", "param", "code"),
    [
        ({"email": "not-an-email"}, "email", "email_invalid"),
        ({"invoice_prefix": "ab"}, "invoice_prefix", "parameter_invalid"),
        ({"balance": "ten"}, "balance", "parameter_invalid_integer"),
        ({"nickname": "x"}, "nickname", "parameter_unknown"),
        ({"address": "1 Main St"}, "address", None),
        ({"shipping": {"address": {"line1": "x"}}}, "shipping[name]", "parameter_missing"),
        ({"metadata": {"k" * 41: "v"}}, f"metadata[{'k' * 41}]", None),
        ({"metadata": {f"k{i}": "v" for i in range(51)}}, "metadata", None),
        ({"preferred_locales": ["not a locale"]}, "preferred_locales[0]", "parameter_invalid"),
    ],
)
def test_create_refusals_name_the_param(
    sdk: ModuleType, params: dict[str, object], param: str, code: str | None
) -> None:
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.Customer.create(**params)
    assert raised.value.http_status == 400
    assert raised.value.param == param
    assert raised.value.code == code
    assert Customer.objects.count() == 0
    assert Event.objects.count() == 0


def test_list_filters_and_pagination(sdk: ModuleType) -> None:
    created = [sdk.Customer.create(email="same@example.com" if i % 2 else f"c{i}@example.com") for i in range(7)]
    page = sdk.Customer.list(limit=3)
    assert page.url == "/v1/customers"
    assert [c.id for c in page.data] == [c.id for c in created[::-1][:3]]
    assert page.has_more is True
    everything = [c.id for c in sdk.Customer.list(limit=2).auto_paging_iter()]
    assert everything == [c.id for c in created[::-1]]
    before = sdk.Customer.list(limit=2, ending_before=created[2].id)
    assert [c.id for c in before.data] == [created[4].id, created[3].id]
    assert [c.id for c in sdk.Customer.list(email="same@example.com").data] == [created[i].id for i in (5, 3, 1)]


def test_list_refuses_both_cursors(sdk: ModuleType) -> None:
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.Customer.list(starting_after="cus_a", ending_before="cus_b")
    assert raised.value.code == "parameters_exclusive"


def test_unknown_cursor_is_resource_missing(sdk: ModuleType) -> None:
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.Customer.list(starting_after="cus_nothere")
    assert raised.value.code == "resource_missing"
    assert raised.value.param == "starting_after"


def test_live_and_test_data_are_apart(sdk: ModuleType, live_key: str) -> None:
    test_customer = sdk.Customer.create(email="t@example.com")
    live_customer = sdk.Customer.create(email="l@example.com", api_key=live_key)
    assert live_customer.livemode is True
    assert [c.id for c in sdk.Customer.list(api_key=live_key).data] == [live_customer.id]
    with pytest.raises(sdk.InvalidRequestError):
        sdk.Customer.retrieve(test_customer.id, api_key=live_key)


@pytest.mark.django_db
def test_an_update_through_a_stale_object_keeps_what_changed_since() -> None:
    from billfold.customers import services

    customer = services.customer_create(livemode=False, values={"email": "stale@example.com"})
    Customer.objects.filter(pk=customer.pk).update(next_invoice_sequence=7)  # an invoice was numbered meanwhile
    updated = services.customer_update(customer=customer, values={"name": "Stale"})
    assert (updated.name, updated.next_invoice_sequence) == ("Stale", 7)
    assert Customer.objects.get(pk=customer.pk).next_invoice_sequence == 7
