"""``billfold trigger EVENT``: the objects are made through the services, and the event happens."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from billfold.billing.models import Invoice, Subscription
from billfold.customers.models import Customer
from billfold.events.endpoints import webhook_endpoint_create
from billfold.events.models import Event, WebhookDelivery


def trigger(event: str) -> list[str]:
    out = io.StringIO()
    call_command("trigger", event, stdout=out)
    return out.getvalue().splitlines()


@pytest.mark.django_db
def test_customer_created() -> None:
    lines = trigger("customer.created")
    customer = Customer.objects.get()
    event = Event.objects.get()
    assert (customer.livemode, customer.description) == (False, "(created by billfold trigger)")
    assert lines == [
        "Setting up the objects for customer.created (test mode)...",
        f"Created customer {customer.public_id}",
        "Trigger succeeded! 1 events happened:",
        f"  customer.created [{event.public_id}]",
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("event", "status", "invoice_status"),
    [
        ("customer.subscription.created", "active", "paid"),
        ("invoice.paid", "active", "paid"),
        ("invoice.payment_failed", "incomplete", "open"),
    ],
)
def test_subscription_events(event: str, status: str, invoice_status: str) -> None:
    webhook_endpoint_create(livemode=False, url="http://localhost:4242/hook", enabled_events=[event])
    lines = trigger(event)
    subscription = Subscription.objects.get()
    invoice = Invoice.objects.get()
    assert (subscription.livemode, subscription.status, invoice.status) == (False, status, invoice_status)
    assert (
        f"Created subscription {subscription.public_id} ({status}, first invoice {invoice.public_id} {invoice_status})"
        in lines
    )
    happened = list(Event.objects.order_by("pk").values_list("type", "public_id"))
    assert lines[-len(happened) :] == [f"  {kind} [{public_id}]" for kind, public_id in happened]
    # Through the same services as the API: the endpoint subscribed to the event gets it.
    [delivery] = WebhookDelivery.objects.all()
    assert delivery.event.type == event


@pytest.mark.django_db
def test_an_event_it_cannot_make_is_refused_and_nothing_is_created() -> None:
    with pytest.raises(CommandError) as refused:
        trigger("account.updated")
    assert str(refused.value).startswith(
        "billfold trigger cannot make 'account.updated' happen. It can make: charge.failed,"
    )
    assert Event.objects.count() == 0
