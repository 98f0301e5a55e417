"""/v1/invoices through the official stripe SDK against a live server."""

from __future__ import annotations

import datetime as dt
import json
from types import ModuleType
from typing import Any

import pytest
from django.conf import settings

from billfold.billing.models import Invoice, InvoiceItem, InvoiceLineItem
from billfold.core.clock import frozen_at, to_unix
from billfold.customers.models import Customer
from billfold.events.models import Event
from billfold.payments.models import Charge, PaymentIntent
from tests.api.test_shapes import RESOURCES, shape_differences

MOMENT = dt.datetime(2030, 3, 1, 9, 30, tzinfo=dt.UTC)
# Keys Stripe documents (the price behind a line or item, the intent behind an invoice payment)
# that its example objects leave out.
DOCUMENTED_EXTRA = (
    "pricing.price_details is not a Stripe key",
    "invoice_payment: payment.payment_intent is not a Stripe key",
)


def body(obj: Any) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(obj.last_response.body)
    return parsed


def event_types(object_id: str) -> list[str]:
    return list(Event.objects.filter(object_id=object_id).order_by("pk").values_list("type", flat=True))


def differences(rendered: dict[str, Any], resource: str) -> list[str]:
    return [d for d in shape_differences(rendered, RESOURCES[resource], resource) if not d.endswith(DOCUMENTED_EXTRA)]


def written() -> tuple[int, ...]:
    return (
        Invoice.objects.count(),
        InvoiceLineItem.objects.count(),
        InvoiceItem.objects.count(),
        PaymentIntent.objects.count(),
        Charge.objects.count(),
        Event.objects.count(),
    )


def open_invoice(sdk: ModuleType, *, amount: int = 2000, **params: Any) -> Any:
    customer = sdk.Customer.create(email="jenny@example.com", name="Jenny Rosen")
    sdk.InvoiceItem.create(customer=customer.id, amount=amount, currency="usd", description="Consulting")
    invoice = sdk.Invoice.create(customer=customer.id, pending_invoice_items_behavior="include", **params)
    return sdk.Invoice.finalize_invoice(invoice.id)


def test_create_finalize_and_pay_with_a_card(sdk: ModuleType) -> None:
    with frozen_at(MOMENT):
        customer = sdk.Customer.create(email="jenny@example.com", name="Jenny Rosen", invoice_prefix="JENNY")
        item = sdk.InvoiceItem.create(customer=customer.id, amount=2000, currency="usd", description="Consulting")
        draft = sdk.Invoice.create(
            customer=customer.id,
            pending_invoice_items_behavior="include",
            description="March work",
            metadata={"order": "42"},
        )
    assert draft.id.startswith("in_")
    assert (draft.status, draft.number, draft.hosted_invoice_url, draft.invoice_pdf) == ("draft", None, None, None)
    assert (draft.total, draft.amount_due, draft.currency, draft.auto_advance) == (2000, 2000, "usd", False)
    assert (draft.customer, draft.customer_email, draft.created) == (customer.id, "jenny@example.com", to_unix(MOMENT))
    assert draft.lines.url == f"/v1/invoices/{draft.id}/lines"
    line = draft.lines.data[0]
    assert (line.amount, line.description, line.parent.type) == (2000, "Consulting", "invoice_item_details")
    assert line.parent.invoice_item_details.invoice_item == item.id
    assert sdk.InvoiceItem.retrieve(item.id).invoice == draft.id

    with frozen_at(MOMENT + dt.timedelta(hours=1)):
        opened = sdk.Invoice.finalize_invoice(draft.id)
    invoice = Invoice.objects.get(public_id=draft.id)
    assert (opened.status, opened.number) == ("open", "JENNY-0001")
    assert opened.status_transitions.finalized_at == to_unix(MOMENT) + 3600
    assert opened.hosted_invoice_url == f"{settings.SITE_URL}/i/{invoice.hosted_token}"
    assert opened.invoice_pdf == f"{settings.SITE_URL}/i/{invoice.hosted_token}/pdf"

    paid = sdk.Invoice.pay(draft.id, payment_method="pm_card_visa")
    assert (paid.status, paid.amount_paid, paid.amount_remaining, paid.attempt_count) == ("paid", 2000, 0, 1)
    assert event_types(draft.id) == [
        "invoice.created",
        "invoice.finalized",
        "invoice.paid",
        "invoice.payment_succeeded",
    ]
    expanded = sdk.Invoice.retrieve(draft.id, expand=["payments", "customer"])
    assert expanded.customer.id == customer.id
    payment = expanded.payments.data[0]
    assert (payment.object, payment.status, payment.amount_paid) == ("invoice_payment", "paid", 2000)
    assert PaymentIntent.objects.get(public_id=payment.payment.payment_intent).status == "succeeded"
    rendered = body(expanded)
    # ``payments`` is only there when asked for, so Stripe's example invoice leaves it out.
    assert differences(rendered.pop("payments")["data"][0], "invoice_payment") == []
    assert differences(rendered, "invoice") == []


def test_a_declined_card_is_a_card_error_and_the_attempt_stays(sdk: ModuleType) -> None:
    invoice = open_invoice(sdk)
    with pytest.raises(sdk.CardError) as raised:
        sdk.Invoice.pay(invoice.id, payment_method="pm_card_chargeDeclined")
    assert raised.value.http_status == 402
    assert (raised.value.code, raised.value.error.decline_code) == ("card_declined", "generic_decline")
    assert raised.value.error.payment_intent.status == "requires_payment_method"
    after = sdk.Invoice.retrieve(invoice.id)
    assert (after.status, after.attempt_count, after.attempted, after.amount_paid) == ("open", 1, True, 0)
    assert event_types(invoice.id)[-1] == "invoice.payment_failed"
    assert Charge.objects.get().status == "failed"

    paid = sdk.Invoice.pay(invoice.id, payment_method="pm_card_visa")
    assert (paid.status, paid.attempt_count) == ("paid", 1)


def test_paid_out_of_band_needs_no_card(sdk: ModuleType) -> None:
    invoice = open_invoice(sdk, collection_method="send_invoice", days_until_due=14)
    assert invoice.due_date == invoice.status_transitions.finalized_at + 14 * 86400
    sent = sdk.Invoice.send_invoice(invoice.id)
    assert sent.status == "open"
    paid = sdk.Invoice.pay(invoice.id, paid_out_of_band=True)
    assert (paid.status, paid.amount_paid, paid.amount_remaining) == ("paid", 2000, 0)
    assert PaymentIntent.objects.count() == 0
    assert event_types(invoice.id)[-2:] == ["invoice.sent", "invoice.paid"]


def test_void_and_mark_uncollectible(sdk: ModuleType) -> None:
    first = open_invoice(sdk)
    voided = sdk.Invoice.void_invoice(first.id)
    assert (voided.status, voided.auto_advance) == ("void", False)
    assert voided.status_transitions.voided_at is not None
    second = open_invoice(sdk)
    written_off = sdk.Invoice.mark_uncollectible(second.id)
    assert written_off.status == "uncollectible"
    assert written_off.status_transitions.marked_uncollectible_at is not None
    before = written()
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.Invoice.mark_uncollectible(first.id)
    assert "is void" in raised.value.user_message
    assert written() == before


def test_lines_are_embedded_ten_at_a_time_and_paged_in_order(sdk: ModuleType) -> None:
    customer = sdk.Customer.create()
    items = [
        sdk.InvoiceItem.create(customer=customer.id, amount=100 * (n + 1), currency="usd", description=f"Item {n}")
        for n in range(12)
    ]
    invoice = sdk.Invoice.create(customer=customer.id, pending_invoice_items_behavior="include")
    assert len(invoice.lines.data) == 10
    assert invoice.lines.has_more is True
    assert invoice.total == sum(100 * (n + 1) for n in range(12))
    first = sdk.Invoice.list_lines(invoice.id, limit=5)
    assert [line.description for line in first.data] == [f"Item {n}" for n in range(5)]
    assert first.has_more is True
    rest = sdk.Invoice.list_lines(invoice.id, limit=10, starting_after=first.data[-1].id)
    assert [line.description for line in rest.data] == [f"Item {n}" for n in range(5, 12)]
    assert rest.has_more is False
    back = sdk.Invoice.list_lines(invoice.id, limit=3, ending_before=rest.data[0].id)
    assert [line.description for line in back.data] == ["Item 2", "Item 3", "Item 4"]
    every = [
        line.parent.invoice_item_details.invoice_item for line in sdk.Invoice.list_lines(invoice.id).auto_paging_iter()
    ]
    assert every == [i.id for i in items]
    assert differences(body(first)["data"][0], "line_item") == []


def test_update_delete_and_what_a_finalized_invoice_refuses(sdk: ModuleType) -> None:
    customer = sdk.Customer.create()
    tax = sdk.TaxRate.create(display_name="VAT", percentage=20, inclusive=False)
    sdk.InvoiceItem.create(customer=customer.id, amount=1000, currency="usd")
    draft = sdk.Invoice.create(customer=customer.id, pending_invoice_items_behavior="include")
    updated = sdk.Invoice.modify(
        draft.id, default_tax_rates=[tax.id], footer="Thank you", collection_method="send_invoice", days_until_due=7
    )
    assert (updated.total, updated.footer, updated.collection_method) == (1200, "Thank you", "send_invoice")
    assert updated.default_tax_rates[0].id == tax.id
    assert updated.total_taxes[0].amount == 200
    assert updated.total_taxes[0].tax_rate_details.tax_rate == tax.id
    sdk.Invoice.finalize_invoice(draft.id)
    before = written()
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.Invoice.modify(draft.id, default_tax_rates="")
    assert (raised.value.code, raised.value.param) == ("invoice_not_editable", "default_tax_rates")
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.Invoice.delete(draft.id)
    assert raised.value.code == "invoice_not_editable"
    assert written() == before
    assert sdk.Invoice.modify(draft.id, metadata={"k": "v"}).metadata.to_dict() == {"k": "v"}

    gone = sdk.Invoice.create(customer=customer.id)
    deleted = sdk.Invoice.delete(gone.id)
    assert body(deleted) == {"id": gone.id, "object": "invoice", "deleted": True}
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.Invoice.retrieve(gone.id)
    assert raised.value.http_status == 404


@pytest.mark.parametrize(
    ("params", "param", "code"),
    [
        (
            {"pending_invoice_items_behavior": "include_and_require"},
            "pending_invoice_items_behavior",
            "invoice_no_customer_line_items",
        ),
        ({"days_until_due": "5"}, "days_until_due", "parameter_invalid"),
        ({"discounts": [{"coupon": "NOPE"}]}, "discounts[0][coupon]", "resource_missing"),
        ({"default_payment_method": "pm_unknown"}, "default_payment_method", "resource_missing"),
        ({"subscription_data": "x"}, "subscription_data", "parameter_unknown"),
    ],
)
def test_refused_creations_write_nothing(sdk: ModuleType, params: dict[str, Any], param: str, code: str) -> None:
    customer = sdk.Customer.create()
    before = written()
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.Invoice.create(customer=customer.id, **params)
    assert (raised.value.param, raised.value.code) == (param, code)
    assert written() == before


def test_list_filters_and_search(sdk: ModuleType) -> None:
    paid = open_invoice(sdk, amount=5000)
    sdk.Invoice.pay(paid.id, paid_out_of_band=True)
    small = open_invoice(sdk, amount=700)
    other = sdk.Customer.create()
    draft = sdk.Invoice.create(customer=other.id)
    assert [i.id for i in sdk.Invoice.list(status="open").data] == [small.id]
    assert [i.id for i in sdk.Invoice.list(customer=other.id).data] == [draft.id]
    assert [i.id for i in sdk.Invoice.list(limit=2).data] == [draft.id, small.id]
    found = sdk.Invoice.search(query="total>1000 AND currency:'usd'")
    assert [i.id for i in found.data] == [paid.id]
    by_number = sdk.Invoice.search(query=f"number:'{small.number}'")
    assert [i.id for i in by_number.data] == [small.id]
    assert [i.id for i in sdk.Invoice.search(query="status:'draft'").data] == [draft.id]


def test_shapes_of_invoices(sdk: ModuleType) -> None:
    invoice = open_invoice(sdk)
    assert differences(body(invoice), "invoice") == []
    events = Event.objects.filter(object_id=invoice.id).order_by("pk")
    assert [e.data["object"]["status"] for e in events] == ["draft", "open"]
    assert differences(events.last().data["object"], "invoice") == []  # type: ignore[union-attr]


def test_expand_the_customer_and_default_payment_method(sdk: ModuleType) -> None:
    customer = sdk.Customer.create(payment_method="pm_card_visa")
    card = customer_card(customer.id)
    invoice = sdk.Invoice.create(
        customer=customer.id, default_payment_method=card, expand=["customer", "default_payment_method"]
    )
    assert invoice.customer.object == "customer"
    assert (invoice.default_payment_method.object, invoice.default_payment_method.id) == ("payment_method", card)


def customer_card(customer_id: str) -> str:
    return str(Customer.objects.get(public_id=customer_id).payment_methods.get().public_id)
