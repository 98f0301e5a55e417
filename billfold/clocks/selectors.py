"""Reads for test clocks, and the time a customer lives on."""

from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet

from billfold.clocks.models import TestClock
from billfold.core import clock
from billfold.core.errors import NotFound
from billfold.customers.models import Customer


def customer_now(customer: Customer) -> dt.datetime:
    """The present moment for this customer: every billing timestamp about them uses it.

    For a customer on a test clock it is read from the database each time, because an advance
    moves the clock step by step while the same customer object is being billed.
    """
    if customer.test_clock_id is None:
        return clock.now()
    frozen: dt.datetime = TestClock.objects.values_list("frozen_time", flat=True).get(pk=customer.test_clock_id)
    return frozen


def test_clock_get(*, public_id: str, livemode: bool, include_deleted: bool = False, param: str = "id") -> TestClock:
    """The test clock with this id in this mode; deleted ones only when asked for."""
    found = TestClock.objects.filter(public_id=public_id, livemode=livemode).first()
    if found is None or (found.deleted and not include_deleted):
        raise NotFound("test_clock", public_id, param=param)
    return found


def test_clock_list(*, livemode: bool) -> QuerySet[TestClock]:
    return TestClock.objects.filter(livemode=livemode, deleted=False)


def test_clock_customers(*, test_clock: TestClock) -> QuerySet[Customer]:
    """The customers living on this clock (deleted ones left out)."""
    return Customer.objects.filter(test_clock=test_clock, livemode=test_clock.livemode, deleted=False)
