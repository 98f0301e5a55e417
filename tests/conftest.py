"""Shared fixtures: API keys, and the official stripe SDK pointed at a live Billfold server."""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
import stripe
from django.core.cache import cache

from billfold.accounts.services import api_key_create


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    """Each test starts with an empty cache: tests reuse database ids, and a page kept by one test
    must not be served to the next."""
    cache.clear()
    yield


@pytest.fixture
def test_key(db: None) -> str:
    return api_key_create(livemode=False, name="tests").secret


@pytest.fixture
def live_key(db: None) -> str:
    return api_key_create(livemode=True, name="tests live").secret


@pytest.fixture
def sdk(live_server: Any, test_key: str) -> Iterator[ModuleType]:
    """The ``stripe`` module talking to Billfold's live test server with a test-mode key.

    Network retries are off so a refusal surfaces at once (the SDK retries 409s and 5xx).
    """
    saved = (stripe.api_key, stripe.api_base, stripe.upload_api_base, stripe.max_network_retries)
    stripe.api_key = test_key
    # File uploads go to their own base in the SDK; Billfold serves both.
    stripe.api_base = stripe.upload_api_base = live_server.url
    stripe.max_network_retries = 0
    try:
        yield stripe
    finally:
        stripe.api_key, stripe.api_base, stripe.upload_api_base, stripe.max_network_retries = saved


@pytest.fixture
def api_url(live_server: Any) -> str:
    return f"{live_server.url}/v1"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``postgres`` run when the suite runs on PostgreSQL, those marked ``sqlite`` when it
    runs on SQLite; the others are deselected (not skipped): what they check cannot happen on the
    other database (row locks and deadlocks; SQLite's writer queue)."""
    from django.db import connection

    other = "sqlite" if connection.vendor == "postgresql" else "postgres"
    deselected = [item for item in items if item.get_closest_marker(other) is not None]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if item.get_closest_marker(other) is None]
