"""``billfold demo``: the demo catalog and customers, loaded once however often it runs."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import call_command

from billfold.billing.models import Invoice, Subscription
from billfold.catalog.models import Price, Product
from billfold.core.clock import frozen_at
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
        "Demo data in test mode: 4 products, 6 prices, 3 customers, 3 subscriptions "
        "(created 4 products, 6 prices, 3 customers and 3 subscriptions).\n"
    )
    counts = (Product.objects.count(), Price.objects.count(), Customer.objects.count(), Event.objects.count())
    assert counts[:3] == (4, 6, 3)
    assert run_demo() == (
        "Demo data in test mode: 4 products, 6 prices, 3 customers, 3 subscriptions "
        "(all already there, nothing changed).\n"
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
    assert run_demo().endswith("(created 0 products, 1 price, 0 customers and 0 subscriptions).\n")
    assert Price.objects.get(lookup_key="demo_pro_yearly").product.name == "Pro"


def test_demo_subscriptions() -> None:
    now = dt.datetime(2030, 5, 20, 12, 0, tzinfo=dt.UTC)
    with frozen_at(now):
        run_demo()
    subscriptions = {
        s.customer.email: s for s in Subscription.objects.select_related("customer", "latest_invoice").order_by("pk")
    }
    assert set(subscriptions) == {"jenny.rosen@example.com", "ada.lovelace@example.com", "hans.muster@example.com"}
    jenny = subscriptions["jenny.rosen@example.com"]
    # Jenny pays by card, monthly since 75 days ago: her two renewals were charged when they fell due.
    assert (jenny.status, jenny.collection_method) == ("active", "charge_automatically")
    assert jenny.start_date == now - dt.timedelta(days=75)
    paid = Invoice.objects.filter(subscription_id=jenny.public_id).order_by("pk")
    assert [(i.created, i.status, i.amount_paid) for i in paid] == [
        (dt.datetime(2030, 3, 6, 12, 0, tzinfo=dt.UTC), "paid", 8700),
        (dt.datetime(2030, 4, 6, 12, 0, tzinfo=dt.UTC), "paid", 8700),
        (dt.datetime(2030, 5, 6, 12, 0, tzinfo=dt.UTC), "paid", 8700),
    ]
    assert jenny.next_action_at is not None and jenny.next_action_at > now
    # Her account is older than her subscription.
    assert jenny.customer.created == now - dt.timedelta(days=76)
    # The others are sent invoices due in 30 days.
    ada = subscriptions["ada.lovelace@example.com"]
    assert (ada.status, ada.collection_method, ada.days_until_due) == ("active", "send_invoice", 30)
    assert ada.start_date == now - dt.timedelta(days=40)
    assert ada.latest_invoice is not None
    assert (ada.latest_invoice.status, ada.latest_invoice.amount_due) == ("open", 9000)
    hans = subscriptions["hans.muster@example.com"]
    assert hans.latest_invoice is not None
    assert (hans.status, hans.latest_invoice.amount_due) == ("active", 4500)


def test_demo_sets_up_the_portal_for_plan_switching() -> None:
    from billfold.branding.selectors import brand_get
    from billfold.portal.configurations import portal_configuration_default

    run_demo()
    assert brand_get().business_name == "Billfold Demo"
    update = portal_configuration_default(livemode=False).features["subscription_update"]
    assert update["enabled"] is True
    offered = {entry["product"]: entry["prices"] for entry in update["products"]}
    pro = Product.objects.get(name="Pro")
    assert offered[pro.public_id] == [
        Price.objects.get(lookup_key="demo_pro_monthly").public_id,
        Price.objects.get(lookup_key="demo_pro_yearly").public_id,
    ]
    # Run again: nothing changes, no event.
    events = Event.objects.count()
    run_demo()
    assert Event.objects.count() == events
