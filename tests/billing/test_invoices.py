"""Invoice services: totals (discounts, taxes, balance), numbering, transitions, payment and refusals."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection

from billfold.billing import invoices
from billfold.billing.coupons import coupon_create
from billfold.billing.invoices.common import InvoiceNotEditable, InvoiceStateError
from billfold.billing.models import Discount, Invoice, InvoiceItem, InvoiceLineItem, TaxRate
from billfold.billing.tax_rates import tax_rate_create
from billfold.catalog.models import Price
from billfold.catalog.services import price_create
from billfold.core.clock import frozen_at
from billfold.core.errors import DomainError, InvalidParam
from billfold.customers.models import Customer
from billfold.customers.services import customer_create, customer_delete
from billfold.events.models import Event
from billfold.payments.models import Charge, PaymentIntent

MOMENT = dt.datetime(2030, 3, 1, 9, 30, tzinfo=dt.UTC)


@pytest.fixture
def frozen() -> Iterator[None]:
    with frozen_at(MOMENT):
        yield


def customer(**values: Any) -> Customer:
    return customer_create(livemode=False, values={"email": "jenny@example.com", "name": "Jenny Rosen", **values})


def seat_price(unit_amount: int = 1000, currency: str = "usd") -> Price:
    return price_create(
        livemode=False,
        values={
            "product_data": {"name": "Seat", "unit_label": "seat"},
            "currency": currency,
            "unit_amount": unit_amount,
        },
    )


def rate(percentage: str, *, inclusive: bool, name: str = "VAT") -> TaxRate:
    return tax_rate_create(livemode=False, display_name=name, percentage=Decimal(percentage), inclusive=inclusive)


def item(buyer: Customer, **kwargs: Any) -> InvoiceItem:
    return invoices.invoiceitem_create(customer=buyer, livemode=False, **kwargs)


def draft(buyer: Customer, **kwargs: Any) -> Invoice:
    return invoices.invoice_create(customer=buyer, livemode=False, **kwargs)


def types(object_id: str) -> list[str]:
    return list(Event.objects.filter(object_id=object_id).order_by("pk").values_list("type", flat=True))


def snapshot() -> tuple[Any, ...]:
    """Everything an invoice operation could write."""
    return (
        list(Invoice.objects.order_by("pk").values()),
        list(InvoiceLineItem.objects.order_by("pk").values()),
        list(InvoiceItem.objects.order_by("pk").values()),
        list(Customer.objects.order_by("pk").values("balance", "next_invoice_sequence", "currency")),
        Discount.objects.count(),
        PaymentIntent.objects.count(),
        Charge.objects.count(),
        Event.objects.count(),
    )


# ---- Totals -----------------------------------------------------------------------------------


def test_percent_discount_exclusive_tax_and_credit_balance(db: None, frozen: None) -> None:
    buyer = customer(balance=-500)
    item(buyer, price=seat_price(), quantity=2)
    item(buyer, amount=500, currency="usd", description="Setup")
    coupon = coupon_create(livemode=False, name="Launch", percent_off=Decimal("10"))
    vat = rate("20", inclusive=False)
    invoice = draft(buyer, discounts=[{"coupon": coupon.public_id}], default_tax_rates=[vat.public_id])

    assert invoice.status == "draft"
    assert invoice.number is None
    lines = list(invoice.lines.order_by("pk"))
    assert [(line.amount, line.quantity, line.description) for line in lines] == [
        (2000, 2, "Seat"),
        (500, 1, "Setup"),
    ]
    discount_id = invoice.discounts[0]
    assert [line.discount_amounts for line in lines] == [
        [{"amount": 200, "discount": discount_id}],
        [{"amount": 50, "discount": discount_id}],
    ]
    assert [[t["amount"] for t in line.taxes] for line in lines] == [[360], [90]]
    assert (invoice.subtotal, invoice.subtotal_excluding_tax) == (2500, 2500)
    assert (invoice.total_excluding_tax, invoice.total, invoice.amount_due) == (2250, 2700, 2700)
    assert invoice.total_discount_amounts == [{"amount": 250, "discount": discount_id}]
    assert invoice.total_taxes == [
        {
            "amount": 450,
            "tax_behavior": "exclusive",
            "tax_rate_details": {"tax_rate": vat.public_id},
            "taxability_reason": "standard_rated",
            "taxable_amount": 2250,
            "type": "tax_rate_details",
        }
    ]

    invoices.invoice_finalize(invoice=invoice)
    opened = Invoice.objects.get(pk=invoice.pk)
    buyer.refresh_from_db()
    assert (opened.status, opened.number) == ("open", f"{buyer.invoice_prefix}-0001")
    assert (opened.starting_balance, opened.ending_balance, opened.amount_due) == (-500, 0, 2200)
    assert (buyer.balance, buyer.currency, buyer.next_invoice_sequence) == (0, "usd", 2)
    assert opened.finalized_at == MOMENT
    assert opened.customer_email == "jenny@example.com"
    balance_event = Event.objects.get(object_id=buyer.public_id, type="customer.updated")
    assert balance_event.data["previous_attributes"]["balance"] == -500


def test_fixed_amount_discount_is_shared_out_and_inclusive_tax_carved_out(db: None, frozen: None) -> None:
    buyer = customer()
    item(buyer, amount=3000, currency="usd")
    item(buyer, amount=1000, currency="usd")
    coupon = coupon_create(livemode=False, amount_off=800, currency="usd")
    vat = rate("20", inclusive=True)
    invoice = draft(buyer, discounts=[{"coupon": coupon.public_id}], default_tax_rates=[vat.public_id])

    lines = list(invoice.lines.order_by("pk"))
    assert [line.discount_amounts[0]["amount"] for line in lines] == [600, 200]
    assert [line.taxes[0]["amount"] for line in lines] == [400, 133]
    assert (invoice.subtotal, invoice.subtotal_excluding_tax) == (4000, 3333)
    assert (invoice.total, invoice.total_excluding_tax, invoice.amount_due) == (3200, 2667, 3200)
    assert invoice.total_taxes[0]["amount"] == 533
    assert invoice.total_taxes[0]["tax_behavior"] == "inclusive"
    assert invoice.total_taxes[0]["taxable_amount"] == 2667


def test_item_discount_applies_before_the_invoice_discount_and_item_rates_replace_defaults(
    db: None, frozen: None
) -> None:
    buyer = customer()
    half = coupon_create(livemode=False, percent_off=Decimal("50"))
    tenth = coupon_create(livemode=False, percent_off=Decimal("10"))
    reduced = rate("7", inclusive=False, name="Reduced VAT")
    standard = rate("19", inclusive=False)
    first = item(
        buyer, amount=1000, currency="usd", discounts=[{"coupon": half.public_id}], tax_rates=[reduced.public_id]
    )
    item(buyer, amount=1000, currency="usd")
    invoice = draft(
        buyer,
        pending_invoice_items_behavior="include",
        discounts=[{"coupon": tenth.public_id}],
        default_tax_rates=[standard.public_id],
    )
    item_discount = first.discounts[0]
    invoice_discount = invoice.discounts[0]
    lines = list(invoice.lines.order_by("pk"))
    assert lines[0].discount_amounts == [
        {"amount": 500, "discount": item_discount},
        {"amount": 50, "discount": invoice_discount},
    ]
    assert lines[1].discount_amounts == [{"amount": 100, "discount": invoice_discount}]
    # 7 % of 450 and 19 % of 900.
    assert [line.taxes[0]["amount"] for line in lines] == [32, 171]
    assert invoice.total == 2000 - 650 + 32 + 171
    assert Discount.objects.get(public_id=item_discount).invoice_item_id == first.public_id
    assert Discount.objects.get(public_id=invoice_discount).invoice_id == invoice.public_id


def test_credit_covering_the_total_pays_at_finalization(db: None, frozen: None) -> None:
    buyer = customer(balance=-5000)
    item(buyer, amount=2700, currency="usd")
    invoice = draft(buyer, pending_invoice_items_behavior="include")
    invoices.invoice_finalize(invoice=invoice)
    invoice.refresh_from_db()
    buyer.refresh_from_db()
    assert (invoice.status, invoice.amount_due, invoice.amount_paid, invoice.amount_remaining) == ("paid", 0, 0, 0)
    assert (invoice.starting_balance, invoice.ending_balance, buyer.balance) == (-5000, -2300, -2300)
    assert invoice.paid_at == MOMENT
    assert types(invoice.public_id) == [
        "invoice.created",
        "invoice.finalized",
        "invoice.paid",
        "invoice.payment_succeeded",
    ]


def test_a_debt_is_added_and_a_negative_total_becomes_credit(db: None, frozen: None) -> None:
    owing = customer(balance=300)
    item(owing, amount=1000, currency="usd")
    invoice = invoices.invoice_finalize(invoice=draft(owing, pending_invoice_items_behavior="include"))
    owing.refresh_from_db()
    assert (invoice.amount_due, invoice.ending_balance, owing.balance) == (1300, 0, 0)

    refunded = customer()
    item(refunded, amount=-800, currency="usd")
    credit = invoices.invoice_finalize(invoice=draft(refunded, pending_invoice_items_behavior="include"))
    refunded.refresh_from_db()
    assert (credit.total, credit.amount_due, credit.status, refunded.balance) == (-800, 0, "paid", -800)


def test_an_amount_too_small_to_charge_is_carried_to_the_balance(db: None, frozen: None) -> None:
    buyer = customer()
    item(buyer, amount=30, currency="usd")
    invoice = invoices.invoice_finalize(invoice=draft(buyer, pending_invoice_items_behavior="include"))
    buyer.refresh_from_db()
    assert (invoice.status, invoice.amount_due, invoice.ending_balance, buyer.balance) == ("paid", 0, 30, 30)


def test_tiered_and_decimal_prices(db: None, frozen: None) -> None:
    buyer = customer()
    graduated = price_create(
        livemode=False,
        values={
            "product_data": {"name": "API calls"},
            "currency": "usd",
            "billing_scheme": "tiered",
            "tiers_mode": "graduated",
            "tiers": [{"up_to": 10, "unit_amount": 100}, {"up_to": "inf", "unit_amount": 50, "flat_amount": 200}],
        },
    )
    invoice = draft(buyer)
    line = invoices.invoice_add_line(
        invoice=invoice,
        price=graduated,
        quantity=15,
        period_start=MOMENT,
        period_end=MOMENT + dt.timedelta(days=30),
        description="15 x API calls",
    )
    assert (line.amount, line.unit_amount_decimal) == (1000 + 250 + 200, None)
    half_cent = item(buyer, invoice=invoice, unit_amount_decimal=Decimal("0.5"), currency="usd", quantity=3)
    assert (half_cent.amount, half_cent.unit_amount_decimal) == (2, "0.5")
    invoice.refresh_from_db()
    assert invoice.total == 1452
    assert types(invoice.public_id) == ["invoice.created", "invoice.updated", "invoice.updated"]


# ---- Numbering ------------------------------------------------------------------------------


def test_numbers_follow_the_customer_sequence_without_gaps(db: None, frozen: None) -> None:
    buyer = customer(invoice_prefix="ACME")
    first = invoices.invoice_finalize(invoice=draft(buyer))
    deleted = draft(buyer)
    invoices.invoice_delete(invoice=deleted)
    refused = draft(buyer)
    item(buyer, invoice=refused, amount=1000, currency="usd")
    customer_delete(customer=Customer.objects.get(pk=buyer.pk))
    with pytest.raises(InvalidParam):
        invoices.invoice_finalize(invoice=refused)
    Customer.objects.filter(pk=buyer.pk).update(deleted=False)
    second = invoices.invoice_finalize(invoice=refused)
    voided = invoices.invoice_void(invoice=second)
    third = invoices.invoice_finalize(invoice=draft(buyer))
    assert [first.number, voided.number, third.number] == ["ACME-0001", "ACME-0002", "ACME-0003"]
    buyer.refresh_from_db()
    assert buyer.next_invoice_sequence == 4


def test_a_sequence_reset_onto_used_numbers_is_refused(db: None, frozen: None) -> None:
    buyer = customer(invoice_prefix="DUP")
    invoices.invoice_finalize(invoice=draft(buyer))
    Customer.objects.filter(pk=buyer.pk).update(next_invoice_sequence=1)
    second = draft(buyer)
    before = snapshot()
    with pytest.raises(DomainError, match="DUP-0001 is already taken"):
        invoices.invoice_finalize(invoice=second)
    assert snapshot() == before


@pytest.mark.django_db(transaction=True)
def test_concurrent_finalizations_take_consecutive_numbers() -> None:
    buyer = customer(invoice_prefix="RACE")
    drafts = [draft(buyer) for _ in range(8)]
    errors: list[BaseException] = []
    start = threading.Barrier(len(drafts))

    def finalize(invoice: Invoice) -> None:
        try:
            start.wait()
            invoices.invoice_finalize(invoice=invoice)
        except BaseException as error:  # reported by the assertion after the threads end
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=finalize, args=(d,)) for d in drafts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    numbers = sorted(str(n) for n in Invoice.objects.filter(customer=buyer).values_list("number", flat=True))
    assert numbers == [f"RACE-{n:04d}" for n in range(1, 9)]
    assert Customer.objects.get(pk=buyer.pk).next_invoice_sequence == 9


# ---- Transitions and refusals ------------------------------------------------------------------


def test_void_gives_the_applied_balance_back(db: None, frozen: None) -> None:
    buyer = customer(balance=-400)
    item(buyer, amount=1000, currency="usd")
    invoice = invoices.invoice_finalize(invoice=draft(buyer, pending_invoice_items_behavior="include"))
    assert Customer.objects.get(pk=buyer.pk).balance == 0
    voided = invoices.invoice_void(invoice=invoice)
    assert (voided.status, voided.voided_at, voided.auto_advance) == ("void", MOMENT, False)
    assert Customer.objects.get(pk=buyer.pk).balance == -400
    assert types(invoice.public_id)[-1] == "invoice.voided"


def test_mark_uncollectible_then_pay_out_of_band(db: None, frozen: None) -> None:
    buyer = customer()
    item(buyer, amount=1000, currency="usd")
    invoice = draft(buyer, pending_invoice_items_behavior="include", collection_method="send_invoice")
    assert invoice.due_date == MOMENT + dt.timedelta(days=30)
    sent = invoices.invoice_send(invoice=invoice)
    assert (sent.status, sent.sent_at) == ("open", MOMENT)
    bad = invoices.invoice_mark_uncollectible(invoice=sent)
    assert (bad.status, bad.marked_uncollectible_at) == ("uncollectible", MOMENT)
    paid = invoices.invoice_pay(invoice=bad, paid_out_of_band=True)
    assert (paid.status, paid.paid_out_of_band, paid.amount_paid, paid.amount_remaining) == ("paid", True, 1000, 0)
    assert PaymentIntent.objects.count() == 0
    assert types(invoice.public_id) == [
        "invoice.created",
        "invoice.finalized",
        "invoice.sent",
        "invoice.marked_uncollectible",
        "invoice.paid",
    ]


def test_drafts_can_change_and_finalized_invoices_only_a_little(db: None, frozen: None) -> None:
    buyer = customer()
    item(buyer, amount=1000, currency="usd")
    invoice = draft(buyer, pending_invoice_items_behavior="include")
    vat = rate("10", inclusive=False)
    changed = invoices.invoice_update(
        invoice=invoice,
        values={"description": "March", "default_tax_rates": [vat.public_id], "metadata": {"order": "7"}},
    )
    assert (changed.total, changed.description, changed.metadata) == (1100, "March", {"order": "7"})
    update = Event.objects.filter(object_id=invoice.public_id, type="invoice.updated").get()
    assert update.data["previous_attributes"]["total"] == 1000

    invoices.invoice_finalize(invoice=changed)
    opened = invoices.invoice_update(invoice=changed, values={"footer": "Thanks", "metadata": {"order": None}})
    assert (opened.footer, opened.metadata) == ("Thanks", {})
    before = snapshot()
    with pytest.raises(InvoiceStateError) as refused:
        invoices.invoice_update(invoice=opened, values={"default_tax_rates": []})
    assert (refused.value.code, refused.value.param) == ("invoice_not_editable", "default_tax_rates")
    assert snapshot() == before


def _open_invoice(buyer: Customer) -> Invoice:
    item(buyer, amount=1000, currency="usd")
    return invoices.invoice_finalize(invoice=draft(buyer, pending_invoice_items_behavior="include"))


@pytest.mark.parametrize(
    ("action", "error"),
    [
        (lambda inv: invoices.invoice_finalize(invoice=inv), InvoiceStateError),
        (lambda inv: invoices.invoice_delete(invoice=inv), InvoiceNotEditable),
        (lambda inv: invoices.invoice_send(invoice=inv), InvoiceStateError),
        (lambda inv: invoices.invoice_pay(invoice=inv), invoices.NoPaymentMethod),
        (
            lambda inv: invoices.invoiceitem_create(
                customer=inv.customer, livemode=False, invoice=inv, amount=100, currency="usd"
            ),
            InvoiceNotEditable,
        ),
        (
            lambda inv: invoices.invoiceitem_delete(invoice_item=InvoiceItem.objects.get(invoice=inv)),
            InvoiceNotEditable,
        ),
    ],
    ids=["finalize", "delete", "send", "pay_without_card", "add_item", "delete_item"],
)
def test_refusals_on_an_open_invoice_write_nothing(db: None, frozen: None, action: Any, error: type) -> None:
    invoice = _open_invoice(customer())
    before = snapshot()
    with pytest.raises(error):
        action(invoice)
    assert snapshot() == before


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (lambda inv: invoices.invoice_void(invoice=inv), "only void an invoice that is open or uncollectible"),
        (lambda inv: invoices.invoice_mark_uncollectible(invoice=inv), "that is open"),
        (lambda inv: invoices.invoice_pay(invoice=inv), "already paid"),
    ],
    ids=["void", "uncollectible", "pay"],
)
def test_refusals_on_a_paid_invoice_write_nothing(db: None, frozen: None, action: Any, message: str) -> None:
    invoice = invoices.invoice_pay(invoice=_open_invoice(customer()), paid_out_of_band=True)
    before = snapshot()
    with pytest.raises(InvoiceStateError, match=message):
        action(invoice)
    assert snapshot() == before


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        ({"pending_invoice_items_behavior": "include_and_require"}, "pending_invoice_items_behavior"),
        ({"days_until_due": 10}, "days_until_due"),
        ({"currency": "xyz"}, "currency"),
        ({"default_tax_rates": ["txr_missing"]}, "default_tax_rates[0]"),
        ({"discounts": [{"coupon": "NOPE"}]}, "discounts[0][coupon]"),
    ],
)
def test_refused_creations_write_nothing(db: None, frozen: None, kwargs: dict[str, Any], param: str) -> None:
    buyer = customer()
    before = snapshot()
    with pytest.raises(DomainError) as refused:
        draft(buyer, **kwargs)
    assert refused.value.param == param
    assert snapshot() == before


def test_deleting_a_draft_returns_its_items_to_pending(db: None, frozen: None) -> None:
    buyer = customer()
    pending = item(buyer, amount=1000, currency="usd")
    invoice = draft(buyer, pending_invoice_items_behavior="include")
    assert InvoiceItem.objects.get(pk=pending.pk).invoice_id == invoice.pk
    invoices.invoice_delete(invoice=invoice)
    assert InvoiceItem.objects.get(pk=pending.pk).invoice_id is None
    assert not InvoiceLineItem.objects.filter(invoice=invoice).exists()
    again = draft(buyer, pending_invoice_items_behavior="include")
    assert again.total == 1000
    assert types(invoice.public_id) == ["invoice.created", "invoice.deleted"]


def test_changing_an_item_on_a_draft_changes_its_line_and_totals(db: None, frozen: None) -> None:
    buyer = customer()
    invoice = draft(buyer)
    added = item(buyer, invoice=invoice, amount=1000, currency="usd")
    invoices.invoiceitem_update(invoice_item=added, values={"amount": 1500, "description": "More"})
    invoice.refresh_from_db()
    line = invoice.lines.get()
    assert (line.amount, line.description, invoice.total) == (1500, "More", 1500)
    invoices.invoiceitem_delete(invoice_item=added)
    invoice.refresh_from_db()
    assert (invoice.lines.count(), invoice.total) == (0, 0)
    assert types(added.public_id) == ["invoiceitem.created", "invoiceitem.updated", "invoiceitem.deleted"]


# ---- Paying with a card (the processor is called outside any transaction) -----------------------


def _chargeable(buyer: Customer, amount: int = 2000) -> Invoice:
    item(buyer, amount=amount, currency="usd")
    return draft(buyer, pending_invoice_items_behavior="include")


@pytest.mark.django_db(transaction=True)
def test_pay_a_draft_with_a_card() -> None:
    buyer = customer()
    invoice = _chargeable(buyer)
    paid = invoices.invoice_pay(invoice=invoice, payment_method="pm_card_visa")
    assert (paid.status, paid.amount_paid, paid.attempt_count, paid.attempted) == ("paid", 2000, 1, True)
    intent = PaymentIntent.objects.get()
    assert (intent.status, intent.amount, intent.invoice_id) == ("succeeded", 2000, invoice.public_id)
    assert intent.description == f"Payment for Invoice {paid.number}"
    assert types(invoice.public_id) == [
        "invoice.created",
        "invoice.finalized",
        "invoice.paid",
        "invoice.payment_succeeded",
    ]


@pytest.mark.django_db(transaction=True)
def test_a_declined_card_leaves_the_invoice_open_with_the_attempt_recorded() -> None:
    buyer = customer()
    invoice = invoices.invoice_finalize(invoice=_chargeable(buyer))
    declined = invoices.invoice_pay(invoice=invoice, payment_method="pm_card_chargeDeclined")
    assert (declined.status, declined.attempt_count, declined.attempted) == ("open", 1, True)
    assert declined.payment_intent is not None
    assert declined.payment_intent.last_payment_error is not None
    assert declined.payment_intent.last_payment_error["code"] == "card_declined"
    assert types(invoice.public_id)[-1] == "invoice.payment_failed"

    paid = invoices.invoice_pay(invoice=declined, payment_method="pm_card_visa")
    # A manual retry does not count as another attempt of the schedule.
    assert (paid.status, paid.attempt_count) == ("paid", 1)
    assert PaymentIntent.objects.count() == 1
    assert Charge.objects.filter(status="failed").count() == 1
    assert Charge.objects.filter(status="succeeded").count() == 1


@pytest.mark.django_db(transaction=True)
def test_pay_uses_the_customers_default_card() -> None:
    buyer = customer(payment_method="pm_card_visa", invoice_settings={"default_payment_method": "pm_card_visa"})
    paid = invoices.invoice_pay(invoice=_chargeable(buyer))
    assert paid.status == "paid"
    assert PaymentIntent.objects.get().payment_method_id is not None


@pytest.mark.django_db(transaction=True)
def test_refused_pay_on_a_draft_leaves_it_a_draft() -> None:
    invoice = _chargeable(customer())
    before = snapshot()
    with pytest.raises(invoices.NoPaymentMethod):
        invoices.invoice_pay(invoice=invoice)
    assert snapshot() == before


@pytest.mark.django_db(transaction=True)
def test_voiding_after_a_decline_cancels_the_waiting_payment() -> None:
    invoice = invoices.invoice_pay(invoice=_chargeable(customer()), payment_method="pm_card_chargeDeclined")
    voided = invoices.invoice_void(invoice=invoice)
    intent = PaymentIntent.objects.get()
    assert (voided.status, intent.status, intent.cancellation_reason) == ("void", "canceled", "void_invoice")
