"""The portal's pages: what they show, what their forms do (through the API's services, with the
same events), deep links, and that no id in a URL or form reaches another customer's data."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pytest
from django.test import Client

from billfold.billing.models import Discount, Invoice, InvoiceItem, Subscription
from billfold.core.clock import frozen_at
from billfold.customers.models import Customer, TaxId
from billfold.events.models import Event
from billfold.payments.models import PaymentMethod
from billfold.portal.configurations import portal_configuration_update
from tests.portal.pages.world import RETURN_URL, T0, World, session_for, session_path, world_build

pytestmark = pytest.mark.django_db


@pytest.fixture
def world() -> World:
    return world_build()


def signed_in(world: World, **session: Any) -> Client:
    client = Client()
    with frozen_at(T0):
        assert client.get(session_path(session_for(world.jenny, **session))).status_code == 302
    return client


def get(client: Client, path: str) -> tuple[int, str]:
    with frozen_at(T0):
        response = client.get(path)
    return response.status_code, response.content.decode()


def post(client: Client, path: str, data: Mapping[str, object]) -> tuple[int, str, str | None]:
    with frozen_at(T0):
        response = client.post(path, data)
    return response.status_code, response.content.decode(), response.headers.get("Location")


def event_types() -> list[str]:
    return list(Event.objects.order_by("pk").values_list("type", flat=True))


def test_overview_shows_subscription_cards_billing_and_invoices(world: World) -> None:
    client = signed_in(world)
    with frozen_at(T0):
        response = client.get("/p/")
    html = response.content.decode()
    assert response.status_code == 200
    for text in (
        "Basic",
        "For small teams",
        "$10.00 per seat per month",
        "Next payment",
        "$20.00 on June 1, 2031",
        "Visa",
        "•••• 4242",
        "Jenny Rosen",
        "$20.00",
        "Acme partners with Billfold for simplified billing.",
        'href="https://merchant.example/terms"',
        'href="https://merchant.example/privacy"',
        f'href="{RETURN_URL}"',
    ):
        assert text in html, text
    nonce = re.search(r'<style nonce="([^"]+)">', html)
    assert nonce is not None
    assert response["Content-Security-Policy"] == (
        f"default-src 'none'; style-src 'self' 'nonce-{nonce.group(1)}'; img-src 'self' data:; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    )
    assert "<script" not in html
    assert response["Cache-Control"] == "private, no-store"
    assert "Bob" not in html


def test_switch_plan_previews_then_charges_the_prorated_amount(world: World) -> None:
    client = signed_in(world)
    sub = world.jenny_sub.public_id
    status, html = get(client, f"/p/subscriptions/{sub}/update")
    assert status == 200 and "Choose a plan" in html and "$100.00 per seat per year" in html
    status, html = get(client, f"/p/subscriptions/{sub}/update/confirm?price={world.pro_month.public_id}&quantity=2")
    assert status == 200
    assert "Amount due today" in html and 'id="preview-amount">$40.00<' in html
    token = re.search(r'name="token" value="([^"]+)"', html)
    assert token is not None
    before = len(event_types())
    status, _, location = post(client, f"/p/subscriptions/{sub}/update/apply", {"token": token.group(1)})
    assert (status, location) == (302, "/p/")
    subscription = Subscription.objects.get(public_id=sub)
    item = subscription.items.get(deleted=False)
    assert (item.price_id, item.quantity) == (world.pro_month.pk, 2)
    assert subscription.latest_invoice is not None and subscription.latest_invoice.amount_paid == 4000
    assert "customer.subscription.updated" in event_types()[before:]


def test_tampered_or_foreign_choices_are_refused(world: World) -> None:
    client = signed_in(world)
    sub = world.jenny_sub.public_id
    status, html = get(client, f"/p/subscriptions/{sub}/update/confirm?price={world.basic_month.public_id}&quantity=11")
    assert status == 400 and "Choose a quantity from 1 to 10." in html
    status, html = get(client, f"/p/subscriptions/{sub}/update/confirm?price=price_unknown&quantity=1")
    assert status == 400 and "Choose one of the plans offered." in html
    status, _, location = post(client, f"/p/subscriptions/{sub}/update/apply", {"token": "forged"})
    assert (status, location) == (302, f"/p/subscriptions/{sub}/update")
    assert Subscription.objects.get(public_id=sub).items.get(deleted=False).quantity == 2


def test_change_quantity_and_redeem_a_promotion_code(world: World) -> None:
    client = signed_in(world)
    sub = world.jenny_sub.public_id
    _, html = get(client, f"/p/subscriptions/{sub}/update/confirm?price={world.basic_month.public_id}&quantity=3")
    token = re.search(r'name="token" value="([^"]+)"', html)
    assert token is not None and 'id="preview-amount">$10.00<' in html
    post(client, f"/p/subscriptions/{sub}/update/apply", {"token": token.group(1)})
    assert Subscription.objects.get(public_id=sub).items.get(deleted=False).quantity == 3
    status, html, _ = post(client, f"/p/subscriptions/{sub}/promotion-code", {"code": "NOPE"})
    assert status == 400 and "This promotion code is not valid" in html and 'value="NOPE"' in html
    status, _, _ = post(client, f"/p/subscriptions/{sub}/promotion-code", {"code": "spring20"})
    assert status == 302
    discounts = Subscription.objects.get(public_id=sub).discounts
    assert [d.coupon_id for d in Discount.objects.filter(public_id__in=discounts)] == [world.coupon.pk]
    assert "customer.discount.created" in event_types()


def test_cancel_with_a_reason_then_renew(world: World) -> None:
    client = signed_in(world)
    sub = world.jenny_sub.public_id
    status, html = get(client, f"/p/subscriptions/{sub}/cancel")
    assert status == 200 and "It&#x27;s too expensive" in html and "June 1, 2031" in html
    status, html, _ = post(client, f"/p/subscriptions/{sub}/cancel", {"comment": "kept"})
    assert status == 400 and "Choose a reason" in html and ">\nkept</textarea>" in html
    status, _, location = post(
        client, f"/p/subscriptions/{sub}/cancel", {"reason": "too_expensive", "comment": "Pricey"}
    )
    assert (status, location) == (302, "/p/")
    subscription = Subscription.objects.get(public_id=sub)
    assert subscription.cancel_at_period_end is True
    assert (subscription.cancellation_details["feedback"], subscription.cancellation_details["comment"]) == (
        "too_expensive",
        "Pricey",
    )
    _, html = get(client, "/p/")
    assert "Cancels on" in html and "Renew subscription" in html
    status, _, _ = post(client, f"/p/subscriptions/{sub}/renew", {})
    assert status == 302
    assert Subscription.objects.get(public_id=sub).cancel_at_period_end is False


def test_add_card_declined_then_accepted_and_removal_rules(world: World) -> None:
    client = signed_in(world)
    card = {
        "name": "Jenny Rosen",
        "number": "4000 0000 0000 0002",
        "expiry": "04 / 34",
        "cvc": "123",
        "make_default": "on",
    }
    status, html, _ = post(client, "/p/payment-methods/new", card)
    assert status == 402 and "declined" in html and 'value="Jenny Rosen"' in html
    assert PaymentMethod.objects.filter(customer=world.jenny).count() == 1
    status, _, _ = post(client, "/p/payment-methods/new", {**card, "number": "4242 4242 4242 4242"})
    assert status == 302
    cards = list(PaymentMethod.objects.filter(customer=world.jenny).order_by("pk"))
    assert len(cards) == 2
    jenny = Customer.objects.get(pk=world.jenny.pk)
    assert jenny.invoice_settings["default_payment_method"] == cards[1].public_id
    # The default card cannot go while a subscription runs; the other one can, after a confirmation.
    status, html = get(client, f"/p/payment-methods/{cards[1].public_id}/remove")
    assert "make another card the default" in html
    status, html, _ = post(client, f"/p/payment-methods/{cards[1].public_id}/remove", {})
    assert status == 409
    status, html = get(client, f"/p/payment-methods/{cards[0].public_id}/remove")
    assert status == 200 and "Remove your Visa card ending in 4242?" in html
    post(client, f"/p/payment-methods/{cards[0].public_id}/remove", {})
    assert PaymentMethod.objects.filter(customer=world.jenny).count() == 1
    status, html, _ = post(client, f"/p/payment-methods/{cards[1].public_id}/remove", {})
    assert status == 409 and "only card" in html
    assert "payment_method.detached" in event_types()


def test_billing_information_is_saved_and_bad_input_keeps_what_was_typed(world: World) -> None:
    client = signed_in(world)
    form = {
        "customer-name": "Jenny R.",
        "customer-email": "not-an-email",
        "customer-phone": "+1 555 0100",
        "address-line1": "1 Main St",
        "address-city": "Springfield",
        "address-postal_code": "12345",
        "address-country": "us",
    }
    status, html, _ = post(client, "/p/billing", form)
    assert status == 400 and "Enter a valid email address" in html and 'value="1 Main St"' in html
    status, _, _ = post(client, "/p/billing", {**form, "customer-email": "jenny.r@example.com"})
    assert status == 302
    jenny = Customer.objects.get(pk=world.jenny.pk)
    assert (jenny.name, jenny.email, jenny.phone) == ("Jenny R.", "jenny.r@example.com", "+1 555 0100")
    assert jenny.address == {"line1": "1 Main St", "city": "Springfield", "postal_code": "12345", "country": "US"}
    status, html, _ = post(client, "/p/billing/tax-ids", {"type": "", "value": "DE 123456789"})
    assert status == 400 and "Choose the type of tax ID." in html and 'value="DE 123456789"' in html
    status, html, _ = post(client, "/p/billing/tax-ids", {"type": "eu_vat", "value": "DE12"})
    assert status == 400 and not TaxId.objects.filter(customer=world.jenny).exists()
    status, _, _ = post(client, "/p/billing/tax-ids", {"type": "eu_vat", "value": "DE 123456789"})
    assert status == 302
    tax_id = TaxId.objects.get(customer=world.jenny)
    assert tax_id.value == "DE123456789"
    status, html = get(client, f"/p/billing/tax-ids/{tax_id.public_id}/remove")
    assert status == 200 and "Remove the tax ID DE123456789?" in html
    assert TaxId.objects.filter(pk=tax_id.pk).exists()
    post(client, f"/p/billing/tax-ids/{tax_id.public_id}/remove", {})
    assert not TaxId.objects.filter(pk=tax_id.pk).exists()
    assert {"customer.updated", "customer.tax_id.created", "customer.tax_id.deleted"} <= set(event_types())


def test_customers_signed_in_by_email_cannot_change_it(world: World) -> None:
    from billfold.portal.sessions import portal_access_open

    with frozen_at(T0):
        opened = portal_access_open(
            customer=world.jenny,
            configuration=world.configuration,
            via="login_link",
            login_link=world.configuration.login_link,
        )
    client = Client()
    client.cookies["billfold_portal"] = opened.token
    status, html = get(client, "/p/billing")
    assert status == 200 and 'name="customer-email"' not in html and "so it can't be changed here" in html
    post(client, "/p/billing", {"customer-name": "J", "customer-email": "evil@example.com"})
    assert Customer.objects.get(pk=world.jenny.pk).email == "jenny@example.com"


def test_invoice_history_links_to_the_hosted_page_and_pdf(world: World) -> None:
    client = signed_in(world)
    status, html = get(client, "/p/invoices")
    invoice = world.jenny_sub.latest_invoice
    assert invoice is not None
    assert status == 200 and f'href="http://127.0.0.1:8000/i/{invoice.hosted_token}/pdf"' in html and "Paid" in html


def test_every_id_of_another_customer_is_a_404(world: World) -> None:
    client = signed_in(world)
    bob_sub, bob_card, bob_tax = world.bob_sub.public_id, world.bob_card.public_id, world.bob_tax_id.public_id
    for path in (
        f"/p/subscriptions/{bob_sub}/update",
        f"/p/subscriptions/{bob_sub}/update/confirm?price={world.pro_month.public_id}&quantity=1",
        f"/p/subscriptions/{bob_sub}/cancel",
        f"/p/payment-methods/{bob_card}/remove",
        f"/p/billing/tax-ids/{bob_tax}/remove",
    ):
        status, html = get(client, path)
        assert status == 404, path
        assert "This page is not available" in html and "Bob" not in html and "DE123456789" not in html
    for path in (
        f"/p/subscriptions/{bob_sub}/update/apply",
        f"/p/subscriptions/{bob_sub}/promotion-code",
        f"/p/subscriptions/{bob_sub}/cancel",
        f"/p/subscriptions/{bob_sub}/keep",
        f"/p/subscriptions/{bob_sub}/renew",
        f"/p/payment-methods/{bob_card}/default",
        f"/p/payment-methods/{bob_card}/remove",
        f"/p/billing/tax-ids/{bob_tax}/remove",
    ):
        assert post(client, path, {"reason": "other", "code": "SPRING20"})[0] == 404, path
    bob_sub_row = Subscription.objects.get(public_id=bob_sub)
    assert (bob_sub_row.status, bob_sub_row.cancel_at_period_end, bob_sub_row.discounts) == ("active", False, [])
    assert PaymentMethod.objects.get(pk=world.bob_card.pk).customer_id == world.bob.pk
    assert TaxId.objects.filter(pk=world.bob_tax_id.pk).exists()
    # A preview token made for Jenny's subscription cannot be replayed on Bob's.
    _, html = get(
        client,
        f"/p/subscriptions/{world.jenny_sub.public_id}/update/confirm?price={world.pro_month.public_id}&quantity=2",
    )
    token = re.search(r'name="token" value="([^"]+)"', html)
    assert token is not None
    assert post(client, f"/p/subscriptions/{bob_sub}/update/apply", {"token": token.group(1)})[0] == 404


def test_disabled_features_are_hidden_and_refused() -> None:
    world = world_build(
        features={
            "invoice_history": {"enabled": False},
            "payment_method_update": {"enabled": False},
            "customer_update": {"enabled": False},
            "subscription_cancel": {"enabled": False},
            "subscription_update": {"enabled": False},
        }
    )
    client = signed_in(world)
    status, html = get(client, "/p/")
    assert status == 200 and "Invoice history" not in html and "Payment methods" not in html
    assert "Update subscription" not in html and "Cancel subscription" not in html
    for path in (
        "/p/invoices",
        "/p/billing",
        "/p/payment-methods/new",
        f"/p/subscriptions/{world.jenny_sub.public_id}/cancel",
    ):
        assert get(client, path)[0] == 404, path


def test_deep_link_cancel_with_retention_offer_and_hosted_confirmation(world: World) -> None:
    sub = world.jenny_sub.public_id
    client = Client()
    with frozen_at(T0):
        created = session_for(
            world.jenny,
            flow_data={
                "type": "subscription_cancel",
                "subscription_cancel": {
                    "subscription": sub,
                    "retention": {"type": "coupon_offer", "coupon_offer": {"coupon": world.coupon.public_id}},
                },
                "after_completion": {
                    "type": "hosted_confirmation",
                    "hosted_confirmation": {"custom_message": "See you soon!"},
                },
            },
        )
        landing = client.get(session_path(created))
    assert landing["Location"] == f"/p/subscriptions/{sub}/cancel"
    status, html = get(client, landing["Location"])
    assert "Loyalty: 20% off" in html and "Accept offer" in html
    status, _, location = post(client, f"/p/subscriptions/{sub}/keep", {})
    assert (status, location) == (302, "/p/done")
    status, html = get(client, "/p/done")
    assert "See you soon!" in html
    subscription = Subscription.objects.get(public_id=sub)
    assert subscription.cancel_at_period_end is False
    assert Discount.objects.get(public_id__in=subscription.discounts).coupon_id == world.coupon.pk


def test_deep_links_land_on_their_page_and_redirect_after_completion(world: World) -> None:
    sub = world.jenny_sub.public_id
    item = world.jenny_sub.items.get(deleted=False).public_id
    after = {"type": "redirect", "redirect": {"return_url": "https://merchant.example/thanks"}}
    cases: dict[str, tuple[dict[str, Any], str]] = {
        "payment_method_update": ({"type": "payment_method_update"}, "/p/payment-methods/new"),
        "subscription_update": (
            {"type": "subscription_update", "subscription_update": {"subscription": sub}},
            f"/p/subscriptions/{sub}/update",
        ),
        "subscription_update_confirm": (
            {
                "type": "subscription_update_confirm",
                "subscription_update_confirm": {"subscription": sub, "items": [{"id": item, "quantity": 4}]},
            },
            f"/p/subscriptions/{sub}/update/confirm?quantity=4",
        ),
    }
    for kind, (flow, landing) in cases.items():
        client = Client()
        with frozen_at(T0):
            opened = client.get(session_path(session_for(world.jenny, flow_data={**flow, "after_completion": after})))
        assert opened["Location"] == landing, kind
    # The confirm deep link, confirmed: back to the merchant by a page that moves on by itself.
    status, html = get(client, landing)
    assert status == 200 and 'id="preview-amount">$20.00<' in html
    token = re.search(r'name="token" value="([^"]+)"', html)
    assert token is not None
    status, html, _ = post(client, f"/p/subscriptions/{sub}/update/apply", {"token": token.group(1)})
    assert status == 200 and 'content="0; url=https://merchant.example/thanks"' in html
    assert Subscription.objects.get(public_id=sub).items.get(deleted=False).quantity == 4


def test_a_change_during_a_trial_ends_it_as_configured() -> None:
    from billfold.billing.subscriptions.creation import NewSubscription
    from billfold.billing.subscriptions.services import subscription_create

    world = world_build()
    with frozen_at(T0):
        trial = subscription_create(
            customer=world.jenny,
            livemode=False,
            spec=NewSubscription(items=[{"price": world.basic_month, "quantity": 1}], trial_period_days=14),
        )
    assert trial.status == "trialing"
    client = signed_in(world)
    _, html = get(
        client, f"/p/subscriptions/{trial.public_id}/update/confirm?price={world.pro_month.public_id}&quantity=1"
    )
    assert "Amount due today" in html and 'id="preview-amount">$30.00<' in html
    token = re.search(r'name="token" value="([^"]+)"', html)
    assert token is not None
    post(client, f"/p/subscriptions/{trial.public_id}/update/apply", {"token": token.group(1)})
    trial.refresh_from_db()
    assert (trial.status, trial.trial_end) == ("active", T0)


def test_a_downgrade_scheduled_at_period_end_is_billed_from_the_renewal() -> None:
    world = world_build()
    with frozen_at(T0):
        portal_configuration_update(
            configuration=world.configuration,
            values={
                "features": {
                    "subscription_update": {
                        "schedule_at_period_end": {"conditions": [{"type": "decreasing_item_amount"}]}
                    }
                }
            },
        )
    client = signed_in(world)
    sub = world.jenny_sub.public_id
    _, html = get(client, f"/p/subscriptions/{sub}/update/confirm?price={world.basic_month.public_id}&quantity=1")
    assert "Your plan changes to Basic · $10.00 per seat per month on June 1, 2031" in html
    assert "Your next invoice, on June 1, 2031" in html and 'id="preview-amount">$10.00<' in html
    token = re.search(r'name="token" value="([^"]+)"', html)
    assert token is not None
    invoices_before = Invoice.objects.filter(customer=world.jenny).count()
    post(client, f"/p/subscriptions/{sub}/update/apply", {"token": token.group(1)})
    subscription = Subscription.objects.get(public_id=sub)
    # The customer keeps the two seats paid for until the renewal, which bills one.
    assert subscription.items.get(deleted=False).quantity == 2 and subscription.schedule is not None
    assert Invoice.objects.filter(customer=world.jenny).count() == invoices_before
    assert not InvoiceItem.objects.filter(customer=world.jenny, proration=True).exists()


def test_card_testing_is_cut_off_after_ten_tries_an_hour(world: World) -> None:
    client = signed_in(world)
    card = {"name": "Jenny Rosen", "number": "4000 0000 0000 0002", "expiry": "04 / 34", "cvc": "123"}
    answers = [post(client, "/p/payment-methods/new", card)[0] for _ in range(10)]
    assert answers == [402] * 10
    status, html, _ = post(client, "/p/payment-methods/new", {**card, "number": "4242 4242 4242 4242"})
    assert status == 429 and "Too many attempts. Wait 60 minutes, then try again." in html
    assert PaymentMethod.objects.filter(customer=world.jenny).count() == 1


def test_multi_item_and_invoiced_subscriptions_can_only_be_canceled(world: World) -> None:
    from billfold.billing.subscriptions.creation import NewSubscription
    from billfold.billing.subscriptions.services import subscription_create

    with frozen_at(T0):
        multi = subscription_create(
            customer=world.jenny,
            livemode=False,
            spec=NewSubscription(items=[{"price": world.basic_month}, {"price": world.pro_month}]),
        )
        invoiced = subscription_create(
            customer=world.jenny,
            livemode=False,
            spec=NewSubscription(
                items=[{"price": world.basic_month}], collection_method="send_invoice", days_until_due=30
            ),
        )
    client = signed_in(world)
    _, html = get(client, "/p/")
    for subscription in (multi, invoiced):
        assert f"/p/subscriptions/{subscription.public_id}/update" not in html
        assert f"/p/subscriptions/{subscription.public_id}/cancel" in html
        assert get(client, f"/p/subscriptions/{subscription.public_id}/update")[0] == 404
    assert "Basic \N{MULTIPLICATION SIGN} 1, Pro \N{MULTIPLICATION SIGN} 1" in html


def test_immediate_cancellation_with_prorations_credits_the_unused_time(world: World) -> None:
    with frozen_at(T0):
        portal_configuration_update(
            configuration=world.configuration,
            values={
                "features": {"subscription_cancel": {"mode": "immediately", "proration_behavior": "create_prorations"}}
            },
        )
    client = signed_in(world)
    sub = world.jenny_sub.public_id
    _, html = get(client, f"/p/subscriptions/{sub}/cancel")
    assert "Your subscription will be canceled immediately." in html
    status, _, location = post(client, f"/p/subscriptions/{sub}/cancel", {"reason": "unused"})
    assert (status, location) == (302, "/p/")
    subscription = Subscription.objects.get(public_id=sub)
    assert (subscription.status, subscription.ended_at, subscription.cancellation_details["feedback"]) == (
        "canceled",
        T0,
        "unused",
    )
    assert "customer.subscription.deleted" in event_types()
    credits = InvoiceItem.objects.filter(customer=world.jenny, proration=True).values_list("amount", flat=True)
    assert list(credits) == [-2000]
