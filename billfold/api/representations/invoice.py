"""The Stripe JSON of an invoice and of its line items (``lines`` embeds the first ten)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.conf import settings

from billfold.api.lists import list_object
from billfold.api.representations.common import address, unix
from billfold.api.representations.tax_rate import render_tax_rate
from billfold.billing.invoices.services import AUTO_FINALIZE_DELAY
from billfold.billing.models import Invoice, InvoiceLineItem, TaxRate
from billfold.customers.models import Customer
from billfold.events.rendering import known_rows

# How many lines an invoice embeds; the rest are read from /v1/invoices/{id}/lines.
EMBEDDED_LINES = 10


def hosted_invoice_url(invoice: Invoice) -> str:
    return f"{settings.SITE_URL}/i/{invoice.hosted_token}"


def _shipping(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if not value:
        return None
    return {"address": address(value.get("address")), "name": value.get("name"), "phone": value.get("phone")}


def tax_rates_rendered(livemode: bool, ids: Iterable[str]) -> list[dict[str, Any]]:
    wanted = list(ids)
    if not wanted:
        return []
    found = {r.public_id: r for r in TaxRate.objects.filter(livemode=livemode, public_id__in=wanted)}
    return [render_tax_rate(found[i]) for i in wanted if i in found]


def _pretax_credits(discount_amounts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {"amount": d["amount"], "credit_balance_transaction": None, "discount": d["discount"], "type": "discount"}
        for d in discount_amounts
    ]


def _known_or(known: Sequence[Any] | None, query: Callable[[], Iterable[Any]]) -> Iterable[Any]:
    """Rows the caller holds (``events.rendering.rows_known``), else the query's."""
    return known if known is not None else query()


def _customer_details(invoice: Invoice) -> dict[str, Any]:
    """The customer as the invoice shows them: as they are now while a draft, as copied at finalization after."""
    if invoice.status == "draft":
        customer: Customer = invoice.customer
        return {
            "customer_address": address(customer.address),
            "customer_email": customer.email,
            "customer_name": customer.name,
            "customer_phone": customer.phone,
            "customer_shipping": _shipping(customer.shipping),
            "customer_tax_exempt": customer.tax_exempt,
            "customer_tax_ids": [
                {"type": t.type, "value": t.value}
                for t in _known_or(known_rows(customer, "tax_ids"), lambda: customer.tax_ids.order_by("pk"))
            ],
        }
    return {
        "customer_address": address(invoice.customer_address),
        "customer_email": invoice.customer_email,
        "customer_name": invoice.customer_name,
        "customer_phone": invoice.customer_phone,
        "customer_shipping": _shipping(invoice.customer_shipping),
        "customer_tax_exempt": invoice.customer_tax_exempt,
        "customer_tax_ids": list(invoice.customer_tax_ids),
    }


def _parent(invoice: Invoice) -> dict[str, Any] | None:
    if invoice.subscription_id is None:
        return None
    return {
        "quote_details": None,
        "subscription_details": {"metadata": None, "subscription": invoice.subscription_id},
        "type": "subscription_details",
    }


def render_line_item(line: InvoiceLineItem) -> dict[str, Any]:
    proration = {"credited_items": None}
    item_details = subscription_details = None
    if line.parent_type == "invoice_item_details":
        item_details = {
            "invoice_item": line.invoice_item.public_id if line.invoice_item is not None else None,
            "proration": line.proration,
            "proration_details": proration,
            "subscription": line.subscription_id,
        }
    else:
        subscription_details = {
            # A subscription's proration is an invoice item billed as part of the subscription item.
            "invoice_item": line.invoice_item.public_id if line.invoice_item is not None else None,
            "proration": line.proration,
            "proration_details": proration,
            "subscription": line.subscription_id,
            "subscription_item": line.subscription_item_id,
        }
    price = line.price
    return {
        "id": line.public_id,
        "object": "line_item",
        "amount": line.amount,
        "currency": line.currency,
        "description": line.description,
        "discount_amounts": list(line.discount_amounts),
        "discountable": line.discountable,
        "discounts": list(line.discounts),
        "invoice": line.invoice.public_id,
        "livemode": line.livemode,
        "metadata": line.metadata,
        "parent": {
            "invoice_item_details": item_details,
            "subscription_item_details": subscription_details,
            "type": line.parent_type,
        },
        "period": {"end": unix(line.period_end), "start": unix(line.period_start)},
        "pretax_credit_amounts": _pretax_credits(line.discount_amounts),
        "pricing": {
            "price_details": (
                {"price": price.public_id, "product": price.product.public_id} if price is not None else None
            ),
            "type": "price_details",
            "unit_amount_decimal": line.unit_amount_decimal,
        },
        "quantity": line.quantity,
        "quantity_decimal": str(line.quantity) if line.quantity is not None else None,
        "subscription": line.subscription_id,
        "subtotal": line.amount,
        "taxes": list(line.taxes),
    }


def lines_rendered(invoice: Invoice) -> dict[str, Any]:
    known = known_rows(invoice, "lines")
    lines = (
        list(known[: EMBEDDED_LINES + 1])
        if known is not None
        else list(
            invoice.lines.select_related("price__product", "invoice_item", "invoice").order_by("pk")[
                : EMBEDDED_LINES + 1
            ]
        )
    )
    return list_object(
        [render_line_item(line) for line in lines[:EMBEDDED_LINES]],
        url=f"/v1/invoices/{invoice.public_id}/lines",
        has_more=len(lines) > EMBEDDED_LINES,
    )


def render_invoice(invoice: Invoice) -> dict[str, Any]:
    if invoice.deleted:
        return {"id": invoice.public_id, "object": "invoice", "deleted": True}
    finalized = invoice.status != "draft"
    customer = invoice.customer
    rendering = (customer.invoice_settings or {}).get("rendering_options") or {}
    return {
        "id": invoice.public_id,
        "object": "invoice",
        "account_country": None,
        "account_name": None,
        "account_tax_ids": None,
        "amount_due": invoice.amount_due,
        "amount_overpaid": 0,
        "amount_paid": invoice.amount_paid,
        "amount_remaining": invoice.amount_remaining,
        "amount_shipping": 0,
        "application": None,
        "attempt_count": invoice.attempt_count,
        "attempted": invoice.attempted,
        "auto_advance": invoice.auto_advance,
        "automatic_tax": {
            "disabled_reason": None,
            "enabled": False,
            "liability": None,
            "provider": None,
            "status": None,
        },
        "automatically_finalizes_at": (
            unix(invoice.created + AUTO_FINALIZE_DELAY) if invoice.auto_advance and not finalized else None
        ),
        "billing_reason": invoice.billing_reason,
        "collection_method": invoice.collection_method,
        "created": unix(invoice.created),
        "currency": invoice.currency,
        "custom_fields": invoice.custom_fields,
        "customer": customer.public_id,
        "customer_account": None,
        **_customer_details(invoice),
        "default_payment_method": (
            invoice.default_payment_method.public_id if invoice.default_payment_method is not None else None
        ),
        "default_source": None,
        "default_tax_rates": tax_rates_rendered(invoice.livemode, invoice.default_tax_rates),
        "description": invoice.description,
        "discounts": list(invoice.discounts),
        "due_date": unix(invoice.due_date),
        "effective_at": unix(invoice.effective_at),
        "ending_balance": invoice.ending_balance,
        "footer": invoice.footer,
        "from_invoice": None,
        "hosted_invoice_url": hosted_invoice_url(invoice) if finalized else None,
        "invoice_pdf": f"{hosted_invoice_url(invoice)}/pdf" if finalized else None,
        "issuer": {"type": "self"},
        "last_finalization_error": None,
        "latest_revision": None,
        "lines": lines_rendered(invoice),
        "livemode": invoice.livemode,
        "metadata": invoice.metadata,
        "next_payment_attempt": unix(invoice.next_payment_attempt),
        "number": invoice.number,
        "on_behalf_of": None,
        "parent": _parent(invoice),
        "payment_settings": {"default_mandate": None, "payment_method_options": None, "payment_method_types": None},
        "period_end": unix(invoice.period_end),
        "period_start": unix(invoice.period_start),
        "post_payment_credit_notes_amount": 0,
        "pre_payment_credit_notes_amount": 0,
        "receipt_number": None,
        "rendering": {
            "amount_tax_display": rendering.get("amount_tax_display"),
            "pdf": {"page_size": "auto"},
            "template": None,
            "template_version": None,
        },
        "shipping_cost": None,
        "shipping_details": None,
        "starting_balance": invoice.starting_balance,
        "statement_descriptor": invoice.statement_descriptor,
        "status": invoice.status,
        "status_transitions": {
            "finalized_at": unix(invoice.finalized_at),
            "marked_uncollectible_at": unix(invoice.marked_uncollectible_at),
            "paid_at": unix(invoice.paid_at),
            "voided_at": unix(invoice.voided_at),
        },
        "subscription": invoice.subscription_id,
        "subtotal": invoice.subtotal,
        "subtotal_excluding_tax": invoice.subtotal_excluding_tax,
        "test_clock": customer.test_clock.public_id if customer.test_clock is not None else None,
        "total": invoice.total,
        "total_discount_amounts": list(invoice.total_discount_amounts),
        "total_excluding_tax": invoice.total_excluding_tax,
        "total_pretax_credit_amounts": _pretax_credits(invoice.total_discount_amounts),
        "total_taxes": list(invoice.total_taxes),
        # No webhooks wait on a new invoice yet, so they count as delivered when it is created.
        "webhooks_delivered_at": unix(invoice.created),
    }


def _invoices(ids: list[str], livemode: bool) -> Iterable[Invoice]:
    return Invoice.objects.select_related("customer__test_clock", "default_payment_method", "payment_intent").filter(
        public_id__in=ids, livemode=livemode, deleted=False
    )


def load_invoices(ids: list[str], livemode: bool) -> dict[str, dict[str, Any]]:
    return {i.public_id: render_invoice(i) for i in _invoices(ids, livemode)}


def include_payments(objects: list[dict[str, Any]], livemode: bool) -> None:
    """``expand[]=payments``: the invoice's payments (Stripe leaves them out unless asked)."""
    invoices = {i.public_id: i for i in _invoices([o["id"] for o in objects], livemode)}
    for obj in objects:
        invoice = invoices.get(obj["id"])
        obj["payments"] = list_object(
            [render_invoice_payment(invoice)] if invoice is not None and invoice.payment_intent_id else [],
            url=f"/v1/invoice_payments?invoice={obj['id']}",
            has_more=False,
        )


def render_invoice_payment(invoice: Invoice) -> dict[str, Any]:
    """The invoice's one PaymentIntent as an ``invoice_payment``."""
    intent = invoice.payment_intent
    assert intent is not None
    paid = intent.status == "succeeded"
    return {
        "id": f"inpay_{intent.public_id.removeprefix('pi_')}",
        "object": "invoice_payment",
        "amount_paid": intent.amount_received if paid else None,
        "amount_requested": intent.amount,
        "created": unix(intent.created),
        "currency": intent.currency,
        "invoice": invoice.public_id,
        "is_default": True,
        "livemode": intent.livemode,
        "payment": {"payment_intent": intent.public_id, "type": "payment_intent"},
        "status": "paid" if paid else ("canceled" if intent.status == "canceled" else "open"),
        "status_transitions": {
            "canceled_at": unix(intent.canceled_at),
            "paid_at": unix(invoice.paid_at) if paid else None,
        },
    }


def load_line_items(ids: list[str], livemode: bool) -> dict[str, dict[str, Any]]:
    lines = InvoiceLineItem.objects.select_related("price__product", "invoice_item", "invoice").filter(
        public_id__in=ids, livemode=livemode
    )
    return {line.public_id: render_line_item(line) for line in lines}
