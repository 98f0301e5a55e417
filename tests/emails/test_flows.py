"""Emails from real billing flows, driven through the official stripe SDK against a live server,
received by a real SMTP server: receipts, failed payments, trial and renewal reminders."""

from __future__ import annotations

import datetime as dt
import re
from types import ModuleType
from typing import Any

import pytest
from django.test import override_settings

from billfold.core import clock
from billfold.core.ids import new_id
from billfold.emails import sending, services
from billfold.emails.models import Email
from billfold.emails.services import email_enqueue_for_event
from billfold.events.models import Event
from billfold.events.services import API_VERSION
from tests.emails.conftest import BUSINESS, SENDER, Mailbox, send_all

SITE = "https://billing.acme.example"
DAY = dt.timedelta(days=1)
NBSP = "\N{NO-BREAK SPACE}"
DOTS = "\N{BULLET}" * 4


def unix(moment: dt.datetime) -> int:
    return int(moment.timestamp())


def long_date(timestamp: int) -> str:
    """How English emails write a date: "March 15, 2030"."""
    day = clock.from_unix(timestamp)
    return f"{day:%B} {day.day}, {day.year}"


def card_customer(sdk: ModuleType, card: str = "pm_card_visa", **params: Any) -> Any:
    params.setdefault("email", "jenny@example.com")
    return sdk.Customer.create(
        name="Jenny Rosen", payment_method=card, invoice_settings={"default_payment_method": card}, **params
    )


def paid_invoice(sdk: ModuleType, customer: Any) -> Any:
    sdk.InvoiceItem.create(customer=customer.id, amount=2000, currency="usd", description="Consulting")
    sdk.InvoiceItem.create(customer=customer.id, amount=550, currency="usd", description="Support plan")
    invoice = sdk.Invoice.create(customer=customer.id, pending_invoice_items_behavior="include")
    paid = sdk.Invoice.pay(invoice.id)
    assert paid.status == "paid"
    return paid


def record_upcoming(sdk: ModuleType, subscription: Any) -> None:
    """Write invoice.upcoming for the subscription as the billing engine does (the next invoice's preview
    without an id), whenever the test needs it."""
    upcoming = sdk.Invoice.create_preview(subscription=subscription.id).to_dict(for_json=True)
    del upcoming["id"]
    event = Event.objects.create(
        public_id=new_id("evt"), type="invoice.upcoming", api_version=API_VERSION, data={"object": upcoming}
    )
    email_enqueue_for_event(event)


def hrefs(html: str) -> list[str]:
    return re.findall(r'href="([^"]*)"', html)


def test_a_paid_invoice_sends_a_receipt_with_its_links(sdk: ModuleType, mailbox: Mailbox) -> None:
    customer = card_customer(sdk)
    paid = paid_invoice(sdk, customer)
    row = Email.objects.get()
    assert (row.kind, row.to_email, row.customer_id, row.object_id, row.status) == (
        "receipt",
        "jenny@example.com",
        customer.id,
        paid.id,
        "queued",
    )
    # An event's email waits a few seconds after a sender first sees it (a request may still take it back).
    assert sending.emails_send_due().claimed == 0
    row.refresh_from_db()
    assert row.next_attempt_at is not None and mailbox.received == []

    assert send_all().sent == 1
    received = mailbox.only()
    assert (received.mail_from, received.rcpt_tos) == (SENDER, ["jenny@example.com"])
    assert received.message["Subject"] == f"Your receipt from {BUSINESS} #{paid.number}"
    assert received.message["To"] == "jenny@example.com"
    assert paid.hosted_invoice_url == f"{SITE}/i/{paid.hosted_invoice_url.rsplit('/', 1)[1]}"
    assert received.text == (
        f"{BUSINESS}\n\n"
        "[Test mode: this email is about test data. No real money has moved.]\n\n"
        f"Receipt #{paid.number}\n\n"
        "Hello Jenny Rosen,\n\n"
        f"Thank you for your payment of $25.50 to {BUSINESS} on {long_date(paid.status_transitions.paid_at)}.\n"
        f"Paid with Visa {DOTS} 4242.\n\n"
        "  Consulting: $20.00\n"
        "  Support plan: $5.50\n"
        "  Amount paid: $25.50\n\n"
        f"View the invoice: {paid.hosted_invoice_url}\n"
        f"Download the PDF: {paid.invoice_pdf}\n\n"
        "--\n"
        f"This email was sent by {BUSINESS} about your account.\n"
    )
    html = received.html
    assert hrefs(html) == [paid.hosted_invoice_url, paid.invoice_pdf]
    assert paid.invoice_pdf == f"{paid.hosted_invoice_url}/pdf"
    assert ">$25.50</p>" in html and ">Consulting</td>" in html and ">Support plan</td>" in html
    assert '<html lang="en">' in html
    row.refresh_from_db()
    assert (row.status, row.attempts, row.subject) == ("sent", 1, f"Your receipt from {BUSINESS} #{paid.number}")
    # What was sent is kept.
    assert (row.text_body, row.html_body) == (received.text, html)


def test_receipts_speak_the_customers_locale(sdk: ModuleType, mailbox: Mailbox) -> None:
    customer = card_customer(sdk, preferred_locales=["de-DE"])
    paid = paid_invoice(sdk, customer)
    send_all()
    text = mailbox.only().text
    day = clock.from_unix(paid.status_transitions.paid_at)
    months = ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober",
              "November", "Dezember"]  # fmt: skip
    assert f"Vielen Dank für Ihre Zahlung von 25,50{NBSP}$ an {BUSINESS} am {day.day}. {months[day.month - 1]} " in text
    assert f"  Consulting: 20,00{NBSP}$\n" in text


def test_no_receipt_when_no_card_paid(sdk: ModuleType, mailbox: Mailbox) -> None:
    customer = card_customer(sdk)
    sdk.InvoiceItem.create(customer=customer.id, amount=2000, currency="usd")
    invoice = sdk.Invoice.create(customer=customer.id, pending_invoice_items_behavior="include")
    assert sdk.Invoice.pay(invoice.id, paid_out_of_band=True).status == "paid"
    # A $0 invoice is paid the moment it is finalized.
    free = sdk.Invoice.create(customer=customer.id)
    assert sdk.Invoice.finalize_invoice(free.id).status == "paid"
    assert Email.objects.count() == 0


def test_no_email_for_a_customer_without_an_address(sdk: ModuleType, mailbox: Mailbox) -> None:
    customer = sdk.Customer.create(
        name="No Mail", payment_method="pm_card_visa", invoice_settings={"default_payment_method": "pm_card_visa"}
    )
    paid_invoice(sdk, customer)
    assert Email.objects.count() == 0


def test_a_kind_turned_off_is_not_sent(sdk: ModuleType, mailbox: Mailbox, settings: Any) -> None:
    settings.BILLFOLD_EMAILS = ["payment_failed", "trial_ending", "upcoming_renewal", "passcode"]
    paid_invoice(sdk, card_customer(sdk))
    assert Email.objects.count() == 0
    send_all()
    assert mailbox.received == []


def failing_subscription(sdk: ModuleType, **params: Any) -> tuple[Any, Any]:
    customer = card_customer(sdk, "pm_card_chargeCustomerFail")
    price = sdk.Price.create(
        currency="usd", unit_amount=2500, recurring={"interval": "month"}, product_data={"name": "Pro"}
    )
    return customer, sdk.Subscription.create(customer=customer.id, items=[{"price": price.id}], **params)


def test_a_declined_payment_sends_the_link_to_pay(sdk: ModuleType, mailbox: Mailbox) -> None:
    _, subscription = failing_subscription(sdk)
    assert subscription.status == "incomplete"
    invoice = sdk.Invoice.retrieve(subscription.latest_invoice)
    assert (invoice.status, invoice.attempt_count) == ("open", 1)

    assert send_all().sent == 1
    received = mailbox.only()
    assert received.rcpt_tos == ["jenny@example.com"]
    assert received.message["Subject"] == f"Your payment to {BUSINESS} failed"
    link = invoice.hosted_invoice_url
    assert link.startswith(f"{SITE}/i/")
    # Retried by the dunning schedule a day after the failed attempt.
    assert invoice.next_payment_attempt is not None
    then = (
        f"We will try again on {long_date(invoice.next_payment_attempt)}. To avoid an interruption, pay the "
        "invoice now or use another card:"
    )
    assert received.text == (
        f"{BUSINESS}\n\n"
        "[Test mode: this email is about test data. No real money has moved.]\n\n"
        "Your payment failed\n\n"
        "Hello Jenny Rosen,\n\n"
        f"We could not collect $25.00 for invoice {invoice.number} from your Visa {DOTS} 0341.\n"
        "The reason given: Your card was declined.\n\n"
        f"{then}\n"
        f"{link}\n\n"
        "--\n"
        f"This email was sent by {BUSINESS} about your account.\n"
    )
    assert hrefs(received.html) == [link, link]
    assert ">Pay invoice</a>" in received.html


# Without the renewal reminder (invoice.upcoming) a week before: this test is about the failure email.
@override_settings(BILLFOLD_UPCOMING_RENEWAL_DAYS="0")
def test_a_retry_date_is_given_when_the_schedule_has_one(sdk: ModuleType, mailbox: Mailbox) -> None:
    start = dt.datetime(2030, 6, 1, tzinfo=dt.UTC)
    renewal = dt.datetime(2030, 7, 1, tzinfo=dt.UTC)
    test_clock = sdk.test_helpers.TestClock.create(frozen_time=unix(start))
    customer = card_customer(sdk, test_clock=test_clock.id)
    price = sdk.Price.create(
        currency="usd", unit_amount=2500, recurring={"interval": "month"}, product_data={"name": "Pro"}
    )
    subscription = sdk.Subscription.create(customer=customer.id, items=[{"price": price.id}])
    failing = sdk.PaymentMethod.attach("pm_card_chargeCustomerFail", customer=customer.id)
    sdk.Customer.modify(customer.id, invoice_settings={"default_payment_method": failing.id})
    sdk.test_helpers.TestClock.advance(test_clock.id, frozen_time=unix(renewal + dt.timedelta(hours=1)))
    invoice = sdk.Invoice.list(subscription=subscription.id, limit=1).data[0]
    assert invoice.next_payment_attempt == unix(renewal + DAY)

    send_all()
    # The first invoice's receipt, then the renewal's failure.
    subjects = [r.message["Subject"] for r in mailbox.received]
    assert len(subjects) == 2 and subjects[1] == f"Your payment to {BUSINESS} failed"
    retry = "We will try again on July 2, 2030. To avoid an interruption, pay the invoice now or use another card:\n"
    assert retry in mailbox.received[1].text


def test_a_request_taken_back_after_a_decline_sends_nothing(sdk: ModuleType, mailbox: Mailbox) -> None:
    with pytest.raises(sdk.CardError):
        failing_subscription(sdk, payment_behavior="error_if_incomplete")
    # The failure's event was taken back with the request, and its email with it.
    assert Email.objects.count() == 0
    send_all()
    assert mailbox.received == []


# Without the renewal reminder (invoice.upcoming) a week before the trial's end: this test is about the trial's.
@override_settings(BILLFOLD_UPCOMING_RENEWAL_DAYS="0")
def test_a_trial_ending_soon_sends_a_reminder(sdk: ModuleType, mailbox: Mailbox) -> None:
    start = dt.datetime(2030, 3, 1, 12, tzinfo=dt.UTC)
    trial_end = start + 14 * DAY
    test_clock = sdk.test_helpers.TestClock.create(frozen_time=unix(start))
    customer = card_customer(sdk, test_clock=test_clock.id)
    quarterly = {"interval": "month", "interval_count": 3}
    price = sdk.Price.create(currency="usd", unit_amount=1000, recurring=quarterly, product_data={"name": "Pro"})
    archive = sdk.Price.create(currency="usd", unit_amount=9900, recurring=quarterly, product_data={"name": "Archive"})
    subscription = sdk.Subscription.create(
        customer=customer.id,
        items=[{"price": price.id, "quantity": 2}, {"price": archive.id}],
        trial_period_days=14,
    )
    sdk.test_helpers.TestClock.advance(test_clock.id, frozen_time=unix(trial_end - 3 * DAY + dt.timedelta(hours=1)))
    row = Email.objects.get()
    assert (row.kind, row.object_id) == ("trial_ending", subscription.id)
    # The invoice that ends the trial is announced by invoice.upcoming too; its renewal reminder would
    # repeat the trial's, so none is queued.
    record_upcoming(sdk, subscription)
    assert Email.objects.count() == 1

    send_all()
    received = mailbox.only()
    assert received.message["Subject"] == f"Your {BUSINESS} trial ends on March 15, 2030"
    assert received.text == (
        f"{BUSINESS}\n\n"
        "[Test mode: this email is about test data. No real money has moved.]\n\n"
        "Your trial ends soon\n\n"
        "Hello Jenny Rosen,\n\n"
        f"Your free trial of {BUSINESS} ends on March 15, 2030. Your subscription continues after that:\n\n"
        "  Pro x 2: $10.00 every 3 months\n"
        "  Archive: $99.00 every 3 months\n\n"
        "The card on file will be charged when the trial ends. "
        f"To cancel instead, contact {BUSINESS} before March 15, 2030.\n\n"
        "--\n"
        f"This email was sent by {BUSINESS} about your account.\n"
    )
    assert "Pro &times; 2</td>" in received.html


def test_an_upcoming_renewal_sends_a_reminder(sdk: ModuleType, mailbox: Mailbox) -> None:
    start = dt.datetime(2030, 1, 10, 9, tzinfo=dt.UTC)
    renewal = dt.datetime(2031, 1, 10, 9, tzinfo=dt.UTC)
    test_clock = sdk.test_helpers.TestClock.create(frozen_time=unix(start))
    customer = card_customer(sdk, test_clock=test_clock.id)
    price = sdk.Price.create(
        currency="usd", unit_amount=4900, recurring={"interval": "year"}, product_data={"name": "Team plan"}
    )
    subscription = sdk.Subscription.create(customer=customer.id, items=[{"price": price.id}])
    # invoice.upcoming comes 7 days (BILLFOLD_UPCOMING_RENEWAL_DAYS) before the renewal.
    sdk.test_helpers.TestClock.advance(test_clock.id, frozen_time=unix(renewal - 7 * DAY + dt.timedelta(hours=1)))
    upcoming = Event.objects.get(type="invoice.upcoming").data["object"]
    assert list(Email.objects.order_by("pk").values_list("kind", "object_id")) == [
        ("receipt", subscription.latest_invoice),
        ("upcoming_renewal", subscription.id),
    ]

    send_all()
    assert [r.message["Subject"] for r in mailbox.received] == [
        f"Your receipt from {BUSINESS} #{sdk.Invoice.retrieve(subscription.latest_invoice).number}",
        f"Your {BUSINESS} subscription renews on January 10, 2031",
    ]
    assert mailbox.received[1].text == (
        f"{BUSINESS}\n\n"
        "[Test mode: this email is about test data. No real money has moved.]\n\n"
        "Your subscription renews soon\n\n"
        "Hello Jenny Rosen,\n\n"
        f"Your subscription to {BUSINESS} renews on January 10, 2031, and $49.00 will be charged then.\n\n"
        f"  {upcoming['lines']['data'][0]['description']}: $49.00\n"
        "  Amount due: $49.00\n\n"
        "Nothing needs doing if this is what you expect. To change or cancel your subscription before then, "
        f"contact {BUSINESS}.\n\n"
        "--\n"
        f"This email was sent by {BUSINESS} about your account.\n"
    )


def test_a_free_renewal_sends_no_reminder(sdk: ModuleType, mailbox: Mailbox) -> None:
    customer = card_customer(sdk)
    price = sdk.Price.create(
        currency="usd", unit_amount=0, recurring={"interval": "month"}, product_data={"name": "Free"}
    )
    subscription = sdk.Subscription.create(customer=customer.id, items=[{"price": price.id}])
    Email.objects.all().delete()
    record_upcoming(sdk, subscription)
    assert Email.objects.count() == 0


def test_when_no_retry_is_left_the_email_says_so(sdk: ModuleType, mailbox: Mailbox, settings: Any) -> None:
    settings.BILLFOLD_RETRY_SCHEDULE = ""
    _, subscription = failing_subscription(sdk)
    invoice = sdk.Invoice.retrieve(subscription.latest_invoice)
    assert invoice.next_payment_attempt is None
    send_all()
    text = mailbox.only().text
    assert (
        "There are no further automatic attempts. Pay the invoice here to keep your account in good standing:\n"
        f"{invoice.hosted_invoice_url}\n"
    ) in text
    assert "We will try again" not in text


def test_an_email_that_cannot_be_queued_never_holds_up_the_payment(
    sdk: ModuleType, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*, event: Event) -> None:
        Email.objects.create(public_id="eml_partial", kind="receipt", to_email="x@example.com")
        raise KeyError("amount_paid")

    monkeypatch.setitem(services._HANDLERS, "invoice.paid", broken)
    paid = paid_invoice(sdk, card_customer(sdk))
    assert sdk.Invoice.retrieve(paid.id).status == "paid"
    # What the failed handler wrote went back with its savepoint; the payment's own rows stayed.
    assert Email.objects.count() == 0
    assert Event.objects.filter(type="invoice.paid", object_id=paid.id).count() == 1
    assert "Queueing the email for evt_" in caplog.text and "(invoice.paid) failed" in caplog.text
