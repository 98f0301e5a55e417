"""Writes for products and prices: one function per operation, each in one transaction with its events.

``values`` are validated parameters as the API gives them (the dashboard and the demo command
pass the same shapes): only the keys being set are present, and ``None`` unsets a field.
Every rule is checked before the first write, so a refusal leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction

from billfold.catalog import rules
from billfold.catalog.models import Price, Product
from billfold.catalog.rules import missing, param_name
from billfold.catalog.selectors import product_get
from billfold.core import clock
from billfold.core.errors import DomainError, InvalidParam, NotFound
from billfold.core.ids import new_id
from billfold.core.metadata import merge_metadata
from billfold.core.money import currency_check
from billfold.events.rendering import render_object
from billfold.events.services import changed_attributes, event_record, event_record_update

# Product attributes set as given (after the checks); ``None`` unsets.
_PRODUCT_FIELDS = (
    "name",
    "description",
    "active",
    "images",
    "marketing_features",
    "shippable",
    "statement_descriptor",
    "tax_code",
    "unit_label",
    "url",
)
_PRODUCT_UNSET_TO = {"images": [], "marketing_features": [], "active": True}
_TAX_BEHAVIORS = ("exclusive", "inclusive", "unspecified")


def _locked(product: Product) -> Product:
    """The product's row, locked until the transaction ends (so a delete and a new price cannot cross)."""
    locked = Product.objects.select_for_update().filter(pk=product.pk, deleted=False).first()
    if locked is None:
        raise NotFound("product", product.public_id)
    return locked


# Products ---------------------------------------------------------------------------------


def _product_check(values: Mapping[str, Any], *, product_type: str, prefix: str = "") -> None:
    if values.get("name") is not None and not values["name"].strip():
        raise InvalidParam("A product's name cannot be blank.", param=param_name(prefix, "name"))
    if values.get("statement_descriptor") is not None:
        rules.statement_descriptor_check(values["statement_descriptor"], prefix=prefix)
    if values.get("unit_label") is not None:
        rules.unit_label_check(values["unit_label"], prefix=prefix)
    for field in ("statement_descriptor", "unit_label"):
        if values.get(field) is not None and product_type == "good":
            raise InvalidParam(
                f"{field} can only be set on products of type service; this product is a good.",
                param=param_name(prefix, field),
            )
    if values.get("tax_code") is not None:
        rules.tax_code_check(values["tax_code"], prefix=prefix)
    if values.get("images") is not None:
        rules.images_check(values["images"], prefix=prefix)
    if values.get("marketing_features") is not None:
        rules.marketing_features_check(values["marketing_features"], prefix=prefix)
    if values.get("url") is not None:
        rules.url_check(values["url"], param=param_name(prefix, "url"))


def _product_apply(product: Product, values: Mapping[str, Any], *, prefix: str = "") -> None:
    for name in _PRODUCT_FIELDS:
        if name in values:
            value = values[name]
            if value is None:
                value = _PRODUCT_UNSET_TO.get(name)
            elif name == "marketing_features":
                value = [{"name": feature["name"]} for feature in value]
            else:
                value = list(value) if name == "images" else value
            setattr(product, name, value)
    if "package_dimensions" in values:
        dimensions = values["package_dimensions"]
        product.package_dimensions = (
            rules.package_dimensions_check(dimensions, prefix=prefix) if dimensions is not None else None
        )
    if "metadata" in values:
        product.metadata = merge_metadata(product.metadata, values["metadata"])


def _product_build(*, livemode: bool, values: Mapping[str, Any], prefix: str = "") -> Product:
    """A checked, unsaved product from create values."""
    if not values.get("name"):
        raise missing(param_name(prefix, "name"))
    product_type = values.get("type") or "service"
    if product_type not in ("good", "service"):
        raise InvalidParam("Invalid type: must be good or service.", param=param_name(prefix, "type"))
    _product_check(values, product_type=product_type, prefix=prefix)
    public_id = values.get("id")
    if public_id is not None:
        rules.custom_id_check(public_id, prefix=prefix)
        if Product.objects.filter(livemode=livemode, public_id=public_id).exists():
            raise _product_exists(public_id, prefix)
    now = clock.now()
    product = Product(
        public_id=public_id or new_id("prod", 14),
        livemode=livemode,
        type=product_type,
        # Goods are shipped unless said otherwise; for services the question does not arise.
        shippable=True if product_type == "good" else None,
        created=now,
        updated=now,
    )
    _product_apply(product, values, prefix=prefix)
    return product


def _product_exists(public_id: str, prefix: str) -> InvalidParam:
    return InvalidParam(
        f"A product with the id '{public_id}' already exists. Choose another id or leave id out to get one.",
        param=param_name(prefix, "id"),
        code="resource_already_exists",
    )


def _product_insert(product: Product, *, prefix: str) -> None:
    try:
        with transaction.atomic():
            product.save(force_insert=True)
    except IntegrityError:
        raise _product_exists(product.public_id, prefix) from None


@transaction.atomic
def product_create(*, livemode: bool, values: Mapping[str, Any]) -> Product:
    """Create a product; ``default_price_data`` also creates its price and makes it the default."""
    product = _product_build(livemode=livemode, values=values)
    price_data = values.get("default_price_data")
    price = None
    if price_data is not None:
        price = _price_build(livemode=livemode, product=product, values=price_data, prefix="default_price_data")
    _product_insert(product, prefix="")
    if price is not None:
        price.product = product
        price.save(force_insert=True)
        product.default_price = price
        product.save(update_fields=["default_price"])
    event_record(type="product.created", obj=product, livemode=livemode)
    if price is not None:
        event_record(type="price.created", obj=price, livemode=livemode)
    return product


def _default_price_check(product: Product, public_id: str) -> Price:
    price = Price.objects.filter(public_id=public_id, livemode=product.livemode).first()
    if price is None:
        raise NotFound("price", public_id, param="default_price")
    if price.product_id != product.pk:
        raise InvalidParam(
            f"The price {public_id} belongs to another product; a product's default price must be one of its "
            "own prices.",
            param="default_price",
        )
    if not price.active:
        raise InvalidParam(
            f"The price {public_id} is archived (active=false); only an active price can be the default price. "
            "Reactivate it first or pick another price.",
            param="default_price",
        )
    return price


@transaction.atomic
def product_update(*, product: Product, values: Mapping[str, Any]) -> Product:
    """Apply validated changes; ``updated`` moves and ``product.updated`` is written only if something changed."""
    product = _locked(product)
    _product_check(values, product_type=product.type)
    if "name" in values and values["name"] is None:
        raise InvalidParam("A product's name cannot be unset.", param="name", code="parameter_invalid_empty")
    default_price: Price | None = None
    if values.get("default_price") is not None:
        default_price = _default_price_check(product, values["default_price"])
    before = render_object(product)
    _product_apply(product, values)
    if "default_price" in values:
        product.default_price = default_price
    if not changed_attributes(before, render_object(product)):
        return product
    product.updated = clock.now()
    product.save()
    event_record_update(type="product.updated", obj=product, livemode=product.livemode, before=before)
    return product


@transaction.atomic
def product_delete(*, product: Product) -> Product:
    """Delete a product that has no prices; it then disappears from the API (404), as in Stripe."""
    product = _locked(product)
    if Price.objects.filter(product=product).exists():
        raise DomainError(
            "This product cannot be deleted because it has one or more user-created prices. "
            "Archive it instead (active=false): archived products stay on past invoices but cannot be bought."
        )
    rendered = render_object(product)
    product.deleted = True
    product.save(update_fields=["deleted"])
    event_record(type="product.deleted", obj=product, livemode=product.livemode, rendered=rendered)
    return product


# Prices -----------------------------------------------------------------------------------


def _unit_amount(values: Mapping[str, Any], *, prefix: str) -> tuple[int | None, str | None]:
    rules.exclusive(values, "unit_amount", "unit_amount_decimal", "custom_unit_amount", prefix=prefix)
    if values.get("unit_amount") is not None:
        amount: int = values["unit_amount"]
        return amount, str(amount)
    if values.get("unit_amount_decimal") is not None:
        value = Decimal(values["unit_amount_decimal"])
        rules.amount_decimal_check(value, param=param_name(prefix, "unit_amount_decimal"))
        return rules.whole_amount(value), rules.decimal_text(value)
    if values.get("custom_unit_amount") is None:
        raise InvalidParam(
            "Missing required param: unit_amount. Give unit_amount (or unit_amount_decimal, or "
            "custom_unit_amount), or set billing_scheme=tiered with tiers.",
            param=param_name(prefix, "unit_amount"),
            code="parameter_missing",
        )
    return None, None


def _price_build(*, livemode: bool, product: Product, values: Mapping[str, Any], prefix: str = "") -> Price:
    """A checked, unsaved price of ``product`` from create values."""
    if not values.get("currency"):
        raise missing(param_name(prefix, "currency"))
    currency = currency_check(values["currency"], param=param_name(prefix, "currency"))
    recurring = values.get("recurring")
    if recurring is not None:
        rules.recurring_check(recurring, prefix=prefix)
    scheme = values.get("billing_scheme") or "per_unit"
    price = Price(
        public_id=new_id("price", 24),
        livemode=livemode,
        product=product,
        currency=currency,
        billing_scheme=scheme,
        active=values.get("active", True),
        nickname=values.get("nickname"),
        lookup_key=values.get("lookup_key"),
        tax_behavior=values.get("tax_behavior") or "unspecified",
        metadata=merge_metadata({}, values.get("metadata") or {}),
        created=clock.now(),
    )
    if price.tax_behavior not in _TAX_BEHAVIORS:
        raise InvalidParam(
            "Invalid tax_behavior: must be inclusive, exclusive or unspecified.",
            param=param_name(prefix, "tax_behavior"),
        )
    if scheme == "tiered":
        for name in ("unit_amount", "unit_amount_decimal", "custom_unit_amount"):
            if values.get(name) is not None:
                raise InvalidParam(
                    f"{name} cannot be set on a tiered price: its amounts come from tiers.",
                    param=param_name(prefix, name),
                )
        if values.get("transform_quantity") is not None:
            raise InvalidParam(
                "transform_quantity cannot be combined with tiers.", param=param_name(prefix, "transform_quantity")
            )
        if not values.get("tiers_mode"):
            raise missing(param_name(prefix, "tiers_mode"), "Tiered prices are graduated or volume.")
        if values["tiers_mode"] not in ("graduated", "volume"):
            raise InvalidParam(
                "Invalid tiers_mode: must be graduated or volume.", param=param_name(prefix, "tiers_mode")
            )
        price.tiers_mode = values["tiers_mode"]
        price.tiers = rules.tiers_clean(values.get("tiers") or [], prefix=prefix)
    elif scheme == "per_unit":
        for name in ("tiers", "tiers_mode"):
            if values.get(name) is not None:
                raise InvalidParam(
                    f"{name} can only be set when billing_scheme=tiered.", param=param_name(prefix, name)
                )
        price.unit_amount, price.unit_amount_decimal = _unit_amount(values, prefix=prefix)
    else:
        raise InvalidParam(
            "Invalid billing_scheme: must be per_unit or tiered.", param=param_name(prefix, "billing_scheme")
        )
    if values.get("custom_unit_amount") is not None:
        if recurring is not None:
            raise InvalidParam(
                "custom_unit_amount is only available on one-time prices; leave out recurring or give unit_amount.",
                param=param_name(prefix, "custom_unit_amount"),
            )
        price.custom_unit_amount = rules.custom_unit_amount_check(values["custom_unit_amount"], prefix=prefix)
    if recurring is not None:
        price.recurring_interval = recurring["interval"]
        price.recurring_interval_count = recurring.get("interval_count") or 1
        price.recurring_usage_type = recurring.get("usage_type") or "licensed"
        price.recurring_trial_period_days = recurring.get("trial_period_days")
    transform = values.get("transform_quantity")
    if transform is not None:
        if transform.get("divide_by") is None or transform["divide_by"] < 1:
            raise InvalidParam(
                "transform_quantity[divide_by] must be a whole number of at least 1.",
                param=param_name(prefix, "transform_quantity", "divide_by"),
            )
        if transform.get("round") not in ("up", "down"):
            raise InvalidParam(
                "transform_quantity[round] must be up or down.", param=param_name(prefix, "transform_quantity", "round")
            )
        price.transform_quantity = {"divide_by": transform["divide_by"], "round": transform["round"]}
    return price


def _lookup_key_holder(*, livemode: bool, lookup_key: str, transfer: bool, exclude: Price | None) -> Price | None:
    """The price whose lookup key must move to another, or None; refuses a taken key without ``transfer``."""
    holders = Price.objects.select_for_update().filter(livemode=livemode, lookup_key=lookup_key)
    if exclude is not None:
        holders = holders.exclude(pk=exclude.pk)
    holder = holders.first()
    if holder is not None and not transfer:
        raise InvalidParam(
            f"A price (`{holder.public_id}`) already uses that lookup key. Pass transfer_lookup_key=true to "
            "move the key to this price.",
            param="lookup_key",
        )
    return holder


def _lookup_key_release(holder: Price) -> None:
    before = render_object(holder)
    holder.lookup_key = None
    holder.save(update_fields=["lookup_key"])
    event_record_update(type="price.updated", obj=holder, livemode=holder.livemode, before=before)


def _price_save(price: Price) -> None:
    # The unique index settles the race of two requests claiming one lookup key at once.
    try:
        with transaction.atomic():
            price.save()
    except IntegrityError:
        raise InvalidParam(
            "Another price took that lookup key at the same moment. Retry, with transfer_lookup_key=true to move it.",
            param="lookup_key",
        ) from None


@transaction.atomic
def price_create(*, livemode: bool, values: Mapping[str, Any]) -> Price:
    """Create a price for ``product`` (an id) or for a new product described by ``product_data``."""
    rules.exclusive(values, "product", "product_data")
    new_product: Product | None = None
    if values.get("product") is not None:
        product = _locked(product_get(public_id=values["product"], livemode=livemode, param="product"))
    elif values.get("product_data") is not None:
        product = new_product = _product_build(livemode=livemode, values=values["product_data"], prefix="product_data")
    else:
        raise missing("product", "Give product (an existing product's id) or product_data (to create one).")
    price = _price_build(livemode=livemode, product=product, values=values)
    holder = None
    if price.lookup_key is not None:
        holder = _lookup_key_holder(
            livemode=livemode,
            lookup_key=price.lookup_key,
            transfer=bool(values.get("transfer_lookup_key")),
            exclude=None,
        )
    if new_product is not None:
        _product_insert(new_product, prefix="product_data")
        price.product = new_product
        event_record(type="product.created", obj=new_product, livemode=livemode)
    if holder is not None:
        _lookup_key_release(holder)
    _price_save(price)
    event_record(type="price.created", obj=price, livemode=livemode)
    return price


@transaction.atomic
def price_update(*, price: Price, values: Mapping[str, Any]) -> Price:
    """Change what a price may change after creation: active, nickname, lookup_key, tax_behavior, metadata."""
    price = Price.objects.select_for_update(of=("self",)).select_related("product").get(pk=price.pk)
    if values.get("active") is False and price.active and price.product.default_price_id == price.pk:
        raise InvalidParam(
            f"The price {price.public_id} is the default price of its product {price.product.public_id} and "
            "cannot be archived. Set another default_price on the product (or unset it) first.",
            param="active",
        )
    behavior = values.get("tax_behavior")
    if behavior is not None and behavior != price.tax_behavior:
        if behavior not in _TAX_BEHAVIORS:
            raise InvalidParam(
                "Invalid tax_behavior: must be inclusive, exclusive or unspecified.", param="tax_behavior"
            )
        if price.tax_behavior != "unspecified":
            raise InvalidParam(
                f"This price's tax_behavior is already {price.tax_behavior}; once set to inclusive or exclusive it "
                "cannot be changed. Create a new price with the tax behavior you want.",
                param="tax_behavior",
            )
    holder = None
    new_key = values.get("lookup_key")
    if new_key is not None and new_key != price.lookup_key:
        holder = _lookup_key_holder(
            livemode=price.livemode,
            lookup_key=new_key,
            transfer=bool(values.get("transfer_lookup_key")),
            exclude=price,
        )
    before = render_object(price)
    if "active" in values and values["active"] is not None:
        price.active = values["active"]
    if "nickname" in values:
        price.nickname = values["nickname"]
    if "lookup_key" in values:
        price.lookup_key = new_key
    if behavior is not None:
        price.tax_behavior = behavior
    if "metadata" in values:
        price.metadata = merge_metadata(price.metadata, values["metadata"])
    if holder is not None:
        _lookup_key_release(holder)
    _price_save(price)
    event_record_update(type="price.updated", obj=price, livemode=price.livemode, before=before)
    return price
