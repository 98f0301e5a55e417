"""Reads for customers. Every query is scoped to one mode (test or live)."""

from __future__ import annotations

from django.db.models import QuerySet

from billfold.clocks.models import TestClock
from billfold.core.errors import NotFound
from billfold.core.rows import row_get
from billfold.customers.models import Customer


def customer_get(*, public_id: str, livemode: bool, include_deleted: bool = False, param: str = "id") -> Customer:
    """The customer with this id in this mode; deleted ones only when asked for."""
    customer = row_get(Customer, public_id=public_id, livemode=livemode)
    if customer is None or (customer.deleted and not include_deleted):
        raise NotFound("customer", public_id, param=param)
    return customer


def customer_list(
    *,
    livemode: bool,
    email: str | None = None,
    test_clock: TestClock | None = None,
    exclude_test_clocks: bool = False,
) -> QuerySet[Customer]:
    """Customers of one mode; only those on ``test_clock`` when given, none on any clock if excluded.

    Stripe's customer list leaves out customers on test clocks unless their clock is asked for.
    """
    customers = Customer.objects.filter(livemode=livemode, deleted=False).select_related("test_clock")
    if test_clock is not None:
        customers = customers.filter(test_clock=test_clock)
    elif exclude_test_clocks:
        customers = customers.filter(test_clock__isnull=True)
    if email is not None:
        # Stripe matches the email case-sensitively.
        customers = customers.filter(email=email)
    return customers
