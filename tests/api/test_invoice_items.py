"""/v1/invoiceitems through the official stripe SDK against a live server."""

from __future__ import annotations

import datetime as dt
from types import ModuleType
from typing import Any

import pytest

from billfold.billing.models import InvoiceItem
from billfold.catalog.models import Price
from billfold.core.clock import frozen_at, to_unix
from billfold.events.models import Event
from tests.api.test_invoices import body, differences, event_types

MOMENT = dt.datetime(2030, 3, 1, 9, 30, tzinfo=dt.UTC)


def written() -> tuple[int, int, int]:
    return InvoiceItem.objects.count(), Price.objects.count(), Event.objects.count()


def test_create_retrieve_update_delete(sdk: ModuleType) -> None:
    customer = sdk.Customer.create()
    price = sdk.Price.create(product_data={"name": "Seat", "unit_label": "seat"}, currency="eur", unit_amount=1250)
    with frozen_at(MOMENT):
        item = sdk.InvoiceItem.create(customer=customer.id, pricing={"price": price.id}, quantity=3)
    assert item.id.startswith("ii_")
    assert (item.amount, item.currency, item.quantity, item.description) == (3750, "eur", 3, "Seat")
    assert (item.date, item.period.start, item.period.end) == (to_unix(MOMENT),) * 3
    assert (item.invoice, item.discountable, item.proration) == (None, True, False)
    assert item.pricing.price_details.price == price.id
    assert body(item)["pricing"]["unit_amount_decimal"] == "1250"
    assert differences(body(item), "invoiceitem") == []
    assert sdk.InvoiceItem.retrieve(item.id).to_dict() == item.to_dict()

    updated = sdk.InvoiceItem.modify(item.id, quantity=4, description="Seats", metadata={"team": "blue"})
    assert (updated.amount, updated.description, updated.metadata.to_dict()) == (5000, "Seats", {"team": "blue"})
    previous = Event.objects.get(object_id=item.id, type="invoiceitem.updated").data["previous_attributes"]
    assert (previous["amount"], previous["quantity"], previous["description"]) == (3750, 3, "Seat")

    deleted = sdk.InvoiceItem.delete(item.id)
    assert body(deleted) == {"id": item.id, "object": "invoiceitem", "deleted": True}
    assert sdk.InvoiceItem.retrieve(item.id).deleted is True
    assert event_types(item.id) == ["invoiceitem.created", "invoiceitem.updated", "invoiceitem.deleted"]


def test_amounts_given_directly(sdk: ModuleType) -> None:
    customer = sdk.Customer.create()
    whole = sdk.InvoiceItem.create(customer=customer.id, amount=-500, currency="usd", description="Goodwill credit")
    assert (whole.amount, whole.quantity, whole.discountable) == (-500, 1, False)
    assert whole.pricing.price_details is None
    per_unit = sdk.InvoiceItem.create(customer=customer.id, unit_amount_decimal="0.25", quantity=10, currency="usd")
    assert (per_unit.amount, body(per_unit)["pricing"]["unit_amount_decimal"]) == (3, "0.25")
    inline = sdk.InvoiceItem.create(
        customer=customer.id,
        price_data={"currency": "usd", "product": sdk.Product.create(name="Setup").id, "unit_amount": 9900},
    )
    made = Price.objects.get(public_id=inline.pricing.price_details.price)
    assert (inline.amount, made.active, made.unit_amount) == (9900, False, 9900)


def test_on_a_draft_invoice_and_listed(sdk: ModuleType) -> None:
    customer = sdk.Customer.create()
    pending = sdk.InvoiceItem.create(customer=customer.id, amount=700, currency="usd")
    invoice = sdk.Invoice.create(customer=customer.id)
    placed = sdk.InvoiceItem.create(customer=customer.id, invoice=invoice.id, amount=300, currency="usd")
    assert placed.invoice == invoice.id
    assert sdk.Invoice.retrieve(invoice.id).total == 300
    assert [i.id for i in sdk.InvoiceItem.list(pending=True).data] == [pending.id]
    assert [i.id for i in sdk.InvoiceItem.list(invoice=invoice.id).data] == [placed.id]
    assert [i.id for i in sdk.InvoiceItem.list(customer=customer.id).data] == [placed.id, pending.id]
    expanded = sdk.InvoiceItem.retrieve(placed.id, expand=["invoice", "customer"])
    assert (expanded.invoice.object, expanded.customer.id) == ("invoice", customer.id)

    sdk.Invoice.finalize_invoice(invoice.id)
    before = written()
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.InvoiceItem.modify(placed.id, amount=1)
    assert raised.value.code == "invoice_not_editable"
    with pytest.raises(sdk.InvalidRequestError):
        sdk.InvoiceItem.delete(placed.id)
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.InvoiceItem.create(customer=customer.id, invoice=invoice.id, amount=1, currency="usd")
    assert raised.value.param == "invoice"
    assert written() == before


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"amount": 100}, "currency"),
        ({"currency": "usd"}, "amount"),
        ({"amount": 100, "unit_amount_decimal": "1", "currency": "usd"}, "unit_amount_decimal"),
        ({"amount": 100, "currency": "usd", "quantity": 2}, "quantity"),
        ({"pricing": {"price": "price_missing"}}, "pricing[price]"),
        ({"amount": 100, "currency": "usd", "tax_rates": ["txr_missing"]}, "tax_rates[0]"),
        ({"amount": 100, "currency": "usd", "invoice": "in_missing"}, "invoice"),
    ],
)
def test_refusals_write_nothing(sdk: ModuleType, params: dict[str, Any], param: str) -> None:
    customer = sdk.Customer.create()
    before = written()
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.InvoiceItem.create(customer=customer.id, **params)
    assert raised.value.param == param
    assert written() == before


def test_recurring_and_archived_prices_are_refused(sdk: ModuleType) -> None:
    customer = sdk.Customer.create()
    monthly = sdk.Price.create(
        product_data={"name": "Plan"}, currency="usd", unit_amount=1000, recurring={"interval": "month"}
    )
    archived = sdk.Price.create(product_data={"name": "Old"}, currency="usd", unit_amount=1000, active=False)
    before = written()
    for price, words in ((monthly, "recurring"), (archived, "inactive")):
        with pytest.raises(sdk.InvalidRequestError) as raised:
            sdk.InvoiceItem.create(customer=customer.id, pricing={"price": price.id})
        assert words in raised.value.user_message
    assert written() == before
