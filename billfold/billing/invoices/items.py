"""Invoice items: charges or credits for a customer, pending until an invoice pulls them in.

An item placed on a draft (``invoice=``) shows as a line of it at once; changing or deleting
it changes that line and the draft's totals. Items on a finalized invoice are frozen.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.db import transaction

from billfold.billing.invoices.common import (
    InvoiceNotEditable,
    discounts_make,
    locked,
    record_update,
    tax_rate_ids,
    totals_refresh,
)
from billfold.billing.invoices.pricing import Charge, price_charge, unit_charge
from billfold.billing.invoices.services import line_from_item
from billfold.billing.models import Invoice, InvoiceItem, InvoiceLineItem
from billfold.catalog.models import Price
from billfold.catalog.services import price_create
from billfold.clocks.selectors import customer_now
from billfold.core.errors import InvalidParam
from billfold.core.ids import new_id
from billfold.core.metadata import merge_metadata
from billfold.core.money import currency_check
from billfold.customers.models import Customer
from billfold.events.rendering import render_object
from billfold.events.services import event_record, event_record_update

# Stripe's limit on an invoice item's amount, in minor units.
MAX_AMOUNT = 99_999_999_999


def _price_check(price: Price, *, param: str) -> None:
    if not price.active:
        raise InvalidParam(
            f"The price {price.public_id} is inactive. This field only accepts active prices.", param=param
        )
    if price.recurring_interval is not None:
        raise InvalidParam(
            f"The price {price.public_id} is recurring (type=recurring), but invoice items take one-time prices only. "
            "Subscribe the customer to recurring prices instead.",
            param=param,
        )


def _inline_price(*, livemode: bool, price_data: Mapping[str, Any]) -> Price:
    """The price ``price_data`` describes, made for this item alone (inactive, as Stripe's inline prices)."""
    values = {key: value for key, value in price_data.items() if value is not None}
    return price_create(livemode=livemode, values={**values, "active": False})


def _charge(
    *,
    price: Price | None,
    amount: int | None,
    unit_amount_decimal: Decimal | None,
    quantity: int,
    currency: str | None,
) -> tuple[Charge, str]:
    """(what the item charges, its currency) from exactly one of price, amount, unit_amount_decimal."""
    options = (("price", price), ("amount", amount), ("unit_amount_decimal", unit_amount_decimal))
    given = [name for name, value in options if value is not None]
    if len(given) > 1:
        raise InvalidParam(
            f"You may only specify one of these parameters: {', '.join(given)}.",
            param=given[-1],
            code="parameters_exclusive",
        )
    if not given:
        raise InvalidParam(
            "Missing required param: give amount (the whole item, with currency), unit_amount_decimal "
            "(per unit, with currency and quantity), pricing[price] or price_data.",
            param="amount",
            code="parameter_missing",
        )
    if price is not None:
        if currency is not None and currency_check(currency) != price.currency:
            raise InvalidParam(
                f"The price {price.public_id} is in {price.currency}, but currency is {currency}.", param="currency"
            )
        return price_charge(price=price, quantity=quantity), price.currency
    if currency is None:
        raise InvalidParam(
            "Missing required param: currency (needed with amount or unit_amount_decimal).",
            param="currency",
            code="parameter_missing",
        )
    currency = currency_check(currency)
    if amount is not None:
        if quantity != 1:
            raise InvalidParam(
                "amount is the whole item, so quantity must be 1 with it; for several units give "
                "unit_amount_decimal and quantity.",
                param="quantity",
            )
        return Charge(amount=amount, unit_amount_decimal=str(amount)), currency
    assert unit_amount_decimal is not None
    return unit_charge(unit_amount_decimal=unit_amount_decimal, quantity=quantity), currency


def _check_amount(amount: int) -> None:
    if abs(amount) > MAX_AMOUNT:
        raise InvalidParam(f"The item comes to {amount}; at most {MAX_AMOUNT} minor units are allowed.", param="amount")


def _target_invoice(invoice: Invoice | None, customer: Customer, currency: str) -> Invoice | None:
    if invoice is None:
        return None
    invoice = locked(invoice)
    if invoice.customer_id != customer.pk:
        raise InvalidParam(
            f"The invoice {invoice.public_id} belongs to another customer; an invoice item must be for the "
            "invoice's customer.",
            param="invoice",
        )
    if invoice.status != "draft":
        raise InvoiceNotEditable(
            f"Invoice items can only be added to draft invoices; {invoice.public_id} is {invoice.status}.",
            param="invoice",
        )
    if invoice.currency != currency:
        raise InvalidParam(
            f"The invoice item is in {currency}, but the invoice {invoice.public_id} is in {invoice.currency}.",
            param="currency",
        )
    return invoice


@transaction.atomic
def invoiceitem_create(
    *,
    customer: Customer,
    livemode: bool,
    invoice: Invoice | None = None,
    price: Price | None = None,
    price_data: Mapping[str, Any] | None = None,
    quantity: int = 1,
    amount: int | None = None,
    unit_amount_decimal: Decimal | None = None,
    currency: str | None = None,
    description: str | None = None,
    period_start: dt.datetime | None = None,
    period_end: dt.datetime | None = None,
    proration: bool = False,
    discountable: bool | None = None,
    discounts: list[Mapping[str, str]] | None = None,
    tax_rates: list[str] | None = None,
    subscription_id: str | None = None,
    subscription_item_id: str | None = None,
    metadata: Mapping[str, str | None] | None = None,
) -> InvoiceItem:
    """A new invoice item for ``customer``: pending, or a line of the draft ``invoice`` right away.

    Exactly one of ``price`` (one-time, active), ``price_data`` (``{"currency", "product",
    "unit_amount" | "unit_amount_decimal", "tax_behavior"}``, a price made for this item),
    ``amount`` (the whole item) and ``unit_amount_decimal`` (per unit, x quantity) says what it
    charges. ``discountable`` defaults to false for prorations and credits, true otherwise, as in Stripe.
    """
    if customer.deleted:
        raise InvalidParam(f"The customer {customer.public_id} has been deleted.", param="customer")
    if price is not None:
        _price_check(price, param="pricing[price]")
        if price_data is not None:
            raise InvalidParam(
                "You may only specify one of these parameters: pricing[price], price_data.",
                param="price_data",
                code="parameters_exclusive",
            )
    elif price_data is not None:
        price = _inline_price(livemode=livemode, price_data=price_data)
    charge, item_currency = _charge(
        price=price, amount=amount, unit_amount_decimal=unit_amount_decimal, quantity=quantity, currency=currency
    )
    _check_amount(charge.amount)
    target = _target_invoice(invoice, customer, item_currency)
    now = customer_now(customer)
    start, end = period_start or now, period_end or now
    if end < start:
        raise InvalidParam("period[end] must not be before period[start].", param="period[end]")
    item = InvoiceItem(
        public_id=new_id("ii"),
        livemode=livemode,
        created=now,
        customer=customer,
        invoice=target,
        price=price,
        amount=charge.amount,
        currency=item_currency,
        unit_amount_decimal=charge.unit_amount_decimal or "0",
        quantity=quantity,
        description=description if description is not None else (price.product.name if price else None),
        period_start=start,
        period_end=end,
        proration=proration,
        discountable=discountable if discountable is not None else not proration and charge.amount >= 0,
        tax_rates=tax_rate_ids(livemode=livemode, ids=tax_rates or [], param="tax_rates"),
        date=now,
        subscription_id=subscription_id,
        subscription_item_id=subscription_item_id,
        metadata=merge_metadata({}, metadata or {}),
    )
    item.save(force_insert=True)
    if discounts:
        item.discounts = discounts_make(
            customer=customer,
            currency=item_currency,
            amount=charge.amount,
            entries=discounts,
            param="discounts",
            invoice_item_id=item.public_id,
        )
        item.save(update_fields=["discounts"])
    event_record(type="invoiceitem.created", obj=item, livemode=livemode, created=now)
    if target is not None:
        before = render_object(target)
        line_from_item(item, target).save(force_insert=True)
        totals_refresh(target)
        record_update(target, before)
    return item


def _locked_item(item: InvoiceItem) -> InvoiceItem:
    return (
        InvoiceItem.objects.select_for_update(of=("self",)).select_related("customer", "price__product").get(pk=item.pk)
    )


def _editable_invoice(item: InvoiceItem, action: str) -> Invoice | None:
    """The draft the item is on (locked), None when pending; refuses items of finalized invoices."""
    if item.invoice_id is None:
        return None
    invoice = locked(Invoice(pk=item.invoice_id))
    if invoice.status != "draft":
        raise InvoiceNotEditable(
            f"You cannot {action} invoice item {item.public_id}: it is on invoice {invoice.public_id}, which is "
            f"{invoice.status}. Only items that are pending or on a draft invoice can change.",
        )
    return invoice


@transaction.atomic
def invoiceitem_update(*, invoice_item: InvoiceItem, values: Mapping[str, Any]) -> InvoiceItem:
    """Change a pending item or one on a draft; its line and the draft's totals follow.

    ``values`` keys: amount, unit_amount_decimal, price (a Price), price_data, quantity, description,
    discountable, discounts (entries or None), tax_rates (ids or None), period_start,
    period_end, metadata.
    """
    item = _locked_item(invoice_item)
    if item.deleted:
        raise InvalidParam(f"The invoice item {item.public_id} has been deleted.", param="id")
    invoice = _editable_invoice(item, "update")
    before = render_object(item)
    pricing = {"amount", "unit_amount_decimal", "price", "price_data", "quantity"} & values.keys()
    if pricing:
        price = values.get("price", item.price if not {"amount", "unit_amount_decimal"} & values.keys() else None)
        if "price" in values and price is not None:
            _price_check(price, param="pricing[price]")
        if values.get("price_data") is not None:
            price = _inline_price(livemode=item.livemode, price_data=values["price_data"])
        quantity = values.get("quantity") or item.quantity
        amount = values.get("amount")
        unit = values.get("unit_amount_decimal")
        if price is None and amount is None and unit is None:
            unit = Decimal(item.unit_amount_decimal)
        charge, currency = _charge(
            price=price, amount=amount, unit_amount_decimal=unit, quantity=quantity, currency=item.currency
        )
        if currency != item.currency:
            raise InvalidParam(
                f"The item is in {item.currency}; its new price must be too (got {currency}).", param="pricing[price]"
            )
        _check_amount(charge.amount)
        item.price, item.quantity, item.amount = price, quantity, charge.amount
        item.unit_amount_decimal = charge.unit_amount_decimal or "0"
    for name in ("description", "discountable", "period_start", "period_end"):
        if name in values:
            setattr(item, name, values[name])
    if item.period_end < item.period_start:
        raise InvalidParam("period[end] must not be before period[start].", param="period[end]")
    if "tax_rates" in values:
        item.tax_rates = tax_rate_ids(livemode=item.livemode, ids=values["tax_rates"] or [], param="tax_rates")
    if "discounts" in values:
        item.discounts = discounts_make(
            customer=item.customer,
            currency=item.currency,
            amount=item.amount,
            entries=values["discounts"] or [],
            param="discounts",
            invoice_item_id=item.public_id,
        )
    if "metadata" in values:
        item.metadata = merge_metadata(item.metadata, values["metadata"])
    item.save()
    now = customer_now(item.customer)
    event_record_update(type="invoiceitem.updated", obj=item, livemode=item.livemode, before=before, created=now)
    if invoice is not None:
        invoice_before = render_object(invoice)
        InvoiceLineItem.objects.filter(invoice_item=item).delete()
        line_from_item(item, invoice).save(force_insert=True)
        totals_refresh(invoice)
        record_update(invoice, invoice_before)
    return item


@transaction.atomic
def invoiceitem_delete(*, invoice_item: InvoiceItem) -> InvoiceItem:
    """Delete a pending item or take it off its draft (whose totals are recomputed)."""
    item = _locked_item(invoice_item)
    if item.deleted:
        raise InvalidParam(f"The invoice item {item.public_id} has already been deleted.", param="id")
    invoice = _editable_invoice(item, "delete")
    rendered = render_object(item)
    item.deleted = True
    item.save(update_fields=["deleted"])
    event_record(
        type="invoiceitem.deleted",
        obj=item,
        livemode=item.livemode,
        rendered=rendered,
        created=customer_now(item.customer),
    )
    if invoice is not None:
        before = render_object(invoice)
        InvoiceLineItem.objects.filter(invoice_item=item).delete()
        totals_refresh(invoice)
        record_update(invoice, before)
    return item
