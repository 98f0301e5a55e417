"""Taking back a subscription change whose payment failed under ``payment_behavior=error_if_incomplete``.

Stripe answers such a request with a 402 and keeps nothing of it. Billfold must commit the
invoice and the payment attempt before it asks the processor (so a crash never charges twice),
so when the card is declined it removes, in one transaction, everything the request wrote: the
subscription (or its changes), its new items, invoices, invoice items, discounts (giving the
coupon redemptions back), the PaymentIntent with its attempts and failed charges, the
customer's balance and invoice number, and the events about all of them. No money moved, so
nothing of it has to stay on record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import models, transaction
from django.db.models import F, Max

from billfold.billing.models import (
    Coupon,
    Discount,
    Invoice,
    InvoiceItem,
    PromotionCode,
    Subscription,
    SubscriptionItem,
)
from billfold.customers.models import Customer
from billfold.events.models import Event
from billfold.payments.models import Charge, PaymentAttempt, PaymentIntent

_MARKED: tuple[type[models.Model], ...] = (Invoice, InvoiceItem, Discount, PaymentIntent, SubscriptionItem)


def _fields(obj: models.Model) -> dict[str, Any]:
    return {f.attname: getattr(obj, f.attname) for f in type(obj)._meta.concrete_fields if not f.primary_key}


def _mark(model: type[models.Model]) -> int:
    value = model._default_manager.aggregate(top=Max("pk"))["top"]
    return int(value or 0)


@dataclass
class Checkpoint:
    """What existed before a request: the highest row id per table, and the rows it may change."""

    customer_pk: int
    customer_state: dict[str, Any]
    marks: dict[str, int]
    subscription_fields: dict[str, Any] | None = None
    subscription_pk: int | None = None
    item_fields: dict[int, dict[str, Any]] = field(default_factory=dict)
    # The pks of the events the request writes (``events_collected``): only those are taken back,
    # never what other requests wrote about the same customer meanwhile.
    events: list[int] = field(default_factory=list)


def checkpoint(*, customer: Customer, events: list[int], subscription: Subscription | None = None) -> Checkpoint:
    """Call inside the request's first transaction, before it writes anything; ``events`` is the list
    ``events_collected`` fills for the request."""
    point = Checkpoint(
        events=events,
        customer_pk=customer.pk,
        customer_state={
            "balance": customer.balance,
            "currency": customer.currency,
            "next_invoice_sequence": customer.next_invoice_sequence,
        },
        marks={model.__name__: _mark(model) for model in _MARKED},
    )
    if subscription is not None:
        point.subscription_pk = subscription.pk
        point.subscription_fields = _fields(subscription)
        point.item_fields = {item.pk: _fields(item) for item in subscription.items.all()}
    return point


def _discounts_give_back(discounts: models.QuerySet[Discount]) -> None:
    for discount in discounts:
        Coupon.objects.filter(pk=discount.coupon_id, times_redeemed__gt=0).update(
            times_redeemed=F("times_redeemed") - 1
        )
        if discount.promotion_code_id is not None:
            PromotionCode.objects.filter(pk=discount.promotion_code_id, times_redeemed__gt=0).update(
                times_redeemed=F("times_redeemed") - 1
            )
    discounts.delete()


@transaction.atomic
def undo(point: Checkpoint, *, subscription_id: str, livemode: bool) -> None:
    """Remove what was written since ``point`` for the subscription ``subscription_id``."""
    marks = point.marks
    invoices = Invoice.objects.filter(pk__gt=marks["Invoice"], livemode=livemode, subscription_id=subscription_id)
    invoice_ids = list(invoices.values_list("public_id", flat=True))
    numbers_taken = invoices.filter(number__isnull=False).count()
    payment_intents = PaymentIntent.objects.filter(pk__gt=marks["PaymentIntent"], invoice_id__in=invoice_ids)
    intent_ids = list(payment_intents.values_list("public_id", flat=True))
    charges = Charge.objects.filter(payment_intent__in=payment_intents)
    charge_ids = list(charges.values_list("public_id", flat=True))
    new_items = InvoiceItem.objects.filter(
        pk__gt=marks["InvoiceItem"], livemode=livemode, subscription_id=subscription_id
    )
    item_ids = list(new_items.values_list("public_id", flat=True))

    PaymentAttempt.objects.filter(payment_intent__in=payment_intents).delete()
    payment_intents.update(latest_charge=None)
    charges.delete()
    invoices.delete()
    payment_intents.delete()
    new_items.delete()
    new_discounts = Discount.objects.filter(
        pk__gt=marks["Discount"], livemode=livemode, subscription_id=subscription_id
    )
    discount_ids = list(new_discounts.values_list("public_id", flat=True))
    _discounts_give_back(new_discounts)

    customer = Customer.objects.select_for_update().get(pk=point.customer_pk)
    state = point.customer_state
    customer.balance = state["balance"]
    customer.currency = state["currency"]
    # The number goes back only if no other invoice took one since: numbering never has gaps or repeats.
    if customer.next_invoice_sequence == state["next_invoice_sequence"] + numbers_taken:
        customer.next_invoice_sequence = state["next_invoice_sequence"]
    customer.save(update_fields=["balance", "currency", "next_invoice_sequence"])

    if point.subscription_fields is None or point.subscription_pk is None:
        Subscription.objects.filter(livemode=livemode, public_id=subscription_id).delete()
    else:
        Subscription.objects.filter(pk=point.subscription_pk).update(**point.subscription_fields)
        SubscriptionItem.objects.filter(
            subscription_id=point.subscription_pk, pk__gt=marks["SubscriptionItem"]
        ).delete()
        for pk, values in point.item_fields.items():
            SubscriptionItem.objects.filter(pk=pk).update(**values)

    touched = [subscription_id, customer.public_id, *invoice_ids, *intent_ids, *charge_ids, *item_ids, *discount_ids]
    Event.objects.filter(pk__in=point.events, livemode=livemode, object_id__in=touched).delete()
