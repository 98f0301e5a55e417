"""The Stripe JSON of a discount (a coupon applied to a customer, subscription or invoice)."""

from __future__ import annotations

from typing import Any

from billfold.api.representations.common import unix
from billfold.billing.models import Discount


def render_discount(discount: Discount) -> dict[str, Any]:
    customer = discount.customer
    promotion_code = discount.promotion_code
    return {
        "id": discount.public_id,
        "object": "discount",
        "checkout_session": None,
        "customer": customer.public_id if customer is not None else None,
        "customer_account": None,
        "end": unix(discount.end),
        "invoice": discount.invoice_id,
        "invoice_item": discount.invoice_item_id,
        "promotion_code": promotion_code.public_id if promotion_code is not None else None,
        "source": {"coupon": discount.coupon.public_id, "type": "coupon"},
        "start": unix(discount.start),
        "subscription": discount.subscription_id,
        "subscription_item": discount.subscription_item_id,
    }


def load_discounts(ids: list[str], livemode: bool) -> dict[str, dict[str, Any]]:
    discounts = Discount.objects.filter(public_id__in=ids, livemode=livemode).select_related(
        "coupon", "customer", "promotion_code"
    )
    return {d.public_id: render_discount(d) for d in discounts}
