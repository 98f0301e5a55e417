"""Typed helpers shared by the subscription service tests: customers, prices, moments, snapshots."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from billfold.billing.coupons import coupon_create
from billfold.billing.models import (
    Coupon,
    Discount,
    Invoice,
    InvoiceItem,
    InvoiceLineItem,
    Subscription,
    SubscriptionItem,
    TaxRate,
)
from billfold.billing.subscriptions import services
from billfold.billing.subscriptions.advance import subscription_advance
from billfold.billing.subscriptions.creation import NewSubscription
from billfold.billing.tax_rates import tax_rate_create
from billfold.catalog.models import Price
from billfold.catalog.services import price_create
from billfold.core.clock import frozen_at
from billfold.customers.models import Customer
from billfold.customers.services import customer_create
from billfold.events.models import Event
from billfold.payments.models import Charge, PaymentIntent

# April 2030 has 30 days, so half of its period is exactly 15 days.
T0 = dt.datetime(2030, 4, 1, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


def at(year: int, month: int, day: int, hour: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, tzinfo=dt.UTC)


def buyer(card: str | None = "pm_card_visa", **values: Any) -> Customer:
    """A customer, with ``card`` (a magic test id) attached as their default payment method."""
    if card is not None:
        values.update(payment_method=card, invoice_settings={"default_payment_method": card})
    with frozen_at(T0 - DAY):
        return customer_create(livemode=False, values={"email": "jenny@example.com", **values})


def recurring(
    amount: int, *, interval: str = "month", count: int = 1, currency: str = "usd", product: str | None = None
) -> Price:
    values: dict[str, Any] = {
        "currency": currency,
        "unit_amount": amount,
        "recurring": {"interval": interval, "interval_count": count},
    }
    if product is not None:
        values["product"] = product
    else:
        values["product_data"] = {"name": "Pro"}
    with frozen_at(T0 - DAY):
        return price_create(livemode=False, values=values)


def subscribe(customer: Customer, *prices: Price, when: dt.datetime = T0, **spec: Any) -> Subscription:
    items = spec.pop("items", None) or [{"price": price} for price in prices]
    with frozen_at(when):
        return services.subscription_create(
            customer=customer, livemode=False, spec=NewSubscription(items=items, **spec)
        )


def update(subscription: Subscription, when: dt.datetime, **values: Any) -> Subscription:
    with frozen_at(when):
        return services.subscription_update(subscription=subscription, values=values)


def advance(subscription: Subscription, when: dt.datetime) -> Subscription:
    with frozen_at(when):
        subscription_advance(subscription_id=subscription.pk, now=when)
    return Subscription.objects.select_related("customer", "latest_invoice").get(pk=subscription.pk)


def item_of(subscription: Subscription) -> SubscriptionItem:
    return subscription.items.get(deleted=False)


def lines(invoice: Invoice) -> list[tuple[int, str | None]]:
    return [(line.amount, line.description) for line in invoice.lines.order_by("pk")]


def invoices_of(subscription: Subscription) -> list[Invoice]:
    return list(Invoice.objects.filter(subscription_id=subscription.public_id).order_by("pk"))


def pending(subscription: Subscription) -> list[tuple[int, str | None]]:
    items = InvoiceItem.objects.filter(subscription_id=subscription.public_id, invoice__isnull=True, deleted=False)
    return [(item.amount, item.description) for item in items.order_by("pk")]


def types(object_id: str) -> list[str]:
    return list(Event.objects.filter(object_id=object_id).order_by("pk").values_list("type", flat=True))


def coupon(**values: Any) -> Coupon:
    with frozen_at(T0 - DAY):
        return coupon_create(livemode=False, **values)


def percent_off(percent: str, duration: str, months: int | None = None) -> Coupon:
    return coupon(percent_off=Decimal(percent), duration=duration, duration_in_months=months)


def tax_rate(percentage: str, *, inclusive: bool) -> TaxRate:
    return tax_rate_create(livemode=False, display_name="VAT", percentage=Decimal(percentage), inclusive=inclusive)


def snapshot() -> tuple[Any, ...]:
    """Everything a subscription operation could write."""
    return (
        list(Subscription.objects.order_by("pk").values()),
        list(SubscriptionItem.objects.order_by("pk").values()),
        list(Invoice.objects.order_by("pk").values("public_id", "status", "total")),
        InvoiceLineItem.objects.count(),
        list(InvoiceItem.objects.order_by("pk").values("public_id", "invoice_id", "deleted")),
        Discount.objects.count(),
        list(Coupon.objects.order_by("pk").values_list("times_redeemed", flat=True)),
        PaymentIntent.objects.count(),
        Charge.objects.count(),
        list(Customer.objects.order_by("pk").values("balance", "currency", "next_invoice_sequence")),
        Event.objects.count(),
    )
