"""Whatever a client sends, the API answers JSON: an object or Stripe's error envelope, never a 500.

In-process requests (django.test.Client) keep this fast enough to try hundreds of bodies.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billfold.customers import services as customer_services
from billfold.customers.models import Customer

# Each example reuses the test's database and client; that is the point, not an accident.
FUZZ = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Names the endpoints know, so examples reach the schema and the services, plus random ones.
_KNOWN = [
    "email",
    "name",
    "description",
    "phone",
    "balance",
    "invoice_prefix",
    "next_invoice_sequence",
    "tax_exempt",
    "preferred_locales",
    "metadata",
    "address",
    "shipping",
    "invoice_settings",
    "expand",
    "limit",
    "starting_after",
    "ending_before",
    "created",
    "type",
    "types",
    "delivery_success",
]
_SUBKEYS = ["line1", "country", "name", "address", "custom_fields", "value", "gte", "lt", "footer", "plan", "0", "1"]
_text = st.text(st.characters(codec="utf-8"), max_size=30)
_name = st.one_of(st.sampled_from(_KNOWN), _text)
_segment = st.one_of(
    st.sampled_from(_SUBKEYS).map(lambda s: f"[{s}]"),
    st.sampled_from(["[]", "[0]", "[1]", "[99]", "[-1]", "[01]", "[²]", "[٣]", "[", "]", "][", "[[x]]", "[%00]"]),
    _text.map(lambda s: f"[{s}]"),
)
_key = st.builds(lambda name, segments: name + "".join(segments), _name, st.lists(_segment, max_size=4))
_value = st.one_of(
    st.sampled_from(["", "true", "FALSE", "0", "-1", "1", "101", "9" * 30, "٣", "cus_x", "now", "exempt", "usd", " "]),
    st.integers().map(str),
    _text,
    st.text(max_size=600),
)
_pairs = st.lists(st.tuples(_key, _value), max_size=12)


def _form(pairs: list[tuple[str, str]]) -> str:
    # Brackets left readable, as the SDKs send them; everything else percent-encoded.
    return "&".join(f"{quote(k, safe='[]')}={quote(v, safe='')}" for k, v in pairs)


def _check(response: Any) -> None:
    assert response.status_code in {200, 400, 401, 404, 409}, response.content[:500]
    assert response["Content-Type"] == "application/json"
    assert response["Request-Id"].startswith("req_")
    body = json.loads(response.content)
    assert isinstance(body, dict)
    if response.status_code == 200:
        assert "error" not in body
        assert isinstance(body["object"], str)
    else:
        assert set(body) == {"error"}
        assert isinstance(body["error"]["message"], str)
        assert body["error"]["type"] in {"invalid_request_error", "idempotency_error"}
        assert isinstance(body["error"].get("param", ""), str)


@pytest.fixture
def client(test_key: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {test_key}", raise_request_exception=True)


def _customer_id() -> str:
    existing = Customer.objects.filter(livemode=False, deleted=False).order_by("pk").first()
    customer = existing or customer_services.customer_create(livemode=False, values={})
    return customer.public_id


@pytest.mark.parametrize("target", ["create", "update"])
@FUZZ
@given(pairs=_pairs)
def test_form_bodies(client: Client, target: str, pairs: list[tuple[str, str]]) -> None:
    path = "/v1/customers" if target == "create" else f"/v1/customers/{_customer_id()}"
    _check(client.post(path, _form(pairs), content_type="application/x-www-form-urlencoded"))


@pytest.mark.parametrize("path", ["/v1/customers", "/v1/events"])
@FUZZ
@given(pairs=_pairs)
def test_query_strings(client: Client, path: str, pairs: list[tuple[str, str]]) -> None:
    _check(client.get(path, QUERY_STRING=_form(pairs)))


@pytest.mark.parametrize(("method", "target"), [("POST", "create"), ("POST", "update"), ("GET", "list")])
@FUZZ
@given(raw=st.binary(max_size=300))
def test_raw_bytes(client: Client, method: str, target: str, raw: bytes) -> None:
    path = f"/v1/customers/{_customer_id()}" if target == "update" else "/v1/customers"
    if method == "POST":
        _check(client.post(path, raw, content_type="application/x-www-form-urlencoded"))
    else:
        # WSGI hands the query string over as the raw bytes read as Latin-1.
        _check(client.get(path, QUERY_STRING=raw.decode("latin-1")))


@FUZZ
@given(
    pairs=_pairs,
    key=st.one_of(st.none(), _text),
    version=st.one_of(st.none(), _text, st.sampled_from(["2023-08-16", "2026-10-28.endive", "٢٠٢٣-٠٨-١٦"])),
)
def test_idempotent_creates(client: Client, pairs: list[tuple[str, str]], key: str | None, version: str | None) -> None:
    headers = {"Idempotency-Key": key} if key else {}
    if version is not None:
        headers["Stripe-Version"] = version
    body = _form(pairs)
    first = client.post("/v1/customers", body, content_type="application/x-www-form-urlencoded", headers=headers)
    _check(first)
    if key and first.status_code != 409:
        again = client.post("/v1/customers", body, content_type="application/x-www-form-urlencoded", headers=headers)
        _check(again)
        if first.status_code == 200:
            assert (again.status_code, again.content) == (200, first.content)
