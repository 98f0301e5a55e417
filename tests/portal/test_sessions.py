"""Portal sessions opening browser access: single use, 5 minutes to use, 1 hour idle timeout."""

from __future__ import annotations

import datetime as dt

import pytest

from billfold.core.clock import frozen_at
from billfold.core.crypto import sha256_hex
from billfold.customers.services import customer_create, customer_delete
from billfold.portal.configurations import portal_configuration_default, portal_configuration_update
from billfold.portal.models import PortalAccess, PortalSession
from billfold.portal.sessions import (
    NewPortalSession,
    PortalLinkRefused,
    portal_access_end,
    portal_access_get,
    portal_access_touch,
    portal_access_use,
    portal_session_create,
    portal_session_redeem,
)

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2031, 5, 1, 9, 0, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)
SECOND = dt.timedelta(seconds=1)


def new_session(at: dt.datetime = T0) -> NewPortalSession:
    with frozen_at(at):
        customer = customer_create(livemode=False, values={"email": "jenny@example.com"})
        return portal_session_create(livemode=False, customer_id=customer.public_id, return_url="https://example.com")


def secret_of(created: NewPortalSession) -> str:
    return created.url.rsplit("/", 1)[1]


def refused(secret: str, at: dt.datetime) -> str:
    with frozen_at(at), pytest.raises(PortalLinkRefused) as raised:
        portal_session_redeem(secret=secret)
    assert raised.value.code is not None
    return raised.value.code


def test_only_the_hash_of_the_secret_is_stored() -> None:
    created = new_session()
    secret = secret_of(created)
    stored = PortalSession.objects.get(pk=created.session.pk)
    assert stored.secret_hash == sha256_hex(secret)
    assert secret not in str(PortalSession.objects.filter(pk=stored.pk).values().get())


def test_redeem_opens_an_access_once() -> None:
    created = new_session()
    with frozen_at(T0 + 4 * MINUTE):
        opened = portal_session_redeem(secret=secret_of(created))
    access = opened.access
    assert (access.via, access.can_change_email, access.customer_id, access.session_id) == (
        PortalAccess.SESSION,
        True,
        created.session.customer_id,
        created.session.pk,
    )
    assert (access.created, access.expires) == (T0 + 4 * MINUTE, T0 + 64 * MINUTE)
    assert access.token_hash == sha256_hex(opened.token)
    assert PortalSession.objects.get(pk=created.session.pk).redeemed == T0 + 4 * MINUTE
    # The same link a second time: refused, and no second access.
    assert refused(secret_of(created), T0 + 4 * MINUTE) == "portal_session_used"
    assert PortalAccess.objects.count() == 1


def test_unused_link_expires_after_five_minutes() -> None:
    created = new_session()
    assert refused(secret_of(created), T0 + 5 * MINUTE) == "portal_session_expired"
    assert PortalSession.objects.get(pk=created.session.pk).redeemed is None
    assert refused("not-a-secret", T0) == "portal_session_invalid"
    assert PortalAccess.objects.count() == 0


def test_link_of_a_deleted_customer_or_deactivated_configuration_is_refused() -> None:
    created = new_session()
    with frozen_at(T0):
        customer_delete(customer=created.session.customer)
    assert refused(secret_of(created), T0 + MINUTE) == "portal_session_invalid"
    other = new_session()
    configuration = portal_configuration_default(livemode=False)
    configuration.is_default = False  # only the default cannot be deactivated
    configuration.save(update_fields=["is_default"])
    portal_configuration_update(configuration=configuration, values={"active": False})
    assert refused(secret_of(other), T0 + MINUTE) == "portal_session_invalid"


def test_access_expires_an_hour_after_the_last_activity() -> None:
    created = new_session()
    with frozen_at(T0):
        token = portal_session_redeem(secret=secret_of(created)).token
    # Each use slides the expiry: 50 minutes apart, three times, is more than an hour in all.
    for minutes in (50, 100, 150):
        with frozen_at(T0 + minutes * MINUTE):
            access = portal_access_use(token=token)
            assert access is not None
            assert access.expires == T0 + (minutes + 60) * MINUTE
    with frozen_at(T0 + 209 * MINUTE):
        assert portal_access_get(token=token) is not None
    with frozen_at(T0 + 210 * MINUTE):
        assert portal_access_get(token=token) is None
        assert portal_access_use(token=token) is None
    # Once expired, touching does not bring it back.
    stored = PortalAccess.objects.get()
    with frozen_at(T0 + 210 * MINUTE):
        assert portal_access_touch(access=stored) is False
    assert PortalAccess.objects.get().expires == T0 + 210 * MINUTE


def test_reading_does_not_slide_and_ending_signs_out() -> None:
    created = new_session()
    with frozen_at(T0):
        token = portal_session_redeem(secret=secret_of(created)).token
    with frozen_at(T0 + 30 * MINUTE):
        access = portal_access_get(token=token)
    assert access is not None and access.expires == T0 + 60 * MINUTE
    with frozen_at(T0 + 31 * MINUTE):
        portal_access_end(access=access)
        assert portal_access_get(token=token) is None
    assert portal_access_get(token="someone-elses-token") is None


def test_uses_close_together_write_nothing_and_never_extend_the_hour() -> None:
    created = new_session()
    with frozen_at(T0):
        token = portal_session_redeem(secret=secret_of(created)).token
    with frozen_at(T0 + MINUTE):
        assert portal_access_use(token=token) is not None
    # Within 30 seconds of the last slide the expiry stays where it is (no write on each page)...
    with frozen_at(T0 + MINUTE + 29 * SECOND):
        access = portal_access_use(token=token)
        assert access is not None and access.expires == T0 + 61 * MINUTE
    assert PortalAccess.objects.get().expires == T0 + 61 * MINUTE
    # ...so the access ends at most an hour after the last activity, never later.
    with frozen_at(T0 + 61 * MINUTE):
        assert portal_access_use(token=token) is None
