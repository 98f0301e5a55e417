"""Staff accounts: sign-in rate limits held in the database, `billfold createuser`, the quick start's owner."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from billfold.accounts.models import SignInFailure
from billfold.accounts.signin import INCORRECT, SignInLocked, SignInRefused, staff_sign_in
from billfold.core.clock import frozen_at
from tests.dashboard.helpers import PASSWORD, staff_user

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2030, 1, 1, 12, 0, tzinfo=dt.UTC)
LOCKED = "Too many failed sign-in attempts. For your security, signing in is paused: try again in {}."


def refuse(email: str, password: str, address: str = "10.0.0.1") -> str:
    with pytest.raises((SignInRefused, SignInLocked)) as refused:
        staff_sign_in(email=email, password=password, client_address=address)
    return refused.value.message


def test_five_wrong_passwords_lock_the_account_for_fifteen_minutes() -> None:
    user = staff_user()
    with frozen_at(T0):
        assert [refuse("OWNER@example.com", "wrong") for _ in range(4)] == [INCORRECT] * 4
        assert refuse("owner@example.com", "wrong") == LOCKED.format("15 minutes")
        # Locked: even the right password is refused, from any address.
        assert refuse("owner@example.com", PASSWORD, "10.9.9.9") == LOCKED.format("15 minutes")
    with frozen_at(T0 + dt.timedelta(minutes=14, seconds=1)):
        assert refuse("owner@example.com", PASSWORD) == LOCKED.format("1 minute")
    with frozen_at(T0 + dt.timedelta(minutes=15, seconds=1)):
        assert staff_sign_in(email=" Owner@Example.com ", password=PASSWORD, client_address="10.0.0.1") == user
    # Signing in cleared the account's failures; the client's are kept.
    assert SignInFailure.objects.count() == 5


def test_unknown_accounts_get_the_same_answers() -> None:
    staff_user()
    with frozen_at(T0):
        answers = [refuse("nobody@example.com", "wrong", "10.0.0.2") for _ in range(5)]
    assert answers == [INCORRECT] * 4 + [LOCKED.format("15 minutes")]


def test_one_client_trying_many_accounts_is_stopped() -> None:
    staff_user()
    with frozen_at(T0):
        answers = [refuse(f"guess{i}@example.com", "wrong", "203.0.113.7") for i in range(20)]
        assert answers == [INCORRECT] * 19 + [LOCKED.format("15 minutes")]
        # The real owner, from elsewhere, is not locked out by it.
        assert staff_sign_in(email="owner@example.com", password=PASSWORD, client_address="198.51.100.1").is_staff


def test_only_active_staff_may_sign_in() -> None:
    User.objects.create_user(username="customer@example.com", password=PASSWORD)
    assert refuse("customer@example.com", PASSWORD) == INCORRECT
    owner = staff_user()
    owner.is_active = False
    owner.save()
    assert refuse("owner@example.com", PASSWORD) == INCORRECT


def test_createuser_with_the_password_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BILLFOLD_PASSWORD", "a long enough pass phrase")
    out = io.StringIO()
    call_command("createuser", "Ada@Example.com", "--password-from-env", stdout=out)
    assert out.getvalue() == "Created staff user ada@example.com: sign in at /dashboard/ with this email address.\n"
    user = User.objects.get(username="ada@example.com")
    assert (user.email, user.is_staff, user.is_superuser) == ("ada@example.com", True, False)
    assert user.password.startswith("pbkdf2_sha256$")
    assert user.check_password("a long enough pass phrase")


def test_createuser_refuses_and_creates_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEAK", "password")
    with pytest.raises(CommandError, match=r"This password is too common\."):
        call_command("createuser", "ada@example.com", "--password-from-env", "WEAK")
    with pytest.raises(CommandError, match=r"The environment variable UNSET_VARIABLE is not set or empty\."):
        call_command("createuser", "ada@example.com", "--password-from-env", "UNSET_VARIABLE")
    monkeypatch.setenv("GOOD", "a long enough pass phrase")
    with pytest.raises(CommandError, match="Invalid email address: not-an-email"):
        call_command("createuser", "not-an-email", "--password-from-env", "GOOD")
    assert not User.objects.exists()
    typed = iter(["a long enough pass phrase", "a different pass phrase"])
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(typed))
    with pytest.raises(CommandError, match=r"The two passwords differ; nothing was created\."):
        call_command("createuser", "ada@example.com")
    assert not User.objects.exists()


def test_createuser_prompts_and_refuses_a_second_account_with_the_email(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("getpass.getpass", lambda prompt: "a long enough pass phrase")
    call_command("createuser", "ada@example.com", "--owner", stdout=io.StringIO())
    assert User.objects.get().is_superuser
    with pytest.raises(CommandError, match=r"A user with the email address ada@example\.com already exists\."):
        call_command("createuser", "ADA@example.com")


def test_the_quick_start_makes_the_owner_once() -> None:
    out = io.StringIO()
    call_command("start", "--no-serve", stdout=out)
    lines = [line.strip() for line in out.getvalue().splitlines()]
    assert "Dashboard: http://127.0.0.1:8000/dashboard/" in lines
    sign_in = next(line for line in lines if line.startswith("sign in as"))
    password = sign_in.removeprefix("sign in as owner@localhost with the password ")
    assert len(password) == 20
    owner = User.objects.get()
    assert (owner.username, owner.is_staff, owner.is_superuser) == ("owner@localhost", True, True)
    assert owner.check_password(password)
    again = io.StringIO()
    call_command("start", "--no-serve", stdout=again)
    assert "sign in as" not in again.getvalue()
    assert User.objects.count() == 1
