"""/v1/customers/search, /v1/products/search and /v1/prices/search (Stripe's search query language)."""

from __future__ import annotations

from typing import Any

from billfold.api.params import Field, Int, Str, validate
from billfold.api.representations.customer import render_customer
from billfold.api.representations.price import render_price
from billfold.api.representations.product import render_product
from billfold.api.routing import ApiCall, route
from billfold.api.search import CUSTOMERS, PRICES, PRODUCTS, search_page
from billfold.catalog import selectors as catalog_selectors
from billfold.customers import selectors as customer_selectors

_PARAMS: dict[str, Field] = {
    "query": Str(max_length=5000, required=True),
    "limit": Int(min=1, max=100),
    "page": Str(max_length=5000),
}


def total_count_wanted(call: ApiCall) -> bool:
    """Whether ``expand[]=total_count`` asked for the number of matches (Stripe leaves it out otherwise).

    It is a count, not an object, so it is taken out of the paths the expander resolves.
    """
    wanted = "total_count" in call.expand
    call.expand = [path for path in call.expand if path != "total_count"]
    return wanted


def customer_search(call: ApiCall) -> dict[str, Any]:
    params = validate(_PARAMS, call.params)
    return search_page(
        customer_selectors.customer_list(livemode=call.livemode),
        livemode=call.livemode,
        spec=CUSTOMERS,
        query=params["query"],
        params=params,
        url="/v1/customers/search",
        render=lambda rows: [render_customer(c) for c in rows],
        total_count=total_count_wanted(call),
    )


def product_search(call: ApiCall) -> dict[str, Any]:
    params = validate(_PARAMS, call.params)
    return search_page(
        catalog_selectors.product_list(livemode=call.livemode).select_related("default_price"),
        livemode=call.livemode,
        spec=PRODUCTS,
        query=params["query"],
        params=params,
        url="/v1/products/search",
        render=lambda rows: [render_product(p) for p in rows],
        total_count=total_count_wanted(call),
    )


def price_search(call: ApiCall) -> dict[str, Any]:
    params = validate(_PARAMS, call.params)
    return search_page(
        catalog_selectors.price_list(livemode=call.livemode),
        livemode=call.livemode,
        spec=PRICES,
        query=params["query"],
        params=params,
        url="/v1/prices/search",
        render=lambda rows: [render_price(p) for p in rows],
        total_count=total_count_wanted(call),
    )


urlpatterns = [
    route("customers/search", GET=customer_search),
    route("products/search", GET=product_search),
    route("prices/search", GET=price_search),
]
