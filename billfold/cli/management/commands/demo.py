"""``billfold demo``: a small test-mode catalog, a few customers and their subscriptions to try Billfold
(and its dashboard) with.

Safe to run again: whatever already exists (prices by lookup key, customers by email, a customer's
subscriptions) is kept.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from billfold.billing.models import Subscription
from billfold.billing.subscriptions import selectors as subscription_selectors
from billfold.billing.subscriptions import services as subscription_services
from billfold.billing.subscriptions.advance import subscription_advance
from billfold.billing.subscriptions.creation import NewSubscription
from billfold.branding.selectors import brand_get
from billfold.branding.services import brand_update
from billfold.catalog import services as catalog
from billfold.catalog.models import Price, Product
from billfold.core import clock
from billfold.customers import selectors as customer_selectors
from billfold.customers import services as customer_services
from billfold.portal.configurations import portal_configuration_default, portal_configuration_update

# Each product with its prices (amounts in cents); the first price becomes its default.
PRODUCTS: list[dict[str, Any]] = [
    {
        "product": {
            "name": "Starter",
            "description": "For individuals getting started: 3 projects and email support.",
            "unit_label": "seat",
            "tax_code": "txcd_10103001",
            "statement_descriptor": "BILLFOLD STARTER",
            "marketing_features": [{"name": "3 projects"}, {"name": "Email support"}],
        },
        "prices": [
            {
                "lookup_key": "demo_starter_monthly",
                "nickname": "Starter monthly",
                "currency": "usd",
                "unit_amount": 900,
                "recurring": {"interval": "month"},
            },
            {
                "lookup_key": "demo_starter_yearly",
                "nickname": "Starter yearly",
                "currency": "usd",
                "unit_amount": 9000,
                "recurring": {"interval": "year"},
            },
        ],
    },
    {
        "product": {
            "name": "Pro",
            "description": "For growing teams: unlimited projects, priority support and audit logs.",
            "unit_label": "seat",
            "tax_code": "txcd_10103001",
            "statement_descriptor": "BILLFOLD PRO",
            "marketing_features": [
                {"name": "Unlimited projects"},
                {"name": "Priority support"},
                {"name": "Audit logs"},
            ],
        },
        "prices": [
            {
                "lookup_key": "demo_pro_monthly",
                "nickname": "Pro monthly",
                "currency": "usd",
                "unit_amount": 2900,
                "recurring": {"interval": "month", "trial_period_days": 14},
            },
            {
                "lookup_key": "demo_pro_yearly",
                "nickname": "Pro yearly",
                "currency": "usd",
                "unit_amount": 29000,
                "recurring": {"interval": "year", "trial_period_days": 14},
            },
        ],
    },
    {
        "product": {
            "name": "Team",
            "description": "Volume pricing: the more seats, the less each one costs.",
            "unit_label": "seat",
            "tax_code": "txcd_10103001",
        },
        "prices": [
            {
                "lookup_key": "demo_team_monthly",
                "nickname": "Team monthly (volume)",
                "currency": "usd",
                "recurring": {"interval": "month"},
                "billing_scheme": "tiered",
                "tiers_mode": "volume",
                "tiers": [
                    {"up_to": 5, "unit_amount": 1200},
                    {"up_to": 20, "unit_amount": 1000},
                    {"up_to": "inf", "unit_amount": 800},
                ],
            },
        ],
    },
    {
        "product": {
            "name": "Onboarding session",
            "description": "A one-hour call to set up your workspace with an expert.",
            "tax_code": "txcd_20030000",
        },
        "prices": [
            {
                "lookup_key": "demo_onboarding",
                "nickname": "Onboarding (one-time)",
                "currency": "usd",
                "unit_amount": 25000,
            },
        ],
    },
]

CUSTOMERS: list[dict[str, Any]] = [
    {
        "email": "jenny.rosen@example.com",
        "name": "Jenny Rosen",
        "preferred_locales": ["en"],
        # The test processor's Visa card: her subscription is charged automatically.
        "payment_method": "pm_card_visa",
        "invoice_settings": {"default_payment_method": "pm_card_visa"},
        "address": {
            "line1": "510 Townsend St",
            "city": "San Francisco",
            "state": "CA",
            "postal_code": "94103",
            "country": "US",
        },
    },
    {
        "email": "ada.lovelace@example.com",
        "name": "Ada Lovelace",
        "preferred_locales": ["en-GB"],
        "address": {"line1": "12 St James's Square", "city": "London", "postal_code": "SW1Y 4JH", "country": "GB"},
    },
    {
        "email": "hans.muster@example.com",
        "name": "Hans Muster",
        "preferred_locales": ["de"],
        "address": {"line1": "Musterstraße 1", "city": "Berlin", "postal_code": "10115", "country": "DE"},
    },
]


# Each customer's subscription: the price (by lookup key), the quantity, and how many days ago it
# started, so that the dashboard's charts have some history. Customers with a card are charged
# automatically; the others are sent invoices to pay by bank transfer within 30 days.
SUBSCRIPTIONS: list[dict[str, Any]] = [
    {"email": "jenny.rosen@example.com", "price": "demo_pro_monthly", "quantity": 3, "days_ago": 75},
    {"email": "ada.lovelace@example.com", "price": "demo_starter_yearly", "quantity": 1, "days_ago": 40},
    {"email": "hans.muster@example.com", "price": "demo_starter_monthly", "quantity": 5, "days_ago": 20},
]


def _ensure_subscription(entry: dict[str, Any]) -> int:
    """Subscribe the demo customer unless they have a subscription already; how many were created.

    The subscription starts ``days_ago``, and its renewals since then run at the moments they fell due,
    as the billing worker would have run them (each with the time of its own moment).
    """
    customer = customer_selectors.customer_list(livemode=False, email=entry["email"]).first()
    if (
        customer is None
        or subscription_selectors.subscription_list(livemode=False, customer=customer, status="all").exists()
    ):
        return 0
    price = Price.objects.get(livemode=False, lookup_key=entry["price"])
    card = (customer.invoice_settings or {}).get("default_payment_method")
    spec = NewSubscription(
        items=[{"price": price, "quantity": entry["quantity"]}],
        collection_method="charge_automatically" if card else "send_invoice",
        days_until_due=None if card else 30,
    )
    now = clock.now()
    with clock.frozen_at(now - dt.timedelta(days=entry["days_ago"])):
        subscription = subscription_services.subscription_create(customer=customer, livemode=False, spec=spec)
    while True:
        due = Subscription.objects.filter(pk=subscription.pk).values_list("next_action_at", flat=True).get()
        if due is None or due > now:
            return 1
        with clock.frozen_at(due):
            subscription_advance(subscription_id=subscription.pk, now=due)


def _ensure_product(entry: dict[str, Any]) -> tuple[int, int]:
    """Create what is missing of one demo product; ``(products created, prices created)``."""
    keys = [price["lookup_key"] for price in entry["prices"]]
    prices = {
        p.lookup_key: p for p in Price.objects.filter(livemode=False, lookup_key__in=keys).select_related("product")
    }
    product: Product | None = next((p.product for p in prices.values()), None)
    created_products = created_prices = 0
    if product is None:
        product = catalog.product_create(livemode=False, values=entry["product"])
        created_products = 1
    for values in entry["prices"]:
        if values["lookup_key"] not in prices:
            prices[values["lookup_key"]] = catalog.price_create(
                livemode=False, values={**values, "product": product.public_id}
            )
            created_prices += 1
    if product.default_price_id is None:
        catalog.product_update(product=product, values={"default_price": prices[keys[0]].public_id})
    return created_products, created_prices


class Command(BaseCommand):
    help = "Load demo products, prices and customers into test mode (safe to run again)."

    def handle(self, *args: Any, **options: Any) -> None:
        # The catalog and customers date from before the first subscription, as they would in real life.
        history = dt.timedelta(days=max(entry["days_ago"] for entry in SUBSCRIPTIONS) + 1)
        with clock.frozen_at(clock.now() - history), transaction.atomic():
            new_products = new_prices = new_customers = 0
            for entry in PRODUCTS:
                products, prices = _ensure_product(entry)
                new_products += products
                new_prices += prices
            for values in CUSTOMERS:
                if not customer_selectors.customer_list(livemode=False, email=values["email"]).exists():
                    customer_services.customer_create(livemode=False, values=values)
                    new_customers += 1
        # After the catalog and customers are committed: a subscription may charge a card, which happens
        # outside any transaction (billing.subscriptions.services).
        new_subscriptions = sum(_ensure_subscription(entry) for entry in SUBSCRIPTIONS)
        _ensure_portal()
        total_prices = sum(len(entry["prices"]) for entry in PRODUCTS)
        created = (
            f"created {_count(new_products, 'product')}, {_count(new_prices, 'price')}, "
            f"{_count(new_customers, 'customer')} and {_count(new_subscriptions, 'subscription')}"
            if new_products or new_prices or new_customers or new_subscriptions
            else "all already there, nothing changed"
        )
        if options["verbosity"] >= 1:
            self.stdout.write(
                f"Demo data in test mode: {_count(len(PRODUCTS), 'product')}, {_count(total_prices, 'price')}, "
                f"{_count(len(CUSTOMERS), 'customer')}, {_count(len(SUBSCRIPTIONS), 'subscription')} ({created})."
            )


# The plans customers may switch between in the demo portal: each product with its prices.
PORTAL_PLANS = {
    "Starter": ["demo_starter_monthly", "demo_starter_yearly"],
    "Pro": ["demo_pro_monthly", "demo_pro_yearly"],
}
DEMO_BUSINESS_NAME = "Billfold Demo"


def _ensure_portal() -> None:
    """A business name, and plan switching in the test-mode portal, unless already set up."""
    if not brand_get().business_name:
        brand_update(values={"business_name": DEMO_BUSINESS_NAME})
    configuration = portal_configuration_default(livemode=False)
    if configuration.features["subscription_update"]["enabled"]:
        return
    prices = {p.lookup_key: p for p in Price.objects.filter(livemode=False, lookup_key__isnull=False)}
    products = [
        {"product": prices[keys[0]].product.public_id, "prices": [prices[key].public_id for key in keys]}
        for keys in PORTAL_PLANS.values()
    ]
    portal_configuration_update(
        configuration=configuration,
        values={
            "business_profile": {"headline": f"{DEMO_BUSINESS_NAME}: manage your subscription and billing."},
            "features": {
                "subscription_update": {
                    "enabled": True,
                    "default_allowed_updates": ["price", "quantity", "promotion_code"],
                    "products": products,
                    "proration_behavior": "create_prorations",
                }
            },
        },
    )


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"
