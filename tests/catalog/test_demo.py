"""``billfold demo``: the demo catalog and customers, loaded once however often it runs."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from billfold.catalog.models import Price, Product
from billfold.customers.models import Customer
from billfold.events.models import Event

pytestmark = pytest.mark.django_db


def run_demo() -> str:
    out = io.StringIO()
    call_command("demo", stdout=out)
    return out.getvalue()


def test_demo_loads_once() -> None:
    first = run_demo()
    assert first == (
        "Demo data in test mode: 4 products, 6 prices, 3 customers (created 4 products, 6 prices and 3 customers).\n"
    )
    counts = (Product.objects.count(), Price.objects.count(), Customer.objects.count(), Event.objects.count())
    assert counts[:3] == (4, 6, 3)
    assert run_demo() == (
        "Demo data in test mode: 4 products, 6 prices, 3 customers (all already there, nothing changed).\n"
    )
    assert (Product.objects.count(), Price.objects.count(), Customer.objects.count(), Event.objects.count()) == counts
    assert not Product.objects.filter(livemode=True).exists()


def test_demo_catalog_contents() -> None:
    run_demo()
    starter = Product.objects.get(name="Starter")
    assert starter.unit_label == "seat"
    assert starter.default_price is not None
    assert starter.default_price.lookup_key == "demo_starter_monthly"
    assert {(p.lookup_key, p.unit_amount, p.recurring_interval) for p in starter.prices.all()} == {
        ("demo_starter_monthly", 900, "month"),
        ("demo_starter_yearly", 9000, "year"),
    }
    team = Price.objects.get(lookup_key="demo_team_monthly")
    assert (team.billing_scheme, team.tiers_mode) == ("tiered", "volume")
    assert [t["up_to"] for t in team.tiers or []] == [5, 20, None]
    assert Price.objects.get(lookup_key="demo_onboarding").recurring_interval is None
    assert list(Customer.objects.order_by("email").values_list("email", flat=True)) == [
        "ada.lovelace@example.com",
        "hans.muster@example.com",
        "jenny.rosen@example.com",
    ]


def test_demo_completes_a_partly_loaded_catalog() -> None:
    run_demo()
    Price.objects.filter(lookup_key="demo_pro_yearly").delete()
    assert run_demo().endswith("(created 0 products, 1 price and 0 customers).\n")
    assert Price.objects.get(lookup_key="demo_pro_yearly").product.name == "Pro"
