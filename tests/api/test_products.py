"""/v1/products through the official stripe SDK against a live server."""

from __future__ import annotations

import datetime as dt
from types import ModuleType
from typing import Any

import pytest

from billfold.catalog.models import Price, Product
from billfold.core import clock
from billfold.events.models import Event

# The keys of Stripe's product object (fixtures3.json resources["product"]).
PRODUCT_KEYS = {
    "active",
    "created",
    "default_price",
    "description",
    "id",
    "images",
    "livemode",
    "marketing_features",
    "metadata",
    "name",
    "object",
    "package_dimensions",
    "shippable",
    "statement_descriptor",
    "tax_code",
    "type",
    "unit_label",
    "updated",
    "url",
}
T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


def counts() -> tuple[int, int, int]:
    return Product.objects.count(), Price.objects.count(), Event.objects.count()


def event_types(object_id: str) -> list[str]:
    return list(Event.objects.filter(object_id=object_id).order_by("pk").values_list("type", flat=True))


def test_create_with_every_field_and_retrieve(sdk: ModuleType) -> None:
    with clock.frozen_at(T0):
        product = sdk.Product.create(
            name="Pro plan",
            description="Everything in Basic, and more.",
            images=["https://example.com/pro.png"],
            tax_code="txcd_10000000",
            statement_descriptor="ACME PRO PLAN",
            unit_label="seat",
            active=False,
            metadata={"tier": "pro"},
            marketing_features=[{"name": "Unlimited projects"}, {"name": "Priority support"}],
            package_dimensions={"height": 1.5, "length": 10, "weight": 2.25, "width": 4},
            shippable=False,
            url="https://example.com/pro",
        )
    data = product.to_dict()
    assert set(data) == PRODUCT_KEYS
    assert product.id.startswith("prod_")
    assert data == {
        "id": product.id,
        "object": "product",
        "active": False,
        "created": int(T0.timestamp()),
        "default_price": None,
        "description": "Everything in Basic, and more.",
        "images": ["https://example.com/pro.png"],
        "livemode": False,
        "marketing_features": [{"name": "Unlimited projects"}, {"name": "Priority support"}],
        "metadata": {"tier": "pro"},
        "name": "Pro plan",
        "package_dimensions": {"height": 1.5, "length": 10.0, "weight": 2.25, "width": 4.0},
        "shippable": False,
        "statement_descriptor": "ACME PRO PLAN",
        "tax_code": "txcd_10000000",
        "type": "service",
        "unit_label": "seat",
        "updated": int(T0.timestamp()),
        "url": "https://example.com/pro",
    }
    assert sdk.Product.retrieve(product.id).to_dict() == product.to_dict()
    assert event_types(product.id) == ["product.created"]
    assert Event.objects.get(object_id=product.id).data["object"] == sdk.Product.retrieve(product.id).to_dict()


def test_minimal_product_defaults(sdk: ModuleType) -> None:
    product = sdk.Product.create(name="Basic")
    assert product.active is True
    assert product.type == "service"
    assert product.shippable is None
    assert product.images == []
    assert product.marketing_features == []
    assert product.package_dimensions is None
    assert product.description is None
    good = sdk.Product.create(name="Mug", type="good")
    assert good.type == "good"
    assert good.shippable is True


def test_custom_id(sdk: ModuleType, live_key: str) -> None:
    product = sdk.Product.create(id="pro-plan", name="Pro")
    assert product.id == "pro-plan"
    assert sdk.Product.retrieve("pro-plan").name == "Pro"
    before = counts()
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.Product.create(id="pro-plan", name="Again")
    assert raised.value.param == "id"
    assert raised.value.code == "resource_already_exists"
    assert counts() == before
    # Test and live mode are separate namespaces, so a seed script can run in both.
    live = sdk.Product.create(id="pro-plan", name="Pro live", api_key=live_key)
    assert (live.id, live.livemode) == ("pro-plan", True)
    assert sdk.Product.retrieve("pro-plan").name == "Pro"


def test_update_moves_updated_and_records_previous_attributes(sdk: ModuleType) -> None:
    with clock.frozen_at(T0):
        product = sdk.Product.create(name="Basic", unit_label="seat", metadata={"a": "1"})
    later = T0 + dt.timedelta(hours=1)
    with clock.frozen_at(later):
        updated = sdk.Product.modify(
            product.id, name="Basic 2", unit_label="", description="Now with more", metadata={"a": "", "b": "2"}
        )
    assert updated.name == "Basic 2"
    assert updated.unit_label is None
    assert updated.description == "Now with more"
    assert updated.metadata.to_dict() == {"b": "2"}
    assert updated.created == int(T0.timestamp())
    assert updated.updated == int(later.timestamp())
    event = Event.objects.get(object_id=product.id, type="product.updated")
    assert event.data["previous_attributes"] == {
        "name": "Basic",
        "unit_label": "seat",
        "description": None,
        "metadata": {"a": "1", "b": None},
        "updated": int(T0.timestamp()),
    }
    assert event.data["object"] == updated.to_dict()


def test_update_that_changes_nothing_writes_nothing(sdk: ModuleType) -> None:
    with clock.frozen_at(T0):
        product = sdk.Product.create(name="Basic", url="https://example.com")
    with clock.frozen_at(T0 + dt.timedelta(days=1)):
        same = sdk.Product.modify(product.id, name="Basic", url="https://example.com")
    assert same.updated == int(T0.timestamp())
    assert event_types(product.id) == ["product.created"]


def test_unset_lists_and_dimensions(sdk: ModuleType) -> None:
    product = sdk.Product.create(
        name="Box",
        images=["https://example.com/a.png", "https://example.com/b.png"],
        marketing_features=[{"name": "Sturdy"}],
        package_dimensions={"height": 1, "length": 2, "weight": 3, "width": 4},
        tax_code="txcd_99999999",
        url="https://example.com/box",
    )
    cleared = sdk.Product.modify(
        product.id, images="", marketing_features="", package_dimensions="", tax_code="", url=""
    )
    assert cleared.images == []
    assert cleared.marketing_features == []
    assert cleared.package_dimensions is None
    assert cleared.tax_code is None
    assert cleared.url is None
    archived = sdk.Product.modify(product.id, active=False)
    assert archived.active is False


def test_default_price_data_creates_the_price_in_the_same_request(sdk: ModuleType) -> None:
    product = sdk.Product.create(
        name="Team",
        default_price_data={
            "currency": "eur",
            "unit_amount": 1500,
            "recurring": {"interval": "month"},
            "tax_behavior": "exclusive",
            "metadata": {"source": "product"},
        },
    )
    price = sdk.Price.retrieve(product.default_price)
    assert price.product == product.id
    assert price.unit_amount == 1500
    assert price.currency == "eur"
    assert price.recurring.interval == "month"
    assert price.recurring.interval_count == 1
    assert price.tax_behavior == "exclusive"
    assert price.metadata.to_dict() == {"source": "product"}
    assert event_types(product.id) == ["product.created"]
    assert event_types(price.id) == ["price.created"]
    created = Event.objects.get(object_id=product.id)
    assert created.data["object"]["default_price"] == price.id
    assert list(Event.objects.order_by("pk").values_list("type", flat=True)) == ["product.created", "price.created"]


def test_default_price_data_refusal_writes_nothing(sdk: ModuleType) -> None:
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.Product.create(
            name="Team",
            default_price_data={
                "currency": "eur",
                "unit_amount": 100,
                "recurring": {"interval": "year", "interval_count": 4},
            },
        )
    assert raised.value.param == "default_price_data[recurring][interval_count]"
    assert counts() == (0, 0, 0)
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.Product.create(name="Team", default_price_data={"currency": "zzz", "unit_amount": 100})
    assert raised.value.param == "default_price_data[currency]"
    assert counts() == (0, 0, 0)


def test_default_price_must_be_an_active_price_of_the_product(sdk: ModuleType) -> None:
    product = sdk.Product.create(name="Pro")
    other = sdk.Product.create(name="Other")
    own = sdk.Price.create(product=product.id, currency="usd", unit_amount=900)
    archived = sdk.Price.create(product=product.id, currency="usd", unit_amount=800, active=False)
    foreign = sdk.Price.create(product=other.id, currency="usd", unit_amount=700)
    before = counts()
    for price_id, code in (
        (foreign.id, "parameter_invalid"),
        (archived.id, "parameter_invalid"),
        ("price_nope", "resource_missing"),
    ):
        with pytest.raises(sdk.InvalidRequestError) as raised:
            sdk.Product.modify(product.id, default_price=price_id)
        assert raised.value.param == "default_price"
        assert raised.value.code == code
    assert counts() == before
    assert sdk.Product.modify(product.id, default_price=own.id).default_price == own.id
    expanded = sdk.Product.retrieve(product.id, expand=["default_price"])
    assert expanded.default_price.id == own.id
    assert expanded.default_price.unit_amount == 900
    assert sdk.Product.modify(product.id, default_price="").default_price is None


def test_delete_only_without_prices(sdk: ModuleType) -> None:
    product = sdk.Product.create(name="Temp")
    deleted = sdk.Product.delete(product.id)
    assert deleted.to_dict() == {"id": product.id, "object": "product", "deleted": True}
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.Product.retrieve(product.id)
    assert raised.value.http_status == 404
    assert raised.value.code == "resource_missing"
    assert product.id not in [p.id for p in sdk.Product.list(limit=100).data]
    assert event_types(product.id) == ["product.created", "product.deleted"]
    assert Event.objects.get(object_id=product.id, type="product.deleted").data["object"]["name"] == "Temp"

    priced = sdk.Product.create(name="Priced")
    sdk.Price.create(product=priced.id, currency="usd", unit_amount=100)
    before = counts()
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.Product.delete(priced.id)
    assert raised.value.http_status == 400
    assert str(raised.value.user_message).startswith(
        "This product cannot be deleted because it has one or more user-created prices."
    )
    assert counts() == before
    assert sdk.Product.retrieve(priced.id).name == "Priced"


LONG = "x" * 23


@pytest.mark.parametrize(
    ("params", "param", "code"),
    [
        ({}, "name", "parameter_missing"),
        ({"statement_descriptor": "ACME"}, "statement_descriptor", "parameter_invalid"),
        ({"statement_descriptor": "ACME" * 6}, "statement_descriptor", "parameter_invalid"),
        ({"statement_descriptor": "ACME <PRO>"}, "statement_descriptor", "parameter_invalid"),
        ({"statement_descriptor": "ACME*PRO"}, "statement_descriptor", "parameter_invalid"),
        ({"statement_descriptor": "ACME 'PRO'"}, "statement_descriptor", "parameter_invalid"),
        ({"statement_descriptor": "12345 678"}, "statement_descriptor", "parameter_invalid"),
        ({"statement_descriptor": "CAFÉ ACME"}, "statement_descriptor", "parameter_invalid"),
        ({"unit_label": "thirteen char"}, "unit_label", "parameter_invalid"),
        ({"images": [f"https://example.com/{i}.png" for i in range(9)]}, "images", "parameter_invalid"),
        ({"images": ["not a url"]}, "images[0]", "parameter_invalid"),
        ({"url": "ftp://example.com"}, "url", "parameter_invalid"),
        ({"marketing_features": [{"name": f"f{i}"} for i in range(16)]}, "marketing_features", "parameter_invalid"),
        ({"marketing_features": [{"name": "y" * 81}]}, "marketing_features[0][name]", "parameter_invalid"),
        ({"tax_code": "txcd_00000001"}, "tax_code", "parameter_invalid"),
        (
            {"package_dimensions": {"height": 1, "length": 1, "weight": 1}},
            "package_dimensions[width]",
            "parameter_missing",
        ),
        (
            {"package_dimensions": {"height": 1.234, "length": 1, "weight": 1, "width": 1}},
            "package_dimensions[height]",
            "parameter_invalid",
        ),
        (
            {"package_dimensions": {"height": 0, "length": 1, "weight": 1, "width": 1}},
            "package_dimensions[height]",
            "parameter_invalid",
        ),
        ({"type": "good", "unit_label": "kg"}, "unit_label", "parameter_invalid"),
        ({"type": "thing"}, "type", None),
        ({"id": "has space"}, "id", "parameter_invalid"),
        ({"shippable": "maybe"}, "shippable", None),
        ({"default_price_data": {"unit_amount": 100}}, "default_price_data[currency]", "parameter_missing"),
    ],
)
def test_create_refusals_name_the_param_and_write_nothing(
    sdk: ModuleType, params: dict[str, Any], param: str, code: str | None
) -> None:
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.Product.create(**({"name": "Widget"} if param != "name" else {}), **params)
    assert raised.value.http_status == 400
    assert raised.value.param == param
    assert raised.value.code == code
    assert counts() == (0, 0, 0)


def test_statement_descriptor_messages(sdk: ModuleType) -> None:
    cases = {
        "ACME": "at least 5 characters",
        "A" * 23: "at most 22 characters",
        "ACME*PRO": "cannot contain any of these characters",
        "12345 678": "at least one letter",
    }
    for value, fragment in cases.items():
        with pytest.raises(sdk.InvalidRequestError) as raised:
            sdk.Product.create(name="Widget", statement_descriptor=value)
        assert fragment in str(raised.value.user_message)
    assert sdk.Product.create(name="Widget", statement_descriptor="ACME.COM PRO-1").statement_descriptor == (
        "ACME.COM PRO-1"
    )


def test_update_refusals_write_nothing(sdk: ModuleType) -> None:
    product = sdk.Product.create(name="Widget")
    good = sdk.Product.create(name="Mug", type="good")
    before = counts()
    for target, params, param in (
        (product.id, {"name": ""}, "name"),
        (product.id, {"tax_code": "nope"}, "tax_code"),
        (product.id, {"statement_descriptor": "<bad>"}, "statement_descriptor"),
        (product.id, {"type": "good"}, "type"),
        (good.id, {"statement_descriptor": "MUG SHOP"}, "statement_descriptor"),
    ):
        with pytest.raises(sdk.InvalidRequestError) as raised:
            sdk.Product.modify(target, **params)
        assert raised.value.param == param
    assert counts() == before


def test_list_filters_and_pagination(sdk: ModuleType) -> None:
    with clock.frozen_at(T0):
        a = sdk.Product.create(name="A", url="https://example.com/a")
    with clock.frozen_at(T0 + dt.timedelta(days=1)):
        b = sdk.Product.create(name="B", active=False)
        c = sdk.Product.create(name="C", type="good")
        d = sdk.Product.create(name="D", type="good", shippable=False)
    page = sdk.Product.list(limit=2)
    assert page.url == "/v1/products"
    assert [p.id for p in page.data] == [d.id, c.id]
    assert page.has_more is True
    assert [p.id for p in sdk.Product.list(limit=2).auto_paging_iter()] == [d.id, c.id, b.id, a.id]
    assert [p.id for p in sdk.Product.list(ending_before=b.id).data] == [d.id, c.id]
    assert [p.id for p in sdk.Product.list(active=False).data] == [b.id]
    assert [p.id for p in sdk.Product.list(active=True).data] == [d.id, c.id, a.id]
    assert [p.id for p in sdk.Product.list(ids=[a.id, c.id]).data] == [c.id, a.id]
    assert [p.id for p in sdk.Product.list(shippable=True).data] == [c.id]
    assert [p.id for p in sdk.Product.list(shippable=False).data] == [d.id]
    assert [p.id for p in sdk.Product.list(type="service").data] == [b.id, a.id]
    assert [p.id for p in sdk.Product.list(url="https://example.com/a").data] == [a.id]
    assert [p.id for p in sdk.Product.list(created={"lt": int(T0.timestamp()) + 60}).data] == [a.id]
    assert [p.id for p in sdk.Product.list(created=int(T0.timestamp())).data] == [a.id]
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.Product.list(color="red")
    assert raised.value.code == "parameter_unknown"


def test_expand_default_price_in_a_list(sdk: ModuleType) -> None:
    product = sdk.Product.create(name="P", default_price_data={"currency": "usd", "unit_amount": 500})
    listed = sdk.Product.list(expand=["data.default_price"])
    assert listed.data[0].id == product.id
    assert listed.data[0].default_price.object == "price"
    assert listed.data[0].default_price.unit_amount == 500


def test_live_and_test_products_are_apart(sdk: ModuleType, live_key: str) -> None:
    test_product = sdk.Product.create(name="Test")
    live_product = sdk.Product.create(name="Live", api_key=live_key)
    assert live_product.livemode is True
    assert [p.id for p in sdk.Product.list(api_key=live_key).data] == [live_product.id]
    with pytest.raises(sdk.InvalidRequestError):
        sdk.Product.retrieve(test_product.id, api_key=live_key)
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.Price.create(product=test_product.id, currency="usd", unit_amount=1, api_key=live_key)
    assert raised.value.param == "product"
