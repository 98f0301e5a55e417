"""Paying an invoice by card on its hosted page: the form, declines, saving the card, refusals."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from billfold.billing.card_payments import MAX_DECLINES
from billfold.billing.models import Invoice, Subscription
from billfold.core.clock import frozen_at
from billfold.events.models import Event
from billfold.payments.models import Charge, PaymentMethod
from tests.billing.subscription_factories import T0, buyer, recurring, subscribe
from tests.billing.test_invoice_pages import MOMENT, finalized_invoice, page_path, text_of

pytestmark = pytest.mark.django_db

CARD = {"name": "Jenny Rosen", "number": "4242 4242 4242 4242", "expiry": "12 / 34", "cvc": "123"}


def pay(client: Client, invoice: Invoice, **fields: Any) -> Any:
    with frozen_at(MOMENT):
        return client.post(f"{page_path(invoice)}/pay", {**CARD, **fields})


def test_an_open_invoice_page_offers_the_card_form(client: Client) -> None:
    invoice = finalized_invoice()
    with frozen_at(MOMENT):
        html = client.get(page_path(invoice)).content.decode()
    assert "Pay €64.26 by card" in text_of(html)
    assert 'autocomplete="cc-number"' in html
    assert 'name="csrfmiddlewaretoken"' in html


def test_a_good_card_pays_and_is_not_kept_unless_asked(client: Client) -> None:
    invoice = finalized_invoice()
    response = pay(client, invoice)
    assert response.status_code == 302
    assert response["Location"] == f"{page_path(invoice)}?paid=1"
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid, invoice.amount_remaining) == ("paid", 6426, 0)
    charge = Charge.objects.get(payment_intent__invoice_id=invoice.public_id)
    assert (charge.status, charge.amount) == ("succeeded", 6426)
    assert charge.payment_method.customer is None  # "save" unticked: a one-off card
    with frozen_at(MOMENT):
        html = client.get(response["Location"]).content.decode()
    assert "your payment went through" in html
    assert 'name="number"' not in html  # nothing left to pay


def test_a_declined_card_keeps_what_was_typed_and_says_why(client: Client) -> None:
    invoice = finalized_invoice()
    response = pay(client, invoice, number="4000 0000 0000 0002", save_card="on")
    assert response.status_code == 402
    html = response.content.decode()
    assert "Your card was declined." in text_of(html)
    assert 'value="Jenny Rosen"' in html and 'value="12 / 34"' in html
    invoice.refresh_from_db()
    assert (invoice.status, invoice.attempt_count) == ("open", 1)
    assert not PaymentMethod.objects.filter(customer=invoice.customer).exists()


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"number": "4242 4242 4242 4241"}, "number", "This card number is not valid"),
        ({"number": "12ab"}, "number", "12 to 19 digits"),
        ({"expiry": "01 / 29"}, "expiry", "has passed or does not exist"),
        ({"expiry": "1229"}, "expiry", "MM / YY"),
        ({"cvc": "12"}, "cvc", "Ensure this value has at least 3 characters"),
        ({"name": ""}, "name", "This field is required."),
    ],
)
def test_mistakes_are_named_and_nothing_is_written(
    client: Client, fields: dict[str, str], field: str, message: str
) -> None:
    invoice = finalized_invoice()
    before = (PaymentMethod.objects.count(), Charge.objects.count(), Event.objects.count())
    response = pay(client, invoice, **fields)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert f'id="id_{field}"' in response.content.decode()
    assert (PaymentMethod.objects.count(), Charge.objects.count(), Event.objects.count()) == before
    # The card number is never repeated in an error message.
    assert "4242 4242 4242 4241" not in text_of(response.content.decode()).replace('value="4242 4242 4242 4241"', "")


def test_the_form_needs_its_csrf_token() -> None:
    invoice = finalized_invoice()
    client = Client(enforce_csrf_checks=True)
    assert pay(client, invoice).status_code == 403
    invoice.refresh_from_db()
    assert invoice.status == "open"


def test_a_paid_or_void_invoice_takes_no_payment(client: Client) -> None:
    invoice = finalized_invoice()
    assert pay(client, invoice).status_code == 302
    charges = Charge.objects.count()
    again = pay(client, invoice)
    assert (again.status_code, again["Location"]) == (302, page_path(invoice))
    assert Charge.objects.count() == charges


def test_card_testing_is_stopped_after_repeated_declines(client: Client) -> None:
    invoice = finalized_invoice()
    for _ in range(MAX_DECLINES):
        assert pay(client, invoice, number="4000 0000 0000 0002").status_code == 402
    charges = Charge.objects.count()
    response = pay(client, invoice)
    assert response.status_code == 429
    assert "Too many cards were declined" in text_of(response.content.decode())
    assert Charge.objects.count() == charges


def test_saving_the_card_fixes_a_subscription_whose_card_failed(client: Client) -> None:
    customer = buyer(card="pm_card_chargeCustomerFail")
    subscription = subscribe(customer, recurring(1000), payment_behavior="allow_incomplete")
    assert subscription.latest_invoice_id is not None
    invoice = Invoice.objects.get(pk=subscription.latest_invoice_id)
    assert (subscription.status, invoice.status) == ("incomplete", "open")
    with frozen_at(T0):
        response = client.post(f"{page_path(invoice)}/pay", {**CARD, "save_card": "on"})
    assert response.status_code == 302
    subscription = Subscription.objects.select_related("default_payment_method").get(pk=subscription.pk)
    assert subscription.status == "active"
    saved = subscription.default_payment_method
    assert saved is not None and saved.customer_id == customer.pk and saved.card_last4 == "4242"
    assert Event.objects.filter(type="payment_method.attached", object_id=saved.public_id).count() == 1


def test_saving_the_card_of_a_one_off_invoice_makes_it_the_customers_default(client: Client) -> None:
    invoice = finalized_invoice()
    assert pay(client, invoice, save_card="on").status_code == 302
    invoice.customer.refresh_from_db()
    saved = PaymentMethod.objects.get(customer=invoice.customer)
    assert invoice.customer.invoice_settings["default_payment_method"] == saved.public_id
