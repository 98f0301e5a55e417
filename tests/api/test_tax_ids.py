"""Customer tax IDs through the official stripe SDK against a live server."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest

from billfold.core.clock import frozen_at, to_unix
from billfold.customers.models import Customer, TaxId
from billfold.events.models import Event

MOMENT = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


def counts() -> tuple[int, int, int]:
    return Customer.objects.count(), TaxId.objects.count(), Event.objects.count()


def test_create_retrieve_list_delete(sdk: ModuleType) -> None:
    customer = sdk.Customer.create(name="Acme GmbH")
    with frozen_at(MOMENT):
        tax_id = sdk.Customer.create_tax_id(customer.id, type="eu_vat", value="de 123 456 789")
    assert tax_id.id.startswith("txi_")
    assert tax_id.to_dict() == {
        "id": tax_id.id,
        "object": "tax_id",
        "country": "DE",
        "created": to_unix(MOMENT),
        "customer": customer.id,
        "customer_account": None,
        "livemode": False,
        "owner": {"customer": customer.id, "customer_account": None, "type": "customer"},
        "type": "eu_vat",
        "value": "DE123456789",
        "verification": {"status": "unavailable", "verified_address": None, "verified_name": None},
    }
    assert sdk.Customer.retrieve_tax_id(customer.id, tax_id.id).to_dict() == tax_id.to_dict()
    listed = sdk.Customer.list_tax_ids(customer.id)
    assert listed.url == f"/v1/customers/{customer.id}/tax_ids"
    assert [t.id for t in listed.data] == [tax_id.id]

    removed = sdk.Customer.delete_tax_id(customer.id, tax_id.id)
    assert removed.to_dict() == {"id": tax_id.id, "object": "tax_id", "deleted": True}
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.Customer.retrieve_tax_id(customer.id, tax_id.id)
    assert (raised.value.http_status, raised.value.code) == (404, "resource_missing")
    assert sdk.Customer.list_tax_ids(customer.id).data == []

    events = list(Event.objects.filter(object_id=tax_id.id).order_by("pk"))
    assert [e.type for e in events] == ["customer.tax_id.created", "customer.tax_id.deleted"]
    assert all(e.data["object"] == tax_id.to_dict() for e in events)


def test_list_pages_newest_first(sdk: ModuleType) -> None:
    customer = sdk.Customer.create()
    other = sdk.Customer.create()
    sdk.Customer.create_tax_id(other.id, type="us_ein", value="12-3456789")
    created = [sdk.Customer.create_tax_id(customer.id, type="gb_vat", value=f"GB12345678{i}") for i in range(5)]
    page = sdk.Customer.list_tax_ids(customer.id, limit=2)
    assert [t.id for t in page.data] == [created[4].id, created[3].id]
    assert page.has_more is True
    everything = [t.id for t in sdk.Customer.list_tax_ids(customer.id, limit=2).auto_paging_iter()]
    assert everything == [t.id for t in reversed(created)]
    before = sdk.Customer.list_tax_ids(customer.id, ending_before=created[1].id)
    assert [t.id for t in before.data] == [created[4].id, created[3].id, created[2].id]


def test_customer_create_with_tax_id_data(sdk: ModuleType) -> None:
    customer = sdk.Customer.create(
        email="billing@acme.example",
        tax_id_data=[{"type": "eu_vat", "value": "EL123456789"}, {"type": "us_ein", "value": "123456789"}],
    )
    listed = sdk.Customer.list_tax_ids(customer.id).data
    assert [(t.type, t.value, t.country) for t in listed] == [
        ("us_ein", "12-3456789", "US"),
        ("eu_vat", "EL123456789", "GR"),
    ]
    types = list(Event.objects.order_by("pk").values_list("type", "object_id"))
    assert types == [
        ("customer.created", customer.id),
        ("customer.tax_id.created", listed[1].id),
        ("customer.tax_id.created", listed[0].id),
    ]


@pytest.mark.parametrize(
    ("tax_type", "value", "message"),
    [
        (
            "au_abn",
            "1234",
            "Invalid value for au_abn (Australian Business Number (AU ABN)): '1234'. "
            "Expected a value in the format 12345678912.",
        ),
        (
            "eu_vat",
            "GB123456789",
            "Invalid value for eu_vat (European VAT number): 'GB123456789'. UK VAT numbers use the type gb_vat; "
            "eu_vat takes Northern Ireland numbers with the prefix XI (e.g. XI123456789).",
        ),
        (
            "us_ein",
            "12-34567",
            "Invalid value for us_ein (United States EIN): '12-34567'. Expected a value in the format 12-3456789.",
        ),
    ],
)
def test_invalid_value_is_refused_and_nothing_is_written(
    sdk: ModuleType, tax_type: str, value: str, message: str
) -> None:
    customer = sdk.Customer.create()
    before = counts()
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.Customer.create_tax_id(customer.id, type=tax_type, value=value)
    error = raised.value
    assert (error.http_status, error.code, error.param, error.user_message) == (400, "tax_id_invalid", "value", message)
    assert counts() == before


@pytest.mark.parametrize(
    ("params", "param", "code"),
    [
        ({"type": "xx_vat", "value": "1"}, "type", "parameter_invalid"),
        ({"type": "eu_vat"}, "value", "parameter_missing"),
        ({"value": "DE123456789"}, "type", "parameter_missing"),
        ({"type": "eu_vat", "value": ""}, "value", "parameter_invalid_empty"),
        ({"type": "eu_vat", "value": "DE123456789", "metadata": {"a": "b"}}, "metadata", "parameter_unknown"),
    ],
)
def test_malformed_requests_name_the_param(sdk: ModuleType, params: dict[str, Any], param: str, code: str) -> None:
    customer = sdk.Customer.create()
    before = counts()
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.Customer.create_tax_id(customer.id, **params)
    assert (raised.value.http_status, raised.value.param, raised.value.code) == (400, param, code)
    assert counts() == before


def test_unknown_type_message_stays_short(sdk: ModuleType) -> None:
    customer = sdk.Customer.create()
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.Customer.create_tax_id(customer.id, type="fr_siret", value="12345678900011")
    assert raised.value.user_message == "Billfold does not support the tax ID type 'fr_siret' yet. Did you mean eu_vat?"


def test_a_bad_tax_id_data_item_writes_no_customer(sdk: ModuleType) -> None:
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.Customer.create(
            name="Half done",
            tax_id_data=[{"type": "eu_vat", "value": "DE123456789"}, {"type": "eu_vat", "value": "DE12"}],
        )
    assert (raised.value.code, raised.value.param) == ("tax_id_invalid", "tax_id_data[1][value]")
    assert counts() == (0, 0, 0)


def test_at_most_25_tax_ids_per_customer(sdk: ModuleType) -> None:
    data = [{"type": "gb_vat", "value": f"GB1234567{i:02d}"} for i in range(25)]
    with pytest.raises(sdk.InvalidRequestError) as too_many:
        sdk.Customer.create(tax_id_data=[*data, {"type": "gb_vat", "value": "GB999999999"}])
    assert too_many.value.param == "tax_id_data"
    customer = sdk.Customer.create(tax_id_data=data)
    assert len(sdk.Customer.list_tax_ids(customer.id, limit=100).data) == 25
    before = counts()
    with pytest.raises(sdk.InvalidRequestError) as refused:
        sdk.Customer.create_tax_id(customer.id, type="gb_vat", value="GB999999999")
    assert refused.value.user_message == (
        f"Customer {customer.id} has 25 tax IDs and cannot have more than 25. "
        "Delete one it no longer needs before adding another."
    )
    assert counts() == before


def test_check_digits_are_enforced_in_live_mode_only(sdk: ModuleType, live_key: str) -> None:
    test_customer = sdk.Customer.create()
    # Stripe's documented placeholder, accepted in test mode as Stripe's test mode does.
    assert sdk.Customer.create_tax_id(test_customer.id, type="au_abn", value="12345678912").value == "12345678912"
    live_customer = sdk.Customer.create(api_key=live_key)
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.Customer.create_tax_id(live_customer.id, type="au_abn", value="12345678912", api_key=live_key)
    assert raised.value.code == "tax_id_invalid"
    assert raised.value.user_message.endswith("its check digits do not match; look for a mistyped digit.")
    accepted = sdk.Customer.create_tax_id(live_customer.id, type="au_abn", value="51 824 753 556", api_key=live_key)
    assert (accepted.value, accepted.livemode) == ("51824753556", True)


def test_the_other_mode_sees_nothing(sdk: ModuleType, live_key: str) -> None:
    customer = sdk.Customer.create()
    tax_id = sdk.Customer.create_tax_id(customer.id, type="eu_vat", value="FRAB123456789")
    calls: list[Callable[[], object]] = [
        lambda: sdk.Customer.list_tax_ids(customer.id, api_key=live_key),
        lambda: sdk.Customer.retrieve_tax_id(customer.id, tax_id.id, api_key=live_key),
        lambda: sdk.Customer.delete_tax_id(customer.id, tax_id.id, api_key=live_key),
        lambda: sdk.TaxId.retrieve(tax_id.id, api_key=live_key),
        lambda: sdk.TaxId.delete(tax_id.id, api_key=live_key),
    ]
    for call in calls:
        with pytest.raises(sdk.InvalidRequestError) as raised:
            call()
        assert raised.value.http_status == 404
    assert TaxId.objects.filter(public_id=tax_id.id).exists()


def test_another_customers_tax_id_is_not_found_under_this_customer(sdk: ModuleType) -> None:
    owner, stranger = sdk.Customer.create(), sdk.Customer.create()
    tax_id = sdk.Customer.create_tax_id(owner.id, type="ch_vat", value="CHE-123.456.789 MWST")
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.Customer.delete_tax_id(stranger.id, tax_id.id)
    assert (raised.value.http_status, raised.value.code) == (404, "resource_missing")
    assert TaxId.objects.filter(public_id=tax_id.id).exists()


def test_a_deleted_customers_tax_ids_are_gone(sdk: ModuleType) -> None:
    customer = sdk.Customer.create(tax_id_data=[{"type": "nz_gst", "value": "123456789"}])
    tax_id = TaxId.objects.get().public_id
    sdk.Customer.delete(customer.id)
    with pytest.raises(sdk.InvalidRequestError) as listing:
        sdk.Customer.list_tax_ids(customer.id)
    assert (listing.value.code, listing.value.param) == ("resource_missing", "customer")
    with pytest.raises(sdk.InvalidRequestError):
        sdk.TaxId.retrieve(tax_id)


def test_expand_customer_tax_ids_in_one_list(sdk: ModuleType) -> None:
    busy = sdk.Customer.create(tax_id_data=[{"type": "gb_vat", "value": f"GB1234567{i:02d}"} for i in range(11)])
    quiet = sdk.Customer.create()
    assert "tax_ids" not in sdk.Customer.retrieve(busy.id).to_dict()
    expanded = sdk.Customer.retrieve(busy.id, expand=["tax_ids"]).tax_ids
    newest_first = [t.id for t in sdk.Customer.list_tax_ids(busy.id, limit=100).data]
    assert [t.id for t in expanded.data] == newest_first[:10]
    assert (expanded.has_more, expanded.url) == (True, f"/v1/customers/{busy.id}/tax_ids")
    listed = {c.id: c.tax_ids for c in sdk.Customer.list(expand=["data.tax_ids"]).data}
    assert len(listed[busy.id].data) == 10
    assert listed[quiet.id].to_dict() == {
        "object": "list",
        "data": [],
        "has_more": False,
        "url": f"/v1/customers/{quiet.id}/tax_ids",
    }


def test_expand_the_tax_ids_customer(sdk: ModuleType) -> None:
    customer = sdk.Customer.create(name="Kiwi Ltd")
    tax_id = sdk.Customer.create_tax_id(customer.id, type="nz_gst", value="12345678")
    fetched = sdk.Customer.retrieve_tax_id(customer.id, tax_id.id, expand=["customer", "owner.customer"])
    assert (fetched.customer.name, fetched.owner.customer.id) == ("Kiwi Ltd", customer.id)


def test_top_level_tax_ids(sdk: ModuleType) -> None:
    customer = sdk.Customer.create()
    tax_id = sdk.TaxId.create(type="za_vat", value="4123456789", owner={"type": "customer", "customer": customer.id})
    assert (tax_id.customer, tax_id.owner.type, tax_id.country) == (customer.id, "customer", "ZA")
    assert sdk.TaxId.retrieve(tax_id.id).to_dict() == tax_id.to_dict()
    listed = sdk.TaxId.list(owner={"type": "customer", "customer": customer.id})
    assert ([t.id for t in listed.data], listed.url) == ([tax_id.id], "/v1/tax_ids")
    # Without an owner the list is the account's own tax IDs, which Billfold does not keep.
    assert sdk.TaxId.list().data == []
    assert sdk.TaxId.delete(tax_id.id).to_dict() == {"id": tax_id.id, "object": "tax_id", "deleted": True}
    assert TaxId.objects.count() == 0


@pytest.mark.parametrize(
    ("owner", "param"),
    [
        (None, "owner"),
        ({"type": "self"}, "owner"),
        ({"type": "account", "account": "acct_1"}, "owner[type]"),
        ({"type": "customer"}, "owner[customer]"),
        ({"type": "customer", "customer": "cus_missing"}, "owner[customer]"),
        ({"type": "robot"}, "owner[type]"),
    ],
)
def test_top_level_create_needs_a_customer_owner(sdk: ModuleType, owner: dict[str, str] | None, param: str) -> None:
    sdk.Customer.create()
    before = counts()
    extra = {"owner": owner} if owner is not None else {}
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.TaxId.create(type="eu_vat", value="DE123456789", **extra)
    assert (raised.value.http_status, raised.value.param) == (404 if owner and "cus_" in str(owner) else 400, param)
    assert counts() == before
