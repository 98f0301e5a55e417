"""Reads of events."""

from __future__ import annotations

from django.db import connection

from billfold.events.models import Event


def customer_events_version(customer_id: str) -> tuple[int, int, int, int]:
    """A value that changes whenever an event about the customer ``customer_id`` (a public id), or
    about no one customer (a product, a price, a portal configuration), is committed.

    Every change Billfold makes records its event in the same transaction, so pages built only from
    a customer's objects and the account's shared ones can be kept under this value. The count is
    part of it because on PostgreSQL transactions may commit out of id order: an event committed
    after one with a higher id still changes the count (of the customer's events and of the shared
    ones alike). One query, on the ``(customer_id, id)`` index.
    """
    table = connection.ops.quote_name(Event._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT (SELECT COUNT(*) FROM {table} WHERE customer_id = %s), "  # noqa: S608 (the table name is ours)
            f"(SELECT MAX(id) FROM {table} WHERE customer_id = %s), "
            f"(SELECT COUNT(*) FROM {table} WHERE customer_id = ''), "
            f"(SELECT MAX(id) FROM {table} WHERE customer_id = '')",
            [customer_id, customer_id],
        )
        count, latest, shared_count, shared = cursor.fetchone()
    return int(count), int(latest or 0), int(shared_count), int(shared or 0)
