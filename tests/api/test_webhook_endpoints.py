"""/v1/webhook_endpoints through the official stripe SDK."""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any

import pytest

from billfold.events.models import Event, WebhookEndpoint
from billfold.events.signing import secret_decrypt
from tests.api.test_shapes import RESOURCES, shape_differences


def body(obj: Any) -> dict[str, Any]:
    sent: dict[str, Any] = json.loads(obj.last_response.body)
    return sent


def test_create_retrieve_update_list_delete(sdk: ModuleType) -> None:
    created = sdk.WebhookEndpoint.create(
        url="https://example.com/my/webhook/endpoint",
        enabled_events=["charge.failed", "charge.succeeded"],
        description="This is my webhook, I like it a lot",
        metadata={"team": "billing"},
    )
    assert created.id.startswith("we_")
    secret = created.secret
    assert secret.startswith("whsec_") and len(secret) == 38
    assert body(created) == {
        "id": created.id,
        "object": "webhook_endpoint",
        "api_version": None,
        "application": None,
        "created": body(created)["created"],
        "description": "This is my webhook, I like it a lot",
        "enabled_events": ["charge.failed", "charge.succeeded"],
        "livemode": False,
        "metadata": {"team": "billing"},
        "secret": secret,
        "status": "enabled",
        "url": "https://example.com/my/webhook/endpoint",
    }
    stored = WebhookEndpoint.objects.get(public_id=created.id)
    # Kept encrypted, readable only with the server's key.
    assert secret not in stored.secret_encrypted and secret_decrypt(stored.secret_encrypted) == secret

    fetched = sdk.WebhookEndpoint.retrieve(created.id)
    assert "secret" not in body(fetched)
    assert shape_differences(body(fetched), RESOURCES["webhook_endpoint"], "webhook_endpoint") == []
    assert {k: v for k, v in body(created).items() if k != "secret"} == body(fetched)

    updated = sdk.WebhookEndpoint.modify(
        created.id,
        url="http://localhost:4242/hooks",
        enabled_events=["*"],
        description="",
        disabled=True,
        metadata={"team": ""},
    )
    assert (updated.url, updated.enabled_events, updated.description, updated.status) == (
        "http://localhost:4242/hooks",
        ["*"],
        None,
        "disabled",
    )
    assert updated.metadata.to_dict() == {}
    assert "secret" not in body(updated)
    assert sdk.WebhookEndpoint.modify(created.id, disabled=False).status == "enabled"

    second = sdk.WebhookEndpoint.create(
        url="https://example.org/hook", enabled_events=["*"], api_version="2026-10-28.endive"
    )
    assert second.api_version == "2026-10-28.endive"
    page = sdk.WebhookEndpoint.list(limit=1)
    assert [e.id for e in page.data] == [second.id] and page.has_more is True
    assert [e.id for e in sdk.WebhookEndpoint.list().auto_paging_iter()] == [second.id, created.id]

    gone = sdk.WebhookEndpoint.delete(created.id)
    assert body(gone) == {"id": created.id, "object": "webhook_endpoint", "deleted": True}
    with pytest.raises(sdk.InvalidRequestError) as missing:
        sdk.WebhookEndpoint.retrieve(created.id)
    assert (missing.value.http_status, missing.value.code, missing.value.param) == (404, "resource_missing", "id")
    # Stripe writes no events about webhook endpoints.
    assert Event.objects.filter(type__startswith="webhook_endpoint").count() == 0


@pytest.mark.parametrize(
    ("params", "param", "message"),
    [
        ({"enabled_events": ["*"]}, "url", "Missing required param: url."),
        ({"url": "https://example.com/hook"}, "enabled_events", "Missing required param: enabled_events."),
        (
            {"url": "ftp://example.com/hook", "enabled_events": ["*"]},
            "url",
            "Invalid URL: 'ftp://example.com/hook'. Give an absolute http:// or https:// URL such as "
            "https://example.com/webhooks.",
        ),
        (
            {"url": "https://user:pw@example.com/hook", "enabled_events": ["*"]},
            "url",
            "Invalid URL: it must not contain a user name or password.",
        ),
        (
            {"url": "https://example.com/hook", "enabled_events": ["customer.created", "customer.exploded"]},
            "enabled_events[1]",
            "Invalid event type: 'customer.exploded' is not an event type (e.g. customer.created, invoice.paid); "
            "give '*' for all of them.",
        ),
        (
            {"url": "https://example.com/hook", "enabled_events": ["*"], "api_version": "2020-08-27"},
            "api_version",
            "Invalid api_version: Billfold renders events in API version 2026-10-28.endive only; give that or "
            "leave api_version out.",
        ),
        (
            {"url": "https://example.com/hook", "enabled_events": ["*"], "connect": True},
            "connect",
            "Billfold has no connected accounts: leave connect out or pass false.",
        ),
        (
            {"url": "https://example.com/hook", "enabled_events": ["*"], "colour": "red"},
            "colour",
            "Received unknown parameter: colour",
        ),
    ],
)
def test_refusals_name_the_parameter_and_create_nothing(
    sdk: ModuleType, params: dict[str, Any], param: str, message: str
) -> None:
    with pytest.raises(sdk.InvalidRequestError) as refused:
        sdk.WebhookEndpoint.create(**params)
    assert (refused.value.http_status, refused.value.param, refused.value.user_message) == (400, param, message)
    assert WebhookEndpoint.objects.count() == 0


def test_update_refusals_change_nothing(sdk: ModuleType) -> None:
    created = sdk.WebhookEndpoint.create(url="https://example.com/hook", enabled_events=["invoice.paid"])
    with pytest.raises(sdk.InvalidRequestError) as refused:
        sdk.WebhookEndpoint.modify(created.id, url="https://example.com/other", enabled_events=["nope"])
    assert refused.value.param == "enabled_events[0]"
    with pytest.raises(sdk.InvalidRequestError) as empty:
        sdk.WebhookEndpoint.modify(created.id, enabled_events="")
    assert (empty.value.param, empty.value.code) == ("enabled_events", "parameter_invalid_empty")
    stored = WebhookEndpoint.objects.get(public_id=created.id)
    assert (stored.url, stored.enabled_events) == ("https://example.com/hook", ["invoice.paid"])


def test_live_endpoints_refuse_private_addresses(live_server: Any, live_key: str, sdk: ModuleType) -> None:
    with pytest.raises(sdk.InvalidRequestError) as refused:
        sdk.WebhookEndpoint.create(url="http://10.0.0.5/hook", enabled_events=["*"], api_key=live_key)
    assert refused.value.param == "url"
    assert refused.value.user_message == (
        "Invalid URL: 10.0.0.5 is not a public address. Live-mode webhooks go to public addresses only "
        "(set BILLFOLD_WEBHOOK_ALLOW_PRIVATE=true to allow private networks)."
    )
    # Test mode lets developers receive on their own machine and network.
    assert sdk.WebhookEndpoint.create(url="http://10.0.0.5/hook", enabled_events=["*"]).status == "enabled"
    assert sdk.WebhookEndpoint.list(api_key=live_key).data == []
