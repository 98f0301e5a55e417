"""Configuration services the dashboard calls beyond the API: the default of each mode."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, transaction

from billfold.core.clock import frozen_at, to_unix
from billfold.core.errors import DomainError
from billfold.events.models import Event
from billfold.portal.configurations import (
    portal_configuration_create,
    portal_configuration_default,
    portal_configuration_make_default,
    portal_configuration_update,
)
from billfold.portal.models import PortalConfiguration

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2031, 5, 1, 9, 0, tzinfo=dt.UTC)
FEATURES = {"features": {"invoice_history": {"enabled": True}}}


def test_default_is_made_once_per_mode() -> None:
    with frozen_at(T0):
        test_default = portal_configuration_default(livemode=False)
        assert portal_configuration_default(livemode=False).pk == test_default.pk
        live_default = portal_configuration_default(livemode=True)
    assert (test_default.is_default, test_default.livemode, live_default.livemode) == (True, False, True)
    assert PortalConfiguration.objects.count() == 2
    assert list(Event.objects.values_list("type", "livemode")) == [
        ("billing_portal.configuration.created", False),
        ("billing_portal.configuration.created", True),
    ]


def test_the_database_holds_one_default_per_mode() -> None:
    default = portal_configuration_default(livemode=False)
    with pytest.raises(IntegrityError), transaction.atomic():
        PortalConfiguration.objects.create(public_id="bpc_second", is_default=True, livemode=default.livemode)


def test_make_default_moves_the_flag_and_writes_both_updates() -> None:
    with frozen_at(T0):
        old = portal_configuration_default(livemode=False)
        new = portal_configuration_create(livemode=False, values=FEATURES)
    later = T0 + dt.timedelta(hours=1)
    with frozen_at(later):
        made = portal_configuration_make_default(configuration=new)
    assert made.is_default is True
    assert list(PortalConfiguration.objects.filter(is_default=True).values_list("pk", flat=True)) == [new.pk]
    assert portal_configuration_default(livemode=False).pk == new.pk
    updates = Event.objects.filter(type="billing_portal.configuration.updated").order_by("pk")
    assert [(e.object_id, e.data["previous_attributes"]) for e in updates] == [
        (old.public_id, {"is_default": True, "updated": to_unix(T0)}),
        (new.public_id, {"is_default": False, "updated": to_unix(T0)}),
    ]
    # The former default can now be deactivated; an inactive one cannot become the default.
    portal_configuration_update(configuration=old, values={"active": False})
    with pytest.raises(DomainError) as raised:
        portal_configuration_make_default(configuration=old)
    assert raised.value.param == "configuration"
    assert PortalConfiguration.objects.get(pk=new.pk).is_default is True
