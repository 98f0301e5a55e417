"""What a subscription bills: its invoices, its proration invoice items, and collecting payment.

Invoices are built as drafts by ``subscription_invoice`` (so the preview can show one unsaved),
then ``invoice_issue`` finalizes them as the subscription's settings say (``pause_collection``,
``unpaid`` subscriptions keep them as drafts), and ``collect`` charges them with no transaction
open (the processor is called outside any transaction).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from django.db import transaction

from billfold.billing import dunning
from billfold.billing import invoices as invoice_services
from billfold.billing.invoices.common import record as invoice_record
from billfold.billing.invoices.common import totals_refresh
from billfold.billing.invoices.pricing import price_charge
from billfold.billing.locks import invoice_locked
from billfold.billing.models import Discount, Invoice, InvoiceItem, Subscription, SubscriptionItem
from billfold.billing.proration import ProrationLine, proration_description
from billfold.billing.redemption import discount_events_record
from billfold.billing.subscriptions.common import (
    line_description,
    natural_period,
    now_for,
    partial_amount,
    trial_description,
)
from billfold.billing.subscriptions.status import subscription_payment_result
from billfold.catalog.models import Price
from billfold.core.ids import new_id
from billfold.events.services import event_record
from billfold.payments import intents
from billfold.payments.models import PaymentMethod


def payment_method_for(subscription: Subscription) -> PaymentMethod | None:
    """The card the subscription's invoices are charged to: its own default, else the customer's."""
    if subscription.default_payment_method is not None:
        return subscription.default_payment_method
    default_id = subscription.customer.invoice_settings.get("default_payment_method")
    if not default_id:
        return None
    return PaymentMethod.objects.filter(
        livemode=subscription.livemode, public_id=default_id, customer=subscription.customer
    ).first()


# ---- Discounts --------------------------------------------------------------------------------


def discounts_in_force(subscription: Subscription, at: dt.datetime) -> list[Discount]:
    """The subscription's discounts that still apply at ``at`` (a repeating coupon's months not over)."""
    ids = list(subscription.discounts)
    if not ids:
        return []
    found = {
        d.public_id: d
        for d in Discount.objects.select_related("coupon").filter(livemode=subscription.livemode, public_id__in=ids)
    }
    return [d for d in (found.get(i) for i in ids) if d is not None and (d.end is None or d.end > at)]


def discounts_after_invoice(
    subscription: Subscription, applied: Sequence[Discount], at: dt.datetime, *, charged: bool
) -> None:
    """Drop from the subscription what is used up: ``once`` coupons just applied to an invoice that
    charges something (a trial's zero invoice leaves them for the first real one), repeating ones ended."""
    used = {d.public_id for d in applied if d.coupon.duration == "once"} if charged else set()
    in_force = {d.public_id for d in discounts_in_force(subscription, at)}
    before = list(subscription.discounts)
    subscription.discounts = [d for d in before if d in in_force and d not in used]
    discount_events_record(livemode=subscription.livemode, before=before, after=subscription.discounts, at=at)


# ---- Lines and invoice items ------------------------------------------------------------------


def period_line(item: SubscriptionItem, start: dt.datetime, end: dt.datetime) -> invoice_services.NewLine:
    """The item billed in full for ``[start, end)``."""
    return invoice_services.NewLine(
        price=item.price,
        quantity=item.quantity,
        period_start=start,
        period_end=end,
        description=line_description(item.price, item.quantity),
        subscription_item_id=item.public_id,
        tax_rates=list(item.tax_rates),
    )


def partial_line(
    item: SubscriptionItem, start: dt.datetime, end: dt.datetime, full: tuple[dt.datetime, dt.datetime]
) -> invoice_services.NewLine:
    """The item billed for part ``[start, end)`` of the cycle ``full``, prorated to the second."""
    return invoice_services.NewLine(
        price=item.price,
        quantity=item.quantity,
        period_start=start,
        period_end=end,
        description=proration_description(
            unused=False, product_name=item.price.product.name, quantity=item.quantity, proration_date=start
        ),
        proration=True,
        amount=partial_amount(price=item.price, quantity=item.quantity, start=start, end=end, full=full),
        subscription_item_id=item.public_id,
        tax_rates=list(item.tax_rates),
    )


def billed_lines(
    subscription: Subscription, items: Sequence[SubscriptionItem], start: dt.datetime, end: dt.datetime
) -> list[invoice_services.NewLine]:
    """Every item billed for ``[start, end)``: in full for a whole cycle of the anchor, else prorated."""
    full = natural_period(subscription, items[0].price, start)
    if (start, end) == full:
        return [period_line(item, start, end) for item in items]
    return [partial_line(item, start, end, full) for item in items]


def trial_line(item: SubscriptionItem, start: dt.datetime, end: dt.datetime) -> invoice_services.NewLine:
    return invoice_services.NewLine(
        price=item.price,
        quantity=item.quantity,
        period_start=start,
        period_end=end,
        description=trial_description(item.price),
        amount=0,
        subscription_item_id=item.public_id,
        tax_rates=list(item.tax_rates),
    )


def proration_items_create(
    *, subscription: Subscription, lines: Sequence[ProrationLine], prices: Mapping[str, Price]
) -> list[InvoiceItem]:
    """Pending invoice items (``proration: true``) for ``lines``, waiting for the subscription's next invoice."""
    now = now_for(subscription)
    tax_rates = {item.public_id: list(item.tax_rates) for item in subscription.items.all()}
    created: list[InvoiceItem] = []
    for line in lines:
        assert line.price_ref is not None
        price = prices[line.price_ref]
        charge = price_charge(price=price, quantity=1)
        item = InvoiceItem(
            public_id=new_id("ii"),
            livemode=subscription.livemode,
            created=now,
            customer=subscription.customer,
            price=price,
            amount=line.amount,
            currency=line.currency,
            unit_amount_decimal=charge.unit_amount_decimal or "0",
            quantity=line.quantity,
            description=line.description,
            period_start=line.period_start,
            period_end=line.period_end,
            proration=True,
            discountable=False,
            tax_rates=tax_rates.get(line.subscription_item_ref or "", []),
            date=now,
            subscription_id=subscription.public_id,
            subscription_item_id=line.subscription_item_ref,
        )
        item.save(force_insert=True)
        event_record(type="invoiceitem.created", obj=item, livemode=item.livemode, created=now)
        created.append(item)
    return created


def pending_prorations(subscription: Subscription) -> list[InvoiceItem]:
    return list(
        InvoiceItem.objects.filter(
            livemode=subscription.livemode,
            subscription_id=subscription.public_id,
            invoice__isnull=True,
            deleted=False,
        ).order_by("pk")
    )


# ---- Invoices ---------------------------------------------------------------------------------


def subscription_invoice_values(
    subscription: Subscription,
    *,
    billing_reason: str,
    lines: Sequence[invoice_services.NewLine],
    period_start: dt.datetime,
    period_end: dt.datetime,
    discounts: Sequence[Discount],
) -> dict[str, Any]:
    """What a subscription's invoice is made of: ``invoice_create`` / ``invoice_build`` arguments."""
    return {
        "customer": subscription.customer,
        "livemode": subscription.livemode,
        "currency": subscription.currency,
        "collection_method": subscription.collection_method,
        "days_until_due": subscription.days_until_due if subscription.collection_method == "send_invoice" else None,
        "description": subscription.description,
        "auto_advance": True,
        "default_payment_method": subscription.default_payment_method,
        "discounts": [{"discount": d.public_id} for d in discounts],
        "default_tax_rates": list(subscription.default_tax_rates),
        "pending_invoice_items_behavior": "include",
        "billing_reason": billing_reason,
        "subscription_id": subscription.public_id,
        "period_start": period_start,
        "period_end": period_end,
        "lines": lines,
    }


def subscription_invoice(
    *,
    subscription: Subscription,
    items: Sequence[SubscriptionItem],
    billing_reason: str,
    lines: Sequence[invoice_services.NewLine],
    period_start: dt.datetime,
    period_end: dt.datetime,
    at: dt.datetime,
) -> Invoice:
    """A draft invoice of the subscription: ``lines`` plus its pending invoice items (prorations),
    with the subscription's discounts in force at ``at``, tax rates and collection settings."""
    applied = discounts_in_force(subscription, at)
    invoice = invoice_services.invoice_create(
        **subscription_invoice_values(
            subscription,
            billing_reason=billing_reason,
            lines=lines,
            period_start=period_start,
            period_end=period_end,
            discounts=applied,
        )
    )
    # Prorations show under their subscription item (parent.subscription_item_details.proration), as
    # Stripe shows them; the items' own discounts apply to their period lines.
    invoice.lines.filter(invoice_item__proration=True, subscription_item_id__isnull=False).update(
        parent_type="subscription_item_details"
    )
    by_id = {item.public_id: item for item in items if item.discounts}
    discounted = (
        [line for line in invoice.lines.filter(proration=False) if line.subscription_item_id in by_id] if by_id else []
    )
    for line in discounted:
        line.discounts = list(by_id[line.subscription_item_id or ""].discounts)
        line.save(update_fields=["discounts"])
    if discounted:
        totals_refresh(invoice)
    discounts_after_invoice(subscription, applied, at, charged=invoice.subtotal > 0)
    return invoice


def invoice_issue(*, subscription: Subscription, invoice: Invoice, report: bool = True) -> Invoice:
    """Finalize (or keep as a draft) a new subscription invoice as the subscription's settings say.

    ``pause_collection`` keeps it a draft (``keep_as_draft``), or finalizes it and writes it off
    (``mark_uncollectible``) or voids it (``void``); an ``unpaid`` subscription's invoices stay
    unattempted drafts; ``send_invoice`` ones are finalized and sent. Caller's transaction.
    ``report`` passes an invoice paid at once (nothing due) to ``subscription_payment_result``;
    callers holding the subscription in memory move its status themselves.
    """
    pause = (subscription.pause_collection or {}).get("behavior")
    if pause == "keep_as_draft" or subscription.status == "unpaid":
        return invoice_services.invoice_update(invoice=invoice, values={"auto_advance": False})
    if subscription.collection_method == "send_invoice":
        invoice = invoice_services.invoice_send(invoice=invoice)
    else:
        invoice = invoice_services.invoice_finalize(invoice=invoice)
    if invoice.status == "open" and pause == "mark_uncollectible":
        invoice = invoice_services.invoice_mark_uncollectible(invoice=invoice, move_subscription=False)
    elif invoice.status == "open" and pause == "void":
        invoice = invoice_services.invoice_void(invoice=invoice, move_subscription=False)
    if report and invoice.status == "paid":
        subscription_payment_result(invoice=invoice, succeeded=True, final=False)
    return invoice


def wants_collection(invoice: Invoice | None) -> bool:
    """An open invoice charged automatically with something left to pay."""
    return (
        invoice is not None
        and invoice.status == "open"
        and invoice.collection_method == "charge_automatically"
        and invoice.auto_advance
        and invoice.amount_remaining > 0
    )


def intent_prepare(invoice: Invoice) -> None:
    """Make the PaymentIntent of an invoice the customer will confirm themselves (``default_incomplete``),
    and keep the automatic retries off it."""
    if invoice.amount_remaining < intents.MINIMUM_AMOUNTS.get(invoice.currency, 1):
        return
    invoice.payment_intent = intents.payment_intent_create(
        livemode=invoice.livemode,
        customer=invoice.customer,
        amount=invoice.amount_remaining,
        currency=invoice.currency,
        description=f"Payment for Invoice {invoice.number}",
        statement_descriptor=invoice.statement_descriptor,
        invoice_id=invoice.public_id,
    )
    invoice.next_payment_attempt = None
    invoice.save(update_fields=["payment_intent", "next_payment_attempt"])


def collect(*, invoice: Invoice, request_key: str | None = None) -> Invoice:
    """Charge an open subscription invoice now, outside any transaction.

    The outcome moves the subscription (``invoice_pay`` reports it to ``subscription_payment_result``).
    No card to charge counts as a failed attempt, as Stripe counts it.
    """
    try:
        return invoice_services.invoice_pay(invoice=invoice, request_key=request_key)
    except invoice_services.NoPaymentMethod:
        return _unchargeable(invoice)


@transaction.atomic
def _unchargeable(invoice: Invoice) -> Invoice:
    _, invoice = invoice_locked(invoice)  # the subscription first: billfold.billing.locks
    if invoice.status != "open":
        return invoice
    invoice.attempt_count += 1
    invoice.attempted = True
    invoice.next_payment_attempt = dunning.next_attempt_at(invoice)
    invoice.save()
    invoice_record(invoice, "invoice.payment_failed")
    subscription_payment_result(invoice=invoice, succeeded=False, final=dunning.retries_exhausted(invoice))
    return invoice
