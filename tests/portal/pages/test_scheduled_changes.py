"""Plan changes the configuration defers to the end of the period (``schedule_at_period_end``): a
subscription schedule whose next phase the renewal bills, shown on the overview with a way to drop
it, replaced by a later immediate change; upgrades stay immediate and prorated."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.test import Client

from billfold.billing.models import Invoice, InvoiceItem, Subscription, SubscriptionSchedule
from billfold.billing.schedules.services import subscription_schedule_create, subscription_schedule_update
from billfold.billing.subscriptions.advance import subscription_advance
from billfold.billing.subscriptions.creation import NewSubscription
from billfold.billing.subscriptions.services import subscription_create
from billfold.catalog.services import price_create
from billfold.core.clock import frozen_at
from billfold.events.models import Event
from billfold.portal.configurations import portal_configuration_update
from tests.portal.pages.world import T0, World, session_for, session_path, world_build

pytestmark = pytest.mark.django_db(transaction=True)
JUNE_1 = dt.datetime(2031, 6, 1, 9, 0, tzinfo=dt.UTC)


def deferring(*conditions: str) -> World:
    world = world_build()
    with frozen_at(T0):
        portal_configuration_update(
            configuration=world.configuration,
            values={
                "features": {
                    "subscription_update": {"schedule_at_period_end": {"conditions": [{"type": c} for c in conditions]}}
                }
            },
        )
    return world


def signed_in(world: World) -> Client:
    client = Client()
    with frozen_at(T0):
        assert client.get(session_path(session_for(world.jenny))).status_code == 302
    return client


def get(client: Client, path: str) -> str:
    with frozen_at(T0):
        response = client.get(path)
    assert response.status_code == 200, response.content.decode()
    return response.content.decode()


def post(client: Client, path: str, data: dict[str, Any] | None = None) -> str | None:
    with frozen_at(T0):
        response = client.post(path, data or {})
    assert response.status_code == 302, response.content.decode()
    return response.headers.get("Location")


def confirm(client: Client, world: World, price: str, quantity: int, sub: str | None = None) -> str:
    """Open the preview of a change, then confirm it: the preview's HTML."""
    sub = sub or world.jenny_sub.public_id
    html = get(client, f"/p/subscriptions/{sub}/update/confirm?price={price}&quantity={quantity}")
    token = re.search(r'name="token" value="([^"]+)"', html)
    assert token is not None
    assert post(client, f"/p/subscriptions/{sub}/update/apply", {"token": token.group(1)}) == "/p/"
    return html


def jenny(world: World) -> Subscription:
    return Subscription.objects.select_related("schedule").get(pk=world.jenny_sub.pk)


def test_a_lower_amount_is_scheduled_shown_and_billed_by_the_renewal() -> None:
    world = deferring("decreasing_item_amount")
    client = signed_in(world)

    html = confirm(client, world, world.basic_month.public_id, 1)

    assert (
        "Your plan changes to Basic · $10.00 per seat per month on June 1, 2031; you keep Basic · $10.00 per seat "
        "per month \u00d7 2 until then." in html
    )
    assert "Nothing is charged today." in html and "Amount due today" not in html
    assert "Your next invoice, on June 1, 2031" in html and 'id="preview-amount">$10.00<' in html
    subscription = jenny(world)
    plan = subscription.schedule
    assert plan is not None and (plan.status, plan.end_behavior, plan.current_phase_end) == (
        "active",
        "release",
        JUNE_1,
    )
    assert [(p["items"][0]["price"], p["items"][0]["quantity"]) for p in plan.phases] == [
        (world.basic_month.public_id, 2),
        (world.basic_month.public_id, 1),
    ]
    assert subscription.items.get(deleted=False).quantity == 2
    assert Invoice.objects.filter(customer=world.jenny).count() == 1
    assert list(Event.objects.filter(object_id=plan.public_id).values_list("type", flat=True)) == [
        "subscription_schedule.created",
        "subscription_schedule.updated",
    ]

    overview = get(client, "/p/")
    assert "Your plan changes to Basic · $10.00 per seat per month on June 1, 2031." in overview
    assert "<dt>Scheduled change</dt><dd>Basic · $10.00 per seat per month from June 1, 2031</dd>" in overview
    assert "<dt>Next payment</dt><dd>$10.00 on June 1, 2031</dd>" in overview
    assert "Cancel scheduled change" in overview

    with frozen_at(JUNE_1):
        subscription_advance(subscription_id=subscription.pk, now=JUNE_1)
    renewal = Invoice.objects.filter(customer=world.jenny).order_by("pk").last()
    assert renewal is not None and (renewal.billing_reason, renewal.total) == ("subscription_cycle", 1000)
    assert jenny(world).items.get(deleted=False).quantity == 1


def test_the_scheduled_change_can_be_canceled_from_the_overview() -> None:
    world = deferring("decreasing_item_amount")
    client = signed_in(world)
    confirm(client, world, world.basic_month.public_id, 1)
    plan = jenny(world).schedule
    assert plan is not None

    assert post(client, f"/p/subscriptions/{world.jenny_sub.public_id}/scheduled-change/cancel") == "/p/"

    released = SubscriptionSchedule.objects.get(pk=plan.pk)
    assert (released.status, jenny(world).schedule_id) == ("released", None)
    overview = get(client, "/p/")
    assert "The scheduled change was canceled: you keep Basic · $10.00 per seat per month \u00d7 2." in overview
    assert "Scheduled change" not in overview and "<dd>$20.00 on June 1, 2031</dd>" in overview
    with frozen_at(T0):
        again = client.post(f"/p/subscriptions/{world.jenny_sub.public_id}/scheduled-change/cancel")
    assert again.status_code == 404


def test_a_later_upgrade_is_immediate_and_replaces_the_scheduled_change() -> None:
    world = deferring("decreasing_item_amount")
    client = signed_in(world)
    confirm(client, world, world.basic_month.public_id, 1)

    html = confirm(client, world, world.pro_month.public_id, 2)

    # Billed now with prorations (the configuration's always_invoice), as without a pending change.
    assert "Amount due today" in html and 'id="preview-amount">$40.00<' in html
    subscription = jenny(world)
    item = subscription.items.get(deleted=False)
    assert (item.price_id, item.quantity, subscription.schedule_id) == (world.pro_month.pk, 2, None)
    assert subscription.latest_invoice is not None and subscription.latest_invoice.amount_paid == 4000
    assert SubscriptionSchedule.objects.get(customer=world.jenny).status == "released"
    assert "Scheduled change" not in get(client, "/p/")


def test_a_second_downgrade_replaces_the_first() -> None:
    world = deferring("decreasing_item_amount")
    with frozen_at(T0):
        lite = price_create(
            livemode=False,
            values={
                "currency": "usd",
                "unit_amount": 500,
                "product": world.basic.public_id,
                "recurring": {"interval": "month"},
            },
        )
        basic = {
            "product": world.basic.public_id,
            "prices": [world.basic_month.public_id, lite.public_id],
            "adjustable_quantity": {"enabled": True, "minimum": 1, "maximum": 10},
        }
        portal_configuration_update(
            configuration=world.configuration, values={"features": {"subscription_update": {"products": [basic]}}}
        )
    client = signed_in(world)
    confirm(client, world, world.basic_month.public_id, 1)
    html = get(client, f"/p/subscriptions/{world.jenny_sub.public_id}/update")
    assert "<dt>Scheduled change</dt><dd>Basic · $10.00 per seat per month from June 1, 2031</dd>" in html

    html = confirm(client, world, lite.public_id, 1)

    assert "Your plan changes to Basic · $5.00 per seat per month on June 1, 2031" in html
    assert SubscriptionSchedule.objects.filter(customer=world.jenny).count() == 1
    plan = jenny(world).schedule
    assert plan is not None and [p["items"][0]["price"] for p in plan.phases] == [
        world.basic_month.public_id,
        lite.public_id,
    ]
    assert "<dd>$5.00 on June 1, 2031</dd>" in get(client, "/p/")


def test_a_shorter_interval_waits_for_the_end_of_the_year() -> None:
    world = deferring("shortening_interval")
    with frozen_at(T0):
        yearly = subscription_create(
            customer=world.jenny, livemode=False, spec=NewSubscription(items=[{"price": world.basic_year}])
        )
    client = signed_in(world)

    html = confirm(client, world, world.basic_month.public_id, 1, sub=yearly.public_id)

    assert "Your plan changes to Basic · $10.00 per seat per month on May 1, 2032" in html
    assert 'id="preview-amount">$10.00<' in html
    scheduled = Subscription.objects.select_related("schedule").get(pk=yearly.pk)
    assert scheduled.schedule is not None and scheduled.items.get(deleted=False).price_id == world.basic_year.pk
    # A lower amount is not deferred when only shortening_interval is configured.
    confirm(client, world, world.basic_month.public_id, 1)
    assert jenny(world).items.get(deleted=False).quantity == 1 and jenny(world).schedule_id is None


def test_upgrades_stay_immediate_and_prorated() -> None:
    world = deferring("decreasing_item_amount", "shortening_interval")
    client = signed_in(world)

    html = confirm(client, world, world.basic_month.public_id, 3)

    assert "Amount due today" in html and 'id="preview-amount">$10.00<' in html
    subscription = jenny(world)
    assert (subscription.items.get(deleted=False).quantity, subscription.schedule_id) == (3, None)
    assert not InvoiceItem.objects.filter(customer=world.jenny, invoice__isnull=True).exists()


def test_canceling_at_period_end_drops_the_scheduled_change() -> None:
    world = deferring("decreasing_item_amount")
    client = signed_in(world)
    confirm(client, world, world.basic_month.public_id, 1)

    post(client, f"/p/subscriptions/{world.jenny_sub.public_id}/cancel", {"reason": "unused"})

    subscription = jenny(world)
    assert (subscription.cancel_at_period_end, subscription.schedule_id) == (True, None)
    assert SubscriptionSchedule.objects.get(customer=world.jenny).status == "released"


def test_a_schedule_planning_more_than_one_change_is_left_to_the_merchant() -> None:
    world = world_build()
    sub = world.jenny_sub
    with frozen_at(T0):
        plan = subscription_schedule_create(subscription=sub)
        item = {"price": world.basic_month, "quantity": 2}
        subscription_schedule_update(
            schedule=plan,
            values={
                "phases": [
                    {"items": [item], "end_date": JUNE_1},
                    {"items": [{"price": world.basic_month, "quantity": 3}], "iterations": 1},
                    {"items": [{"price": world.basic_month, "quantity": 4}], "iterations": 1},
                ]
            },
        )
    client = signed_in(world)

    overview = get(client, "/p/")

    assert "Update subscription" not in overview and "Scheduled change" not in overview
    assert "Cancel subscription" in overview
    with frozen_at(T0):
        assert client.get(f"/p/subscriptions/{sub.public_id}/update").status_code == 404
        assert client.post(f"/p/subscriptions/{sub.public_id}/scheduled-change/cancel").status_code == 404


def test_renewing_a_subscription_its_schedule_cancels_releases_the_schedule() -> None:
    world = world_build()
    with frozen_at(T0):
        plan = subscription_schedule_create(subscription=world.jenny_sub)
        subscription_schedule_update(schedule=plan, values={"end_behavior": "cancel"})
    client = signed_in(world)
    assert "<dt>Cancels on</dt><dd>June 1, 2031</dd>" in get(client, "/p/")

    post(client, f"/p/subscriptions/{world.jenny_sub.public_id}/renew")

    subscription = jenny(world)
    assert (subscription.cancel_at, subscription.schedule_id) == (None, None)
    assert SubscriptionSchedule.objects.get(pk=plan.pk).status == "released"


def test_the_scheduled_change_speaks_the_customers_language() -> None:
    world = deferring("decreasing_item_amount")
    confirm(signed_in(world), world, world.basic_month.public_id, 1)
    client = Client()
    with frozen_at(T0):
        client.get(session_path(session_for(world.jenny, locale="de")))
    html = get(client, "/p/")
    assert "<dt>Geplante Änderung</dt><dd>Basic · 10,00\xa0$ pro seat pro Monat ab 1. Juni 2031</dd>" in html
    assert "Geplante Änderung zurücknehmen" in html
