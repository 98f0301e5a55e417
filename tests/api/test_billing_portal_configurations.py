"""/v1/billing_portal/configurations through the official stripe SDK."""

from __future__ import annotations

import datetime as dt
import json
from types import ModuleType
from typing import Any

import pytest
from django.conf import settings

from billfold.core import clock
from billfold.events.models import Event
from billfold.portal.models import LoginLink, PortalConfiguration
from tests.api.test_core import send
from tests.api.test_shapes import RESOURCES, shape_differences

NOW = dt.datetime(2031, 3, 1, 12, 0, tzinfo=dt.UTC)


def body(obj: Any) -> dict[str, Any]:
    sent: dict[str, Any] = json.loads(obj.last_response.body)
    return sent


def events(kind: str) -> list[Event]:
    return list(Event.objects.filter(type=kind).order_by("pk"))


def refusal(sdk: ModuleType, call: Any, *args: Any, **params: Any) -> Any:
    with pytest.raises(sdk.InvalidRequestError) as raised:
        call(*args, **params)
    return raised.value


FEATURES = {"invoice_history": {"enabled": True}}


def catalog(sdk: ModuleType) -> tuple[Any, Any, Any]:
    """A product with a monthly and a yearly price."""
    product = sdk.Product.create(name="Pro")
    monthly = sdk.Price.create(product=product.id, currency="usd", unit_amount=1000, recurring={"interval": "month"})
    yearly = sdk.Price.create(product=product.id, currency="usd", unit_amount=10000, recurring={"interval": "year"})
    return product, monthly, yearly


def test_default_configuration_exists_from_the_start(sdk: ModuleType) -> None:
    page = sdk.billing_portal.Configuration.list()
    assert [c.is_default for c in page.data] == [True]
    default = page.data[0]
    assert default.id.startswith("bpc_")
    assert (default.active, default.livemode, default.login_page.to_dict()) == (
        True,
        False,
        {"enabled": False, "url": None},
    )
    assert body(page)["data"][0]["features"] == {
        "customer_update": {"allowed_updates": ["address", "email", "name", "phone", "tax_id"], "enabled": True},
        "invoice_history": {"enabled": True},
        "payment_method_update": {"enabled": True, "payment_method_configuration": None},
        "subscription_cancel": {
            "cancellation_reason": {
                "enabled": True,
                "options": ["too_expensive", "missing_features", "switched_service", "unused", "other"],
            },
            "enabled": True,
            "mode": "at_period_end",
            "proration_behavior": "none",
        },
        "subscription_update": {
            "billing_cycle_anchor": None,
            "default_allowed_updates": [],
            "enabled": False,
            "proration_behavior": "none",
            "schedule_at_period_end": {"conditions": []},
            "trial_update_behavior": "end_trial",
        },
    }
    # Made once, in its mode only, with its creation event.
    assert sdk.billing_portal.Configuration.retrieve(default.id).id == default.id
    assert PortalConfiguration.objects.filter(is_default=True).count() == 1
    assert [e.object_id for e in events("billing_portal.configuration.created")] == [default.id]


def test_create_retrieve_update_with_every_field(sdk: ModuleType) -> None:
    product, monthly, yearly = catalog(sdk)
    with clock.frozen_at(NOW):
        created = sdk.billing_portal.Configuration.create(
            name="Team plans",
            business_profile={
                "headline": "Acme partners with Billfold for simplified billing.",
                "privacy_policy_url": "https://example.com/privacy",
                "terms_of_service_url": "https://example.com/terms",
            },
            default_return_url="https://example.com/account",
            features={
                "customer_update": {"enabled": True, "allowed_updates": ["email", "tax_id", "email"]},
                "invoice_history": {"enabled": True},
                "payment_method_update": {"enabled": True},
                "subscription_cancel": {
                    "enabled": True,
                    "mode": "immediately",
                    "proration_behavior": "create_prorations",
                    "cancellation_reason": {"enabled": True, "options": ["too_expensive", "other"]},
                },
                "subscription_pause": {"enabled": False},
                "subscription_update": {
                    "enabled": True,
                    "default_allowed_updates": ["price", "quantity", "promotion_code"],
                    "products": [
                        {
                            "product": product.id,
                            "prices": [monthly.id, yearly.id],
                            "adjustable_quantity": {"enabled": True, "minimum": 1, "maximum": 25},
                        }
                    ],
                    "proration_behavior": "always_invoice",
                    "schedule_at_period_end": {
                        "conditions": [{"type": "decreasing_item_amount"}, {"type": "shortening_interval"}]
                    },
                    "trial_update_behavior": "continue_trial",
                    "billing_cycle_anchor": "now",
                },
            },
            login_page={"enabled": True},
            metadata={"team": "growth"},
        )
    sent = body(created)
    token = LoginLink.objects.get(configuration__public_id=created.id).token
    assert token.startswith("test_") and len(token) == 37
    assert sent == {
        "id": created.id,
        "object": "billing_portal.configuration",
        "active": True,
        "application": None,
        "business_profile": {
            "headline": "Acme partners with Billfold for simplified billing.",
            "privacy_policy_url": "https://example.com/privacy",
            "terms_of_service_url": "https://example.com/terms",
        },
        "created": clock.to_unix(NOW),
        "default_return_url": "https://example.com/account",
        "features": {
            "customer_update": {"allowed_updates": ["email", "tax_id"], "enabled": True},
            "invoice_history": {"enabled": True},
            "payment_method_update": {"enabled": True, "payment_method_configuration": None},
            "subscription_cancel": {
                "cancellation_reason": {"enabled": True, "options": ["too_expensive", "other"]},
                "enabled": True,
                "mode": "immediately",
                "proration_behavior": "create_prorations",
            },
            "subscription_update": {
                "default_allowed_updates": ["price", "quantity", "promotion_code"],
                "enabled": True,
                "proration_behavior": "always_invoice",
                "schedule_at_period_end": {
                    "conditions": [{"type": "decreasing_item_amount"}, {"type": "shortening_interval"}]
                },
                "trial_update_behavior": "continue_trial",
                "billing_cycle_anchor": "now",
            },
        },
        "is_default": False,
        "livemode": False,
        "login_page": {"enabled": True, "url": f"{settings.SITE_URL}/p/login/{token}"},
        "metadata": {"team": "growth"},
        "name": "Team plans",
        "updated": clock.to_unix(NOW),
    }
    assert shape_differences(sent, RESOURCES["billing_portal.configuration"], "billing_portal.configuration") == []
    # The products are includable, as on Stripe.
    expanded = sdk.billing_portal.Configuration.retrieve(created.id, expand=["features.subscription_update.products"])
    assert body(expanded)["features"]["subscription_update"]["products"] == [
        {
            "adjustable_quantity": {"enabled": True, "maximum": 25, "minimum": 1},
            "prices": [monthly.id, yearly.id],
            "product": product.id,
        }
    ]
    assert body(sdk.billing_portal.Configuration.retrieve(created.id)) == sent
    (event,) = events("billing_portal.configuration.created")[1:]
    assert event.data == {"object": sent}

    later = NOW + dt.timedelta(minutes=3)
    with clock.frozen_at(later):
        updated = sdk.billing_portal.Configuration.modify(
            created.id,
            name="",
            business_profile={"headline": ""},
            features={"subscription_cancel": {"mode": "at_period_end", "proration_behavior": "none"}},
            metadata={"team": "", "owner": "ana"},
        )
    assert (updated.name, updated.business_profile.headline, updated.updated) == (None, None, clock.to_unix(later))
    assert updated.business_profile.privacy_policy_url == "https://example.com/privacy"
    assert (updated.features.subscription_cancel.mode, updated.features.subscription_cancel.proration_behavior) == (
        "at_period_end",
        "none",
    )
    # Untouched parts of a feature stay as they were.
    assert updated.features.subscription_cancel.cancellation_reason.options == ["too_expensive", "other"]
    assert updated.metadata.to_dict() == {"owner": "ana"}
    (update_event,) = events("billing_portal.configuration.updated")
    assert update_event.data["previous_attributes"] == {
        "business_profile": {
            "headline": "Acme partners with Billfold for simplified billing.",
            "privacy_policy_url": "https://example.com/privacy",
            "terms_of_service_url": "https://example.com/terms",
        },
        # The old features, with the products the default rendering leaves out.
        "features": {
            **sent["features"],
            "subscription_update": {
                **sent["features"]["subscription_update"],
                "products": body(expanded)["features"]["subscription_update"]["products"],
            },
        },
        "metadata": {"owner": None, "team": "growth"},
        "name": "Team plans",
        "updated": clock.to_unix(NOW),
    }


def test_products_change_alone_writes_an_event_naming_the_old_products(sdk: ModuleType) -> None:
    product, monthly, yearly = catalog(sdk)
    with clock.frozen_at(NOW):
        created = sdk.billing_portal.Configuration.create(
            features={
                "subscription_update": {
                    "enabled": True,
                    "default_allowed_updates": ["price"],
                    "products": [{"product": product.id, "prices": [monthly.id]}],
                }
            }
        )
    with clock.frozen_at(NOW):
        sdk.billing_portal.Configuration.modify(
            created.id,
            features={
                "subscription_update": {"products": [{"product": product.id, "prices": [monthly.id, yearly.id]}]}
            },
        )
    (event,) = events("billing_portal.configuration.updated")
    previous = event.data["previous_attributes"]["features"]["subscription_update"]["products"]
    assert previous == [
        {
            "adjustable_quantity": {"enabled": False, "maximum": None, "minimum": 1},
            "prices": [monthly.id],
            "product": product.id,
        }
    ]
    # A no-op update writes nothing.
    sdk.billing_portal.Configuration.modify(created.id, name=None)
    sdk.billing_portal.Configuration.modify(created.id, metadata={})
    assert len(events("billing_portal.configuration.updated")) == 1


def test_login_page_links_die_when_disabled_and_come_back_new(sdk: ModuleType) -> None:
    config = sdk.billing_portal.Configuration.create(features=FEATURES, login_page={"enabled": True})
    first = config.login_page.url
    assert first.startswith(f"{settings.SITE_URL}/p/login/test_")
    off = sdk.billing_portal.Configuration.modify(config.id, login_page={"enabled": False})
    assert off.login_page.to_dict() == {"enabled": False, "url": None}
    on = sdk.billing_portal.Configuration.modify(config.id, login_page={"enabled": True})
    assert on.login_page.enabled is True
    assert on.login_page.url not in (None, first)
    # Enabling an enabled page keeps its URL.
    assert sdk.billing_portal.Configuration.modify(config.id, login_page={"enabled": True}).login_page.url == (
        on.login_page.url
    )
    links = LoginLink.objects.filter(configuration__public_id=config.id).order_by("pk")
    assert [link.deactivated is None for link in links] == [False, True]
    (event,) = [e for e in events("billing_portal.configuration.updated") if e.object_id == config.id][:1]
    assert event.data["previous_attributes"]["login_page"] == {"enabled": True, "url": first}


def test_list_filters_and_pages(sdk: ModuleType) -> None:
    default = sdk.billing_portal.Configuration.list(is_default=True).data[0]
    first = sdk.billing_portal.Configuration.create(features=FEATURES)
    second = sdk.billing_portal.Configuration.create(features=FEATURES)
    sdk.billing_portal.Configuration.modify(first.id, active=False)
    assert [c.id for c in sdk.billing_portal.Configuration.list().data] == [second.id, first.id, default.id]
    assert [c.id for c in sdk.billing_portal.Configuration.list(active=False).data] == [first.id]
    assert [c.id for c in sdk.billing_portal.Configuration.list(active=True).data] == [second.id, default.id]
    assert [c.id for c in sdk.billing_portal.Configuration.list(is_default=False).data] == [second.id, first.id]
    page = sdk.billing_portal.Configuration.list(limit=1, starting_after=second.id)
    assert ([c.id for c in page.data], page.has_more) == ([first.id], True)
    assert body(page)["url"] == "/v1/billing_portal/configurations"


def test_test_and_live_mode_have_their_own_default(sdk: ModuleType, live_key: str) -> None:
    test_default = sdk.billing_portal.Configuration.list().data[0]
    live_default = sdk.billing_portal.Configuration.list(api_key=live_key).data[0]
    assert (live_default.livemode, live_default.is_default, test_default.livemode) == (True, True, False)
    assert live_default.id != test_default.id
    error = refusal(sdk, sdk.billing_portal.Configuration.retrieve, test_default.id, api_key=live_key)
    assert (error.http_status, error.code, error.param) == (404, "resource_missing", "id")


def test_default_configuration_cannot_be_deactivated(sdk: ModuleType) -> None:
    default = sdk.billing_portal.Configuration.list().data[0]
    error = refusal(sdk, sdk.billing_portal.Configuration.modify, default.id, active=False)
    assert (error.code, error.param) == ("parameter_invalid", "active")
    assert sdk.billing_portal.Configuration.retrieve(default.id).active is True


@pytest.mark.parametrize(
    ("features", "param", "code", "message"),
    [
        (
            {"subscription_cancel": {"enabled": True, "proration_behavior": "create_prorations"}},
            "features[subscription_cancel][proration_behavior]",
            "parameter_invalid",
            "proration_behavior `create_prorations` is only compatible with mode `immediately`",
        ),
        (
            {"subscription_cancel": {"enabled": True, "mode": "immediately", "proration_behavior": "always_invoice"}},
            "features[subscription_cancel][proration_behavior]",
            "parameter_invalid",
            "proration_behavior `always_invoice` is not supported for subscription cancellations",
        ),
        (
            {"subscription_cancel": {"enabled": True, "cancellation_reason": {"enabled": True, "options": ["bored"]}}},
            "features[subscription_cancel][cancellation_reason][options][0]",
            None,
            "Invalid features[subscription_cancel][cancellation_reason][options][0]: must be one of",
        ),
        (
            {"subscription_cancel": {"enabled": True, "cancellation_reason": {"enabled": True, "options": ""}}},
            "features[subscription_cancel][cancellation_reason][options]",
            "parameter_invalid",
            "Give at least one cancellation reason",
        ),
        (
            {"subscription_cancel": {"enabled": True, "cancellation_reason": {"enabled": True}}},
            "features[subscription_cancel][cancellation_reason][options]",
            "parameter_missing",
            "Missing required param: features[subscription_cancel][cancellation_reason][options].",
        ),
        (
            {"customer_update": {"enabled": True, "allowed_updates": ["birthday"]}},
            "features[customer_update][allowed_updates][0]",
            None,
            "Invalid features[customer_update][allowed_updates][0]: must be one of",
        ),
        (
            {"subscription_update": {"enabled": True, "default_allowed_updates": ["quantity"]}},
            "features[subscription_update][products]",
            "parameter_missing",
            "Missing required param: features[subscription_update][products].",
        ),
        (
            {"subscription_update": {"enabled": True, "products": ""}},
            "features[subscription_update][default_allowed_updates]",
            "parameter_missing",
            "Missing required param: features[subscription_update][default_allowed_updates].",
        ),
        (
            {"subscription_update": {"enabled": True, "default_allowed_updates": ["price"], "products": ""}},
            "features[subscription_update][products]",
            "parameter_invalid",
            "Customers can switch prices",
        ),
        (
            {"subscription_update": {"enabled": False, "default_allowed_updates": ["refund"]}},
            "features[subscription_update][default_allowed_updates][0]",
            None,
            "Invalid features[subscription_update][default_allowed_updates][0]: must be one of",
        ),
        (
            {
                "subscription_update": {
                    "enabled": False,
                    "schedule_at_period_end": {"conditions": [{"type": "increasing_item_amount"}]},
                }
            },
            "features[subscription_update][schedule_at_period_end][conditions][0][type]",
            None,
            "Invalid features[subscription_update][schedule_at_period_end][conditions][0][type]: must be one of",
        ),
        (
            {"subscription_update": {"enabled": False, "trial_update_behavior": "pause"}},
            "features[subscription_update][trial_update_behavior]",
            None,
            "Invalid features[subscription_update][trial_update_behavior]: must be one of",
        ),
        (
            {"subscription_update": {"enabled": False, "billing_cycle_anchor": "later"}},
            "features[subscription_update][billing_cycle_anchor]",
            None,
            "Invalid features[subscription_update][billing_cycle_anchor]: must be one of",
        ),
        (
            {"subscription_pause": {"enabled": True}},
            "features[subscription_pause][enabled]",
            "parameter_invalid",
            "Billfold's portal cannot pause subscriptions",
        ),
        (
            {"payment_method_update": {"enabled": True, "payment_method_configuration": "pmc_123"}},
            "features[payment_method_update][payment_method_configuration]",
            "resource_missing",
            "No such payment method configuration: 'pmc_123'",
        ),
        (
            {"customer_update": {"allowed_updates": ["email"]}},
            "features[customer_update][enabled]",
            "parameter_missing",
            "Missing required param: features[customer_update][enabled].",
        ),
    ],
)
def test_feature_refusals(
    sdk: ModuleType, features: dict[str, Any], param: str, code: str | None, message: str
) -> None:
    sdk.billing_portal.Configuration.list()
    before = PortalConfiguration.objects.count()
    error = refusal(sdk, sdk.billing_portal.Configuration.create, features=features)
    assert (error.http_status, error.code, error.param) == (404 if code == "resource_missing" else 400, code, param)
    assert error.user_message.startswith(message)
    assert PortalConfiguration.objects.count() == before
    assert events("billing_portal.configuration.created")[1:] == []


def test_product_refusals(sdk: ModuleType) -> None:
    product, monthly, _ = catalog(sdk)
    other = sdk.Product.create(name="Other")
    foreign = sdk.Price.create(product=other.id, currency="usd", unit_amount=500, recurring={"interval": "month"})
    one_time = sdk.Price.create(product=product.id, currency="usd", unit_amount=500)
    inactive = sdk.Price.create(product=product.id, currency="usd", unit_amount=700, recurring={"interval": "week"})
    sdk.Price.modify(inactive.id, active=False)
    archived = sdk.Product.create(name="Old")
    sdk.Price.create(product=archived.id, currency="usd", unit_amount=100, recurring={"interval": "month"})
    sdk.Product.modify(archived.id, active=False)
    base = "features[subscription_update][products]"

    def create(products: Any) -> Any:
        return refusal(
            sdk,
            sdk.billing_portal.Configuration.create,
            features={
                "subscription_update": {"enabled": True, "default_allowed_updates": ["price"], "products": products}
            },
        )

    cases = [
        ([{"product": "prod_missing", "prices": [monthly.id]}], f"{base}[0][product]", "resource_missing"),
        ([{"product": archived.id, "prices": [monthly.id]}], f"{base}[0][product]", "parameter_invalid"),
        ([{"product": product.id, "prices": [foreign.id]}], f"{base}[0][prices][0]", "parameter_invalid"),
        ([{"product": product.id, "prices": [monthly.id, one_time.id]}], f"{base}[0][prices][1]", "parameter_invalid"),
        ([{"product": product.id, "prices": [inactive.id]}], f"{base}[0][prices][0]", "parameter_invalid"),
        ([{"product": product.id, "prices": ["price_missing"]}], f"{base}[0][prices][0]", "resource_missing"),
        (
            [{"product": product.id, "prices": [monthly.id]}, {"product": product.id, "prices": [monthly.id]}],
            f"{base}[1][product]",
            "parameter_invalid",
        ),
        (
            [
                {
                    "product": product.id,
                    "prices": [monthly.id],
                    "adjustable_quantity": {"enabled": True, "minimum": 5, "maximum": 5},
                }
            ],
            f"{base}[0][adjustable_quantity][maximum]",
            "parameter_invalid",
        ),
        (
            [{"product": product.id, "prices": [monthly.id], "adjustable_quantity": {"enabled": False, "maximum": 5}}],
            f"{base}[0][adjustable_quantity][maximum]",
            "parameter_invalid",
        ),
        (
            [{"product": product.id, "prices": [monthly.id], "adjustable_quantity": {"enabled": True, "minimum": -1}}],
            f"{base}[0][adjustable_quantity][minimum]",
            None,
        ),
        ([{"product": product.id}], f"{base}[0][prices]", "parameter_missing"),
    ]
    for products, param, code in cases:
        error = create(products)
        assert (error.param, error.code) == (param, code), products
    many = [{"product": product.id, "prices": [monthly.id]}] * 11
    assert create(many).param == base
    assert PortalConfiguration.objects.filter(is_default=False).count() == 0


def test_other_refusals(sdk: ModuleType, api_url: str, test_key: str) -> None:
    cases: list[tuple[dict[str, Any], str, str | None]] = [
        ({"features": FEATURES, "business_profile": {"headline": "x" * 61}}, "business_profile[headline]", None),
        (
            {"features": FEATURES, "business_profile": {"privacy_policy_url": "example.com"}},
            "business_profile[privacy_policy_url]",
            "url_invalid",
        ),
        ({"features": FEATURES, "default_return_url": "ftp://example.com"}, "default_return_url", "url_invalid"),
        ({"business_profile": {"headline": "Hi"}}, "features", "parameter_missing"),
        ({"features": FEATURES, "is_default": True}, "is_default", "parameter_unknown"),
        ({"features": FEATURES, "login_page": {"enabled": "maybe"}}, "login_page[enabled]", None),
    ]
    for params, param, code in cases:
        error = refusal(sdk, sdk.billing_portal.Configuration.create, **params)
        assert (error.param, error.code) == (param, code), params
    missing = refusal(sdk, sdk.billing_portal.Configuration.retrieve, "bpc_missing")
    assert (missing.http_status, missing.code, missing.user_message) == (
        404,
        "resource_missing",
        "No such billing_portal.configuration: 'bpc_missing'",
    )
    # Stripe has no delete for configurations.
    config = sdk.billing_portal.Configuration.create(features=FEATURES)
    reply = send(api_url, "DELETE", f"/billing_portal/configurations/{config.id}", key=test_key)
    assert (reply.status, json.loads(reply.body)["error"]["type"]) == (404, "invalid_request_error")
    assert sdk.billing_portal.Configuration.retrieve(config.id).active is True
