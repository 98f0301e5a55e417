"""/v1/customers/search, /v1/products/search and /v1/prices/search through the official stripe SDK."""

from __future__ import annotations

import datetime as dt
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billfold.api.search import CUSTOMERS, PRICES, PRODUCTS, SearchQueryError, compile_query, parse
from billfold.catalog import selectors as catalog_selectors
from billfold.catalog import services as catalog_services
from billfold.catalog.models import Price, Product
from billfold.core import clock
from billfold.customers import selectors as customer_selectors
from billfold.customers.models import Customer
from billfold.events.models import Event

JAN_1_2021 = 1609459200


def at(stamp: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(stamp, dt.UTC)


def ids(result: Any) -> list[str]:
    return [obj.id for obj in result.data]


def search_customers(sdk: ModuleType, query: str) -> list[str]:
    return ids(sdk.Customer.search(query=query, limit=100))


def product(name: str, **values: Any) -> Product:
    return catalog_services.product_create(livemode=False, values={"name": name, **values})


def price(product_id: str, **values: Any) -> Price:
    return catalog_services.price_create(
        livemode=False, values={"product": product_id, "currency": "usd", "unit_amount": 1000, **values}
    )


# --- Customers ----------------------------------------------------------------------------------


@pytest.fixture
def people(sdk: ModuleType) -> dict[str, str]:
    """Four customers created one second apart from 2021-01-01 00:00:00.5 UTC, oldest first."""
    made: dict[str, str] = {}
    rows: list[tuple[str, dict[str, Any]]] = [
        (
            "jenny",
            {
                "email": "Jenny.Rosen@example.com",
                "name": "Jenny Rosen",
                "phone": "+15555550100",
                "metadata": {"plan": "pro", "123": "numeric key", "a.b": "dotted", "it's": "quoted"},
            },
        ),
        ("bob", {"email": "bob@example.org", "name": "Bob 50% off", "metadata": {"plan": "free"}}),
        ("nameless", {"email": "nobody@example.net"}),
        ("blank", {"name": "Rosemary", "phone": "+15555550199", "metadata": {"plan": "PRO"}}),
    ]
    for offset, (label, values) in enumerate(rows):
        with clock.frozen_at(at(JAN_1_2021 + offset + 0.5)):
            made[label] = sdk.Customer.create(**values).id
    return made


def test_customer_search_result_shape(sdk: ModuleType, people: dict[str, str]) -> None:
    result = sdk.Customer.search(query="email:'jenny.rosen@example.com'")
    assert result.object == "search_result"
    assert result.url == "/v1/customers/search"
    assert result.has_more is False
    assert result.next_page is None
    assert ids(result) == [people["jenny"]]
    assert result.data[0].to_dict() == sdk.Customer.retrieve(people["jenny"]).to_dict()
    assert "total_count" not in result


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # string fields: ':' ignores case, '~' finds a substring (any case).
        ("email:'JENNY.ROSEN@EXAMPLE.COM'", ["jenny"]),
        ("email:'jenny'", []),
        ("email~'example.o'", ["bob"]),
        ("email~'EXAMPLE'", ["nameless", "bob", "jenny"]),
        ("name:'jenny rosen'", ["jenny"]),
        ("name~'ros'", ["blank", "jenny"]),
        ("name~'50%'", ["bob"]),
        ("name~'0%o'", []),
        ("name~'b_5'", []),
        ("phone:'+15555550100'", ["jenny"]),
        ("phone~'5555501'", ["blank", "jenny"]),
        # null: no value at all.
        ("name:null", ["nameless"]),
        ("-name:null", ["blank", "bob", "jenny"]),
        ("email:null", ["blank"]),
        ("phone:null", ["nameless", "bob"]),
        # Negation keeps rows with no value.
        ("-name~'ros'", ["nameless", "bob"]),
        ("-email:'bob@example.org'", ["blank", "nameless", "jenny"]),
        # metadata values match exactly, case included.
        ("metadata['plan']:'pro'", ["jenny"]),
        ("metadata['plan']:'PRO'", ["blank"]),
        ('metadata["plan"]:"free"', ["bob"]),
        ("-metadata['plan']:'pro'", ["blank", "nameless", "bob"]),
        ("metadata['plan']:null", ["nameless"]),
        ("-metadata['plan']:null", ["blank", "bob", "jenny"]),
        ("metadata['123']:'numeric key'", ["jenny"]),
        ("metadata['a.b']:'dotted'", ["jenny"]),
        ("metadata['it\\'s']:'quoted'", ["jenny"]),
        ("metadata['missing']:'pro'", []),
        # created, in whole Unix seconds (rows were created at .5 past each second).
        (f"created:{JAN_1_2021}", ["jenny"]),
        (f"created={JAN_1_2021 + 1}", ["bob"]),
        (f"created:'{JAN_1_2021 + 2}'", ["nameless"]),
        (f"created>{JAN_1_2021 + 1}", ["blank", "nameless"]),
        (f"created>={JAN_1_2021 + 1}", ["blank", "nameless", "bob"]),
        (f"created<{JAN_1_2021 + 1}", ["jenny"]),
        (f"created<={JAN_1_2021 + 1}", ["bob", "jenny"]),
        (f"-created>{JAN_1_2021 + 1}", ["bob", "jenny"]),
        # AND (or space) and OR.
        ("email~'example' AND name~'ros'", ["jenny"]),
        ("email~'example' name~'ros'", ["jenny"]),
        ("email~'example' and -metadata['plan']:null", ["bob", "jenny"]),
        ("email:'bob@example.org' OR name:'rosemary'", ["blank", "bob"]),
        (f"metadata['plan']:'free' or created:{JAN_1_2021 + 2}", ["nameless", "bob"]),
    ],
)
def test_customer_fields_and_operators(
    sdk: ModuleType, people: dict[str, str], query: str, expected: list[str]
) -> None:
    assert search_customers(sdk, query) == [people[label] for label in expected]


def test_deleted_customers_and_the_other_mode_are_left_out(
    sdk: ModuleType, people: dict[str, str], live_key: str
) -> None:
    sdk.Customer.delete(people["bob"])
    live = sdk.Customer.create(email="bob@example.org", api_key=live_key)
    assert search_customers(sdk, "email:'bob@example.org'") == []
    assert ids(sdk.Customer.search(query="email:'bob@example.org'", api_key=live_key)) == [live.id]


def test_customer_pages_and_auto_paging(sdk: ModuleType) -> None:
    created = [sdk.Customer.create(metadata={"batch": "b"}).id for _ in range(23)]
    sdk.Customer.create(metadata={"batch": "other"})
    newest_first = created[::-1]

    first = sdk.Customer.search(query="metadata['batch']:'b'", limit=10)
    assert ids(first) == newest_first[:10]
    assert first.has_more is True
    assert isinstance(first.next_page, str)

    second = sdk.Customer.search(query="metadata['batch']:'b'", limit=10, page=first.next_page)
    assert ids(second) == newest_first[10:20]
    last = sdk.Customer.search(query="metadata['batch']:'b'", limit=10, page=second.next_page)
    assert ids(last) == newest_first[20:]
    assert (last.has_more, last.next_page) == (False, None)

    assert [c.id for c in sdk.Customer.search(query="metadata['batch']:'b'", limit=4).auto_paging_iter()] == (
        newest_first
    )
    # The default page is 10 long.
    assert len(sdk.Customer.search(query="metadata['batch']:'b'").data) == 10


def test_page_continues_after_the_cursor_row_is_deleted(sdk: ModuleType) -> None:
    created = [sdk.Customer.create(name="Paged").id for _ in range(4)]
    first = sdk.Customer.search(query="name:'paged'", limit=2)
    sdk.Customer.delete(first.data[-1].id)
    assert ids(sdk.Customer.search(query="name:'paged'", limit=2, page=first.next_page)) == created[1::-1]


def test_total_count_when_expanded(sdk: ModuleType, people: dict[str, str]) -> None:
    result = sdk.Customer.search(query="email~'example'", limit=1, expand=["total_count"])
    assert result.total_count == 3
    assert len(result.data) == 1


def test_customers_search_is_not_a_customer_id(sdk: ModuleType) -> None:
    # GET /v1/customers/search reaches the search endpoint, which wants a query.
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.Customer.retrieve("search")
    assert raised.value.http_status == 400
    assert (raised.value.code, raised.value.param) == ("parameter_missing", "query")
    assert raised.value.user_message == "Missing required param: query."


@pytest.mark.parametrize(
    ("params", "param", "message"),
    [
        (
            {"query": "email:'jenny@example.com"},
            "query",
            "Unbalanced quotes in the query: the string that starts at character 7 ('jenny@example.com) has no "
            "closing '. Close it, and escape quotes inside a value with a backslash, e.g. name:'O\\'Brien'.",
        ),
        (
            {"query": "nickname:'x'"},
            "query",
            "Field 'nickname' (at character 1) is not a search field for customers. Searchable fields: created, "
            "email, metadata, name, phone.",
        ),
        (
            {"query": "email:'a' name:'b' OR phone:'c'"},
            "query",
            "A query cannot mix AND and OR: OR at character 20 follows an earlier AND or space. Join all clauses "
            "with AND (or spaces), or all with OR.",
        ),
        (
            {"query": "name~'ab'"},
            "query",
            "A substring match (~) needs at least 3 characters; name~ at character 1 has 2.",
        ),
        (
            {"query": "email:jenny"},
            "query",
            "The value 'jenny' at character 7 must be quoted: write 'jenny' (numbers and null are the only values "
            "written without quotes).",
        ),
        (
            {"query": "email>'a'"},
            "query",
            "email is not a numeric field, so it cannot be compared with > (email> at character 1); numeric fields "
            "for customers: created.",
        ),
        ({"query": " "}, "query", "Invalid string for query: it contains only white space."),
        ({"query": "email:'a'", "limit": 101}, "limit", "This value must be less than or equal to 100."),
        ({"query": "email:'a'", "limit": 0}, "limit", "This value must be greater than or equal to 1."),
        (
            {"query": "email:'a'", "page": "not-a-token"},
            "page",
            "Invalid page: pass the next_page value from the previous response of this same search.",
        ),
        ({"query": "email:'a'", "starting_after": "cus_x"}, "starting_after", "Received unknown parameter"),
    ],
)
def test_customer_search_refusals(sdk: ModuleType, params: dict[str, Any], param: str, message: str) -> None:
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.Customer.search(**params)
    assert raised.value.http_status == 400
    assert raised.value.param == param
    assert raised.value.error.type == "invalid_request_error"
    assert raised.value.user_message.startswith(message)


def test_page_token_of_another_query_is_refused(sdk: ModuleType) -> None:
    for _ in range(3):
        sdk.Customer.create(name="Token")
    first = sdk.Customer.search(query="name:'token'", limit=1)
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.Customer.search(query="name:'other'", limit=1, page=first.next_page)
    assert raised.value.param == "page"
    assert raised.value.user_message == (
        "This page token belongs to a different search query. Pass the query that produced it, or start again "
        "without page."
    )


def test_search_writes_nothing(sdk: ModuleType, people: dict[str, str]) -> None:
    before = (Customer.objects.count(), Event.objects.count())
    sdk.Customer.search(query="name~'ros'")
    with pytest.raises(sdk.InvalidRequestError):
        sdk.Customer.search(query="name~'")
    assert (Customer.objects.count(), Event.objects.count()) == before


# --- Products -----------------------------------------------------------------------------------


@pytest.fixture
def catalog(sdk: ModuleType) -> dict[str, str]:
    """Products and prices, created one second apart from 2021-01-01 00:00:00.5 UTC, oldest first."""
    made: dict[str, str] = {}

    def when(offset: int) -> Any:
        return clock.frozen_at(at(JAN_1_2021 + offset + 0.5))

    with when(0):
        made["shirt"] = product(
            "T-shirt",
            description="Organic cotton t-shirts",
            type="good",
            url="https://shop.example.com/apparel/shirt",
            metadata={"sku": "TS-1"},
        ).public_id
    with when(1):
        made["movies"] = product(
            "Movie pass", description="Unlimited movies", url="https://example.com/movies/pass"
        ).public_id
    with when(2):
        made["old"] = product("Legacy plan", active=False, metadata={"sku": "LEG"}).public_id
    with when(3):
        made["mug"] = product("Mug", type="good", shippable=False).public_id
    with when(4):
        made["monthly"] = price(
            made["movies"], recurring={"interval": "month"}, lookup_key="Standard_Monthly", metadata={"tier": "std"}
        ).public_id
    with when(5):
        made["once"] = price(made["shirt"], currency="eur", unit_amount=2500).public_id
    with when(6):
        made["archived"] = price(made["movies"], recurring={"interval": "year"}, active=False).public_id
    return made


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("active:'true'", ["mug", "movies", "shirt"]),
        ("active:'false'", ["old"]),
        ("-active:'true'", ["old"]),
        ("shippable:'true'", ["shirt"]),
        ("shippable:'false'", ["mug"]),
        ("shippable:null", ["old", "movies"]),
        ("-shippable:'false'", ["old", "movies", "shirt"]),
        ("name:'t-shirt'", ["shirt"]),
        ("name~'PASS'", ["movies"]),
        ("description~'t-shirts'", ["shirt"]),
        ("description:null", ["mug", "old"]),
        ("url~'/movies/'", ["movies"]),
        ("url:'https://example.com/movies/pass'", ["movies"]),
        ("metadata['sku']:'TS-1'", ["shirt"]),
        ("-metadata['sku']:null", ["old", "shirt"]),
        (f"created>{JAN_1_2021 + 1}", ["mug", "old"]),
        (f"created:{JAN_1_2021}", ["shirt"]),
        ("active:'true' AND shippable:'true'", ["shirt"]),
        ("active:'false' OR shippable:'false'", ["mug", "old"]),
    ],
)
def test_product_fields_and_operators(
    sdk: ModuleType, catalog: dict[str, str], query: str, expected: list[str]
) -> None:
    result = sdk.Product.search(query=query, limit=100)
    assert result.url == "/v1/products/search"
    assert ids(result) == [catalog[label] for label in expected]


def test_product_search_renders_products_and_leaves_deleted_out(sdk: ModuleType, catalog: dict[str, str]) -> None:
    found = sdk.Product.search(query="name:'mug'")
    assert found.data[0].to_dict() == sdk.Product.retrieve(catalog["mug"]).to_dict()
    sdk.Product.delete(catalog["mug"])
    assert ids(sdk.Product.search(query="name:'mug'")) == []


def test_product_refusals(sdk: ModuleType, catalog: dict[str, str]) -> None:
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.Product.search(query="active:'yes'")
    assert raised.value.param == "query"
    assert raised.value.user_message == "active is 'true' or 'false'; active: at character 1 gives 'yes'."
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.Product.search(query="email:'a'")
    assert raised.value.user_message.startswith("Field 'email' (at character 1) is not a search field for products.")


# --- Prices -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("active:'true'", ["once", "monthly"]),
        ("active:'false'", ["archived"]),
        ("currency:'usd'", ["archived", "monthly"]),
        ("currency:'USD'", []),
        ("-currency:'usd'", ["once"]),
        ("lookup_key:'standard_monthly'", ["monthly"]),
        ("lookup_key~'monthly'", ["monthly"]),
        ("lookup_key:null", ["archived", "once"]),
        ("type:'recurring'", ["archived", "monthly"]),
        ("type:'one_time'", ["once"]),
        ("-type:'one_time'", ["archived", "monthly"]),
        ("metadata['tier']:'std'", ["monthly"]),
        (f"created>={JAN_1_2021 + 5}", ["archived", "once"]),
        ("type:'recurring' active:'true'", ["monthly"]),
    ],
)
def test_price_fields_and_operators(sdk: ModuleType, catalog: dict[str, str], query: str, expected: list[str]) -> None:
    result = sdk.Price.search(query=query, limit=100)
    assert result.url == "/v1/prices/search"
    assert ids(result) == [catalog[label] for label in expected]


def test_price_search_by_product(sdk: ModuleType, catalog: dict[str, str]) -> None:
    found = sdk.Price.search(query=f"product:'{catalog['movies']}'")
    assert ids(found) == [catalog["archived"], catalog["monthly"]]
    assert found.data[1].to_dict() == sdk.Price.retrieve(catalog["monthly"]).to_dict()
    expanded = sdk.Price.search(query="lookup_key:'standard_monthly'", expand=["data.product", "total_count"])
    assert expanded.data[0].product.to_dict() == sdk.Product.retrieve(catalog["movies"]).to_dict()
    assert expanded.total_count == 1
    assert [p.id for p in sdk.Price.search(query="currency:'usd'", limit=1).auto_paging_iter()] == [
        catalog["archived"],
        catalog["monthly"],
    ]


def test_price_refusals(sdk: ModuleType, catalog: dict[str, str]) -> None:
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.Price.search(query="currency~'usd'")
    assert raised.value.param == "query"
    assert raised.value.user_message == (
        "currency only supports exact matches with ':', not substring matches with '~' (currency~ at character 1)."
    )
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.Price.search(query="type:'monthly'")
    assert raised.value.user_message == ("type is 'one_time' or 'recurring'; type: at character 1 gives 'monthly'.")


# --- Every query the database sees is either answered or refused ----------------------------------

_FRAGMENTS = st.sampled_from(
    [
        " ", " AND ", " OR ", "-", ":", "~", ">", "<", ">=", "<=", "=", "'", "\\", "null",
        "email", "name", "phone", "created", "metadata['plan']", "metadata['1']", "active", "shippable",
        "description", "url", "currency", "lookup_key", "product", "type",
        "'true'", "'false'", "'pro'", "'%_\\\\'", "'recurring'", "'one_time'", "'usd'", "1609459200", "'Ros'",
    ]
)  # fmt: skip


@pytest.mark.django_db
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(_FRAGMENTS, min_size=1, max_size=10).map("".join))
def test_random_queries_run_or_are_refused(text: str) -> None:
    querysets = (
        (CUSTOMERS, customer_selectors.customer_list(livemode=False)),
        (PRODUCTS, catalog_selectors.product_list(livemode=False)),
        (PRICES, catalog_selectors.price_list(livemode=False)),
    )
    try:
        query = parse(text)
    except SearchQueryError:
        return
    for spec, queryset in querysets:
        try:
            condition = compile_query(query, spec)
        except SearchQueryError:
            continue
        list(queryset.filter(condition))
