"""Creating a subscription from the dashboard: through the API's service, paid by card or by emailed
invoice, with a trial or a coupon, and refusals that say what to fix and keep what was typed."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse

from billfold.billing.coupons import coupon_create
from billfold.billing.models import Subscription
from billfold.events.models import Event
from tests.dashboard.helpers import customer, monthly_price, signed_in_client

pytestmark = pytest.mark.django_db
URL = "/dashboard/subscriptions/new"


def form(**values: Any) -> dict[str, Any]:
    return {"quantity": "1", "collection_method": "charge_automatically", "days_until_due": "30", **values}


def with_card(email: str = "jenny@example.com", card: str = "pm_card_visa") -> Any:
    return customer(email=email, name="Jenny", payment_method=card, invoice_settings={"default_payment_method": card})


def test_a_customer_page_leads_to_the_form_with_the_customer_filled_in() -> None:
    jenny = with_card()
    monthly_price(2500, name="Team")
    client = signed_in_client()
    page = client.get(reverse("dashboard:customer", args=[jenny.public_id])).content.decode()
    assert f"/dashboard/subscriptions/new?customer={jenny.public_id}" in page
    html = client.get(f"{URL}?customer={jenny.public_id}").content.decode()
    assert f'value="{jenny.public_id}"' in html and "$25.00 / month" in html


def test_charged_to_the_default_card_at_once() -> None:
    jenny = with_card()
    price = monthly_price(2500, name="Team")
    client = signed_in_client()
    response = client.post(URL, form(customer="JENNY@example.com", price=price.public_id, quantity="3"))
    subscription = Subscription.objects.get(customer=jenny)
    assert response["Location"] == f"/dashboard/subscriptions/{subscription.public_id}"
    assert subscription.status == "active" and subscription.items.get().quantity == 3
    invoice = subscription.latest_invoice
    assert invoice is not None and (invoice.status, invoice.amount_paid) == ("paid", 7500)
    assert Event.objects.filter(type="customer.subscription.created", customer_id=jenny.public_id).exists()


def test_emailed_invoice_with_a_trial_and_a_coupon() -> None:
    jenny = customer(email="jenny@example.com")
    price = monthly_price(2500, name="Team")
    coupon_create(livemode=False, public_id="SPRING25", percent_off=Decimal(25), duration="forever")
    client = signed_in_client()
    data = form(
        customer=jenny.public_id,
        price=price.public_id,
        collection_method="send_invoice",
        days_until_due="14",
        trial_period_days="7",
        coupon="SPRING25",
    )
    assert client.post(URL, data).status_code == 302
    subscription = Subscription.objects.get(customer=jenny)
    assert (subscription.status, subscription.collection_method, subscription.days_until_due) == (
        "trialing",
        "send_invoice",
        14,
    )
    assert subscription.discounts


def test_refusals_say_what_to_fix_and_keep_the_form() -> None:
    customer(email="nocard@example.com")
    price = monthly_price(2500, name="Team")
    client = signed_in_client()
    # No card to charge.
    response = client.post(URL, form(customer="nocard@example.com", price=price.public_id, description="Kept"))
    assert response.status_code == 400
    html = response.content.decode()
    assert "no default card to charge" in html and 'value="Kept"' in html
    assert 'value="nocard@example.com"' in html
    # Nobody with that email.
    response = client.post(URL, form(customer="nobody@example.com", price=price.public_id))
    assert "No test-mode customer has the email address or id “nobody@example.com”." in response.content.decode()
    # An unknown coupon, refused by the service next to its field.
    with_card()
    response = client.post(URL, form(customer="jenny@example.com", price=price.public_id, coupon="NOPE"))
    assert response.status_code == 400
    assert "NOPE" in str(response.context["form"].errors["coupon"])
    assert not Subscription.objects.exists()


def test_a_declined_first_payment_leaves_it_incomplete_and_says_so() -> None:
    with_card(card="pm_card_chargeCustomerFail")
    price = monthly_price(2500, name="Team")
    client = signed_in_client()
    response = client.post(URL, form(customer="jenny@example.com", price=price.public_id), follow=True)
    assert Subscription.objects.get().status == "incomplete"
    assert "its first payment did not go through" in response.content.decode()


def test_live_mode_prices_and_customers_are_not_offered_in_test_mode() -> None:
    live_price = monthly_price(9900, livemode=True, name="Live plan")
    customer(email="live@example.com", livemode=True)
    client = signed_in_client()
    html = client.get(URL).content.decode()
    assert "Live plan" not in html
    response = client.post(URL, form(customer="live@example.com", price=live_price.public_id))
    errors = response.context["form"].errors
    assert "customer" in errors and "price" in errors
