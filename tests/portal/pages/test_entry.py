"""Getting into the portal: the login link and its passcode, portal session URLs, the cookie, signing out."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from billfold.core.clock import frozen_at
from billfold.core.crypto import sha256_hex
from billfold.emails.models import Email
from billfold.portal.models import PortalAccess
from tests.portal.pages.world import RETURN_URL, T0, World, session_for, session_path, world_build

pytestmark = pytest.mark.django_db
MINUTE = dt.timedelta(minutes=1)


@pytest.fixture
def world() -> World:
    return world_build()


def latest_code() -> str:
    email = Email.objects.filter(kind="passcode").order_by("-pk").first()
    assert email is not None
    return str(email.context["code"])


def test_login_page_prefills_the_email_and_answers_the_same_for_unknown_emails(world: World) -> None:
    client = Client()
    with frozen_at(T0):
        page = client.get(f"/p/login/{world.link_token}?prefilled_email=jenny%40example.com")
        assert page.status_code == 200
        assert 'value="jenny@example.com"' in page.content.decode()
        assert "frame-ancestors 'none'" in page["Content-Security-Policy"]
        known = client.post(f"/p/login/{world.link_token}/code", {"email": "jenny@example.com"})
        unknown = client.post(f"/p/login/{world.link_token}/code", {"email": "nobody@example.com"})
    assert known.status_code == unknown.status_code == 200

    def normalize(html: str) -> str:
        return html.replace("jenny", "NAME").replace("nobody", "NAME")

    def strip(html: str) -> str:
        return "\n".join(
            line for line in html.splitlines() if "csrfmiddlewaretoken" not in line and "nonce" not in line
        )

    assert strip(normalize(known.content.decode())) == strip(normalize(unknown.content.decode()))
    assert Email.objects.filter(kind="passcode").count() == 1


def test_the_code_is_emailed_in_the_login_page_language(world: World) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9,en;q=0.5")
    with frozen_at(T0):
        page = client.post(f"/p/login/{world.link_token}/code", {"email": "jenny@example.com"})
    assert page.status_code == 200 and 'lang="de"' in page.content.decode()
    email = Email.objects.get(kind="passcode")
    assert email.context["locale"] == "de_DE"


def test_wrong_then_right_code_signs_in_with_a_hashed_cookie_token(world: World) -> None:
    client = Client()
    with frozen_at(T0):
        client.post(f"/p/login/{world.link_token}/code", {"email": "Jenny@Example.com"})
        code = latest_code()
        wrong = "000000" if code != "000000" else "111111"
        refused = client.post(f"/p/login/{world.link_token}/verify", {"email": "jenny@example.com", "code": wrong})
        assert refused.status_code == 400
        assert "That code is not valid" in refused.content.decode()
        assert f'value="{wrong}"' in refused.content.decode()  # what was typed is kept
        signed_in = client.post(f"/p/login/{world.link_token}/verify", {"email": "jenny@example.com", "code": code})
    assert (signed_in.status_code, signed_in["Location"]) == (302, "/p/")
    cookie = signed_in.cookies["billfold_portal"]
    assert (cookie["httponly"], cookie["samesite"], cookie["path"], cookie["max-age"]) == (True, "Lax", "/p/", 3600)
    access = PortalAccess.objects.get()
    assert access.token_hash == sha256_hex(cookie.value)
    assert (access.customer_id, access.via, access.can_change_email) == (world.jenny.pk, "login_link", False)
    with frozen_at(T0):
        home = client.get("/p/")
    assert home.status_code == 200
    assert "Basic" in home.content.decode()


def test_expired_code_and_malformed_code_have_their_own_messages(world: World) -> None:
    client = Client()
    with frozen_at(T0):
        client.post(f"/p/login/{world.link_token}/code", {"email": "jenny@example.com"})
        code = latest_code()
        malformed = client.post(f"/p/login/{world.link_token}/verify", {"email": "jenny@example.com", "code": "12ab"})
    assert malformed.status_code == 400
    assert "The code has 6 digits" in malformed.content.decode()
    with frozen_at(T0 + 11 * MINUTE):
        expired = client.post(f"/p/login/{world.link_token}/verify", {"email": "jenny@example.com", "code": code})
    assert expired.status_code == 400
    assert "This code has expired" in expired.content.decode()
    assert PortalAccess.objects.count() == 0


def test_too_many_code_requests_are_refused_with_a_wait_message(world: World) -> None:
    client = Client()
    with frozen_at(T0):
        answers = [
            client.post(f"/p/login/{world.link_token}/code", {"email": "jenny@example.com"}).status_code
            for _ in range(6)
        ]
        last = client.post(f"/p/login/{world.link_token}/code", {"email": "jenny@example.com"})
    assert answers == [200] * 5 + [429]
    assert "Too many attempts. Wait 15 minutes, then try again." in last.content.decode()


def test_dead_login_link_is_a_404_page(world: World) -> None:
    response = Client().get("/p/login/test_nothing")
    assert response.status_code == 404
    assert "This login link is no longer active" in response.content.decode()


def test_session_url_opens_once_then_shows_the_expired_page(world: World) -> None:
    created = session_for(world.jenny)
    client = Client()
    with frozen_at(T0 + MINUTE):
        opened = client.get(session_path(created))
        assert (opened.status_code, opened["Location"]) == (302, "/p/")
        again = Client().get(session_path(created))
    assert again.status_code == 403
    html = again.content.decode()
    assert "This link has expired" in html and "already been used" in html
    assert f'href="{RETURN_URL}"' in html
    late = session_for(world.jenny)
    with frozen_at(T0 + 5 * MINUTE):
        expired = Client().get(session_path(late))
    assert expired.status_code == 403
    assert "work for a short time only" in expired.content.decode()
    assert Client().get("/p/session/not-a-secret").status_code == 404


def test_access_expires_an_hour_after_the_last_page(world: World) -> None:
    created = session_for(world.jenny)
    client = Client()
    with frozen_at(T0):
        client.get(session_path(created))
    with frozen_at(T0 + 50 * MINUTE):
        assert client.get("/p/").status_code == 200
    with frozen_at(T0 + 109 * MINUTE):
        assert client.get("/p/").status_code == 200
    with frozen_at(T0 + 170 * MINUTE):
        ended = client.get("/p/")
    assert ended.status_code == 401
    assert "You are signed out" in ended.content.decode()
    assert f'href="{RETURN_URL}"' in ended.content.decode()


def test_no_cookie_or_a_forged_one_is_signed_out(world: World) -> None:
    assert Client().get("/p/").status_code == 401
    client = Client()
    client.cookies["billfold_portal"] = "forged"
    assert client.get("/p/billing").status_code == 401


def test_sign_out_ends_the_access_and_returns_to_the_merchant(world: World) -> None:
    created = session_for(world.jenny)
    client = Client()
    with frozen_at(T0):
        client.get(session_path(created))
        out = client.post("/p/sign-out")
        assert out.status_code == 200
        assert f'content="0; url={RETURN_URL}"' in out.content.decode()
        assert client.get("/p/").status_code == 401
    assert PortalAccess.objects.get().ended == T0


def test_forms_refuse_posts_without_the_csrf_token(world: World) -> None:
    client = Client(enforce_csrf_checks=True)
    with frozen_at(T0):
        client.get(f"/p/login/{world.link_token}")
        assert client.post(f"/p/login/{world.link_token}/code", {"email": "jenny@example.com"}).status_code == 403
        client.get(session_path(session_for(world.jenny)))
        sub = world.jenny_sub.public_id
        for path in (
            "/p/sign-out",
            f"/p/subscriptions/{sub}/cancel",
            f"/p/subscriptions/{sub}/renew",
            f"/p/subscriptions/{sub}/update/apply",
            f"/p/subscriptions/{sub}/promotion-code",
            "/p/payment-methods/new",
            "/p/billing",
            "/p/billing/tax-ids",
        ):
            assert client.post(path, {}).status_code == 403, path
    assert Email.objects.filter(kind="passcode").count() == 0
    assert PortalAccess.objects.get().ended is None
