"""Writing many rows at once with SQL built from the model, not compiled by the ORM for each value.

Django's ``QuerySet.bulk_update`` writes a ``CASE WHEN id = ... THEN ...`` expression per field and
row, and building it costs milliseconds per row (far more than the rows' own ``save()``);
``bulk_create`` passes every value through the SQL compiler. ``rows_update`` builds
``UPDATE <table> SET <field> = %s, ... WHERE <pk> = %s`` once and runs it with ``executemany``
(PostgreSQL's driver pipelines it, SQLite runs it as one prepared statement); ``rows_insert`` writes
``INSERT ... VALUES (...), (...) RETURNING <pk>`` and sets each row's pk. Values are prepared by
each field, as ``save()`` prepares them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from django.db import connections, models, router

M = TypeVar("M", bound=models.Model)

# Parameters in one INSERT: under SQLite's limit (32,766) and PostgreSQL's (65,535).
MAX_PARAMS = 30_000


def _related_keys(row: models.Model, relations: Sequence[models.ForeignKey]) -> None:  # type: ignore[type-arg]
    """Related objects assigned before they were saved: their keys now (``Model.save()`` does the same)."""
    for relation in relations:
        related = row._state.fields_cache.get(relation.name)
        if related is not None and getattr(row, relation.attname) is None:
            if related.pk is None:
                raise ValueError(f"{type(row).__name__}.{relation.name} is not saved yet")
            setattr(row, relation.attname, related.pk)
            # Setting the key forgets the cached object; the row keeps pointing at the same one.
            relation.set_cached_value(row, related)


def _value_of(field: models.Field, connection: Any) -> Callable[[models.Model], Any]:  # type: ignore[type-arg]
    """How a new row's value of ``field`` is written, as ``save()`` writes it.

    For text, integer, boolean and key fields a value already of the field's Python type is written
    as it is (the field's preparation would hand it back unchanged: ``str()`` of a str, ``int()`` of an
    int), and an aware datetime goes straight to the backend's adapter; anything else, and every other
    field, goes through the field's own preparation. Renewal batches write thousands of values, and
    the field's generic path costs several calls each.
    """
    attname = field.attname

    def prepared(row: models.Model) -> Any:
        return field.get_db_prep_save(field.pre_save(row, True), connection=connection)

    if isinstance(field, models.ForeignKey):
        exact: type | None = int if isinstance(field.target_field, models.AutoField | models.IntegerField) else None
    elif isinstance(field, models.BooleanField):
        exact = bool
    elif isinstance(field, models.IntegerField | models.AutoField):
        exact = int
    elif isinstance(field, models.CharField | models.TextField):
        exact = str
    elif isinstance(field, models.DateTimeField) and not (field.auto_now or field.auto_now_add):
        adapt = connection.ops.adapt_datetimefield_value

        def moment(row: models.Model) -> Any:
            value = getattr(row, attname)
            if value is None:
                return None
            if type(value) is dt.datetime and value.tzinfo is not None:
                return adapt(value)
            return prepared(row)

        return moment
    else:
        return prepared
    if exact is None:
        return prepared

    def plain(row: models.Model) -> Any:
        value = getattr(row, attname)
        if value is None or type(value) is exact:
            return value
        return prepared(row)

    return plain


def rows_insert(rows: Sequence[M]) -> None:
    """Insert ``rows`` (new instances of one model, pk unset) in order, as ``save()`` would insert
    each, and set their pks; in the caller's transaction."""
    if not rows:
        return
    model = type(rows[0])
    meta = model._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    relations = [f for f in fields if isinstance(f, models.ForeignKey)]
    connection = connections[router.db_for_write(model)]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    one = "(" + ", ".join(["%s"] * len(fields)) + ")"
    per_statement = max(1, MAX_PARAMS // len(fields))
    values = [_value_of(f, connection) for f in fields]
    for start in range(0, len(rows), per_statement):
        chunk = rows[start : start + per_statement]
        params: list[Any] = []
        for row in chunk:
            if type(row) is not model or row.pk is not None:
                raise ValueError(f"rows_insert takes new rows of one model ({model.__name__})")
            _related_keys(row, relations)
            params.extend(value(row) for value in values)
        # Only the model's own table and column names are interpolated; values go as parameters.
        sql = (
            f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES {', '.join([one] * len(chunk))} "  # noqa: S608
            f"RETURNING {quote(meta.pk.column)}"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            keys = [key for (key,) in cursor.fetchall()]
        if len(keys) != len(chunk):
            raise RuntimeError(f"rows_insert: {len(keys)} keys back for {len(chunk)} {model.__name__} rows")
        # Both databases give the keys back in the order of the VALUES rows (Django's bulk_create
        # relies on the same), and they grow with it.
        for row, key in zip(chunk, sorted(keys), strict=True):
            row.pk = key
            row._state.adding = False
            row._state.db = connection.alias


def rows_update(rows: Sequence[M], fields: Sequence[str] | None = None) -> None:
    """Write ``fields`` (names; all concrete fields but the pk when None) of every row of ``rows``
    (instances of one model, already saved), as ``row.save(update_fields=fields)`` would for each.
    Related objects assigned since the row was read are written by their pk, as ``save()`` does."""
    if not rows:
        return
    model = type(rows[0])
    meta = model._meta
    by_name = {f.name: f for f in meta.concrete_fields}
    chosen = [f for f in meta.concrete_fields if not f.primary_key] if fields is None else [by_name[n] for n in fields]
    alias = router.db_for_write(model)
    connection = connections[alias]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(f.column)} = %s" for f in chosen)
    # Only the model's own table and column names are interpolated; values go as parameters.
    sql = f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {quote(meta.pk.column)} = %s"  # noqa: S608
    relations = [f for f in chosen if isinstance(f, models.ForeignKey)]
    params = []
    for row in rows:
        if type(row) is not model:
            raise TypeError(f"rows_update takes rows of one model: {type(row).__name__} among {model.__name__}")
        _related_keys(row, relations)
        values = [f.get_db_prep_save(f.pre_save(row, False), connection=connection) for f in chosen]
        values.append(meta.pk.get_db_prep_save(row.pk, connection=connection))
        params.append(values)
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)
