"""Reading one row by exact column values, and inserting one row, with SQL built once per process.

``Model.objects.filter(public_id=..., livemode=...).first()`` has the ORM compile the same query on
every call, which took two thirds of the CPU time of an API retrieve, and ``Model.objects.create``
spends most of its time compiling its INSERT (bench/README.md). These build their SQL and value
converters once per model, columns and database, then only execute it: ``row_get`` returns the
instance the ORM would have built, ``row_insert`` writes what ``save()`` would have written.
They are for hot paths; everything else uses the ORM.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import connections, models, router

M = TypeVar("M", bound=models.Model)


@dataclass(frozen=True)
class _Plan:
    sql: str
    attnames: list[str]
    # (position in the row, the converters Django applies to that column's raw value, its column)
    converters: list[tuple[int, list[Callable[..., Any]], Any]]
    prepare: list[functools.partial[Any]]


@functools.cache
def _plan(model: type[models.Model], columns: tuple[str, ...], alias: str, for_update: bool) -> _Plan:
    connection = connections[alias]
    meta = model._meta
    fields = list(meta.concrete_fields)
    quote = connection.ops.quote_name
    by_attname = {f.attname: f for f in fields}
    where = [by_attname[name] for name in columns]
    table = quote(meta.db_table)
    select = ", ".join(f"{table}.{quote(f.column)}" for f in fields)
    condition = " AND ".join(f"{table}.{quote(f.column)} = %s" for f in where)
    # Only the model's own table and column names are interpolated; values go as parameters.
    sql = f"SELECT {select} FROM {table} WHERE {condition} LIMIT 2"  # noqa: S608
    if for_update and connection.features.has_select_for_update:
        sql += " FOR UPDATE"
    compiler = model._default_manager.none().query.get_compiler(alias)
    found = compiler.get_converters([f.get_col(meta.db_table) for f in fields])
    converters = [(position, list(functions), column) for position, (functions, column) in found.items()]
    prepare = [functools.partial(f.get_db_prep_value, connection=connection, prepared=False) for f in where]
    return _Plan(sql=sql, attnames=[f.attname for f in fields], converters=converters, prepare=prepare)


def row_get(model: type[M], *, for_update: bool = False, **where: Any) -> M | None:
    """The one row of ``model`` whose columns equal ``where`` (attnames: ``customer_id``), or None.

    Meant for unique keys (a public id and its mode). More than one match is a programming error
    and raises, as ``QuerySet.get`` would. ``for_update`` locks the row on databases that can.
    """
    alias = router.db_for_write(model) if for_update else router.db_for_read(model)
    connection = connections[alias]
    plan = _plan(model, tuple(where), alias, for_update)
    params = [prepare(value) for prepare, value in zip(plan.prepare, where.values(), strict=True)]
    with connection.cursor() as cursor:
        cursor.execute(plan.sql, params)
        rows = cursor.fetchmany(2)
    if not rows:
        return None
    if len(rows) > 1:
        found = f"More than one {model.__name__} matches {where}."
        raise model.MultipleObjectsReturned(found)  # type: ignore[attr-defined]
    values = list(rows[0])
    for position, functions, column in plan.converters:
        value = values[position]
        for function in functions:
            value = function(value, column, connection)
        values[position] = value
    return model.from_db(alias, plan.attnames, values)


@dataclass(frozen=True)
class _Insert:
    sql: str
    fields: list[models.Field[Any, Any]]
    returns_id: bool


@functools.cache
def _insert_plan(model: type[models.Model], alias: str) -> _Insert:
    connection = connections[alias]
    meta = model._meta
    pk = meta.pk
    fields = [f for f in meta.concrete_fields if f is not pk]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({placeholders})"  # noqa: S608
    returns_id = connection.features.can_return_columns_from_insert
    if returns_id:
        assert pk is not None
        sql += f" RETURNING {quote(pk.column)}"
    return _Insert(sql=sql, fields=fields, returns_id=returns_id)


def row_insert(obj: M) -> M:
    """Insert a new ``obj`` (its primary key unset) as ``obj.save()`` would, and return it.

    For models with an auto-increment primary key and no save() override or signal receivers.
    """
    model = type(obj)
    alias = router.db_for_write(model)
    connection = connections[alias]
    plan = _insert_plan(model, alias)
    params = [f.get_db_prep_save(f.pre_save(obj, True), connection=connection) for f in plan.fields]
    with connection.cursor() as cursor:
        cursor.execute(plan.sql, params)
        pk = cursor.fetchone()[0] if plan.returns_id else cursor.lastrowid
    obj.pk = pk
    obj._state.adding = False
    obj._state.db = alias
    return obj
