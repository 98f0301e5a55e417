"""``billfold demo``: a small test-mode catalog and a few customers to try Billfold with.

Safe to run again: whatever already exists (prices by lookup key, customers by email) is kept.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from billfold.catalog import services as catalog
from billfold.catalog.models import Price, Product
from billfold.customers import selectors as customer_selectors
from billfold.customers import services as customer_services

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
        with transaction.atomic():
            new_products = new_prices = new_customers = 0
            for entry in PRODUCTS:
                products, prices = _ensure_product(entry)
                new_products += products
                new_prices += prices
            for values in CUSTOMERS:
                if not customer_selectors.customer_list(livemode=False, email=values["email"]).exists():
                    customer_services.customer_create(livemode=False, values=values)
                    new_customers += 1
        total_prices = sum(len(entry["prices"]) for entry in PRODUCTS)
        created = (
            f"created {_count(new_products, 'product')}, {_count(new_prices, 'price')} and "
            f"{_count(new_customers, 'customer')}"
            if new_products or new_prices or new_customers
            else "all already there, nothing changed"
        )
        if options["verbosity"] >= 1:
            self.stdout.write(
                f"Demo data in test mode: {_count(len(PRODUCTS), 'product')}, {_count(total_prices, 'price')}, "
                f"{_count(len(CUSTOMERS), 'customer')} ({created})."
            )


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"
