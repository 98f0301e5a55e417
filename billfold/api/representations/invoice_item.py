"""The Stripe JSON of an invoice item."""

from __future__ import annotations

from typing import Any

from billfold.api.representations.common import deleted, unix
from billfold.api.representations.invoice import tax_rates_rendered
from billfold.billing.discounts import discount_amount
from billfold.billing.invoices.totals import discounts_by_id
from billfold.billing.models import InvoiceItem


def _net_amount(item: InvoiceItem) -> int:
    """The amount less the item's own discounts (the invoice's discounts are the invoice's)."""
    remaining = item.amount
    discounts = discounts_by_id(item.livemode, item.discounts)
    for discount_id in item.discounts:
        discount = discounts.get(discount_id)
        if discount is not None:
            remaining -= discount_amount(coupon=discount.coupon, amount=remaining, currency=item.currency)
    return remaining


def render_invoice_item(item: InvoiceItem) -> dict[str, Any]:
    if item.deleted:
        return deleted("invoiceitem", item.public_id)
    price = item.price
    customer = item.customer
    return {
        "id": item.public_id,
        "object": "invoiceitem",
        "amount": item.amount,
        "currency": item.currency,
        "customer": customer.public_id,
        "customer_account": None,
        "date": unix(item.date),
        "description": item.description,
        "discountable": item.discountable,
        "discounts": list(item.discounts),
        "invoice": item.invoice.public_id if item.invoice is not None else None,
        "livemode": item.livemode,
        "metadata": item.metadata,
        "net_amount": _net_amount(item),
        "parent": (
            {"subscription_details": {"subscription": item.subscription_id}, "type": "subscription_details"}
            if item.subscription_id is not None
            else None
        ),
        "period": {"end": unix(item.period_end), "start": unix(item.period_start)},
        "pricing": {
            "price_details": (
                {"price": price.public_id, "product": price.product.public_id} if price is not None else None
            ),
            "type": "price_details",
            "unit_amount_decimal": item.unit_amount_decimal,
        },
        "proration": item.proration,
        "quantity": item.quantity,
        "quantity_decimal": str(item.quantity),
        "tax_rates": tax_rates_rendered(item.livemode, item.tax_rates),
        "test_clock": customer.test_clock.public_id if customer.test_clock is not None else None,
    }


def load_invoice_items(ids: list[str], livemode: bool) -> dict[str, dict[str, Any]]:
    items = InvoiceItem.objects.select_related("customer__test_clock", "invoice", "price__product").filter(
        public_id__in=ids, livemode=livemode
    )
    return {i.public_id: render_invoice_item(i) for i in items}
