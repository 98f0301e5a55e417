"""The items of a subscription: checking what a request asks for, and planning the change.

An entry of ``items`` is a mapping with the keys the request gave: ``id`` (an existing ``si_``),
``price`` (a Price) or ``price_data`` (``{"currency", "product", "recurring": {"interval",
"interval_count"}, "unit_amount" | "unit_amount_decimal", "tax_behavior"}``), ``quantity``,
``tax_rates`` (ids, or None to clear), ``metadata``, ``discounts`` and ``deleted``.
``items_plan`` turns them into the subscription's items after the change, without saving
anything, so that the services and the invoice preview share one set of rules.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from billfold.billing.invoices.common import tax_rate_ids
from billfold.billing.models import Subscription, SubscriptionItem
from billfold.billing.proration import ItemChange
from billfold.billing.subscriptions.common import MAX_ITEMS, cadence_of, proration_item
from billfold.catalog.models import Price
from billfold.catalog.services import price_create
from billfold.core.errors import InvalidParam, NotFound
from billfold.core.ids import new_id
from billfold.core.metadata import merge_metadata


@dataclass
class PlannedItem:
    """An item as it will be after the change: ``item`` is an existing row changed in memory, or a
    new unsaved one; ``before`` is its price and quantity before (None for a new item)."""

    item: SubscriptionItem
    before_price: Price | None
    before_quantity: int | None
    deleted: bool = False
    discount_entries: Sequence[Mapping[str, str]] | None = None

    @property
    def is_new(self) -> bool:
        return self.before_price is None

    @property
    def changed(self) -> bool:
        return (
            self.deleted
            or self.is_new
            or (self.item.price, self.item.quantity)
            != (
                self.before_price,
                self.before_quantity,
            )
        )

    def change(self) -> ItemChange:
        old = (
            None
            if self.before_price is None
            else proration_item(self.item, price=self.before_price, quantity=self.before_quantity)
        )
        new = None if self.deleted else proration_item(self.item)
        return ItemChange(old=old, new=new)


def inline_price(*, livemode: bool, price_data: Mapping[str, Any]) -> Price:
    """The recurring price ``price_data`` describes, made for this item alone (inactive, as Stripe's)."""
    values = {key: value for key, value in price_data.items() if value is not None}
    return price_create(livemode=livemode, values={**values, "active": False})


def price_check(price: Price, *, param: str) -> None:
    """Refuse a price a new subscription item cannot use."""
    if price.recurring_interval is None:
        raise InvalidParam(
            f"The price {price.public_id} is set to `type=one_time` but this field only accepts prices with "
            "`type=recurring`. Add one-time charges to the invoice with add_invoice_items or an invoice item instead.",
            param=param,
        )
    if price.recurring_usage_type == "metered":
        raise InvalidParam(
            f"The price {price.public_id} is metered (usage_type=metered); Billfold bills licensed prices only. "
            "Use a licensed price with a quantity.",
            param=param,
        )
    if price.billing_scheme == "per_unit" and price.unit_amount is None and price.unit_amount_decimal is None:
        raise InvalidParam(
            f"The price {price.public_id} lets the customer choose the amount (custom_unit_amount) and cannot be "
            "subscribed to. Use a price with a unit_amount.",
            param=param,
        )


def entry_price(entry: Mapping[str, Any], *, livemode: bool, where: str, inactive_ok: bool = False) -> Price:
    """The price an item entry names (``price``) or describes (``price_data``, made now), checked."""
    price: Price | None = entry.get("price")
    if price is not None and entry.get("price_data") is not None:
        raise InvalidParam(
            "You may only specify one of these parameters: price, price_data.",
            param=f"{where}[price_data]",
            code="parameters_exclusive",
        )
    if price is None and entry.get("price_data") is not None:
        price = inline_price(livemode=livemode, price_data=entry["price_data"])
    if price is None:
        raise InvalidParam(
            f"Missing required param: {where}[price]. Each new item needs a price (or price_data).",
            param=f"{where}[price]",
            code="parameter_missing",
        )
    if not price.active and entry.get("price_data") is None and not inactive_ok:
        raise InvalidParam(
            f"The price {price.public_id} is inactive. This field only accepts active prices.", param=f"{where}[price]"
        )
    price_check(price, param=f"{where}[price]")
    return price


def _apply_entry(planned: PlannedItem, entry: Mapping[str, Any], *, livemode: bool, where: str) -> None:
    item = planned.item
    if "quantity" in entry and entry["quantity"] is not None:
        item.quantity = entry["quantity"]
    if "tax_rates" in entry:
        item.tax_rates = tax_rate_ids(
            livemode=livemode, ids=list(entry["tax_rates"] or []), param=f"{where}[tax_rates]"
        )
    if "metadata" in entry:
        item.metadata = merge_metadata(item.metadata, entry["metadata"])
    if "discounts" in entry:
        planned.discount_entries = list(entry["discounts"] or [])


def items_plan(
    *,
    subscription: Subscription | None,
    current: Sequence[SubscriptionItem],
    entries: Sequence[Mapping[str, Any]],
    livemode: bool,
    param: str = "items",
    inactive_ok: bool = False,
) -> list[PlannedItem]:
    """The items after applying ``entries`` to ``current`` (all unsaved), checked:

    every price recurring and in one currency, all on one interval (an interval change must move
    every item), no price twice, at most 20 items, at least one left. ``inactive_ok``: archived
    prices are taken too (a schedule's phase keeps the prices it was given).
    """
    if len(entries) > MAX_ITEMS:
        raise InvalidParam(f"A subscription can have at most {MAX_ITEMS} items; you gave {len(entries)}.", param=param)
    planned = {item.public_id: PlannedItem(item=item, before_price=item.price, before_quantity=item.quantity)
               for item in current}  # fmt: skip
    order = list(planned)
    for index, entry in enumerate(entries):
        where = f"{param}[{index}]"
        item_id = entry.get("id")
        if item_id is not None:
            existing = planned.get(item_id)
            if existing is None:
                raise NotFound("subscription_item", item_id, param=f"{where}[id]")
            if existing.deleted:
                raise InvalidParam(f"The item {item_id} is given twice.", param=f"{where}[id]")
            if entry.get("deleted"):
                existing.deleted = True
                continue
            if entry.get("price") is not None or entry.get("price_data") is not None:
                existing.item.price = entry_price(entry, livemode=livemode, where=where, inactive_ok=inactive_ok)
            _apply_entry(existing, entry, livemode=livemode, where=where)
            continue
        if entry.get("deleted"):
            raise InvalidParam(
                "deleted=true needs the id of the item to delete.", param=f"{where}[id]", code="parameter_missing"
            )
        price = entry_price(entry, livemode=livemode, where=where, inactive_ok=inactive_ok)
        item = SubscriptionItem(
            public_id=new_id("si"),
            livemode=livemode,
            subscription=subscription,
            price=price,
            quantity=1,
        )
        fresh = PlannedItem(item=item, before_price=None, before_quantity=None)
        _apply_entry(fresh, entry, livemode=livemode, where=where)
        planned[item.public_id] = fresh
        order.append(item.public_id)
    result = [planned[key] for key in order]
    items_check([p.item for p in result if not p.deleted], param=param)
    return result


def items_check(items: Sequence[SubscriptionItem], *, param: str = "items") -> None:
    """The rules every subscription's items keep: one currency, one interval, no price twice, at least one."""
    if not items:
        raise InvalidParam(
            "A subscription must keep at least one item. To end it, cancel the subscription instead.", param=param
        )
    if len(items) > MAX_ITEMS:
        raise InvalidParam(f"A subscription can have at most {MAX_ITEMS} items.", param=param)
    first = items[0].price
    seen: set[int] = set()
    for index, item in enumerate(items):
        price = item.price
        if price.currency != first.currency:
            raise InvalidParam(
                f"All prices on a subscription must be in the same currency: {first.public_id} is in "
                f"{first.currency} but {price.public_id} is in {price.currency}.",
                param=f"{param}[{index}][price]",
            )
        if cadence_of(price) != cadence_of(first):
            raise InvalidParam(
                f"All prices on a subscription must bill on the same interval: {first.public_id} bills every "
                f"{cadence_of(first)[1]} {cadence_of(first)[0]}(s) and {price.public_id} every "
                f"{cadence_of(price)[1]} {cadence_of(price)[0]}(s).",
                param=f"{param}[{index}][price]",
            )
        if price.pk in seen:
            raise InvalidParam(
                f"Cannot add multiple subscription items with the same price ({price.public_id}); change the "
                "quantity of the item instead.",
                param=f"{param}[{index}][price]",
            )
        seen.add(price.pk)
