"""The /v1 request cycle every resource shares: keys, parameters, errors, headers, metadata, lists.

Through the official SDK where it can express the request, and raw HTTP where a client could send
what the SDK never would (a JSON body, invalid UTF-8, an unknown method).
"""

from __future__ import annotations

import base64
import http.client
import json
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from billfold.accounts.models import ApiKey
from billfold.accounts.services import api_key_create, api_key_revoke
from billfold.customers import services as customer_services
from billfold.customers.models import Customer
from billfold.events.models import Event
from billfold.events.services import API_VERSION


class Reply:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def error(self) -> dict[str, Any]:
        error: dict[str, Any] = self.json()["error"]
        return error


def send(
    api_url: str,
    method: str,
    path: str,
    *,
    key: str | None = None,
    body: bytes | str | None = None,
    headers: dict[str, str] | None = None,
) -> Reply:
    """One HTTP request to the live server, without any client library smoothing it."""
    url = urlsplit(api_url)
    connection = http.client.HTTPConnection(url.hostname or "", url.port, timeout=30)
    all_headers = dict(headers or {})
    if key is not None:
        all_headers["Authorization"] = f"Bearer {key}"
    if body is not None and "Content-Type" not in all_headers:
        all_headers["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        connection.request(method, f"{url.path}{path}", body=body, headers=all_headers)
        response = connection.getresponse()
        return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    finally:
        connection.close()


# ---- Authentication --------------------------------------------------------------------------


def test_bearer_and_basic_auth(api_url: str, test_key: str) -> None:
    bearer = send(api_url, "GET", "/customers", key=test_key)
    assert bearer.status == 200
    assert bearer.json() == {"object": "list", "data": [], "has_more": False, "url": "/v1/customers"}
    # curl -u sk_test_...: sends the key as the Basic user name with an empty password.
    basic = base64.b64encode(f"{test_key}:".encode()).decode()
    assert send(api_url, "GET", "/customers", headers={"Authorization": f"Basic {basic}"}).status == 200


@pytest.mark.parametrize(
    ("authorization", "message"),
    [
        (None, "You did not provide an API key."),
        ("Bearer sk_test_" + "x" * 48, "Invalid API Key provided: sk_test_"),
        ("Bearer pk_test_abc", "Invalid API Key provided: ***********"),
        ("Token abc", "Invalid Authorization header: use 'Bearer YOUR_SECRET_KEY'"),
        ("Basic !!!", "Invalid Basic authorization header: it is not valid base64."),
        ("Basic " + base64.b64encode(b":password").decode(), "You did not provide an API key."),
    ],
)
def test_missing_or_invalid_key_is_401(api_url: str, authorization: str | None, message: str) -> None:
    reply = send(api_url, "GET", "/customers", headers={"Authorization": authorization} if authorization else {})
    assert reply.status == 401
    assert reply.error["type"] == "invalid_request_error"
    assert reply.error["message"].startswith(message)
    assert reply.headers["request-id"].startswith("req_")


def test_unknown_key_is_redacted_in_the_message(sdk: ModuleType) -> None:
    secret = "sk_test_" + "a" * 40 + "WXYZ"
    with pytest.raises(sdk.AuthenticationError) as raised:
        sdk.Customer.list(api_key=secret)
    assert raised.value.http_status == 401
    assert raised.value.user_message == f"Invalid API Key provided: sk_test_{'*' * 40}WXYZ"


def test_revoked_key_is_refused(sdk: ModuleType) -> None:
    created = api_key_create(livemode=False, name="to revoke")
    assert sdk.Customer.list(api_key=created.secret).data == []
    api_key_revoke(key=ApiKey.objects.get(pk=created.key.pk))
    with pytest.raises(sdk.AuthenticationError):
        sdk.Customer.list(api_key=created.secret)
    with pytest.raises(sdk.AuthenticationError):
        sdk.Customer.create(api_key=created.secret)
    assert Customer.objects.count() == 0


def test_livemode_comes_from_the_key(sdk: ModuleType, live_key: str) -> None:
    assert sdk.Customer.create().livemode is False
    live = sdk.Customer.create(api_key=live_key)
    assert live.livemode is True
    assert Event.objects.get(object_id=live.id).livemode is True
    event = sdk.Event.list(api_key=live_key).data[0]
    assert (event.type, event.livemode, event.data.object.id) == ("customer.created", True, live.id)


# ---- Parameters ------------------------------------------------------------------------------


def test_get_and_delete_read_the_query_string(api_url: str, test_key: str) -> None:
    first, second = (customer_services.customer_create(livemode=False, values={}) for _ in range(2))
    page = send(api_url, "GET", "/customers?limit=1", key=test_key).json()
    assert [c["id"] for c in page["data"]] == [second.public_id]
    refused = send(api_url, "DELETE", f"/customers/{first.public_id}?colour=red", key=test_key)
    assert refused.status == 400
    assert refused.error["param"] == "colour"
    assert refused.error["code"] == "parameter_unknown"
    assert Customer.objects.get(pk=first.pk).deleted is False


def test_post_reads_query_and_body_together(api_url: str, test_key: str) -> None:
    reply = send(api_url, "POST", "/customers?email=q%40example.com", key=test_key, body="name=Body")
    assert reply.status == 200
    assert (reply.json()["email"], reply.json()["name"]) == ("q@example.com", "Body")


@pytest.mark.parametrize(("text", "kept"), [("TRUE", 1), ("True", 1), ("true", 1), ("False", 0), ("FALSE", 0)])
def test_booleans_in_any_case(api_url: str, test_key: str, text: str, kept: int) -> None:
    customer_services.customer_create(livemode=False, values={})
    page = send(api_url, "GET", f"/events?delivery_success={text}", key=test_key)
    assert page.status == 200
    assert len(page.json()["data"]) == kept


@pytest.mark.parametrize(
    ("params", "param", "code", "message"),
    [
        ({"balance": "ten"}, "balance", "parameter_invalid_integer", "Invalid integer: ten"),
        ({"balance": "1.5"}, "balance", "parameter_invalid_integer", "Invalid integer: 1.5"),
        ({"colour": "red"}, "colour", "parameter_unknown", "Received unknown parameter: colour"),
        (
            {"address": {"line1": "1 Main St", "planet": "Mars"}},
            "address[planet]",
            "parameter_unknown",
            "Received unknown parameter: address[planet]",
        ),
        (
            {"invoice_settings": {"custom_fields": [{"name": "VAT"}]}},
            "invoice_settings[custom_fields][0][value]",
            "parameter_missing",
            "Missing required param: invoice_settings[custom_fields][0][value].",
        ),
        ({"invoice_prefix": ""}, "invoice_prefix", "parameter_invalid_empty", "You passed an empty string for"),
        ({"next_invoice_sequence": ""}, "next_invoice_sequence", "parameter_invalid_empty", "You passed an empty"),
        ({"name": "   "}, "name", "parameter_invalid_string_blank", "Invalid string for name"),
        ({"name": "x" * 257}, "name", None, "Invalid string: xxxx"),
        ({"tax_exempt": "sometimes"}, "tax_exempt", None, "Invalid tax_exempt: must be one of `exempt`, `none`"),
        ({"preferred_locales": {"a": "en"}}, "preferred_locales", None, "Invalid array: preferred_locales must"),
        ({"address": "1 Main St"}, "address", None, "Invalid object: address must be a hash"),
    ],
)
def test_wrong_types_name_param_and_code(
    sdk: ModuleType, params: dict[str, Any], param: str, code: str | None, message: str
) -> None:
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.Customer.create(**params)
    assert raised.value.http_status == 400
    assert raised.value.param == param
    assert raised.value.code == code
    assert raised.value.user_message.startswith(message)
    assert (Customer.objects.count(), Event.objects.count()) == (0, 0)


def test_list_parameter_errors_name_the_param(sdk: ModuleType) -> None:
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.Event.list(created={"gte": 1, "around": 5})
    assert (raised.value.param, raised.value.code) == ("created[around]", "parameter_unknown")
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.Event.list(delivery_success="maybe")
    assert (raised.value.param, raised.value.user_message) == ("delivery_success", "Invalid boolean: maybe")


@pytest.mark.parametrize(
    "content_type", ["application/json", "application/json; charset=utf-8", "text/plain", "multipart/mixed"]
)
def test_json_or_other_bodies_are_refused_naming_the_fix(api_url: str, test_key: str, content_type: str) -> None:
    reply = send(
        api_url,
        "POST",
        "/customers",
        key=test_key,
        body=json.dumps({"email": "j@example.com"}),
        headers={"Content-Type": content_type},
    )
    assert reply.status == 400
    assert reply.error["type"] == "invalid_request_error"
    base = content_type.split(";")[0]
    assert reply.error["message"] == (
        f"Invalid request: the body must be application/x-www-form-urlencoded (got {base}). "
        "Encode parameters as form fields, e.g. name=Jenny&metadata[plan]=pro."
    )
    assert Customer.objects.count() == 0


@pytest.mark.parametrize("body", [b"name=\xff\xfe", b"name=%FF", b"\xc3=1"], ids=["raw", "escaped", "raw-in-name"])
def test_invalid_utf8_is_400(api_url: str, test_key: str, body: bytes) -> None:
    reply = send(api_url, "POST", "/customers", key=test_key, body=body)
    assert reply.status == 400
    assert reply.error == {"message": "The request body is not valid UTF-8.", "type": "invalid_request_error"}
    assert Customer.objects.count() == 0


def test_conflicting_shapes_are_400(api_url: str, test_key: str) -> None:
    reply = send(api_url, "POST", "/customers", key=test_key, body="metadata=x&metadata[a]=1")
    assert reply.status == 400
    assert reply.error["param"] == "metadata"


def test_metadata_index_keys_are_keys(sdk: ModuleType) -> None:
    customer = sdk.Customer.create(metadata={"0": "first", "1": "second", "order": "A-7"})
    assert customer.metadata.to_dict() == {"0": "first", "1": "second", "order": "A-7"}


# ---- Unknown routes, headers, server errors ----------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/nothing"),
        ("POST", "/customers/cus_x/nothing"),
        ("PUT", "/customers"),
        ("PATCH", "/customers/cus_x"),
        ("DELETE", "/customers"),
        ("POST", "/events"),
        ("DELETE", "/events/evt_x"),
    ],
)
def test_unknown_url_or_method_is_404(api_url: str, test_key: str, method: str, path: str) -> None:
    reply = send(api_url, method, path, key=test_key, body="" if method in {"POST", "PUT", "PATCH"} else None)
    assert reply.status == 404
    assert reply.error == {
        "message": f"Unrecognized request URL ({method}: /v1{path}). Please see the Billfold API reference in the "
        "README, or check the method and path of your request.",
        "type": "invalid_request_error",
    }
    assert reply.headers["request-id"].startswith("req_")
    assert reply.headers["content-type"] == "application/json"


def test_request_id_on_every_response(api_url: str, test_key: str, monkeypatch: pytest.MonkeyPatch) -> None:
    replies = [
        send(api_url, "GET", "/customers", key=test_key),
        send(api_url, "POST", "/customers", key=test_key, body="balance=x"),
        send(api_url, "GET", "/customers/cus_missing", key=test_key),
        send(api_url, "GET", "/customers"),
        send(api_url, "GET", "/nothing", key=test_key),
    ]

    def explode(**kwargs: Any) -> Customer:
        raise RuntimeError("boom")

    monkeypatch.setattr(customer_services, "customer_create", explode)
    replies.append(send(api_url, "POST", "/customers", key=test_key, body=""))
    assert [r.status for r in replies] == [200, 400, 404, 401, 404, 500]
    ids = [r.headers["request-id"] for r in replies]
    assert all(i.startswith("req_") for i in ids)
    assert len(set(ids)) == len(ids)
    assert replies[-1].error == {
        "message": "An unexpected error occurred on the server. It has been logged; please retry.",
        "type": "api_error",
    }
    assert Customer.objects.count() == 0


def test_event_records_the_request_id(sdk: ModuleType) -> None:
    customer = sdk.Customer.create()
    request_id = customer.last_response.headers["Request-Id"]
    event = sdk.Event.list(limit=1).data[0]
    assert event.request.id == request_id


def test_stripe_version_accepted_and_echoed(api_url: str, test_key: str, sdk: ModuleType) -> None:
    default = send(api_url, "GET", "/customers", key=test_key)
    assert default.headers["stripe-version"] == API_VERSION
    pinned = send(api_url, "GET", "/customers", key=test_key, headers={"Stripe-Version": "2023-08-16"})
    assert (pinned.status, pinned.headers["stripe-version"]) == (200, "2023-08-16")
    # The SDK sends its own pinned version on every request.
    customer = sdk.Customer.create()
    assert customer.last_response.headers["Stripe-Version"] == sdk.api_version
    bad = send(api_url, "GET", "/customers", key=test_key, headers={"Stripe-Version": "yesterday"})
    assert bad.status == 400
    assert bad.error["message"] == "Invalid Stripe API version: yesterday"
    # A refused version is not echoed back as if it were in force.
    assert bad.headers["stripe-version"] == API_VERSION


# ---- Metadata limits -------------------------------------------------------------------------


def test_metadata_at_the_limits_is_accepted(sdk: ModuleType) -> None:
    metadata = {f"k{i:02d}" + "x" * 37: "v" * 500 for i in range(50)}
    assert all(len(k) == 40 for k in metadata)
    customer = sdk.Customer.create(metadata=metadata)
    assert customer.metadata.to_dict() == metadata


@pytest.mark.parametrize(
    ("metadata", "param", "message"),
    [
        ({f"k{i}": "v" for i in range(51)}, "metadata", "Metadata can have at most 50 keys; you gave 51."),
        ({"k" * 41: "v"}, f"metadata[{'k' * 41}]", "Metadata keys can be at most 40 characters long"),
        ({"plan": "v" * 501}, "metadata[plan]", "Metadata values can be at most 500 characters long"),
        ({"plan": {"nested": "x"}}, "metadata[plan]", "Invalid value for metadata[plan]: metadata values must be"),
    ],
)
def test_metadata_limits(sdk: ModuleType, metadata: dict[str, Any], param: str, message: str) -> None:
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.Customer.create(metadata=metadata)
    assert raised.value.param == param
    assert raised.value.user_message.startswith(message)
    assert (Customer.objects.count(), Event.objects.count()) == (0, 0)


def test_metadata_update_merging_past_50_keys_is_refused(sdk: ModuleType) -> None:
    customer = sdk.Customer.create(metadata={f"old{i}": "v" for i in range(30)})
    events = Event.objects.count()
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.Customer.modify(customer.id, metadata={f"new{i}": "v" for i in range(21)})
    assert raised.value.param == "metadata"
    assert raised.value.user_message == "Metadata can have at most 50 keys; this change would leave 51."
    assert len(Customer.objects.get(public_id=customer.id).metadata) == 30
    assert Event.objects.count() == events
    # Deleting keys in the same request makes room.
    change: dict[str, str] = {f"new{i}": "v" for i in range(21)} | {"old0": ""}
    assert len(sdk.Customer.modify(customer.id, metadata=change).metadata.to_dict()) == 50


# ---- Lists -----------------------------------------------------------------------------------


@pytest.mark.parametrize("limit", [1, 100])
def test_limit_edges(sdk: ModuleType, limit: int) -> None:
    for _ in range(101 if limit == 100 else 2):
        customer_services.customer_create(livemode=False, values={})
    page = sdk.Customer.list(limit=limit)
    assert len(page.data) == limit
    assert page.has_more is True
    assert page.url == "/v1/customers"


@pytest.mark.parametrize(
    ("limit", "message"),
    [
        ("0", "This value must be greater than or equal to 1."),
        ("101", "This value must be less than or equal to 100."),
        ("-1", "This value must be greater than or equal to 1."),
        ("ten", "Invalid integer: ten"),
    ],
)
def test_limit_out_of_range_refused(sdk: ModuleType, limit: str, message: str) -> None:
    for resource in (sdk.Customer, sdk.Event):
        with pytest.raises(sdk.InvalidRequestError) as raised:
            resource.list(limit=limit)
        assert (raised.value.param, raised.value.user_message) == ("limit", message)


def test_list_urls_and_exact_pages(sdk: ModuleType) -> None:
    customers = [customer_services.customer_create(livemode=False, values={}) for _ in range(3)]
    ids = [c.public_id for c in customers]
    full = sdk.Customer.list(limit=3)
    assert ([c.id for c in full.data], full.has_more, full.url) == (ids[::-1], False, "/v1/customers")
    tail = sdk.Customer.list(starting_after=ids[1])
    assert ([c.id for c in tail.data], tail.has_more) == ([ids[0]], False)
    empty = sdk.Customer.list(starting_after=ids[0])
    assert (empty.data, empty.has_more) == ([], False)
    head = sdk.Customer.list(ending_before=ids[1], limit=1)
    assert ([c.id for c in head.data], head.has_more) == ([ids[2]], False)
    events = sdk.Event.list(limit=1, type="customer.*")
    assert (events.url, events.has_more, events.data[0].data.object.id) == ("/v1/events", True, ids[2])


# ---- Expansion -------------------------------------------------------------------------------


def test_refused_expansion_writes_nothing_even_without_idempotency_key(api_url: str, test_key: str) -> None:
    reply = send(api_url, "POST", "/customers", key=test_key, body="email=j%40example.com&expand[]=nothing")
    assert reply.status == 400
    assert (reply.error["param"], reply.error["message"]) == (
        "expand[0]",
        "This property cannot be expanded (nothing).",
    )
    assert (Customer.objects.count(), Event.objects.count()) == (0, 0)


def _product_with_price(sdk: ModuleType, name: str = "Pro") -> tuple[str, str]:
    product = sdk.Product.create(name=name, default_price_data={"currency": "usd", "unit_amount": 1000})
    return product.id, product.default_price


def test_expand_nests_up_to_four_levels(sdk: ModuleType) -> None:
    product_id, price_id = _product_with_price(sdk)
    price = sdk.Price.retrieve(price_id, expand=["product.default_price.product.default_price"])
    assert price.product.id == product_id
    assert price.product.default_price.product.default_price.id == price_id
    assert price.product.default_price.product.default_price.product == product_id
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.Price.retrieve(price_id, expand=["product", "product.default_price.product.default_price.product"])
    assert raised.value.param == "expand[1]"
    assert raised.value.user_message == (
        "You cannot expand more than 4 levels of a property (product.default_price.product.default_price.product)."
    )


def test_expand_on_lists_starts_with_data(sdk: ModuleType) -> None:
    product_id, price_id = _product_with_price(sdk)
    page = sdk.Price.list(expand=["data.product.default_price.product"])
    assert page.data[0].product.default_price.product.id == product_id
    with pytest.raises(sdk.InvalidRequestError) as raised:
        # ``data`` is one of the four levels.
        sdk.Price.list(expand=["data.product.default_price.product.default_price"])
    assert raised.value.param == "expand[0]"
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.Price.list(expand=["product"])
    assert (raised.value.param, raised.value.user_message) == (
        "expand[0]",
        "This property cannot be expanded (product).",
    )
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.Price.retrieve(price_id, expand=["data.product"])
    assert raised.value.param == "expand[0]"


@pytest.mark.parametrize(
    ("expand", "param"),
    [
        (["nothing"], "expand[0]"),
        (["invoice_settings.default_payment_method", "nothing"], "expand[1]"),
        (["invoice_settings"], "expand[0]"),
        (["email.domain"], "expand[0]"),
        ([".."], "expand[0]"),
        (["tax_ids.nothing"], "expand[0]"),
    ],
)
def test_unknown_expansion_is_refused(sdk: ModuleType, expand: list[str], param: str) -> None:
    customer = sdk.Customer.create()
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.Customer.retrieve(customer.id, expand=expand)
    assert raised.value.param == param
    assert raised.value.user_message.startswith("This property cannot be expanded")


def test_list_expansion_costs_the_same_queries_for_any_row_count(test_key: str) -> None:
    client = Client(headers={"Authorization": f"Bearer {test_key}"})

    def add_products(count: int) -> None:
        for i in range(count):
            reply = client.post(
                "/v1/products",
                f"name=P{i}&default_price_data[currency]=usd&default_price_data[unit_amount]=100",
                content_type="application/x-www-form-urlencoded",
            )
            assert reply.status_code == 200

    def queries_for_page() -> int:
        with CaptureQueriesContext(connection) as captured:
            reply = client.get("/v1/prices", {"limit": "100", "expand[]": "data.product.default_price"})
        assert reply.status_code == 200
        assert all(p["product"]["default_price"]["id"] == p["id"] for p in reply.json()["data"])
        return len(captured.captured_queries)

    add_products(2)
    few = queries_for_page()
    add_products(20)
    assert queries_for_page() == few
