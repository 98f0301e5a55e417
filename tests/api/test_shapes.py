"""Every object the API renders has Stripe's keys and JSON types (tests/stripe_reference/fixtures3.json).

A value may be null where Stripe's example has one (the example shows a filled-in object); an
example that is null or an empty hash says nothing about the type, so anything passes there.
A hash whose ``object`` names another resource (an event's ``data.object``, an expansion) is
compared with that resource's example.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

STRIPE = Path(__file__).resolve().parents[1] / "stripe_reference"
RESOURCES: dict[str, Any] = json.loads((STRIPE / "fixtures3.json").read_text())["resources"]
# The API reference says which numbers are floats: the examples show 1.5 inches as an integer.
SCHEMAS: dict[str, Any] = json.loads((STRIPE / "spec3-2023-08-16-billing-subset.json").read_text())["components"][
    "schemas"
]

# Keys Stripe has that Billfold leaves out, per resource and path, each with the reason.
ABSENT: dict[str, dict[str, str]] = {}


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "hash"


def shape_differences(ours: Any, example: Any, resource: str, path: str = "") -> list[str]:
    """How ``ours`` differs in keys and JSON types from Stripe's ``example`` of ``resource``."""
    where = f"{resource}: {path or '(top)'}"
    if ours is None or example is None:
        return []
    if isinstance(example, dict):
        if not isinstance(ours, dict):
            return [f"{where} is {_json_type(ours)}, Stripe has a hash"]
        kind = ours.get("object")
        if isinstance(kind, str) and kind != example.get("object"):
            return _resource_differences(ours, kind, where)
        if ours.get("deleted") is True and not path and f"deleted_{resource}" in RESOURCES:
            return shape_differences(ours, RESOURCES[f"deleted_{resource}"], f"deleted_{resource}")
        if path.rsplit(".", 1)[-1] == "metadata":
            # The example's keys are someone's metadata; ours must only be strings.
            return [f"{where}.{k} is {_json_type(v)}, not a string" for k, v in ours.items() if not isinstance(v, str)]
        if not example:
            return []  # an example showing no keys
        differences = []
        allowed = ABSENT.get(resource, {})
        for key in sorted(example.keys() - ours.keys()):
            if _join(path, key) not in allowed:
                differences.append(f"{resource}: {_join(path, key)} is missing")
        for key in sorted(ours.keys() - example.keys()):
            differences.append(f"{resource}: {_join(path, key)} is not a Stripe key")
        for key in sorted(ours.keys() & example.keys()):
            differences += shape_differences(ours[key], example[key], resource, _join(path, key))
        return differences
    if isinstance(example, list):
        if not isinstance(ours, list):
            return [f"{where} is {_json_type(ours)}, Stripe has an array"]
        if not example:
            return []
        return [d for item in ours for d in shape_differences(item, example[0], resource, f"{path}[]")]
    if isinstance(ours, dict) and isinstance(ours.get("object"), str) and isinstance(example, str):
        # An expanded id.
        return _resource_differences(ours, ours["object"], where)
    if _json_type(ours) != _json_type(example):
        if _json_type(ours) == "number" and _json_type(example) == "integer" and _spec_type(resource, path) == "number":
            return []
        return [f"{where} is {_json_type(ours)}, Stripe has {_json_type(example)}"]
    return []


def _spec_type(resource: str, path: str) -> str | None:
    """The OpenAPI type of ``path`` (``a.b``, ``a[].b``) in ``resource``'s schema, when it says."""
    node: Any = SCHEMAS.get(resource, {})
    for part in path.replace("[]", ".[]").split("."):
        while isinstance(node, dict) and ("$ref" in node or "anyOf" in node):
            if "$ref" in node:
                node = SCHEMAS.get(node["$ref"].rsplit("/", 1)[-1], {})
            else:
                node = next((b for b in node["anyOf"] if "$ref" in b or "properties" in b or "items" in b), {})
        node = node.get("items", {}) if part == "[]" else node.get("properties", {}).get(part, {})
    kind = node.get("type") if isinstance(node, dict) else None
    return kind if isinstance(kind, str) else None


def _resource_differences(ours: dict[str, Any], kind: str, where: str) -> list[str]:
    """Another resource in this place: compared with its own example, from its top."""
    name = f"deleted_{kind}" if ours.get("deleted") is True else kind
    if name not in RESOURCES:
        return [f"{where} is a {name}, which Stripe's examples do not have"]
    return shape_differences(ours, RESOURCES[name], name)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _body(obj: Any) -> dict[str, Any]:
    """The JSON the server sent for an SDK object, exactly as sent."""
    body: dict[str, Any] = json.loads(obj.last_response.body)
    return body


# ---- What to render, per resource ------------------------------------------------------------


def _full_customer(sdk: ModuleType) -> Any:
    return sdk.Customer.create(
        email="jenny@example.com",
        name="Jenny Rosen",
        description="Top customer",
        phone="+15555550100",
        balance=-500,
        address={"line1": "1 Main St", "line2": "Apt 2", "city": "Springfield", "country": "US"},
        shipping={"name": "Jenny", "phone": "+15555550101", "address": {"line1": "2 Side St", "country": "US"}},
        invoice_settings={
            "custom_fields": [{"name": "VAT", "value": "DE123"}],
            "footer": "Thanks",
            "rendering_options": {"amount_tax_display": "include_inclusive_tax"},
        },
        preferred_locales=["en", "de"],
        tax_exempt="reverse",
        metadata={"plan": "pro"},
    )


def _customer(sdk: ModuleType) -> dict[str, Any]:
    return _body(_full_customer(sdk))


def _bare_customer(sdk: ModuleType) -> dict[str, Any]:
    return _body(sdk.Customer.create())


def _deleted_customer(sdk: ModuleType) -> dict[str, Any]:
    return _body(sdk.Customer.delete(sdk.Customer.create().id))


def _event(sdk: ModuleType) -> dict[str, Any]:
    customer = _full_customer(sdk)
    sdk.Customer.modify(customer.id, name="Jenny R.", metadata={"seats": "3"})
    page = sdk.Event.list(limit=1)
    event: dict[str, Any] = _body(page)["data"][0]
    assert event["type"] == "customer.updated"
    # Stripe's example is a created event; previous_attributes is Stripe's key for updates.
    assert set(event["data"]) == {"object", "previous_attributes"}
    del event["data"]["previous_attributes"]
    return event


def _product(sdk: ModuleType) -> dict[str, Any]:
    return _body(
        sdk.Product.create(
            name="T-shirt",
            description="Comfortable gray cotton t-shirt",
            images=["https://example.com/shirt.png"],
            marketing_features=[{"name": "Soft"}],
            package_dimensions={"height": "1.5", "length": "20", "weight": "8.2", "width": "12"},
            shippable=True,
            statement_descriptor="TSHIRT",
            tax_code="txcd_99999999",
            unit_label="shirt",
            url="https://example.com/shirt",
            default_price_data={"currency": "usd", "unit_amount": 2000},
            metadata={"sku": "ts-1"},
        )
    )


def _bare_product(sdk: ModuleType) -> dict[str, Any]:
    return _body(sdk.Product.create(name="Plain"))


def _deleted_product(sdk: ModuleType) -> dict[str, Any]:
    return _body(sdk.Product.delete(sdk.Product.create(name="Gone").id))


def _price(sdk: ModuleType) -> dict[str, Any]:
    product = sdk.Product.create(name="Seats")
    return _body(
        sdk.Price.create(
            product=product.id,
            currency="usd",
            unit_amount=2000,
            nickname="Monthly",
            lookup_key="seats_monthly",
            tax_behavior="exclusive",
            recurring={"interval": "month", "interval_count": 1, "trial_period_days": 7},
            transform_quantity={"divide_by": 10, "round": "up"},
            metadata={"plan": "pro"},
        )
    )


def _one_time_price(sdk: ModuleType) -> dict[str, Any]:
    return _body(sdk.Price.create(product_data={"name": "Setup"}, currency="eur", unit_amount_decimal="12.5"))


def _custom_amount_price(sdk: ModuleType) -> dict[str, Any]:
    return _body(
        sdk.Price.create(
            product_data={"name": "Tip"},
            currency="usd",
            custom_unit_amount={"enabled": True, "minimum": 100, "maximum": 10000, "preset": 500},
        )
    )


def _file(sdk: ModuleType) -> dict[str, Any]:
    # A 1x1 PNG; the SDK posts uploads to its upload host, here the same server.
    png = base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC"
    )
    upload = io.BytesIO(png)
    upload.name = "dot.png"
    return _body(sdk.File.create(purpose="product_image", file=upload))


def _tax_id(sdk: ModuleType) -> dict[str, Any]:
    customer = sdk.Customer.create()
    return _body(sdk.Customer.create_tax_id(customer.id, type="eu_vat", value="DE123456789"))


def _deleted_tax_id(sdk: ModuleType) -> dict[str, Any]:
    customer = sdk.Customer.create()
    tax_id = sdk.Customer.create_tax_id(customer.id, type="eu_vat", value="DE123456789")
    return _body(sdk.Customer.delete_tax_id(customer.id, tax_id.id))


def _tax_code(sdk: ModuleType) -> dict[str, Any]:
    return _body(sdk.TaxCode.retrieve("txcd_99999999"))


def _payment_method(sdk: ModuleType) -> dict[str, Any]:
    customer = sdk.Customer.create()
    payment_method = sdk.PaymentMethod.create(
        type="card",
        card={"token": "tok_visa"},
        billing_details={"name": "Jenny", "email": "j@example.com", "address": {"country": "US"}},
        metadata={"k": "v"},
    )
    return _body(sdk.PaymentMethod.attach(payment_method.id, customer=customer.id))


def _setup_intent(sdk: ModuleType) -> dict[str, Any]:
    customer = sdk.Customer.create()
    payment_method = sdk.PaymentMethod.create(type="card", card={"token": "tok_visa"})
    return _body(
        sdk.SetupIntent.create(
            customer=customer.id, payment_method=payment_method.id, confirm=True, usage="off_session"
        )
    )


RENDERERS: dict[str, Callable[[ModuleType], dict[str, Any]]] = {
    "customer": _customer,
    "customer (nothing set)": _bare_customer,
    "deleted_customer": _deleted_customer,
    "event": _event,
    "product": _product,
    "product (nothing set)": _bare_product,
    "deleted_product": _deleted_product,
    "price": _price,
    "price (one-time)": _one_time_price,
    "price (custom amount)": _custom_amount_price,
    "file": _file,
    "tax_id": _tax_id,
    "deleted_tax_id": _deleted_tax_id,
    "tax_code": _tax_code,
    "payment_method": _payment_method,
    "setup_intent": _setup_intent,
}


@pytest.mark.parametrize("name", sorted(RENDERERS))
def test_shape_matches_stripe(sdk: ModuleType, name: str) -> None:
    rendered = RENDERERS[name](sdk)
    resource = name.split(" ")[0]
    assert rendered["object"] == resource.removeprefix("deleted_")
    assert rendered.get("deleted", False) is resource.startswith("deleted_")
    assert shape_differences(rendered, RESOURCES[resource], resource) == []


def test_list_envelope(sdk: ModuleType) -> None:
    sdk.Customer.create()
    for page in (sdk.Customer.list(limit=1), sdk.Event.list(limit=1)):
        body = _body(page)
        assert set(body) == {"object", "data", "has_more", "url"}
        assert (body["object"], type(body["data"]), type(body["has_more"]), type(body["url"])) == (
            "list",
            list,
            bool,
            str,
        )


# ---- The comparison itself -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ours", "example", "differences"),
    [
        ({"a": 1, "b": None}, {"a": 2, "b": "x"}, []),
        ({"a": "1"}, {"a": 2}, ["thing: a is string, Stripe has integer"]),
        ({"a": 1.5}, {"a": 2}, ["thing: a is number, Stripe has integer"]),
        ({"a": True}, {"a": 2}, ["thing: a is boolean, Stripe has integer"]),
        ({}, {"a": 1}, ["thing: a is missing"]),
        ({"a": 1, "z": 2}, {"a": 1}, ["thing: z is not a Stripe key"]),
        ({"h": {"x": 1}}, {"h": {"x": 1, "y": 2}}, ["thing: h.y is missing"]),
        ({"h": {"anything": 1}}, {"h": {}}, []),
        ({"l": [{"x": 1}, {"x": "s"}]}, {"l": [{"x": 1}]}, ["thing: l[].x is string, Stripe has integer"]),
        ({"l": [1]}, {"l": []}, []),
        ({"l": "x"}, {"l": []}, ["thing: l is string, Stripe has an array"]),
        ({"h": "x"}, {"h": {"a": 1}}, ["thing: h is string, Stripe has a hash"]),
        ({"c": {"object": "tax_code", "id": "t", "name": "n", "description": "d"}}, {"c": "txcd_1"}, []),
        ({"c": {"object": "tax_code", "id": "t"}}, {"c": None}, []),
        ({"c": {"object": "no_such_thing"}}, {"c": {"object": "x"}}, ["thing: c is a no_such_thing, which"]),
        ({"metadata": {"a": "1"}}, {"metadata": {"order_id": "2"}}, []),
        ({"metadata": {"a": 1}}, {"metadata": {}}, ["thing: metadata.a is integer, not a string"]),
    ],
)
def test_shape_differences(ours: Any, example: Any, differences: list[str]) -> None:
    _assert_differences(shape_differences(ours, example, "thing"), differences)


def test_floats_only_where_the_reference_says_number() -> None:
    product = {"package_dimensions": {"height": 1.5, "length": 2, "weight": 3, "width": 4}}
    assert (
        shape_differences(product, {"package_dimensions": RESOURCES["product"]["package_dimensions"]}, "product") == []
    )
    price = {"unit_amount": 20.5}
    _assert_differences(
        shape_differences(price, {"unit_amount": 2000}, "price"), ["price: unit_amount is number, Stripe has integer"]
    )


def _assert_differences(found: list[str], differences: list[str]) -> None:
    assert len(found) == len(differences)
    assert all(f.startswith(d) for f, d in zip(found, differences, strict=True))
