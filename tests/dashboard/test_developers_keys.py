"""Developers > API keys: listing, creating (the secret shown once), rolling and revoking keys, in both modes."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from billfold.accounts.models import ApiKey
from billfold.accounts.services import api_key_create, api_key_roll
from billfold.core.clock import frozen_at
from billfold.core.crypto import sha256_hex
from billfold.dashboard.security import LIVEMODE_KEY
from tests.dashboard.helpers import signed_in_client, staff_user

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2030, 6, 1, 9, 0, tzinfo=dt.UTC)
SECRET = re.compile(r"sk_(?:test|live)_[A-Za-z0-9]{48}")


def in_live_mode(client: Client) -> Client:
    session = client.session
    session[LIVEMODE_KEY] = True
    session.save()
    return client


def api_status(secret: str) -> int:
    """What the API answers a request made with ``secret``."""
    return Client().get("/v1/customers", HTTP_AUTHORIZATION=f"Bearer {secret}").status_code


def revealed_secret(client: Client, location: str) -> str:
    """Follow the redirect to the page that shows a new secret, and read the secret there."""
    page = client.get(location)
    assert page.status_code == 200
    found: list[str] = SECRET.findall(page.content.decode())
    assert len(set(found)) == 1
    return found[0]


def create_key(client: Client, name: str) -> tuple[ApiKey, str]:
    response = client.post(reverse("dashboard:api-key-new"), {"name": name})
    assert response.status_code == 302
    key = ApiKey.objects.get(name=name)
    assert response["Location"] == reverse("dashboard:api-key-secret", args=[key.public_id])
    return key, revealed_secret(client, response["Location"])


def test_the_list_shows_the_modes_keys_masked_and_never_a_secret() -> None:
    with frozen_at(T0):
        test = api_key_create(livemode=False, name="Backend")
        live = api_key_create(livemode=True, name="Production")
    client = signed_in_client()

    page = client.get(reverse("dashboard:developers")).content.decode()
    assert "Backend" in page and f"sk_test_…{test.key.last4}" in page
    assert "Production" not in page and live.key.last4 not in page
    assert test.secret not in page and not SECRET.search(page)
    assert 'aria-current="page">API keys</a>' in page
    assert "Jun 1, 2030, 09:00" in page

    page = in_live_mode(client).get(reverse("dashboard:developers")).content.decode()
    assert "Production" in page and f"sk_live_…{live.key.last4}" in page
    assert "Backend" not in page and not SECRET.search(page)
    # A key of the other mode has no pages here.
    assert client.get(reverse("dashboard:api-key-revoke", args=[test.key.public_id])).status_code == 404


def test_a_new_key_is_stored_hashed_and_its_secret_shown_exactly_once() -> None:
    client = signed_in_client()
    key, secret = create_key(client, "CI server")

    assert (key.livemode, key.prefix, key.last4) == (False, "sk_test_", secret[-4:])
    assert secret.startswith("sk_test_") and key.secret_hash == sha256_hex(secret)
    assert api_status(secret) == 200
    # Reloading the page does not show it again, nor does the list.
    again = client.get(reverse("dashboard:api-key-secret", args=[key.public_id]), follow=True)
    html = again.content.decode()
    assert again.redirect_chain == [(reverse("dashboard:developers"), 302)]
    assert secret not in html and "shown only once" in html
    assert secret not in client.get(reverse("dashboard:developers")).content.decode()
    # Nor is it kept anywhere once shown.
    assert secret not in str(dict(client.session))


def test_the_secret_page_shows_the_warning_and_a_copy_button() -> None:
    client = signed_in_client()
    response = client.post(reverse("dashboard:api-key-new"), {"name": "Worker"})
    html = client.get(response["Location"]).content.decode()
    assert "You will not see it again" in html
    assert 'data-copy="new-secret" hidden' in html
    assert re.search(r'<input type="text" id="new-secret" class="secret-value" value="sk_test_\w{48}" readonly', html)


def test_a_key_needs_a_name_and_a_refused_form_keeps_what_was_typed() -> None:
    client = signed_in_client()
    response = client.post(reverse("dashboard:api-key-new"), {"name": "   "})
    assert response.status_code == 400
    assert "Give the key a name, so that you can tell it from the others later." in response.content.decode()

    long_name = "Billing worker " + "x" * 90
    response = client.post(reverse("dashboard:api-key-new"), {"name": long_name})
    html = response.content.decode()
    assert response.status_code == 400
    assert "Ensure this value has at most 100 characters (it has 105)." in html
    assert f'value="{long_name}"' in html
    assert not ApiKey.objects.exists()


def test_live_mode_keys_are_made_and_shown_in_live_mode() -> None:
    client = in_live_mode(signed_in_client())
    key, secret = create_key(client, "Live app")
    assert (key.livemode, key.prefix) == (True, "sk_live_")
    assert secret.startswith("sk_live_")
    response = Client().get("/v1/customers", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert response.status_code == 200 and response.json()["url"] == "/v1/customers"
    assert "Live app" in client.get(reverse("dashboard:developers")).content.decode()
    assert "Live app" not in signed_in_client(User.objects.get()).get(reverse("dashboard:developers")).content.decode()


def test_a_rolled_key_keeps_working_until_the_chosen_expiry_then_fails() -> None:
    client = signed_in_client()
    with frozen_at(T0):
        old = api_key_create(livemode=False, name="Backend")
    assert api_status(old.secret) == 200

    with frozen_at(T0):
        form = client.get(reverse("dashboard:api-key-roll", args=[old.key.public_id])).content.decode()
        assert re.search(r'value="1h"[^>]* checked>', form) and "In 7 days" in form
        response = client.post(reverse("dashboard:api-key-roll", args=[old.key.public_id]), {"expires": "1h"})
    new = ApiKey.objects.exclude(pk=old.key.pk).get()
    assert response["Location"] == reverse("dashboard:api-key-secret", args=[new.public_id])
    with frozen_at(T0):
        page = client.get(response["Location"]).content.decode()
    [new_secret] = set(SECRET.findall(page))
    assert "keeps working until Jun 1, 2030, 10:00 UTC" in page and f"sk_test_…{old.key.last4}" in page
    assert (new.name, new.livemode, new.secret_hash) == ("Backend", False, sha256_hex(new_secret))
    old.key.refresh_from_db()
    assert old.key.expires_at == T0 + dt.timedelta(hours=1)

    # Through the real API authentication: both work until the old one's expiry, then only the new one.
    with frozen_at(T0 + dt.timedelta(minutes=59)):
        assert (api_status(old.secret), api_status(new_secret)) == (200, 200)
        listing = client.get(reverse("dashboard:developers")).content.decode()
        assert 'Expiring</span><div class="muted small">until Jun 1, 2030, 10:00' in listing
        assert "Expire now" in listing
        confirm = client.get(reverse("dashboard:api-key-revoke", args=[old.key.public_id])).content.decode()
        assert "Expire the old key Backend now?" in confirm and "Expire key now" in confirm
    with frozen_at(T0 + dt.timedelta(hours=1)):
        assert (api_status(old.secret), api_status(new_secret)) == (401, 200)
        listing = client.get(reverse("dashboard:developers")).content.decode()
        assert "Revoked and expired keys (1)" in listing


def test_rolling_with_expiry_now_stops_the_old_secret_at_once() -> None:
    client = signed_in_client()
    old = api_key_create(livemode=False, name="Leaked")
    assert api_status(old.secret) == 200  # now remembered by this process's trust cache
    response = client.post(reverse("dashboard:api-key-roll", args=[old.key.public_id]), {"expires": "now"})
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "no longer works" in page
    assert api_status(old.secret) == 401


def test_a_roll_without_a_valid_expiry_is_refused_and_changes_nothing() -> None:
    client = signed_in_client()
    old = api_key_create(livemode=False, name="Backend")
    response = client.post(reverse("dashboard:api-key-roll", args=[old.key.public_id]), {"expires": "forever"})
    assert response.status_code == 400
    assert "Select a valid choice." in response.content.decode()
    assert ApiKey.objects.count() == 1
    old.key.refresh_from_db()
    assert old.key.expires_at is None


def test_a_key_already_rolled_cannot_be_rolled_again() -> None:
    client = signed_in_client()
    with frozen_at(T0):
        old = api_key_create(livemode=False, name="Backend")
        api_key_roll(key=old.key, expires_in=dt.timedelta(days=3))
        response = client.post(
            reverse("dashboard:api-key-roll", args=[old.key.public_id]), {"expires": "now"}, follow=True
        )
    assert "was already rolled: it stops working on Jun 4, 2030, 09:00" in response.content.decode()
    assert ApiKey.objects.count() == 2


def test_revoking_asks_first_then_the_api_refuses_the_key() -> None:
    client = signed_in_client()
    key = api_key_create(livemode=False, name="Old laptop")
    confirm = client.get(reverse("dashboard:api-key-revoke", args=[key.key.public_id])).content.decode()
    assert "Revoke the key Old laptop now?" in confirm
    assert "It is your only working test-mode key" in confirm
    assert ApiKey.objects.get().revoked_at is None

    response = client.post(reverse("dashboard:api-key-revoke", args=[key.key.public_id]), follow=True)
    assert f"The key sk_test_…{key.key.last4} was revoked" in response.content.decode()
    assert ApiKey.objects.get().revoked_at is not None
    assert api_status(key.secret) == 401
    # A revoked key cannot be rolled or revoked again.
    again = client.post(reverse("dashboard:api-key-roll", args=[key.key.public_id]), {"expires": "now"}, follow=True)
    assert "is revoked: it cannot be rolled" in again.content.decode()
    assert ApiKey.objects.count() == 1


def test_key_pages_are_for_signed_in_staff_only_and_forms_need_csrf() -> None:
    key = api_key_create(livemode=False, name="Backend")
    pages = [
        reverse("dashboard:developers"),
        reverse("dashboard:api-key-new"),
        reverse("dashboard:api-key-roll", args=[key.key.public_id]),
        reverse("dashboard:api-key-revoke", args=[key.key.public_id]),
    ]
    for path in pages:
        assert Client().get(path)["Location"].startswith("/dashboard/sign-in?next="), path
    outsider = Client()
    outsider.force_login(User.objects.create_user(username="someone@example.com", password="irrelevant pass"))
    assert {outsider.get(path).status_code for path in pages} == {302}
    for action in pages[1:]:
        assert outsider.post(action, {"name": "x", "expires": "now"}).status_code == 302
    assert ApiKey.objects.count() == 1 and ApiKey.objects.get().revoked_at is None

    guarded = Client(enforce_csrf_checks=True)
    guarded.force_login(staff_user())
    assert guarded.post(reverse("dashboard:api-key-new"), {"name": "x"}).status_code == 403
    assert guarded.post(pages[3]).status_code == 403
    assert ApiKey.objects.count() == 1 and ApiKey.objects.get().revoked_at is None

    for path in pages:
        response = guarded.get(path)
        assert response.status_code == 200, path
        assert response["Cache-Control"] == "private, no-store", path
        assert "script-src 'self';" in response["Content-Security-Policy"], path
        html = response.content.decode()
        assert "<script>" not in html and "style=" not in html and "<style" not in html, path
        assert 'name="csrfmiddlewaretoken"' in html, path
