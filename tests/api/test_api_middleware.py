"""/v1 requests skip the browser middleware; other pages keep it."""

from __future__ import annotations

import pytest
from django.test import Client

from billfold.customers.models import Customer


@pytest.mark.django_db
def test_api_requests_skip_the_browser_middleware(client: Client, test_key: str) -> None:
    response = client.post(
        "/v1/customers",
        "email=jenny%40example.com",
        content_type="application/x-www-form-urlencoded",
        headers={"Authorization": f"Bearer {test_key}"},
    )
    assert response.status_code == 200
    assert Customer.objects.get().email == "jenny@example.com"
    assert response["Request-Id"].startswith("req_")
    # SecurityMiddleware still runs before the shortcut; sessions, CSRF and frame options do not.
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "X-Frame-Options" not in response
    assert not response.cookies


@pytest.mark.django_db
def test_unknown_api_paths_still_answer_the_stripe_error(client: Client) -> None:
    response = client.get("/v1/nothing/here")
    assert response.status_code == 404
    assert response.json()["error"]["message"].startswith("Unrecognized request URL (GET: /v1/nothing/here)")
    assert "X-Frame-Options" not in response


def test_other_pages_keep_the_browser_middleware(client: Client) -> None:
    response = client.get("/not-an-api-page")
    assert response.status_code == 404
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
