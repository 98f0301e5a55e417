"""Finding the API key a request presents, and how long a process trusts what it found."""

from __future__ import annotations

import datetime as dt

import pytest

from billfold.accounts.models import ApiKey
from billfold.accounts.selectors import api_key_authenticate
from billfold.accounts.services import api_key_create, api_key_revoke
from billfold.core import clock

MOMENT = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)

pytestmark = pytest.mark.django_db


def test_the_key_is_found_by_its_secret_with_its_mode() -> None:
    test = api_key_create(livemode=False, name="test key")
    live = api_key_create(livemode=True, name="live key")

    found_test = api_key_authenticate(secret=test.secret)
    found_live = api_key_authenticate(secret=live.secret)

    assert found_test is not None and found_live is not None
    assert (found_test.pk, found_test.livemode, found_test.name) == (test.key.pk, False, "test key")
    assert (found_live.pk, found_live.livemode, found_live.name) == (live.key.pk, True, "live key")
    assert found_live.livemode is True


def test_timestamps_load_when_read() -> None:
    with clock.frozen_at(MOMENT):
        created = api_key_create(livemode=False)
    found = api_key_authenticate(secret=created.secret)
    assert found is not None
    assert (found.created, found.revoked_at, found.expires_at) == (MOMENT, None, None)


def test_unknown_malformed_and_revoked_secrets_find_nothing() -> None:
    created = api_key_create(livemode=False)
    assert api_key_authenticate(secret=created.secret + "x") is None
    assert api_key_authenticate(secret="pk_test_" + created.secret[8:]) is None
    api_key_revoke(key=ApiKey.objects.get(pk=created.key.pk))
    assert api_key_authenticate(secret=created.secret) is None


def test_a_key_stops_working_when_it_expires() -> None:
    created = api_key_create(livemode=False)
    ApiKey.objects.filter(pk=created.key.pk).update(expires_at=MOMENT)
    with clock.frozen_at(MOMENT - dt.timedelta(seconds=1)):
        found = api_key_authenticate(secret=created.secret)
        assert found is not None and found.pk == created.key.pk
    with clock.frozen_at(MOMENT):
        assert api_key_authenticate(secret=created.secret) is None


def test_a_key_revoked_elsewhere_stops_working_within_a_second(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    created = api_key_create(livemode=False)
    ticks = iter([1000.0, 1000.5, 1001.2, 1001.3])
    monkeypatch.setattr(time, "monotonic", lambda: next(ticks))
    assert api_key_authenticate(secret=created.secret) is not None  # read and remembered at 1000.0
    # Another process revokes it: this one does not know yet.
    ApiKey.objects.filter(pk=created.key.pk).update(revoked_at=clock.now())
    assert api_key_authenticate(secret=created.secret) is not None  # 0.5 s later: still trusted
    assert api_key_authenticate(secret=created.secret) is None  # 1.2 s later: read again, refused
    assert api_key_authenticate(secret=created.secret) is None  # and not remembered


def test_revoking_here_refuses_at_once() -> None:
    created = api_key_create(livemode=False)
    assert api_key_authenticate(secret=created.secret) is not None
    api_key_revoke(key=ApiKey.objects.get(pk=created.key.pk))
    assert api_key_authenticate(secret=created.secret) is None
