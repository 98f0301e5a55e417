"""Turning a request's ``discounts`` entries into Discount rows, for invoices, items and subscriptions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from billfold.billing import coupons
from billfold.billing.models import Discount, Invoice
from billfold.core.errors import InvalidParam, NotFound
from billfold.customers.models import Customer
from billfold.events.rendering import render_object
from billfold.events.services import changed_attributes, event_record

MAX_DISCOUNTS = 20


def _first_time(customer: Customer) -> bool:
    return not Invoice.objects.filter(customer=customer, status="paid", amount_paid__gt=0).exists()


def discounts_redeem(
    *,
    customer: Customer,
    currency: str,
    amount: int,
    entries: Sequence[Mapping[str, str]],
    param: str,
    at: dt.datetime,
    subscription_id: str | None = None,
    invoice_id: str | None = None,
    invoice_item_id: str | None = None,
) -> list[str]:
    """Redeem ``[{"coupon"} | {"discount"} | {"promotion_code"}]`` into Discount rows; their ids in order.

    An existing discount (``{"discount": "di_..."}``) must be the customer's. ``amount`` is the
    purchase before discounts, for promotion codes with a minimum amount; ``at`` is when the
    discounts start (the customer's time). New discounts are tied to the given subscription,
    invoice or invoice item.
    """
    if len(entries) > MAX_DISCOUNTS:
        raise InvalidParam(f"At most {MAX_DISCOUNTS} discounts can apply; you gave {len(entries)}.", param=param)
    livemode = customer.livemode
    ids: list[str] = []
    for index, entry in enumerate(entries):
        where = f"{param}[{index}]"
        given = [key for key in ("coupon", "discount", "promotion_code") if entry.get(key)]
        if len(given) != 1:
            raise InvalidParam(
                f"Each entry of {param} needs exactly one of coupon, discount or promotion_code.", param=where
            )
        kind = given[0]
        value = entry[kind]
        if kind == "discount":
            existing = Discount.objects.filter(livemode=livemode, public_id=value).first()
            if existing is None or existing.customer_id != customer.pk:
                raise NotFound("discount", value, param=f"{where}[discount]")
            discount_id = existing.public_id
        else:
            if kind == "coupon":
                coupon = coupons.coupon_get(public_id=value, livemode=livemode, param=f"{where}[coupon]")
                coupons.coupon_redeemable_check(coupon=coupon, currency=currency, at=at, param=f"{where}[coupon]")
                code = None
            else:
                coupon = None
                code = coupons.promotion_code_get(public_id=value, livemode=livemode, param=f"{where}[promotion_code]")
                coupons.promotion_code_check(
                    code=code,
                    customer=customer,
                    amount=amount,
                    currency=currency,
                    first_time=_first_time(customer),
                    param=f"{where}[promotion_code]",
                )
            discount_id = coupons.discount_create(
                coupon=coupon,
                promotion_code=code,
                customer=customer,
                start=at,
                subscription_id=subscription_id,
                invoice_id=invoice_id,
                invoice_item_id=invoice_item_id,
            ).public_id
        if discount_id in ids:
            raise InvalidParam(f"The same discount cannot apply twice ({value}).", param=where)
        ids.append(discount_id)
    return ids


def discount_events_record(*, livemode: bool, before: Sequence[str], after: Sequence[str], at: dt.datetime) -> None:
    """The ``customer.discount.*`` events for a subscription's (or a subscription item's) discounts
    going from ``before`` to ``after`` (public ids), in the caller's transaction, as Stripe writes
    them: ``created`` for each discount applied, ``deleted`` for each removed (ended, used up, or
    replaced), and ``updated`` when one discount is switched for another (the new discount, with
    the old one's values in ``previous_attributes``). The object is the discount as the API shows it.
    """
    added = [d for d in after if d not in before]
    removed = [d for d in before if d not in after]
    if not added and not removed:
        return
    rows = {
        d.public_id: d
        for d in Discount.objects.select_related("coupon", "customer", "promotion_code").filter(
            livemode=livemode, public_id__in=added + removed
        )
    }
    if len(added) == 1 and len(removed) == 1 and added[0] in rows and removed[0] in rows:
        new, old = rows[added[0]], rows[removed[0]]
        rendered = render_object(new)
        event_record(
            type="customer.discount.updated",
            obj=new,
            livemode=livemode,
            rendered=rendered,
            previous_attributes=changed_attributes(render_object(old), rendered),
            created=at,
        )
        return
    for public_id in removed:
        if public_id in rows:
            event_record(type="customer.discount.deleted", obj=rows[public_id], livemode=livemode, created=at)
    for public_id in added:
        if public_id in rows:
            event_record(type="customer.discount.created", obj=rows[public_id], livemode=livemode, created=at)
