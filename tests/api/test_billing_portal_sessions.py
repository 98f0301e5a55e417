"""POST /v1/billing_portal/sessions through the official stripe SDK."""

from __future__ import annotations

import datetime as dt
import json
from types import ModuleType
from typing import Any

import pytest
from django.conf import settings

from billfold.core import clock
from billfold.core.crypto import sha256_hex
from billfold.events.models import Event
from billfold.portal.models import PortalSession
from billfold.portal.sessions import portal_session_redeem
from tests.api.test_shapes import RESOURCES, shape_differences

NOW = dt.datetime(2031, 3, 1, 12, 0, tzinfo=dt.UTC)
RETURN = "https://example.com/account"


def body(obj: Any) -> dict[str, Any]:
    sent: dict[str, Any] = json.loads(obj.last_response.body)
    return sent


def refusal(sdk: ModuleType, **params: Any) -> Any:
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.billing_portal.Session.create(**params)
    return raised.value


def customer(sdk: ModuleType, **values: Any) -> Any:
    return sdk.Customer.create(
        email="jenny@example.com",
        payment_method="pm_card_visa",
        invoice_settings={"default_payment_method": "pm_card_visa"},
        **values,
    )


def subscribed(sdk: ModuleType, buyer: Any, *amounts: int) -> Any:
    prices = [
        sdk.Price.create(currency="usd", unit_amount=a, recurring={"interval": "month"}, product_data={"name": "Pro"})
        for a in amounts or (1000,)
    ]
    return sdk.Subscription.create(customer=buyer.id, items=[{"price": p.id} for p in prices])


def full_configuration(sdk: ModuleType, **values: Any) -> Any:
    return sdk.billing_portal.Configuration.create(
        features={
            "payment_method_update": {"enabled": True},
            "subscription_cancel": {"enabled": True},
            "subscription_update": {"enabled": True, "default_allowed_updates": ["quantity"], "products": ""},
        },
        **values,
    )


def test_create_with_the_default_configuration(sdk: ModuleType) -> None:
    buyer = customer(sdk)
    default = sdk.billing_portal.Configuration.list(is_default=True).data[0]
    with clock.frozen_at(NOW):
        session = sdk.billing_portal.Session.create(customer=buyer.id, return_url=RETURN, locale="pt-BR")
    sent = body(session)
    stored = PortalSession.objects.get(public_id=session.id)
    secret = sent["url"].removeprefix(f"{settings.SITE_URL}/p/session/")
    assert len(secret) == 43 and stored.secret_hash == sha256_hex(secret)
    assert sent == {
        "id": session.id,
        "object": "billing_portal.session",
        "configuration": default.id,
        "created": clock.to_unix(NOW),
        "customer": buyer.id,
        "customer_account": None,
        "flow": None,
        "livemode": False,
        "locale": "pt-BR",
        "on_behalf_of": None,
        "return_url": RETURN,
        "url": f"{settings.SITE_URL}/p/session/{secret}",
    }
    assert session.id.startswith("bps_")
    assert shape_differences(sent, RESOURCES["billing_portal.session"], "billing_portal.session") == []
    # The event carries the session without its secret, which Billfold does not keep.
    (event,) = Event.objects.filter(type="billing_portal.session.created")
    assert event.data == {"object": {**sent, "url": None}}
    assert secret not in json.dumps(event.data)


def test_configuration_default_return_url_and_expand(sdk: ModuleType) -> None:
    buyer = customer(sdk)
    config = sdk.billing_portal.Configuration.create(
        features={"invoice_history": {"enabled": True}}, default_return_url="https://example.com/home"
    )
    session = sdk.billing_portal.Session.create(customer=buyer.id, configuration=config.id, expand=["configuration"])
    assert session.return_url == "https://example.com/home"
    assert body(session)["configuration"] == body(sdk.billing_portal.Configuration.retrieve(config.id))
    # An explicit return_url wins.
    other = sdk.billing_portal.Session.create(customer=buyer.id, configuration=config.id, return_url=RETURN)
    assert other.return_url == RETURN


def test_every_flow_type(sdk: ModuleType) -> None:
    buyer = customer(sdk)
    subscription = subscribed(sdk, buyer)
    item = subscription["items"].data[0]
    better = sdk.Price.create(
        currency="usd", unit_amount=2000, recurring={"interval": "month"}, product=item.price.product
    )
    coupon = sdk.Coupon.create(percent_off=20, duration="once")
    config = full_configuration(sdk)

    def create(flow_data: dict[str, Any]) -> dict[str, Any]:
        session = sdk.billing_portal.Session.create(
            customer=buyer.id, configuration=config.id, return_url=RETURN, flow_data=flow_data
        )
        flow: dict[str, Any] = body(session)["flow"]
        return flow

    empty = {"subscription_cancel": None, "subscription_update": None, "subscription_update_confirm": None}
    homepage = {"hosted_confirmation": None, "redirect": None, "type": "portal_homepage"}
    assert create({"type": "payment_method_update"}) == {
        "after_completion": homepage,
        **empty,
        "type": "payment_method_update",
    }
    assert create(
        {
            "type": "subscription_cancel",
            "subscription_cancel": {
                "subscription": subscription.id,
                "retention": {"type": "coupon_offer", "coupon_offer": {"coupon": coupon.id}},
            },
            "after_completion": {"type": "redirect", "redirect": {"return_url": "https://example.com/bye"}},
        }
    ) == {
        "after_completion": {
            "hosted_confirmation": None,
            "redirect": {"return_url": "https://example.com/bye"},
            "type": "redirect",
        },
        **empty,
        "subscription_cancel": {
            "retention": {"coupon_offer": {"coupon": coupon.id}, "type": "coupon_offer"},
            "subscription": subscription.id,
        },
        "type": "subscription_cancel",
    }
    assert create({"type": "subscription_update", "subscription_update": {"subscription": subscription.id}}) == {
        "after_completion": homepage,
        **empty,
        "subscription_update": {"subscription": subscription.id},
        "type": "subscription_update",
    }
    confirm = create(
        {
            "type": "subscription_update_confirm",
            "subscription_update_confirm": {
                "subscription": subscription.id,
                "items": [{"id": item.id, "price": better.id, "quantity": 3}],
                "discounts": [{"coupon": coupon.id}],
            },
            "after_completion": {"type": "hosted_confirmation", "hosted_confirmation": {"custom_message": "Thanks!"}},
        }
    )
    assert confirm == {
        "after_completion": {
            "hosted_confirmation": {"custom_message": "Thanks!"},
            "redirect": None,
            "type": "hosted_confirmation",
        },
        **empty,
        "subscription_update_confirm": {
            "discounts": [{"coupon": coupon.id, "promotion_code": None}],
            "items": [{"id": item.id, "price": better.id, "quantity": 3}],
            "subscription": subscription.id,
        },
        "type": "subscription_update_confirm",
    }
    # Stripe's example of a session with a flow: the same keys (plus the item's quantity, which
    # Stripe's API reference documents though its example leaves it out).
    session = sdk.billing_portal.Session.create(
        customer=buyer.id,
        configuration=config.id,
        return_url=RETURN,
        flow_data={"type": "subscription_update", "subscription_update": {"subscription": subscription.id}},
    )
    assert shape_differences(body(session), RESOURCES["billing_portal.session"], "billing_portal.session") == []


def test_refusals_change_nothing(sdk: ModuleType) -> None:
    buyer = customer(sdk)
    stranger = customer(sdk)
    subscription = subscribed(sdk, buyer)
    multi = subscribed(sdk, buyer, 1000, 2000)
    theirs = subscribed(sdk, stranger)
    ended = subscribed(sdk, buyer)
    sdk.Subscription.cancel(ended.id)
    leaving = subscribed(sdk, buyer)
    sdk.Subscription.modify(leaving.id, cancel_at_period_end=True)
    item = subscription["items"].data[0]
    one_time = sdk.Price.create(currency="usd", unit_amount=500, product=item.price.product)
    euro = sdk.Price.create(
        currency="eur", unit_amount=500, recurring={"interval": "month"}, product=item.price.product
    )
    spent = sdk.Coupon.create(percent_off=10, duration="once", redeem_by=clock.to_unix(clock.now()) + 2)
    gone = sdk.Customer.create()
    sdk.Customer.delete(gone.id)
    config = full_configuration(sdk)
    bare = sdk.billing_portal.Configuration.create(features={"invoice_history": {"enabled": True}})
    inactive = sdk.billing_portal.Configuration.create(features={"invoice_history": {"enabled": True}})
    sdk.billing_portal.Configuration.modify(inactive.id, active=False)
    base = {"customer": buyer.id, "configuration": config.id, "return_url": RETURN}

    def cancel(subscription_id: str, **more: Any) -> dict[str, Any]:
        return {
            **base,
            "flow_data": {
                "type": "subscription_cancel",
                "subscription_cancel": {"subscription": subscription_id, **more},
            },
        }

    def confirm(**given: Any) -> dict[str, Any]:
        return {
            **base,
            "flow_data": {
                "type": "subscription_update_confirm",
                "subscription_update_confirm": {"subscription": subscription.id, **given},
            },
        }

    cases: list[tuple[dict[str, Any], int, str | None, str]] = [
        ({"return_url": RETURN}, 400, "parameter_missing", "customer"),
        ({"customer": "cus_missing", "return_url": RETURN}, 404, "resource_missing", "customer"),
        ({"customer": gone.id, "return_url": RETURN}, 404, "resource_missing", "customer"),
        ({"customer": buyer.id}, 400, "parameter_missing", "return_url"),
        ({"customer": buyer.id, "return_url": "not a url"}, 400, "url_invalid", "return_url"),
        ({**base, "locale": "xx"}, 400, None, "locale"),
        ({**base, "configuration": "bpc_missing"}, 404, "resource_missing", "configuration"),
        ({**base, "configuration": inactive.id}, 400, "parameter_invalid", "configuration"),
        ({**base, "on_behalf_of": "acct_123"}, 400, "parameter_invalid", "on_behalf_of"),
        (
            {
                **base,
                "flow_data": {"type": "subscription_pause", "subscription_pause": {"subscription": subscription.id}},
            },
            400,
            "parameter_invalid",
            "flow_data[type]",
        ),
        (
            {**base, "flow_data": {"type": "subscription_cancel"}},
            400,
            "parameter_missing",
            "flow_data[subscription_cancel]",
        ),
        (
            {
                **base,
                "flow_data": {
                    "type": "payment_method_update",
                    "subscription_update": {"subscription": subscription.id},
                },
            },
            400,
            "parameter_invalid",
            "flow_data[subscription_update]",
        ),
        (
            {**base, "configuration": bare.id, "flow_data": {"type": "payment_method_update"}},
            400,
            "parameter_invalid",
            "flow_data[type]",
        ),
        (
            {**base, "flow_data": {"type": "payment_method_update", "after_completion": {"type": "redirect"}}},
            400,
            "parameter_missing",
            "flow_data[after_completion][redirect][return_url]",
        ),
        (
            {
                **base,
                "flow_data": {
                    "type": "payment_method_update",
                    "after_completion": {"type": "portal_homepage", "redirect": {"return_url": RETURN}},
                },
            },
            400,
            "parameter_invalid",
            "flow_data[after_completion][redirect]",
        ),
        (
            {
                **base,
                "flow_data": {
                    "type": "payment_method_update",
                    "after_completion": {
                        "type": "hosted_confirmation",
                        "hosted_confirmation": {"custom_message": "x" * 501},
                    },
                },
            },
            400,
            None,
            "flow_data[after_completion][hosted_confirmation][custom_message]",
        ),
        (cancel("sub_missing"), 404, "resource_missing", "flow_data[subscription_cancel][subscription]"),
        (cancel(theirs.id), 400, "parameter_invalid", "flow_data[subscription_cancel][subscription]"),
        (cancel(ended.id), 400, "parameter_invalid", "flow_data[subscription_cancel][subscription]"),
        (cancel(leaving.id), 400, "parameter_invalid", "flow_data[subscription_cancel][subscription]"),
        (
            cancel(subscription.id, retention={"type": "coupon_offer", "coupon_offer": {"coupon": "NOPE"}}),
            404,
            "resource_missing",
            "flow_data[subscription_cancel][retention][coupon_offer][coupon]",
        ),
        (
            {**base, "flow_data": {"type": "subscription_update", "subscription_update": {"subscription": multi.id}}},
            400,
            "parameter_invalid",
            "flow_data[subscription_update][subscription]",
        ),
        (confirm(items=[]), 400, "parameter_missing", "flow_data[subscription_update_confirm][items]"),
        (
            confirm(items=[{"id": item.id, "quantity": 2}, {"id": item.id, "quantity": 3}]),
            400,
            "parameter_invalid",
            "flow_data[subscription_update_confirm][items]",
        ),
        (
            confirm(items=[{"id": item.id}]),
            400,
            "parameter_missing",
            "flow_data[subscription_update_confirm][items][0][price]",
        ),
        (
            confirm(items=[{"id": "si_other", "quantity": 2}]),
            400,
            "parameter_invalid",
            "flow_data[subscription_update_confirm][items][0][id]",
        ),
        (
            confirm(items=[{"id": item.id, "price": one_time.id}]),
            400,
            "parameter_invalid",
            "flow_data[subscription_update_confirm][items][0][price]",
        ),
        (
            confirm(items=[{"id": item.id, "price": euro.id}]),
            400,
            "parameter_invalid",
            "flow_data[subscription_update_confirm][items][0][price]",
        ),
        (
            confirm(items=[{"id": item.id, "quantity": 2}], discounts=[{"coupon": "NOPE"}]),
            404,
            "resource_missing",
            "flow_data[subscription_update_confirm][discounts][0][coupon]",
        ),
    ]
    for params, status, code, param in cases:
        error = refusal(sdk, **params)
        assert (error.http_status, error.code, error.param) == (status, code, param), params
    with clock.frozen_at(clock.now() + dt.timedelta(days=1)):
        error = refusal(
            sdk, **cancel(subscription.id, retention={"type": "coupon_offer", "coupon_offer": {"coupon": spent.id}})
        )
    assert (error.code, error.param) == (
        "coupon_expired",
        "flow_data[subscription_cancel][retention][coupon_offer][coupon]",
    )
    assert PortalSession.objects.count() == 0
    assert not Event.objects.filter(type="billing_portal.session.created").exists()


def test_session_url_opens_the_portal_once(sdk: ModuleType) -> None:
    buyer = customer(sdk)
    session = sdk.billing_portal.Session.create(customer=buyer.id, return_url=RETURN)
    secret = session.url.rsplit("/", 1)[1]
    opened = portal_session_redeem(secret=secret)
    assert (opened.access.customer.public_id, opened.access.can_change_email) == (buyer.id, True)
