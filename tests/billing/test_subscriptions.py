"""Subscription services: creation, the first invoice, prorations, anchors, coupons and taxes."""

from __future__ import annotations

import datetime as dt

import pytest

from billfold.billing.coupons import PromotionCodeRefused, promotion_code_create
from billfold.billing.invoices.items import invoiceitem_create
from billfold.billing.models import Coupon, Invoice, InvoiceItem, PromotionCode
from billfold.billing.tax_rates import tax_rate_update
from billfold.core.clock import frozen_at
from billfold.core.errors import InvalidParam
from billfold.core.periods import BillingCycleAnchorConfig
from billfold.events.models import Event
from billfold.payments.models import Charge
from tests.billing.subscription_factories import (
    DAY,
    T0,
    advance,
    at,
    buyer,
    coupon,
    invoices_of,
    item_of,
    lines,
    pending,
    percent_off,
    recurring,
    snapshot,
    subscribe,
    tax_rate,
    types,
    update,
)

pytestmark = pytest.mark.django_db(transaction=True)
HALF = T0 + 15 * DAY  # exactly half of April's 30-day period


# ---- Creation -----------------------------------------------------------------------------------


def test_monthly_subscription_is_charged_at_creation_and_renewed() -> None:
    subscription = subscribe(buyer(), recurring(1000))

    assert subscription.status == "active"
    assert subscription.public_id.startswith("sub_")
    assert (subscription.billing_cycle_anchor, subscription.start_date, subscription.currency) == (T0, T0, "usd")
    item = item_of(subscription)
    assert (item.current_period_start, item.current_period_end, item.quantity) == (T0, at(2030, 5, 1), 1)
    first = subscription.latest_invoice
    assert first is not None
    assert (first.billing_reason, first.status, first.amount_paid, first.subscription_id) == (
        "subscription_create",
        "paid",
        1000,
        subscription.public_id,
    )
    assert lines(first) == [(1000, "1 \u00d7 Pro (at $10.00 / month)")]
    assert [(line.period_start, line.period_end) for line in first.lines.all()] == [(T0, at(2030, 5, 1))]
    # invoice.upcoming goes out 7 days (BILLFOLD_UPCOMING_RENEWAL_DAYS) before the renewal.
    assert subscription.next_action_at == at(2030, 4, 24)
    assert types(subscription.public_id) == ["customer.subscription.created", "customer.subscription.updated"]

    renewed = advance(subscription, at(2030, 5, 1))
    cycle = invoices_of(renewed)[-1]
    assert (cycle.billing_reason, cycle.status, cycle.total) == ("subscription_cycle", "paid", 1000)
    assert (cycle.period_start, cycle.period_end) == (T0, at(2030, 5, 1))
    assert (item_of(renewed).current_period_start, item_of(renewed).current_period_end) == (
        at(2030, 5, 1),
        at(2030, 6, 1),
    )
    assert renewed.next_action_at == at(2030, 5, 25)


def test_yearly_subscription_renews_a_year_later() -> None:
    subscription = subscribe(buyer(), recurring(12000, interval="year"))
    assert item_of(subscription).current_period_end == at(2031, 4, 1)
    assert advance(subscription, at(2031, 3, 31)).latest_invoice == subscription.latest_invoice
    renewed = advance(subscription, at(2031, 4, 1))
    assert [(i.billing_reason, i.total) for i in invoices_of(renewed)] == [
        ("subscription_create", 12000),
        ("subscription_cycle", 12000),
    ]
    assert lines(invoices_of(renewed)[-1]) == [(12000, "1 \u00d7 Pro (at $120.00 / year)")]


def test_several_items_with_quantities_share_one_invoice() -> None:
    seats, support = recurring(1500), recurring(500)
    subscription = subscribe(buyer(), items=[{"price": seats, "quantity": 3}, {"price": support}])
    assert lines(subscription.latest_invoice) == [  # type: ignore[arg-type]
        (4500, "3 \u00d7 Pro (at $15.00 / month)"),
        (500, "1 \u00d7 Pro (at $5.00 / month)"),
    ]
    assert subscription.latest_invoice.total == 5000  # type: ignore[union-attr]


def test_month_end_anchor_follows_the_last_day_across_a_leap_year() -> None:
    start = at(2028, 1, 31, 12)
    subscription = subscribe(buyer(), recurring(1000), when=start)
    ends = []
    for _ in range(4):
        end = item_of(subscription).current_period_end
        ends.append(end)
        subscription = advance(subscription, end)
    assert ends == [at(2028, 2, 29, 12), at(2028, 3, 31, 12), at(2028, 4, 30, 12), at(2028, 5, 31, 12)]
    assert [i.total for i in invoices_of(subscription)] == [1000] * 5


def test_yearly_leap_day_anchor_bills_on_the_28th_then_the_29th_again() -> None:
    subscription = subscribe(buyer(), recurring(10000, interval="year"), when=at(2028, 2, 29))
    ends = []
    for _ in range(4):
        end = item_of(subscription).current_period_end
        ends.append(end)
        subscription = advance(subscription, end)
    assert ends == [at(2029, 2, 28), at(2030, 2, 28), at(2031, 2, 28), at(2032, 2, 29)]


def test_future_anchor_prorates_the_first_period() -> None:
    subscription = subscribe(buyer(), recurring(1000), when=HALF, billing_cycle_anchor=at(2030, 5, 1))
    assert subscription.status == "active"
    assert lines(subscription.latest_invoice) == [(500, "Remaining time on Pro after 16 Apr 2030")]  # type: ignore[arg-type]
    assert (item_of(subscription).current_period_start, item_of(subscription).current_period_end) == (
        HALF,
        at(2030, 5, 1),
    )
    renewed = advance(subscription, at(2030, 5, 1))
    assert lines(invoices_of(renewed)[-1]) == [(1000, "1 \u00d7 Pro (at $10.00 / month)")]


def test_future_anchor_without_proration_is_free_until_the_anchor() -> None:
    subscription = subscribe(
        buyer(), recurring(1000), when=HALF, billing_cycle_anchor=at(2030, 5, 1), proration_behavior="none"
    )
    assert (subscription.status, subscription.latest_invoice) == ("active", None)
    assert Invoice.objects.count() == 0
    renewed = advance(subscription, at(2030, 5, 1))
    assert [i.total for i in invoices_of(renewed)] == [1000]


def test_anchor_config_on_the_31st_clamps_and_keeps_the_day() -> None:
    config = BillingCycleAnchorConfig(day_of_month=31)
    subscription = subscribe(buyer(), recurring(1000), when=at(2030, 2, 10), billing_cycle_anchor_config=config)
    assert subscription.billing_cycle_anchor == at(2030, 2, 28)
    assert subscription.billing_cycle_anchor_day == 31
    # 18 of the 28 days from Jan 31 to Feb 28: 1000 x 18/28 = 642.86.
    assert subscription.latest_invoice.total == 643  # type: ignore[union-attr]
    renewed = advance(subscription, at(2030, 2, 28))
    assert item_of(renewed).current_period_end == at(2030, 3, 31)
    assert item_of(advance(renewed, at(2030, 3, 31))).current_period_end == at(2030, 4, 30)


# ---- Prorations -------------------------------------------------------------------------------


def test_upgrade_at_half_period_credits_five_and_charges_ten_dollars() -> None:
    ten = recurring(1000)
    twenty = recurring(2000, product=ten.product.public_id)
    subscription = subscribe(buyer(), ten)
    item = item_of(subscription)

    updated = update(subscription, HALF, items=[{"id": item.public_id, "price": twenty}])

    assert pending(updated) == [
        (-500, "Unused time on Pro after 16 Apr 2030"),
        (1000, "Remaining time on Pro after 16 Apr 2030"),
    ]
    credit, debit = InvoiceItem.objects.order_by("pk")
    assert (credit.period_start, credit.period_end, credit.proration, credit.discountable) == (
        HALF,
        at(2030, 5, 1),
        True,
        False,
    )
    assert (debit.price, debit.subscription_item_id) == (twenty, item.public_id)
    assert len(invoices_of(updated)) == 1  # same interval: nothing invoiced until the period ends
    renewed = advance(updated, at(2030, 5, 1))
    assert lines(invoices_of(renewed)[-1]) == [
        (-500, "Unused time on Pro after 16 Apr 2030"),
        (1000, "Remaining time on Pro after 16 Apr 2030"),
        (2000, "1 \u00d7 Pro (at $20.00 / month)"),
    ]
    assert invoices_of(renewed)[-1].total == 2500


def test_always_invoice_bills_the_prorations_at_once() -> None:
    ten = recurring(1000)
    twenty = recurring(2000, product=ten.product.public_id)
    subscription = subscribe(buyer(), ten)
    updated = update(
        subscription,
        HALF,
        items=[{"id": item_of(subscription).public_id, "price": twenty}],
        proration_behavior="always_invoice",
    )
    invoice = updated.latest_invoice
    assert invoice is not None
    assert (invoice.billing_reason, invoice.status, invoice.total) == ("subscription_update", "paid", 500)
    assert pending(updated) == []
    assert Charge.objects.filter(status="succeeded").count() == 2


def test_no_proration_changes_the_price_for_the_next_period_only() -> None:
    ten = recurring(1000)
    twenty = recurring(2000, product=ten.product.public_id)
    subscription = subscribe(buyer(), ten)
    updated = update(
        subscription, HALF, items=[{"id": item_of(subscription).public_id, "price": twenty}], proration_behavior="none"
    )
    assert pending(updated) == []
    assert invoices_of(advance(updated, at(2030, 5, 1)))[-1].total == 2000


def test_quantity_change_prorates_each_side() -> None:
    subscription = subscribe(buyer(), recurring(1000))
    updated = update(subscription, HALF, items=[{"id": item_of(subscription).public_id, "quantity": 3}])
    assert pending(updated) == [
        (-500, "Unused time on Pro after 16 Apr 2030"),
        (1500, "Remaining time on 3 \u00d7 Pro after 16 Apr 2030"),
    ]


def test_proration_date_prices_the_change_at_that_moment() -> None:
    subscription = subscribe(buyer(), recurring(1000))
    updated = update(
        subscription,
        HALF + 3 * DAY,
        items=[{"id": item_of(subscription).public_id, "quantity": 2}],
        proration_date=HALF,
    )
    assert [amount for amount, _ in pending(updated)] == [-500, 1000]


def test_interval_change_restarts_the_period_and_invoices_now() -> None:
    monthly = recurring(1000)
    yearly = recurring(10000, interval="year", product=monthly.product.public_id)
    subscription = subscribe(buyer(), monthly)
    updated = update(subscription, HALF, items=[{"id": item_of(subscription).public_id, "price": yearly}])
    invoice = updated.latest_invoice
    assert invoice is not None
    assert lines(invoice) == [
        (-500, "Unused time on Pro after 16 Apr 2030"),
        (10000, "1 \u00d7 Pro (at $100.00 / year)"),
    ]
    assert (invoice.status, invoice.total, invoice.billing_reason) == ("paid", 9500, "subscription_update")
    assert updated.billing_cycle_anchor == HALF
    assert item_of(updated).current_period_end == at(2031, 4, 16)


def test_billing_cycle_anchor_now_credits_and_bills_a_new_period() -> None:
    subscription = subscribe(buyer(), recurring(1000))
    updated = update(subscription, HALF, billing_cycle_anchor="now")
    assert lines(updated.latest_invoice) == [  # type: ignore[arg-type]
        (-500, "Unused time on Pro after 16 Apr 2030"),
        (1000, "1 \u00d7 Pro (at $10.00 / month)"),
    ]
    assert (updated.billing_cycle_anchor, item_of(updated).current_period_end) == (HALF, at(2030, 5, 16))


def test_adding_and_deleting_items_prorates_them() -> None:
    base, extra = recurring(1000), recurring(600)
    subscription = subscribe(buyer(), base)
    updated = update(subscription, HALF, items=[{"price": extra}])
    assert pending(updated) == [(300, "Remaining time on Pro after 16 Apr 2030")]
    added = updated.items.get(price=extra)
    removed = update(updated, HALF + 5 * DAY, items=[{"id": added.public_id, "deleted": True}])
    assert pending(removed)[-1] == (-200, "Unused time on Pro after 21 Apr 2030")
    assert list(removed.items.filter(deleted=False)) == [item_of(subscription)]


# ---- Coupons and taxes ----------------------------------------------------------------------------


def test_once_coupon_discounts_the_first_invoice_only() -> None:
    subscription = subscribe(buyer(), recurring(1000), discounts=[{"coupon": percent_off("50", "once").public_id}])
    assert subscription.latest_invoice.total == 500  # type: ignore[union-attr]
    assert subscription.discounts == []
    assert invoices_of(advance(subscription, at(2030, 5, 1)))[-1].total == 1000


def test_repeating_coupon_lasts_its_months() -> None:
    subscription = subscribe(
        buyer(), recurring(1000), discounts=[{"coupon": percent_off("25", "repeating", months=2).public_id}]
    )
    for moment in (at(2030, 5, 1), at(2030, 6, 1), at(2030, 7, 1)):
        subscription = advance(subscription, moment)
    assert [i.total for i in invoices_of(subscription)] == [750, 750, 1000, 1000]
    assert subscription.discounts == []


def test_forever_coupon_discounts_every_invoice() -> None:
    forever = percent_off("10", "forever")
    subscription = subscribe(buyer(), recurring(1000), discounts=[{"coupon": forever.public_id}])
    for moment in (at(2030, 5, 1), at(2030, 6, 1)):
        subscription = advance(subscription, moment)
    assert [i.total for i in invoices_of(subscription)] == [900, 900, 900]
    assert len(subscription.discounts) == 1


def test_coupon_on_a_trial_waits_for_the_first_paid_invoice() -> None:
    subscription = subscribe(
        buyer(), recurring(1000), trial_period_days=7, discounts=[{"coupon": percent_off("50", "once").public_id}]
    )
    assert subscription.latest_invoice.total == 0  # type: ignore[union-attr]
    assert len(subscription.discounts) == 1
    ended = advance(subscription, T0 + 7 * DAY)
    assert (invoices_of(ended)[-1].total, ended.discounts) == (500, [])


def test_exclusive_default_tax_rate_is_added_on_top() -> None:
    vat = tax_rate("10", inclusive=False)
    subscription = subscribe(buyer(), recurring(1000), default_tax_rates=[vat.public_id])
    invoice = subscription.latest_invoice
    assert invoice is not None
    assert (invoice.subtotal, invoice.total_excluding_tax, invoice.total) == (1000, 1000, 1100)
    assert invoice.total_taxes[0]["amount"] == 100


def test_inclusive_item_tax_rate_is_carved_out() -> None:
    vat = tax_rate("20", inclusive=True)
    subscription = subscribe(buyer(), items=[{"price": recurring(1000), "tax_rates": [vat.public_id]}])
    invoice = subscription.latest_invoice
    assert invoice is not None
    assert (invoice.total, invoice.total_excluding_tax) == (1000, 833)
    assert invoice.total_taxes[0]["amount"] == 167
    assert item_of(subscription).tax_rates == [vat.public_id]


def test_archived_tax_rates_keep_applying_to_the_subscriptions_that_carry_them() -> None:
    """As on Stripe: archiving a rate stops it being applied to anything new, not to renewals."""
    vat = tax_rate("10", inclusive=False)
    sales = tax_rate("5", inclusive=False)
    subscription = subscribe(
        buyer(), items=[{"price": recurring(1000), "tax_rates": [sales.public_id]}], default_tax_rates=[vat.public_id]
    )
    with frozen_at(T0):
        tax_rate_update(tax_rate=vat, values={"active": False})
        tax_rate_update(tax_rate=sales, values={"active": False})
    renewed = advance(subscription, at(2030, 5, 1))
    invoice = invoices_of(renewed)[-1]
    assert (invoice.billing_reason, invoice.subtotal, invoice.total) == ("subscription_cycle", 1000, 1050)
    assert renewed.status == "active"
    # Nothing new takes them.
    with pytest.raises(InvalidParam, match="archived"):
        subscribe(buyer(), recurring(1000), default_tax_rates=[vat.public_id])


def test_the_next_renewal_bills_the_customers_items_of_no_subscription() -> None:
    """As on Stripe: an invoice item naming no subscription goes on the customer's next scheduled
    invoice; one naming another subscription waits for that one's."""
    customer = buyer()
    monthly = subscribe(customer, recurring(1000))
    other = subscribe(customer, recurring(500), when=T0 + 10 * DAY)
    with frozen_at(T0 + DAY):
        setup = invoiceitem_create(customer=customer, livemode=False, amount=250, currency="usd", description="Setup")
        later = invoiceitem_create(
            customer=customer,
            livemode=False,
            amount=90,
            currency="usd",
            description="Extra",
            subscription_id=other.public_id,
        )
    renewed = advance(monthly, at(2030, 5, 1))
    invoice = invoices_of(renewed)[-1]
    assert (invoice.billing_reason, invoice.total) == ("subscription_cycle", 1250)
    setup.refresh_from_db()
    later.refresh_from_db()
    assert (setup.invoice_id, later.invoice_id) == (invoice.pk, None)


def test_renewal_events_carry_the_period_change() -> None:
    subscription = subscribe(buyer(), recurring(1000))
    advance(subscription, at(2030, 5, 1))
    renewal = Event.objects.filter(object_id=subscription.public_id, type="customer.subscription.updated").last()
    assert renewal is not None
    previous_items = renewal.data["previous_attributes"]["items"]["data"][0]
    assert previous_items["current_period_end"] == int(at(2030, 5, 1).timestamp())
    assert renewal.created == at(2030, 5, 1)
    assert isinstance(renewal.data["object"]["latest_invoice"], str)
    assert dt.datetime.fromtimestamp(renewal.data["object"]["items"]["data"][0]["current_period_end"], dt.UTC) == at(
        2030, 6, 1
    )


def test_promotion_code_redeems_its_coupon_and_checks_its_minimum() -> None:
    five_off = coupon(amount_off=500, currency="usd", duration="forever")
    with frozen_at(T0 - DAY):
        code = promotion_code_create(
            livemode=False, coupon=five_off, code="WELCOME", minimum_amount=2000, minimum_amount_currency="usd"
        )
    customer, price = buyer(), recurring(1000)
    before = snapshot()
    with pytest.raises(PromotionCodeRefused):
        subscribe(customer, price, discounts=[{"promotion_code": code.public_id}])
    assert snapshot() == before
    subscription = subscribe(
        customer, items=[{"price": price, "quantity": 2}], discounts=[{"promotion_code": code.public_id}]
    )
    assert subscription.latest_invoice.total == 1500  # type: ignore[union-attr]
    assert (
        Coupon.objects.get(pk=five_off.pk).times_redeemed,
        PromotionCode.objects.get(pk=code.pk).times_redeemed,
    ) == (
        1,
        1,
    )


def test_discount_can_be_replaced_and_removed_by_update() -> None:
    subscription = subscribe(buyer(), recurring(1000))
    discounted = update(subscription, T0 + DAY, discounts=[{"coupon": percent_off("20", "forever").public_id}])
    assert len(discounted.discounts) == 1
    assert invoices_of(advance(discounted, at(2030, 5, 1)))[-1].total == 800
    cleared = update(discounted, at(2030, 5, 2), discounts=None)
    assert cleared.discounts == []
    assert invoices_of(advance(cleared, at(2030, 6, 1)))[-1].total == 1000


def test_item_discount_applies_to_that_item_only() -> None:
    ten_off = percent_off("10", "forever")
    base, extra = recurring(1000), recurring(500)
    subscription = subscribe(
        buyer(), items=[{"price": base, "discounts": [{"coupon": ten_off.public_id}]}, {"price": extra}]
    )
    invoice = subscription.latest_invoice
    assert invoice is not None
    assert [
        line.discount_amounts[0]["amount"] if line.discount_amounts else 0 for line in invoice.lines.order_by("pk")
    ] == [
        100,
        0,
    ]
    assert invoice.total == 1400
