"""Reads for invoices, their lines and invoice items. Every query is scoped to one mode."""

from __future__ import annotations

from django.db.models import QuerySet

from billfold.billing.models import Invoice, InvoiceItem, InvoiceLineItem
from billfold.core.errors import NotFound
from billfold.core.models import stripe_object_get
from billfold.customers.models import Customer


def invoice_get(*, public_id: str, livemode: bool, param: str = "id") -> Invoice:
    """The invoice with this id in this mode; deleted drafts are gone."""
    return stripe_object_get(
        Invoice.objects.select_related("customer", "default_payment_method", "payment_intent").filter(deleted=False),
        resource="invoice",
        public_id=public_id,
        livemode=livemode,
        param=param,
    )


def invoice_list(
    *,
    livemode: bool,
    customer: Customer | None = None,
    status: str | None = None,
    subscription_id: str | None = None,
    collection_method: str | None = None,
) -> QuerySet[Invoice]:
    invoices = Invoice.objects.select_related("customer", "default_payment_method", "payment_intent").filter(
        livemode=livemode, deleted=False
    )
    if customer is not None:
        invoices = invoices.filter(customer=customer)
    if status is not None:
        invoices = invoices.filter(status=status)
    if subscription_id is not None:
        invoices = invoices.filter(subscription_id=subscription_id)
    if collection_method is not None:
        invoices = invoices.filter(collection_method=collection_method)
    return invoices


def invoice_by_hosted_token(*, token: str) -> Invoice | None:
    """The finalized invoice a hosted page link names (drafts have no page), or None."""
    if not token:
        return None
    return (
        Invoice.objects.select_related("customer", "payment_intent")
        .filter(hosted_token=token, deleted=False)
        .exclude(status="draft")
        .first()
    )


def invoice_lines(*, invoice: Invoice) -> QuerySet[InvoiceLineItem]:
    """The invoice's lines in the order they were added."""
    return invoice.lines.select_related("price__product", "invoice_item").order_by("pk")


def invoiceitem_get(*, public_id: str, livemode: bool, include_deleted: bool = False, param: str = "id") -> InvoiceItem:
    found = (
        InvoiceItem.objects.select_related("customer", "invoice", "price__product")
        .filter(public_id=public_id, livemode=livemode)
        .first()
    )
    if found is None or (found.deleted and not include_deleted):
        raise NotFound("invoiceitem", public_id, param=param)
    return found


def invoiceitem_list(
    *,
    livemode: bool,
    customer: Customer | None = None,
    invoice: Invoice | None = None,
    pending: bool | None = None,
) -> QuerySet[InvoiceItem]:
    items = InvoiceItem.objects.select_related("customer", "invoice", "price__product").filter(
        livemode=livemode, deleted=False
    )
    if customer is not None:
        items = items.filter(customer=customer)
    if invoice is not None:
        items = items.filter(invoice=invoice)
    if pending is not None:
        items = items.filter(invoice__isnull=pending)
    return items
