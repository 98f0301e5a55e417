"""Reads for API keys."""

from __future__ import annotations

import functools

from django.db import connection, models

from billfold.accounts.models import ApiKey
from billfold.core import clock
from billfold.core.crypto import sha256_hex

# What an authenticated request reads of its key, in the model's field order (``from_db`` needs
# that); the timestamps stay deferred and load on first access.
_LOADED = [f for f in ApiKey._meta.concrete_fields if not isinstance(f, models.DateTimeField)]
_BOOLEANS = [i for i, f in enumerate(_LOADED) if isinstance(f, models.BooleanField)]


@functools.cache
def _authenticate_sql(vendor: str) -> str:
    q = connection.ops.quote_name
    columns = ", ".join(q(f.column) for f in _LOADED)
    table = q(ApiKey._meta.db_table)
    column = {f.attname: q(f.column) for f in ApiKey._meta.concrete_fields}
    secret_hash, revoked, expires = column["secret_hash"], column["revoked_at"], column["expires_at"]
    # Only the model's own table and column names are interpolated; values go as parameters.
    select = f"SELECT {columns} FROM {table} WHERE {secret_hash} = %s AND {revoked} IS NULL"  # noqa: S608
    return f"{select} AND ({expires} IS NULL OR {expires} > %s)"


def api_key_authenticate(*, secret: str) -> ApiKey | None:
    """The active key whose secret this is, or None.

    The lookup is by the SHA-256 of the presented secret, so timing reveals nothing about
    stored keys (an attacker cannot steer the hash prefix).

    Every API request runs this, so it is one prepared SQL statement: having the ORM build the
    same query on each request took 5/6 of its time (measured in bench/README.md).
    """
    if not secret.startswith(("sk_test_", "sk_live_")):
        return None
    now = connection.ops.adapt_datetimefield_value(clock.now())
    with connection.cursor() as cursor:
        cursor.execute(_authenticate_sql(connection.vendor), [sha256_hex(secret), now])
        row = cursor.fetchone()
    if row is None:
        return None
    values = list(row)
    for index in _BOOLEANS:
        values[index] = bool(values[index])  # SQLite answers 0/1
    return ApiKey.from_db(connection.alias, [f.attname for f in _LOADED], values)
