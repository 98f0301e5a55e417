"""Invoice writes: create, add lines, update, delete, finalize, void, mark uncollectible, send.

Each runs in one transaction and writes its event there; a refusal raises before anything is
saved or rolls the transaction back, so it leaves nothing behind. Paying lives in ``payment``.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ParamSpec

from django.db import transaction
from django.db.models import Q

from billfold.billing.invoices.common import (
    InvoiceStateError,
    discounts_make,
    locked,
    now_for,
    record,
    record_update,
    refuse_unless_draft,
    tax_rate_ids,
    totals_refresh,
)
from billfold.billing.invoices.pricing import price_charge
from billfold.billing.invoices.totals import invoice_totals_compute
from billfold.billing.models import Invoice, InvoiceItem, InvoiceLineItem
from billfold.catalog.models import Price
from billfold.clocks.selectors import customer_now
from billfold.core.errors import InvalidParam
from billfold.core.ids import new_id
from billfold.core.metadata import merge_metadata
from billfold.core.money import currency_check
from billfold.customers.models import Customer
from billfold.events.rendering import render_object
from billfold.events.services import event_record
from billfold.payments.models import PaymentMethod

COLLECTION_METHODS = ("charge_automatically", "send_invoice")
# What an invoice sent to the customer gives them to pay when nobody said (Stripe's default terms).
DEFAULT_DAYS_UNTIL_DUE = 30
# Invoices in a currency nobody chose are in the account's default currency.
DEFAULT_CURRENCY = "usd"
# A draft with auto_advance is finalized by the worker this long after it was created, as in Stripe.
AUTO_FINALIZE_DELAY = dt.timedelta(hours=1)


@dataclass(frozen=True)
class NewLine:
    """A line for ``invoice_create(lines=...)``: a subscription item's charge for a period.

    ``amount`` overrides price x quantity (prorations); ``tax_rates`` are public ids.
    """

    price: Price
    quantity: int
    period_start: dt.datetime
    period_end: dt.datetime
    description: str | None
    proration: bool = False
    amount: int | None = None
    subscription_item_id: str | None = None
    tax_rates: Sequence[str] = field(default_factory=tuple)
    discountable: bool = True


def _check_collection(
    collection_method: str, days_until_due: int | None, due_date: dt.datetime | None, *, now: dt.datetime
) -> None:
    if collection_method not in COLLECTION_METHODS:
        raise InvalidParam(
            "Invalid collection_method: must be charge_automatically or send_invoice.", param="collection_method"
        )
    if collection_method == "charge_automatically":
        for name, value in (("days_until_due", days_until_due), ("due_date", due_date)):
            if value is not None:
                raise InvalidParam(
                    f"{name} can only be set when collection_method is send_invoice: an invoice charged "
                    "automatically is due at once.",
                    param=name,
                )
    if days_until_due is not None and due_date is not None:
        raise InvalidParam(
            "You may only specify one of these parameters: days_until_due, due_date.",
            param="due_date",
            code="parameters_exclusive",
        )
    if due_date is not None and due_date <= now:
        raise InvalidParam("due_date must be in the future.", param="due_date")


def _payment_method_check(customer: Customer, payment_method: PaymentMethod | None, *, param: str) -> None:
    if payment_method is not None and payment_method.customer_id != customer.pk:
        raise InvalidParam(
            f"The customer does not have a payment method with the ID {payment_method.public_id}. "
            "The payment method must be attached to the customer.",
            param=param,
            code="resource_missing",
        )


def _refuse_deleted_customer(customer: Customer) -> None:
    if customer.deleted:
        raise InvalidParam(
            f"The customer {customer.public_id} has been deleted and cannot be invoiced.", param="customer"
        )


def _pending_items(customer: Customer, currency: str, subscription_id: str | None) -> list[InvoiceItem]:
    """The customer's pending items in ``currency`` an invoice takes. A subscription's invoice takes
    its own and those of no subscription, which go on the customer's next scheduled invoice (Stripe's
    rule: an item naming another subscription waits for that one's)."""
    items = InvoiceItem.objects.select_related("price__product").filter(
        customer=customer, invoice__isnull=True, deleted=False, currency=currency
    )
    if subscription_id is not None:
        items = items.filter(Q(subscription_id=subscription_id) | Q(subscription_id__isnull=True))
    return list(items.order_by("pk"))


def line_from_item(item: InvoiceItem, invoice: Invoice) -> InvoiceLineItem:
    """The (unsaved) line that shows ``item`` on ``invoice``."""
    return InvoiceLineItem(
        public_id=new_id("il"),
        livemode=item.livemode,
        invoice=invoice,
        parent_type="invoice_item_details",
        invoice_item=item,
        price=item.price,
        amount=item.amount,
        currency=item.currency,
        unit_amount_decimal=item.unit_amount_decimal,
        quantity=item.quantity,
        description=item.description,
        period_start=item.period_start,
        period_end=item.period_end,
        proration=item.proration,
        discountable=item.discountable,
        discounts=list(item.discounts),
        tax_rates=list(item.tax_rates),
        subscription_id=item.subscription_id,
        subscription_item_id=item.subscription_item_id,
        metadata=dict(item.metadata),
    )


def _line_build(invoice: Invoice, spec: NewLine) -> InvoiceLineItem:
    if spec.price.currency != invoice.currency:
        raise InvalidParam(
            f"The price {spec.price.public_id} is in {spec.price.currency}, but the invoice is in {invoice.currency}.",
            param="price",
        )
    charge = price_charge(price=spec.price, quantity=spec.quantity)
    return InvoiceLineItem(
        public_id=new_id("il"),
        livemode=invoice.livemode,
        invoice=invoice,
        parent_type="subscription_item_details",
        price=spec.price,
        amount=charge.amount if spec.amount is None else spec.amount,
        currency=invoice.currency,
        unit_amount_decimal=charge.unit_amount_decimal,
        quantity=spec.quantity,
        description=spec.description,
        period_start=spec.period_start,
        period_end=spec.period_end,
        proration=spec.proration,
        discountable=spec.discountable,
        tax_rates=tax_rate_ids(
            livemode=invoice.livemode,
            ids=list(spec.tax_rates),
            param="tax_rates",
            archived_allowed=spec.subscription_item_id is not None,
        ),
        subscription_id=invoice.subscription_id,
        subscription_item_id=spec.subscription_item_id,
    )


# The arguments of ``invoice_build``, which ``invoice_create`` takes too.
P = ParamSpec("P")


@dataclass
class DraftInvoice:
    """A new draft as ``invoice_build`` makes it, nothing saved: the invoice, its lines (in the order
    they are to be inserted) and the pending invoice items it takes (``invoice`` set on each)."""

    invoice: Invoice
    lines: list[InvoiceLineItem]
    items: list[InvoiceItem]


def invoice_build(
    *,
    customer: Customer,
    livemode: bool,
    currency: str | None = None,
    collection_method: str = "charge_automatically",
    days_until_due: int | None = None,
    due_date: dt.datetime | None = None,
    description: str | None = None,
    metadata: Mapping[str, str | None] | None = None,
    auto_advance: bool | None = None,
    default_payment_method: PaymentMethod | None = None,
    discounts: Sequence[Mapping[str, str]] = (),
    default_tax_rates: Sequence[str] = (),
    pending_invoice_items_behavior: str = "include",
    billing_reason: str = "manual",
    subscription_id: str | None = None,
    period_start: dt.datetime | None = None,
    period_end: dt.datetime | None = None,
    footer: str | None = None,
    statement_descriptor: str | None = None,
    lines: Sequence[NewLine] = (),
    pending_items: Sequence[InvoiceItem] | None = None,
) -> DraftInvoice:
    """``invoice_create``'s draft, checked and computed (lines, totals, schedule) but not saved, for
    callers that write many invoices at once and record ``invoice.created`` themselves.
    ``pending_items``: the customer's pending items for it when the caller has read them.
    Discounts given are redeemed here (their rows are written).
    """
    _refuse_deleted_customer(customer)
    now = customer_now(customer)
    _check_collection(collection_method, days_until_due, due_date, now=now)
    if collection_method == "send_invoice" and days_until_due is None and due_date is None:
        days_until_due = DEFAULT_DAYS_UNTIL_DUE
    _payment_method_check(customer, default_payment_method, param="default_payment_method")
    if pending_invoice_items_behavior not in ("include", "include_and_require", "exclude"):
        raise InvalidParam(
            "Invalid pending_invoice_items_behavior: must be include, include_and_require or exclude.",
            param="pending_invoice_items_behavior",
        )
    including = pending_invoice_items_behavior != "exclude"
    if currency is not None:
        currency = currency_check(currency)
    else:
        first_pending = (
            InvoiceItem.objects.filter(customer=customer, invoice__isnull=True, deleted=False).order_by("pk").first()
            if including
            else None
        )
        currency = customer.currency or (first_pending.currency if first_pending else DEFAULT_CURRENCY)
    if not including:
        pending = []
    elif pending_items is None:
        pending = _pending_items(customer, currency, subscription_id)
    else:
        pending = list(pending_items)
    if pending_invoice_items_behavior == "include_and_require" and not pending:
        raise InvalidParam(
            f"Nothing to invoice for customer {customer.public_id}: it has no pending invoice items in {currency}. "
            "Create invoice items first, or use pending_invoice_items_behavior=exclude for an empty draft.",
            param="pending_invoice_items_behavior",
            code="invoice_no_customer_line_items",
        )
    invoice = Invoice(
        public_id=new_id("in"),
        livemode=livemode,
        created=now,
        customer=customer,
        currency=currency,
        collection_method=collection_method,
        days_until_due=days_until_due,
        due_date=due_date or (now + dt.timedelta(days=days_until_due) if days_until_due is not None else None),
        description=description,
        metadata=merge_metadata({}, metadata or {}),
        auto_advance=auto_advance if auto_advance is not None else subscription_id is not None,
        default_payment_method=default_payment_method,
        default_tax_rates=tax_rate_ids(
            livemode=livemode,
            ids=list(default_tax_rates),
            param="default_tax_rates",
            archived_allowed=subscription_id is not None,
        ),
        billing_reason=billing_reason,
        subscription_id=subscription_id,
        period_start=period_start or now,
        period_end=period_end or now,
        footer=footer if footer is not None else customer.invoice_settings.get("footer"),
        custom_fields=customer.invoice_settings.get("custom_fields"),
        statement_descriptor=statement_descriptor,
        hosted_token=secrets.token_urlsafe(32),
    )
    # Stripe lists the pending invoice items (a subscription's prorations) first, then the lines billed now.
    new_lines = []
    for item in pending:
        item.invoice = invoice
        new_lines.append(line_from_item(item, invoice))
    new_lines += [_line_build(invoice, spec) for spec in lines]
    if discounts:
        invoice.discounts = discounts_make(
            customer=customer,
            currency=currency,
            amount=sum(line.amount for line in new_lines),
            entries=discounts,
            param="discounts",
            invoice_id=invoice.public_id,
        )
    _schedule(invoice, now)
    # Totals from the lines in memory (in the order they are inserted, which is their pk order), so
    # the invoice and its lines are each written once.
    invoice_totals_compute(invoice=invoice, lines=new_lines)
    return DraftInvoice(invoice=invoice, lines=new_lines, items=pending)


def _saved(build: Callable[P, DraftInvoice]) -> Callable[P, Invoice]:
    """``build``'s draft saved with its lines and items, and its ``invoice.created`` event, in one transaction."""

    @transaction.atomic
    def create(*args: P.args, **kwargs: P.kwargs) -> Invoice:
        draft = build(*args, **kwargs)
        invoice = draft.invoice
        invoice.save(force_insert=True)
        InvoiceItem.objects.bulk_update(draft.items, ["invoice"])
        InvoiceLineItem.objects.bulk_create(draft.lines)
        record(invoice, "invoice.created", lines=draft.lines)
        return invoice

    create.__doc__ = """A new draft invoice for ``customer``, with ``lines`` and (``include``) their pending
    invoice items.

    ``discounts`` are ``{"coupon"}``, ``{"promotion_code"}`` or ``{"discount"}`` entries, redeemed
    here; ``default_tax_rates`` are tax rate ids. ``auto_advance`` defaults to true for
    subscription invoices and false otherwise, as in Stripe.
    """
    return create


# Takes ``invoice_build``'s arguments.
invoice_create = _saved(invoice_build)


def _schedule(invoice: Invoice, now: dt.datetime) -> None:
    """When the worker will next act on a draft: finalize (and charge) it an hour after creation."""
    automatic = invoice.auto_advance and invoice.status == "draft"
    invoice.next_payment_attempt = (
        invoice.created + AUTO_FINALIZE_DELAY
        if automatic and invoice.collection_method == "charge_automatically"
        else None
    )


@transaction.atomic
def invoice_add_line(
    *,
    invoice: Invoice,
    price: Price,
    quantity: int,
    period_start: dt.datetime,
    period_end: dt.datetime,
    description: str | None,
    proration: bool = False,
    amount: int | None = None,
    subscription_item_id: str | None = None,
    tax_rates: Sequence[str] = (),
    discountable: bool = True,
) -> InvoiceLineItem:
    """Add a subscription item's line to a draft and recompute its totals (``invoice.updated``)."""
    invoice = locked(invoice)
    refuse_unless_draft(invoice, what="add lines to")
    before = render_object(invoice)
    spec = NewLine(
        price=price,
        quantity=quantity,
        period_start=period_start,
        period_end=period_end,
        description=description,
        proration=proration,
        amount=amount,
        subscription_item_id=subscription_item_id,
        tax_rates=tax_rates,
        discountable=discountable,
    )
    line = _line_build(invoice, spec)
    line.save(force_insert=True)
    totals_refresh(invoice)
    record_update(invoice, before)
    return line


# Fields a finalized invoice still accepts; everything else is for drafts only.
_OPEN_FIELDS = frozenset({"description", "footer", "metadata", "auto_advance", "default_payment_method"})
_FINAL_FIELDS = frozenset({"metadata"})


@transaction.atomic
def invoice_update(*, invoice: Invoice, values: Mapping[str, Any]) -> Invoice:
    """Change a draft (any of the keys below) or, once finalized, what Stripe still lets change.

    ``values`` keys: description, metadata, days_until_due, due_date, collection_method,
    auto_advance, footer, statement_descriptor, default_payment_method (a PaymentMethod or
    None), discounts (entries as for create, or None for none), default_tax_rates (ids or None).
    """
    invoice = locked(invoice)
    allowed = {"draft": None, "open": _OPEN_FIELDS}.get(invoice.status, _FINAL_FIELDS)
    for name in values:
        if allowed is not None and name not in allowed:
            raise InvoiceStateError(
                f"You cannot change {name} of invoice {invoice.public_id} because it is {invoice.status}; "
                f"only {', '.join(sorted(allowed))} can still change. Void it and create a new invoice instead.",
                code="invoice_not_editable",
                param=name,
            )
    if values.get("auto_advance") and invoice.status not in ("draft", "open"):
        raise InvoiceStateError(
            f"auto_advance cannot be turned on for a {invoice.status} invoice: nothing is left to advance.",
            param="auto_advance",
        )
    before = render_object(invoice)
    now = now_for(invoice)
    for name in ("description", "footer", "statement_descriptor"):
        if name in values:
            setattr(invoice, name, values[name])
    if "metadata" in values:
        invoice.metadata = merge_metadata(invoice.metadata, values["metadata"])
    if values.get("auto_advance") is not None:
        invoice.auto_advance = values["auto_advance"]
    if "default_payment_method" in values:
        _payment_method_check(invoice.customer, values["default_payment_method"], param="default_payment_method")
        invoice.default_payment_method = values["default_payment_method"]
    if {"collection_method", "days_until_due", "due_date"} & values.keys():
        _update_collection(invoice, values, now)
    if "default_tax_rates" in values:
        invoice.default_tax_rates = tax_rate_ids(
            livemode=invoice.livemode, ids=list(values["default_tax_rates"] or []), param="default_tax_rates"
        )
    if "discounts" in values:
        invoice.discounts = discounts_make(
            customer=invoice.customer,
            currency=invoice.currency,
            amount=invoice.subtotal,
            entries=values["discounts"] or [],
            param="discounts",
            invoice_id=invoice.public_id,
        )
    if invoice.status == "draft":
        _schedule(invoice, now)
        totals_refresh(invoice)
    else:
        invoice.save()
    record_update(invoice, before)
    return invoice


def _update_collection(invoice: Invoice, values: Mapping[str, Any], now: dt.datetime) -> None:
    method = values.get("collection_method") or invoice.collection_method
    days = values.get("days_until_due")
    due = values.get("due_date")
    if method == "send_invoice" and days is None and due is None:
        if "collection_method" in values and invoice.collection_method != "send_invoice":
            days = DEFAULT_DAYS_UNTIL_DUE
        else:
            days, due = invoice.days_until_due, invoice.due_date if invoice.days_until_due is None else None
    _check_collection(method, days, due, now=now)
    invoice.collection_method = method
    invoice.days_until_due = days
    invoice.due_date = due or (invoice.created + dt.timedelta(days=days) if days is not None else None)


@transaction.atomic
def invoice_delete(*, invoice: Invoice) -> Invoice:
    """Delete a draft for good. Its invoice items go back to pending, for the next invoice to pick up.

    Drafts have no number, so deleting one leaves no gap in the customer's numbering.
    """
    invoice = locked(invoice)
    refuse_unless_draft(invoice, what="delete")
    if invoice.subscription_id is not None:
        raise InvoiceStateError(
            f"Invoice {invoice.public_id} belongs to subscription {invoice.subscription_id} and cannot be deleted; "
            "void it once finalized instead.",
        )
    rendered = render_object(invoice)
    invoice.lines.all().delete()
    invoice.invoice_items.update(invoice=None)
    invoice.deleted = True
    invoice.save(update_fields=["deleted"])
    event_record(
        type="invoice.deleted", obj=invoice, livemode=invoice.livemode, rendered=rendered, created=now_for(invoice)
    )
    return invoice
