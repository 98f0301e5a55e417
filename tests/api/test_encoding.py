"""Stripe's form encoding: ``billfold.api.encoding.decode`` and the list/hash rules of the schema.

The round-trip tests feed ``decode`` exactly what stripe-python 16 puts on the wire, using the
SDK's own encoder, so a change in how the SDK encodes shows up here first.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stripe._encode import _api_encode

from billfold.api.encoding import MAX_DEPTH, MAX_FIELDS, decode
from billfold.api.errors import ParamError
from billfold.api.params import Bool, Hash, Int, ListOf, Metadata, Str, validate


def sdk_form(params: dict[str, Any]) -> str:
    """The body stripe-python sends for ``params`` (the lines of ``_api_requestor._args_for_request``)."""
    encoded = urlencode(list(_api_encode(params)))
    return encoded.replace("%5B", "[").replace("%5D", "]")


def _nested_x(depth: int) -> Any:
    """``{"x": {"x": ... "1"}}`` ``depth`` hashes deep."""
    return "1" if depth == 0 else {"x": _nested_x(depth - 1)}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("name=Jenny", {"name": "Jenny"}, id="flat"),
        pytest.param("a[b][c]=1&a[b][d]=2&a[e]=3", {"a": {"b": {"c": "1", "d": "2"}, "e": "3"}}, id="nested-hashes"),
        pytest.param("expand[]=customer&expand[]=data.price", {"expand": ["customer", "data.price"]}, id="append"),
        # Indexes stay hash keys; ListOf orders them (see the schema tests below).
        pytest.param("a[0]=x&a[1]=y", {"a": {"0": "x", "1": "y"}}, id="indexed"),
        pytest.param("a[2]=x&a[0]=y", {"a": {"2": "x", "0": "y"}}, id="out-of-order"),
        pytest.param("a[7]=x&a[3]=y", {"a": {"7": "x", "3": "y"}}, id="sparse"),
        pytest.param(
            "items[0][price]=p&items[0][quantity]=2&items[1][price]=q",
            {"items": {"0": {"price": "p", "quantity": "2"}, "1": {"price": "q"}}},
            id="indexed-hashes",
        ),
        pytest.param(
            "items[][price]=a&items[][quantity]=2&items[][price]=b",
            {"items": [{"price": "a", "quantity": "2"}, {"price": "b"}]},
            id="rack-list-of-hashes",
        ),
        pytest.param(
            "items[][price_data][currency]=usd&items[][price_data][unit_amount]=1&items[][price_data][currency]=eur",
            {"items": [{"price_data": {"currency": "usd", "unit_amount": "1"}}, {"price_data": {"currency": "eur"}}]},
            id="rack-list-of-nested-hashes",
        ),
        pytest.param("a[][]=1&a[][]=2", {"a": [["1"], ["2"]]}, id="rack-list-of-lists"),
        pytest.param("a[0][]=1&a[0][]=2&a[1][]=3", {"a": {"0": ["1", "2"], "1": ["3"]}}, id="indexed-lists"),
        pytest.param("description=&metadata[plan]=", {"description": "", "metadata": {"plan": ""}}, id="empty-kept"),
        pytest.param("metadata=", {"metadata": ""}, id="empty-hash-unset"),
        pytest.param("a=x+y&b=%26%3D%2B&c=%5Bz%5D", {"a": "x y", "b": "&=+", "c": "[z]"}, id="plus-and-escapes"),
        pytest.param("a%5Bb%5D=1", {"a": {"b": "1"}}, id="escaped-brackets-nest"),
        pytest.param(
            "name=J%C3%BCrgen+%E2%82%AC&metadata[%E5%90%8D]=%F0%9F%98%80",
            {"name": "Jürgen €", "metadata": {"名": "😀"}},
            id="utf-8",
        ),
        pytest.param("a=1&a=2", {"a": "2"}, id="repeat-last-wins"),
        pytest.param("a[0]=1&a[0]=2", {"a": {"0": "2"}}, id="repeat-index-last-wins"),
        pytest.param("=x&&a=1", {"a": "1"}, id="empty-names-skipped"),
        pytest.param("a]b=1", {"a]b": "1"}, id="stray-closing-bracket-is-a-name"),
        pytest.param("", {}, id="empty-body"),
        pytest.param("a" + "[x]" * MAX_DEPTH + "=1", {"a": _nested_x(MAX_DEPTH)}, id="deepest-allowed"),
    ],
)
def test_decode(raw: str, expected: dict[str, Any]) -> None:
    assert decode(raw) == expected


@pytest.mark.parametrize(
    ("raw", "param", "message"),
    [
        ("a=1&a[b]=2", "a", "Invalid value for a: it is given both as a value and as a hash or array."),
        ("a[b]=2&a=1", "a", "Invalid value for a: it is given both as a value and as a hash or array."),
        ("a[b]=1&a[b][c]=2", "a[b]", "Invalid value for a[b]: it is given both as a value and as a hash or array."),
        ("a[]=1&a[0]=2", "a", "Invalid value for a: it is given both as a value and as a hash or array."),
        ("a[0]=1&a[]=2", "a", "Invalid value for a: it is given both as a value and as a hash or array."),
        ("a[b][]=1&a[b][x]=2", "a[b]", "Invalid value for a[b]: it is given both as a value and as a hash or array."),
        (
            "a[][b]=1&a[][b][c]=2",
            "a[][b]",
            "Invalid value for a[][b]: it is given both as a value and as a hash or array.",
        ),
        ("a" + "[x]" * (MAX_DEPTH + 1) + "=1", "a" + "[x]" * (MAX_DEPTH + 1), "Parameter nested too deeply: a[x]"),
        ("a[b=1", "a[b", "Invalid parameter name: a[b"),
        ("a[b]c=1", "a[b]c", "Invalid parameter name: a[b]c"),
        ("[a]=1", "[a]", "Invalid parameter name: [a]"),
        ("a[b]]=1", "a[b]]", "Invalid parameter name: a[b]]"),
        ("a[[b]]=1", "a[[b]]", "Invalid parameter name: a[[b]]"),
        ("a[b][=1", "a[b][", "Invalid parameter name: a[b]["),
        ("name=%00", "name", "Invalid value for name: it contains a NUL character (%00)."),
        ("metadata[a%00]=1", "metadata[a\x00]", "Invalid value for metadata[a\x00]: it contains a NUL character"),
    ],
)
def test_decode_refusals_name_the_param(raw: str, param: str, message: str) -> None:
    with pytest.raises(ParamError) as raised:
        decode(raw)
    assert raised.value.param == param
    assert raised.value.message.startswith(message)
    assert raised.value.http_status == 400


@pytest.mark.parametrize("raw", ["name=%FF", "%C3=1", "a=%ED%A0%80"], ids=["value", "name", "surrogate"])
def test_invalid_utf8_is_refused(raw: str) -> None:
    with pytest.raises(ParamError) as raised:
        decode(raw)
    assert raised.value.message == "The request body is not valid UTF-8."
    assert raised.value.param is None


def test_too_many_fields_refused() -> None:
    assert len(decode("&".join(f"k{i}=v" for i in range(MAX_FIELDS)))) == MAX_FIELDS
    with pytest.raises(ParamError) as raised:
        decode("&".join(f"k{i}=v" for i in range(MAX_FIELDS + 1)))
    assert raised.value.message == f"Too many parameters: at most {MAX_FIELDS} are accepted."


# The schema decides what an index-keyed hash is: a list for ListOf, plain keys for Metadata.
_ITEMS = {"items": ListOf(Hash({"price": Str(), "quantity": Int()}), max_items=3)}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("items[0][price]=a&items[1][price]=b", [{"price": "a"}, {"price": "b"}]),
        ("items[1][price]=b&items[0][price]=a", [{"price": "a"}, {"price": "b"}]),
        ("items[10][price]=c&items[2][price]=a&items[9][price]=b", [{"price": "a"}, {"price": "b"}, {"price": "c"}]),
        ("items[][price]=a&items[][quantity]=2&items[][price]=b", [{"price": "a", "quantity": 2}, {"price": "b"}]),
        ("items=", None),
    ],
)
def test_list_of_hashes_through_the_schema(raw: str, expected: list[dict[str, Any]] | None) -> None:
    schema = {"items": ListOf(Hash({"price": Str(), "quantity": Int()}), max_items=3, unsettable=True)}
    assert validate(schema, decode(raw)) == {"items": expected}


@pytest.mark.parametrize(
    ("raw", "param", "message"),
    [
        ("items[01][price]=a", "items", "Invalid array: items must be an array (e.g. items[0]=...)."),
        ("items[-1][price]=a", "items", "Invalid array: items must be an array (e.g. items[0]=...)."),
        ("items[²][price]=a", "items", "Invalid array: items must be an array (e.g. items[0]=...)."),
        ("items[0][price]=a&items[x][price]=b", "items", "Invalid array: items must be an array"),
        ("items[" + "9" * 5000 + "][price]=a", "items", "Invalid array: items must be an array"),
        ("items=a", "items", "Invalid array: items must be an array (e.g. items[]=...)."),
        ("items[0][price]=a&items[5][quantity]=x", "items[5][quantity]", "Invalid integer: x"),
        ("items[3][colour]=red", "items[3][colour]", "Received unknown parameter: items[3][colour]"),
        ("items[][price]=a&items[][colour]=red", "items[0][colour]", "Received unknown parameter: items[0][colour]"),
        (
            "&".join(f"items[{i}][price]=p" for i in range(4)),
            "items",
            "Invalid array: items can have at most 3 items.",
        ),
    ],
)
def test_list_refusals(raw: str, param: str, message: str) -> None:
    with pytest.raises(ParamError) as raised:
        validate(_ITEMS, decode(raw))
    assert raised.value.param == param
    assert raised.value.message.startswith(message)


def test_index_keys_are_plain_keys_in_metadata() -> None:
    raw = "metadata[0]=zero&metadata[1]=one&metadata[order]=A-7"
    assert validate({"metadata": Metadata()}, decode(raw)) == {"metadata": {"0": "zero", "1": "one", "order": "A-7"}}


@pytest.mark.parametrize("text", ["true", "TRUE", "True", "false", "False", "FALSE"])
def test_booleans_in_any_case(text: str) -> None:
    assert validate({"flag": Bool()}, decode(f"flag={text}")) == {"flag": text.lower() == "true"}


@pytest.mark.parametrize("text", ["1", "yes", "t", " ", "truee"])
def test_not_booleans(text: str) -> None:
    with pytest.raises(ParamError) as raised:
        validate({"flag": Bool()}, {"flag": text})
    assert raised.value.param == "flag"
    assert raised.value.message == f"Invalid boolean: {text}"


@pytest.mark.parametrize("text", ["1.5", "1e3", "٣", "1_000", "0x10", "9223372036854775808", "twelve"])
def test_not_integers(text: str) -> None:
    with pytest.raises(ParamError) as raised:
        validate({"count": Int()}, {"count": text})
    assert raised.value.param == "count"
    assert raised.value.code == "parameter_invalid_integer"


# ---- Round trips through stripe-python's encoder ----------------------------------------------


def wire_value(value: Any) -> Any:
    """What ``decode`` should give back for ``value`` after the SDK encoded it.

    The SDK writes lists with indexes (``a[0]``), drops ``None`` and empty containers, writes
    booleans as ``true``/``false`` but a boolean directly inside a list with ``str()``.
    Returns ``None`` when nothing of ``value`` reaches the wire.
    """
    if isinstance(value, dict):
        kept = {str(k): wire_value(v) for k, v in value.items() if v is not None}
        kept = {k: v for k, v in kept.items() if v is not None}
        return kept or None
    if isinstance(value, list):
        items = {
            str(i): str(v) if isinstance(v, bool) else wire_value(dict(enumerate(v)) if isinstance(v, list) else v)
            for i, v in enumerate(value)
        }
        kept = {k: v for k, v in items.items() if v is not None}
        return kept or None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def test_sdk_round_trip_example() -> None:
    params = {
        "email": "jenny@example.com",
        "description": "",
        "balance": -150,
        "tax_exempt": None,
        "invoice_settings": {"custom_fields": [{"name": "VAT", "value": "DE 123"}], "footer": "Danke & tschüss"},
        "items": [{"price": "price_a", "quantity": 2}, {"price": "price_b", "tax_rates": ["txr_1", "txr_2"]}],
        "metadata": {"0": "zero", "plan": "pro+", "名前": "ジェニー"},
        "expand": ["data.customer"],
        "flags": [True, False],
        "nested": {"deep": {"deeper": {"deepest": True}}},
        "matrix": [[1, 2], [3]],
        "empty_list": [],
        "empty_hash": {},
    }
    decoded = decode(sdk_form(params))
    assert decoded == {
        "email": "jenny@example.com",
        "description": "",
        "balance": "-150",
        "invoice_settings": {"custom_fields": {"0": {"name": "VAT", "value": "DE 123"}}, "footer": "Danke & tschüss"},
        "items": {
            "0": {"price": "price_a", "quantity": "2"},
            "1": {"price": "price_b", "tax_rates": {"0": "txr_1", "1": "txr_2"}},
        },
        "metadata": {"0": "zero", "plan": "pro+", "名前": "ジェニー"},
        "expand": {"0": "data.customer"},
        "flags": {"0": "True", "1": "False"},
        "nested": {"deep": {"deeper": {"deepest": "true"}}},
        "matrix": {"0": {"0": "1", "1": "2"}, "1": {"0": "3"}},
    }
    assert decoded == wire_value(params)
    schema = {
        "items": ListOf(Hash({"price": Str(), "quantity": Int(), "tax_rates": ListOf(Str())})),
        "flags": ListOf(Bool()),
        "matrix": ListOf(ListOf(Int())),
        "metadata": Metadata(),
    }
    typed = validate(schema, {k: decoded[k] for k in schema})
    assert typed == {
        "items": [{"price": "price_a", "quantity": 2}, {"price": "price_b", "tax_rates": ["txr_1", "txr_2"]}],
        "flags": [True, False],
        "matrix": [[1, 2], [3]],
        "metadata": {"0": "zero", "plan": "pro+", "名前": "ジェニー"},
    }


def test_metadata_key_with_brackets_is_refused_not_misread() -> None:
    # The SDK turns %5B/%5D back into brackets, so such a key cannot be told from nesting.
    with pytest.raises(ParamError) as raised:
        decode(sdk_form({"metadata": {"a[b]": "1"}}))
    assert raised.value.param == "metadata[a[b]]"


_keys = st.text(st.characters(codec="utf-8", exclude_characters="[]\x00"), min_size=1, max_size=12)
_leaves = st.one_of(
    st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=20),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.booleans(),
    st.none(),
)
_values = st.recursive(
    _leaves,
    lambda children: st.one_of(
        st.lists(children.filter(lambda v: v is not None), max_size=4),
        st.dictionaries(_keys, children, max_size=4),
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(_keys, _values, max_size=6))
def test_sdk_round_trip_property(params: dict[str, Any]) -> None:
    assert decode(sdk_form(params)) == (wire_value(params) or {})
