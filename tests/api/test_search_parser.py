"""The search query language on its own: tokens, syntax tree, refusals, and the Q it compiles to."""

from __future__ import annotations

import contextlib
import datetime as dt
import json

import pytest
from django.db.models import Q
from hypothesis import given, settings
from hypothesis import strategies as st

from billfold.api.search import (
    CUSTOMERS,
    MAX_CLAUSES,
    PRICES,
    PRODUCTS,
    Clause,
    Query,
    SearchQueryError,
    SearchSpec,
    compile_query,
    parse,
    tokenize,
)

SPECS = (CUSTOMERS, PRODUCTS, PRICES)


def when(stamp: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(stamp, dt.UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("email:'jenny@example.com'", Query((Clause("email", ":", "jenny@example.com"),))),
        ('email:"jenny@example.com"', Query((Clause("email", ":", "jenny@example.com"),))),
        ("name~'jen'", Query((Clause("name", "~", "jen"),))),
        ("-email:'a@b.c'", Query((Clause("email", ":", "a@b.c", negated=True),))),
        ("metadata['plan']:'pro'", Query((Clause("metadata", ":", "pro", key="plan"),))),
        ('metadata["order id"]:"42"', Query((Clause("metadata", ":", "42", key="order id"),))),
        ("-metadata['plan']:null", Query((Clause("metadata", ":", None, key="plan", negated=True),))),
        ("email:null", Query((Clause("email", ":", None),))),
        ("created>1609459200", Query((Clause("created", ">", 1609459200),))),
        ("created<1609459200", Query((Clause("created", "<", 1609459200),))),
        ("created>=1609459200", Query((Clause("created", ">=", 1609459200),))),
        ("created<=1609459200", Query((Clause("created", "<=", 1609459200),))),
        ("created=1609459200", Query((Clause("created", "=", 1609459200),))),
        ("created:1609459200", Query((Clause("created", ":", 1609459200),))),
        ("created:'1609459200'", Query((Clause("created", ":", "1609459200"),))),
        ("active:'true'", Query((Clause("active", ":", "true"),))),
        (r"name:'O\'Brien'", Query((Clause("name", ":", "O'Brien"),))),
        (r'name:"say \"hi\""', Query((Clause("name", ":", 'say "hi"'),))),
        (r"name:'back\\slash'", Query((Clause("name", ":", "back\\slash"),))),
        ("name:'it''s'", None),  # two strings with nothing between them: refused below
        ("name:'a \"quoted\" word'", Query((Clause("name", ":", 'a "quoted" word'),))),
        ("name:''", Query((Clause("name", ":", ""),))),
        ("  email:'x'  ", Query((Clause("email", ":", "x"),))),
        (
            "email:'a' name:'b'",
            Query((Clause("email", ":", "a"), Clause("name", ":", "b")), "AND"),
        ),
        (
            "email:'a' AND name:'b' and phone:'c'",
            Query((Clause("email", ":", "a"), Clause("name", ":", "b"), Clause("phone", ":", "c")), "AND"),
        ),
        (
            "email:'a' AND name:'b' phone:'c'",
            Query((Clause("email", ":", "a"), Clause("name", ":", "b"), Clause("phone", ":", "c")), "AND"),
        ),
        (
            "email:'a' OR name:'b' or phone:'c'",
            Query((Clause("email", ":", "a"), Clause("name", ":", "b"), Clause("phone", ":", "c")), "OR"),
        ),
        # A field spelt like a keyword is still a field (and refused later as unknown).
        ("email:'a' or:'b'", Query((Clause("email", ":", "a"), Clause("or", ":", "b")), "AND")),
        ("email:'AND'", Query((Clause("email", ":", "AND"),))),
        ("\temail:'x'\nOR\tname:'y'", Query((Clause("email", ":", "x"), Clause("name", ":", "y")), "OR")),
    ],
)
def test_parse(text: str, expected: Query | None) -> None:
    if expected is None:
        with pytest.raises(SearchQueryError):
            parse(text)
        return
    assert parse(text) == expected


def test_clause_positions_point_at_each_clause() -> None:
    query = parse("email:'a'  AND -name:'b'")
    assert [c.position for c in query.clauses] == [0, 15]


def test_tokens() -> None:
    assert [
        (t.kind, t.text, t.position, t.space_before, t.value) for t in tokenize(r"-metadata['k']:'v\'' OR a>=-3")
    ] == [
        ("minus", "-", 0, False, ""),
        ("word", "metadata", 1, False, ""),
        ("lbracket", "[", 9, False, ""),
        ("string", "'k'", 10, False, "k"),
        ("rbracket", "]", 13, False, ""),
        ("operator", ":", 14, False, ""),
        ("string", r"'v\''", 15, False, "v'"),
        ("word", "OR", 21, True, ""),
        ("word", "a", 24, True, ""),
        ("operator", ">=", 25, False, ""),
        ("number", "-3", 27, False, ""),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "The search query is empty. Give at least one clause, e.g. email:'jenny@example.com'."),
        ("   ", "The search query is empty. Give at least one clause, e.g. email:'jenny@example.com'."),
        (
            "email:'jenny@example.com",
            "Unbalanced quotes in the query: the string that starts at character 7 ('jenny@example.com) has no "
            "closing '. Close it, and escape quotes inside a value with a backslash, e.g. name:'O\\'Brien'.",
        ),
        (
            'name:"Jenny',
            'Unbalanced quotes in the query: the string that starts at character 6 ("Jenny) has no closing ". '
            "Close it, and escape quotes inside a value with a backslash, e.g. name:'O\\'Brien'.",
        ),
        ("name:'ends with backslash\\", "Unbalanced quotes in the query: the string that starts at character 6 ("),
        (
            "email:jenny",
            "The value 'jenny' at character 7 must be quoted: write 'jenny' (numbers and null are the only values "
            "written without quotes).",
        ),
        ("active:true", "The value 'true' at character 8 must be quoted: write 'true'"),
        (
            "email:",
            "Expected a value right after ':' at character 6, found the end of the query. Quote string values, "
            "e.g. name:'Jenny Rosen'.",
        ),
        ("email: 'x'", "Expected a value right after ':' at character 6, found a space at character 7."),
        (
            "email :'x'",
            "Expected an operator (:, ~, >, <, >=, <= or =) right after 'email' at character 1, found a space at "
            "character 6.",
        ),
        ("email", "Expected an operator (:, ~, >, <, >=, <= or =) right after 'email' at character 1, found the end"),
        (
            "email'x'",
            "Expected an operator (:, ~, >, <, >=, <= or =) right after 'email' at character 1, found \"'x'\"",
        ),
        ("email::'x'", "Expected a value right after ':' at character 6, found ':' at character 7."),
        (
            "email:'a'name:'b'",
            "Expected a space, AND or OR before 'name' at character 10: clauses are separated by white space.",
        ),
        (
            "email:'a' name:'b' OR phone:'c'",
            "A query cannot mix AND and OR: OR at character 20 follows an earlier AND or space. Join all clauses "
            "with AND (or spaces), or all with OR.",
        ),
        (
            "email:'a' OR name:'b' AND phone:'c'",
            "A query cannot mix AND and OR: AND at character 23 follows an earlier OR.",
        ),
        (
            "email:'a' OR name:'b' phone:'c'",
            "A query cannot mix AND and OR: a space (which means AND) at character 23 follows an earlier OR.",
        ),
        ("AND email:'a'", "Expected a clause at character 1, found the keyword AND."),
        ("email:'a' AND", "The query ends with AND (at character 11); add a clause after it."),
        ("email:'a' OR OR name:'b'", "Expected a clause at character 14, found the keyword OR."),
        (
            "(email:'a' OR name:'b') AND phone:'c'",
            "Parentheses are not supported in search queries (found ( at character 1). Join clauses with spaces or "
            "AND, or all of them with OR.",
        ),
        (
            "email:'a' | name:'b'",
            "Unexpected character '|' at character 11. A clause is a field, an operator and a quoted value, e.g. "
            "email:'jenny@example.com'.",
        ),
        ("-", "Expected a field name right after '-' at character 1, found the end of the query."),
        ("- email:'a'", "Expected a field name right after '-' at character 1, found a space at character 2."),
        ("'email':'a'", "Expected a field name at character 1, found \"'email'\"."),
        ("42:'a'", "Expected a field name at character 1, found '42'."),
        (
            "metadata[plan]:'pro'",
            "Expected a quoted key (as in metadata['plan']) right after '[' at character 9, found 'plan' at "
            "character 10.",
        ),
        ("metadata['plan'", "Expected ] right after \"'plan'\" at character 10, found the end of the query."),
        ("metadata['plan' ]:'x'", "Expected ] right after \"'plan'\" at character 10, found a space at character 16."),
        ("name~'ab'", "A substring match (~) needs at least 3 characters; name~ at character 1 has 2."),
        ("-name~''", "A substring match (~) needs at least 3 characters; -name~ at character 1 has 0."),
        ("name~123", "A substring match (~) needs a quoted string (name~ at character 1)."),
        ("email~null", "null can only be matched with ':' (email~ at character 1), e.g. email:null."),
        ("created>null", "null can only be matched with ':' (created> at character 1), e.g. email:null."),
        ("created>1.5", "Only whole numbers can be searched for; 1.5 at character 9 has a fraction."),
        (
            " ".join(f"email:'{i}'" for i in range(MAX_CLAUSES + 1)),
            f"A search query can have at most {MAX_CLAUSES} clauses; the 11th starts at character 101.",
        ),
    ],
)
def test_syntax_refusals(text: str, message: str) -> None:
    with pytest.raises(SearchQueryError) as raised:
        parse(text)
    assert raised.value.message.startswith(message)
    assert raised.value.param == "query"
    assert raised.value.http_status == 400
    assert raised.value.error_type == "invalid_request_error"


def test_ten_clauses_are_allowed() -> None:
    assert len(parse(" OR ".join(f"email:'{i}'" for i in range(MAX_CLAUSES))).clauses) == MAX_CLAUSES


@pytest.mark.parametrize(
    ("spec", "text", "expected"),
    [
        (CUSTOMERS, "email:'Jenny@Example.com'", Q(email__iexact="Jenny@Example.com")),
        (CUSTOMERS, "name~'jen'", Q(name__icontains="jen")),
        (CUSTOMERS, "-phone:'+15555550100'", ~Q(phone__iexact="+15555550100")),
        (CUSTOMERS, "email:null", Q(email__isnull=True)),
        (CUSTOMERS, "-email:null", ~Q(email__isnull=True)),
        (CUSTOMERS, "phone:15555550100", Q(phone__iexact="15555550100")),
        (
            CUSTOMERS,
            "email:'a' OR name:'b'",
            Q(email__iexact="a") | Q(name__iexact="b"),
        ),
        (
            CUSTOMERS,
            "email:'a' name:'b'",
            Q(email__iexact="a") & Q(name__iexact="b"),
        ),
        # Unix seconds against sub-second timestamps: each compares with whole seconds.
        (CUSTOMERS, "created>1609459200", Q(created__gte=when(1609459201))),
        (CUSTOMERS, "created>=1609459200", Q(created__gte=when(1609459200))),
        (CUSTOMERS, "created<1609459200", Q(created__lt=when(1609459200))),
        (CUSTOMERS, "created<=1609459200", Q(created__lt=when(1609459201))),
        (CUSTOMERS, "created:1609459200", Q(created__gte=when(1609459200), created__lt=when(1609459201))),
        (CUSTOMERS, "created=1609459200", Q(created__gte=when(1609459200), created__lt=when(1609459201))),
        (CUSTOMERS, "created:'1609459200'", Q(created__gte=when(1609459200), created__lt=when(1609459201))),
        (CUSTOMERS, "-created>1609459200", ~Q(created__gte=when(1609459201))),
        (PRODUCTS, "active:'true'", Q(active=True)),
        (PRODUCTS, "active:'false'", Q(active=False)),
        (PRODUCTS, "-shippable:'false'", ~Q(shippable=False)),
        (PRODUCTS, "shippable:null", Q(shippable__isnull=True)),
        (PRODUCTS, "url~'/movies/'", Q(url__icontains="/movies/")),
        (PRODUCTS, "description~'shirt'", Q(description__icontains="shirt")),
        (PRICES, "currency:'usd'", Q(currency="usd")),
        (PRICES, "lookup_key:'Standard_Monthly'", Q(lookup_key__iexact="Standard_Monthly")),
        (PRICES, "product:'prod_123'", Q(product__public_id__iexact="prod_123")),
        (PRICES, "type:'recurring'", Q(recurring_interval__isnull=False)),
        (PRICES, "-type:'one_time'", ~Q(recurring_interval__isnull=True)),
    ],
)
def test_compile(spec: SearchSpec, text: str, expected: Q) -> None:
    assert compile_query(parse(text), spec) == expected


@pytest.mark.parametrize(
    ("spec", "text", "message"),
    [
        (
            CUSTOMERS,
            "description:'vip'",
            "Field 'description' (at character 1) is not a search field for customers. Searchable fields: created, "
            "email, metadata, name, phone.",
        ),
        (
            PRODUCTS,
            "email:'a' OR type:'good'",
            "Field 'email' (at character 1) is not a search field for products. Searchable fields: active, created, "
            "description, metadata, name, shippable, url.",
        ),
        (
            PRICES,
            "nickname:'x'",
            "Field 'nickname' (at character 1) is not a search field for prices. Searchable fields: active, created, "
            "currency, lookup_key, metadata, product, type.",
        ),
        (CUSTOMERS, "EMAIL:'a'", "Field 'EMAIL' (at character 1) is not a search field for customers."),
        (CUSTOMERS, "email:'a' or:'b'", "Field 'or' (at character 11) is not a search field for customers."),
        (CUSTOMERS, "metadata:'pro'", "metadata (at character 1) needs a key: write metadata['key']:'value'."),
        (CUSTOMERS, "email['x']:'pro'", "email (at character 1) has no keys: write email:'value'."),
        (CUSTOMERS, "metadata['']:'pro'", "The metadata key at character 1 is empty."),
        (
            CUSTOMERS,
            "email>'a'",
            "email is not a numeric field, so it cannot be compared with > (email> at character 1); numeric fields "
            "for customers: created.",
        ),
        (PRICES, "-currency~'usd'", "currency only supports exact matches with ':', not substring matches with '~' "),
        (CUSTOMERS, "metadata['k']~'abc'", "metadata only supports exact matches with ':', not substring matches"),
        (PRODUCTS, "active~'true'", "active only supports exact matches with ':', not substring matches with '~'"),
        (
            CUSTOMERS,
            "created>'yesterday'",
            "created is a Unix timestamp; created> at character 1 needs a whole number, e.g. created>1609459200.",
        ),
        (
            CUSTOMERS,
            "created>253402300799",
            "The timestamp 253402300799 at character 1 is out of range: use Unix seconds from 0 to 253402300798.",
        ),
        (CUSTOMERS, "created>-1", "The timestamp -1 at character 1 is out of range"),
        (PRODUCTS, "active:'yes'", "active is 'true' or 'false'; active: at character 1 gives 'yes'."),
        (PRODUCTS, "shippable:'TRUE'", "shippable is 'true' or 'false'; shippable: at character 1 gives 'TRUE'."),
        (
            PRICES,
            "type:'subscription'",
            "type is 'one_time' or 'recurring'; type: at character 1 gives 'subscription'.",
        ),
        (PRICES, "type:null", "type always has a value, so it cannot be null (type: at character 1)."),
    ],
)
def test_field_refusals(spec: SearchSpec, text: str, message: str) -> None:
    with pytest.raises(SearchQueryError) as raised:
        compile_query(parse(text), spec)
    assert raised.value.message.startswith(message)
    assert raised.value.param == "query"


# --- Properties -------------------------------------------------------------------------------


def _only_refusals(text: str) -> None:
    try:
        query = parse(text)
    except SearchQueryError:
        return
    for spec in SPECS:
        with contextlib.suppress(SearchQueryError):
            compile_query(query, spec)


@settings(max_examples=500)
@given(st.text())
def test_any_text_is_parsed_or_refused(text: str) -> None:
    _only_refusals(text)


# Fragments of the language, so random strings reach deep into the parser and compiler.
_FRAGMENTS = st.sampled_from(
    [
        " ", "  ", "\t", "AND", "OR", "and", "-", ":", "~", ">", "<", ">=", "<=", "=", "[", "]", "'", '"', "\\",
        "email", "name", "created", "metadata", "active", "type", "currency", "product", "url", "phone",
        "null", "'true'", "'abc'", "\"x y\"", "1609459200", "-5", "1.5", "'recurring'", "['k']", "(", "é",
    ]
)  # fmt: skip


@settings(max_examples=1000)
@given(st.lists(_FRAGMENTS, max_size=14).map("".join))
def test_language_fragments_are_parsed_or_refused(text: str) -> None:
    _only_refusals(text)


def _quote(value: str, quote: str) -> str:
    escaped = value.replace("\\", "\\\\").replace(quote, "\\" + quote)
    return f"{quote}{escaped}{quote}"


_clauses = st.builds(
    lambda field, op, value, key, negated: Clause(field, op, value, key=key, negated=negated),
    st.sampled_from(["email", "name", "created", "metadata", "lookup_key"]),
    st.sampled_from([":", "~", ">", "<", ">=", "<=", "="]),
    st.one_of(st.none(), st.integers(min_value=0, max_value=10**12), st.text(min_size=3)),
    st.one_of(st.none(), st.text()),
    st.booleans(),
).filter(lambda c: (c.value is None) <= (c.operator == ":") and (c.operator != "~" or isinstance(c.value, str)))


def _render(query: Query, quote: str, joiner: str) -> str:
    def value(v: str | int | None) -> str:
        return "null" if v is None else str(v) if isinstance(v, int) else _quote(v, quote)

    parts = [
        f"{'-' if c.negated else ''}{c.field}{'' if c.key is None else '[' + _quote(c.key, quote) + ']'}"
        f"{c.operator}{value(c.value)}"
        for c in query.clauses
    ]
    separator = " " if joiner == " " else f" {joiner} "
    return separator.join(parts)


@given(
    st.lists(_clauses, min_size=1, max_size=MAX_CLAUSES),
    st.sampled_from(["'", '"']),
    st.sampled_from([" ", "AND", "and", "OR", "or"]),
)
def test_rendered_queries_parse_back(clauses: list[Clause], quote: str, joiner: str) -> None:
    # One clause has no joiner to read, and parses as AND.
    query = Query(tuple(clauses), "OR" if joiner.upper() == "OR" and len(clauses) > 1 else "AND")
    assert parse(_render(query, quote, joiner)) == query


def test_error_messages_quote_values_safely() -> None:
    # The message names what was typed, escaped, so odd input cannot garble it.
    with pytest.raises(SearchQueryError) as raised:
        parse('x:"a" \u0000')
    assert json.dumps(raised.value.message)
    assert "'\\x00' at character 7" in raised.value.message
