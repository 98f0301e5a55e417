"""The Stripe JSON of a product."""

from __future__ import annotations

from typing import Any

from billfold.api.representations.common import deleted, unix
from billfold.catalog.models import Product


def render_product(product: Product) -> dict[str, Any]:
    if product.deleted:
        return deleted("product", product.public_id)
    default_price = product.default_price
    return {
        "id": product.public_id,
        "object": "product",
        "active": product.active,
        "created": unix(product.created),
        "default_price": default_price.public_id if default_price is not None else None,
        "description": product.description,
        "images": list(product.images),
        "livemode": product.livemode,
        "marketing_features": [{"name": feature["name"]} for feature in product.marketing_features],
        "metadata": product.metadata,
        "name": product.name,
        "package_dimensions": (
            {key: product.package_dimensions[key] for key in ("height", "length", "weight", "width")}
            if product.package_dimensions
            else None
        ),
        "shippable": product.shippable,
        "statement_descriptor": product.statement_descriptor,
        "tax_code": product.tax_code,
        "type": product.type,
        "unit_label": product.unit_label,
        "updated": unix(product.updated),
        "url": product.url,
    }


def load_products(ids: list[str], livemode: bool) -> dict[str, dict[str, Any]]:
    products = Product.objects.filter(public_id__in=ids, livemode=livemode, deleted=False).select_related(
        "default_price"
    )
    return {p.public_id: render_product(p) for p in products}
