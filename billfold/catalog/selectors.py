"""Reads for products and prices. Every query is scoped to one mode (test or live)."""

from __future__ import annotations

from collections.abc import Sequence

from django.db.models import QuerySet

from billfold.catalog.models import Price, Product
from billfold.core.errors import NotFound


def product_get(*, public_id: str, livemode: bool, param: str = "id") -> Product:
    """The product with this id in this mode; deleted products are gone, as in Stripe."""
    product = Product.objects.filter(public_id=public_id, livemode=livemode, deleted=False).first()
    if product is None:
        raise NotFound("product", public_id, param=param)
    return product


def product_list(
    *,
    livemode: bool,
    active: bool | None = None,
    ids: Sequence[str] | None = None,
    shippable: bool | None = None,
    type: str | None = None,
    url: str | None = None,
) -> QuerySet[Product]:
    products = Product.objects.filter(livemode=livemode, deleted=False)
    if active is not None:
        products = products.filter(active=active)
    if ids is not None:
        products = products.filter(public_id__in=ids)
    if shippable is not None:
        products = products.filter(shippable=shippable)
    if type is not None:
        products = products.filter(type=type)
    if url is not None:
        products = products.filter(url=url)
    return products


def price_get(*, public_id: str, livemode: bool, param: str = "id") -> Price:
    price = Price.objects.select_related("product").filter(public_id=public_id, livemode=livemode).first()
    if price is None:
        raise NotFound("price", public_id, param=param)
    return price


def price_list(
    *,
    livemode: bool,
    active: bool | None = None,
    product_id: str | None = None,
    type: str | None = None,
    currency: str | None = None,
    lookup_keys: Sequence[str] | None = None,
    interval: str | None = None,
    usage_type: str | None = None,
) -> QuerySet[Price]:
    prices = Price.objects.filter(livemode=livemode).select_related("product")
    if active is not None:
        prices = prices.filter(active=active)
    if product_id is not None:
        prices = prices.filter(product__public_id=product_id)
    if type == "recurring":
        prices = prices.filter(recurring_interval__isnull=False)
    elif type == "one_time":
        prices = prices.filter(recurring_interval__isnull=True)
    if currency is not None:
        prices = prices.filter(currency=currency)
    if lookup_keys is not None:
        prices = prices.filter(lookup_key__in=lookup_keys)
    if interval is not None:
        prices = prices.filter(recurring_interval=interval)
    if usage_type is not None:
        prices = prices.filter(recurring_usage_type=usage_type)
    return prices


def product_has_prices(product: Product) -> bool:
    return Price.objects.filter(product=product).exists()
