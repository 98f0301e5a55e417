"""``billfold trigger EVENT``: make an event happen in test mode, for trying out a webhook receiver.

Like ``stripe trigger``: it creates the objects whose creation causes the event, through the same
service functions the API calls (so every other event they cause happens too), and prints them.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from billfold.billing.models import Subscription
from billfold.billing.subscriptions.creation import NewSubscription
from billfold.billing.subscriptions.services import subscription_create
from billfold.catalog.models import Price
from billfold.catalog.services import price_create
from billfold.core.errors import DomainError
from billfold.customers.models import Customer
from billfold.customers.services import customer_create
from billfold.events.models import Event

DESCRIPTION = "(created by billfold trigger)"


class Trigger:
    def __init__(self, say: Callable[[str], None]) -> None:
        self.say = say

    def customer(self, card: str | None = None) -> Customer:
        values: dict[str, Any] = {"email": "jenny.rosen@example.com", "name": "Jenny Rosen", "description": DESCRIPTION}
        if card is not None:
            values.update(payment_method=card, invoice_settings={"default_payment_method": card})
        customer = customer_create(livemode=False, values=values)
        with_card = f" with the test card {card}" if card else ""
        self.say(f"Created customer {customer.public_id}{with_card}")
        return customer

    def price(self) -> Price:
        price = price_create(
            livemode=False,
            values={
                "currency": "usd",
                "unit_amount": 2000,
                "recurring": {"interval": "month", "interval_count": 1},
                "product_data": {"name": "Billfold trigger plan"},
            },
        )
        self.say(f"Created product {price.product.public_id} and its price {price.public_id} (20.00 USD a month)")
        return price

    def subscription(self, card: str) -> Subscription:
        customer = self.customer(card)
        price = self.price()
        subscription = subscription_create(
            customer=customer, livemode=False, spec=NewSubscription(items=[{"price": price}], description=DESCRIPTION)
        )
        invoice = subscription.latest_invoice
        paid = f", first invoice {invoice.public_id} {invoice.status}" if invoice is not None else ""
        self.say(f"Created subscription {subscription.public_id} ({subscription.status}{paid})")
        return subscription


# Event → what makes it happen. The failing card attaches but declines every charge.
SCENARIOS: dict[str, Callable[[Trigger], object]] = {
    "customer.created": lambda t: t.customer(),
    "product.created": lambda t: t.price(),
    "price.created": lambda t: t.price(),
    "customer.subscription.created": lambda t: t.subscription("pm_card_visa"),
    "invoice.created": lambda t: t.subscription("pm_card_visa"),
    "invoice.finalized": lambda t: t.subscription("pm_card_visa"),
    "invoice.paid": lambda t: t.subscription("pm_card_visa"),
    "invoice.payment_succeeded": lambda t: t.subscription("pm_card_visa"),
    "payment_intent.succeeded": lambda t: t.subscription("pm_card_visa"),
    "charge.succeeded": lambda t: t.subscription("pm_card_visa"),
    "invoice.payment_failed": lambda t: t.subscription("pm_card_chargeCustomerFail"),
    "payment_intent.payment_failed": lambda t: t.subscription("pm_card_chargeCustomerFail"),
    "charge.failed": lambda t: t.subscription("pm_card_chargeCustomerFail"),
}


class Command(BaseCommand):
    help = "Make an event happen in test mode by creating the objects that cause it (like `stripe trigger`)."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("event", help=f"the event type: {', '.join(sorted(SCENARIOS))}")

    def handle(self, *args: Any, **options: Any) -> None:
        name: str = options["event"]
        scenario = SCENARIOS.get(name)
        if scenario is None:
            known = ", ".join(sorted(SCENARIOS))
            raise CommandError(f"billfold trigger cannot make {name!r} happen. It can make: {known}.")
        before = Event.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        self.stdout.write(f"Setting up the objects for {name} (test mode)...")
        try:
            scenario(Trigger(self.stdout.write))
        except DomainError as error:
            raise CommandError(f"Creating the objects failed: {error.message}") from error
        events = list(
            Event.objects.filter(pk__gt=before, livemode=False).order_by("pk").values_list("type", "public_id")
        )
        if not any(kind == name for kind, _ in events):
            raise CommandError(f"The objects were created but no {name} event was written.")
        self.stdout.write(f"Trigger succeeded! {len(events)} events happened:")
        for kind, public_id in events:
            self.stdout.write(f"  {kind} [{public_id}]")
