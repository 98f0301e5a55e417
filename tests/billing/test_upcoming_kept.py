"""A subscription's next invoice kept for display (``upcoming_invoice_cached``): served again while
nothing it is made from changed, built again when something did, including the terms of a coupon
in another currency."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billfold.billing.coupons import coupon_create, coupon_update
from billfold.billing.models import Discount, Invoice, Subscription
from billfold.billing.subscriptions import services
from billfold.billing.subscriptions.common import live_items
from billfold.billing.subscriptions.upcoming import customer_fingerprint, upcoming_invoice_cached
from billfold.core.clock import frozen_at
from tests.billing.subscription_factories import DAY, T0, buyer, recurring, subscribe

pytestmark = pytest.mark.django_db


def render(invoice: Invoice) -> dict[str, Any]:
    return {"id": f"in_{invoice.pk}", "amount_due": invoice.amount_due, "lines": {"data": []}}


def next_amount(subscription: Subscription) -> int | None:
    subscription = Subscription.objects.select_related("customer", "schedule").get(pk=subscription.pk)
    discounts = list(
        Discount.objects.select_related("coupon").filter(livemode=False, public_id__in=subscription.discounts or [])
    )
    with frozen_at(T0 + DAY):
        rendered = upcoming_invoice_cached(
            subscription,
            render=render,
            purpose="test",
            customer_state=customer_fingerprint(subscription.customer),
            items=live_items(subscription),
            discounts=discounts,
        )
    return None if rendered is None else int(rendered["amount_due"])


def test_kept_until_something_it_is_made_from_changes() -> None:
    euro = recurring(2000, currency="eur")
    coupon = coupon_create(
        livemode=False, amount_off=500, currency="usd", currency_options={"eur": 300}, duration="forever"
    )
    customer = buyer()
    subscription = subscribe(customer, euro, discounts=[{"coupon": coupon.public_id}])
    assert next_amount(subscription) == 1700
    with CaptureQueriesContext(connection) as queries:
        assert next_amount(subscription) == 1700
    # Only the reads of the fingerprint: no preview built (no write lock, no savepoint).
    assert not any("SAVEPOINT" in q["sql"] or "INSERT" in q["sql"] for q in queries.captured_queries)

    # A coupon's amount in another currency may change: the next invoice follows.
    with frozen_at(T0 + DAY):
        coupon_update(coupon=coupon, values={"currency_options": {"eur": 800}})
    assert next_amount(subscription) == 1200

    # Taking the discount off.
    with frozen_at(T0 + DAY):
        services.subscription_update(subscription=subscription, values={"discounts": []})
    assert next_amount(subscription) == 2000
