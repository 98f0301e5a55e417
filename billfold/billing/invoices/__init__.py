"""Invoices: the services every interface calls (API, dashboard, portal, worker) and their reads.

``services`` (create, lines, update, delete), ``transitions`` (finalize, void, uncollectible,
send), ``payment`` (pay), ``items`` (invoice items), ``totals`` (discounts and taxes per line),
``selectors`` (reads, always within one mode).
"""

from billfold.billing.invoices.common import InvoiceNotEditable, InvoiceStateError
from billfold.billing.invoices.items import invoiceitem_create, invoiceitem_delete, invoiceitem_update
from billfold.billing.invoices.payment import (
    NoPaymentMethod,
    invoice_pay,
    invoice_payment_intent_confirm,
    invoice_payment_record,
)
from billfold.billing.invoices.services import (
    NewLine,
    invoice_add_line,
    invoice_create,
    invoice_delete,
    invoice_update,
)
from billfold.billing.invoices.transitions import (
    invoice_finalize,
    invoice_mark_uncollectible,
    invoice_send,
    invoice_void,
)

__all__ = [
    "InvoiceNotEditable",
    "InvoiceStateError",
    "NewLine",
    "NoPaymentMethod",
    "invoice_add_line",
    "invoice_create",
    "invoice_delete",
    "invoice_finalize",
    "invoice_mark_uncollectible",
    "invoice_pay",
    "invoice_payment_intent_confirm",
    "invoice_payment_record",
    "invoice_send",
    "invoice_update",
    "invoice_void",
    "invoiceitem_create",
    "invoiceitem_delete",
    "invoiceitem_update",
]
