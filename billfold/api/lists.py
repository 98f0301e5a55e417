"""List objects: ``limit``, ``starting_after``, ``ending_before``, newest first."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from django.db import models

from billfold.api.params import Field, Int, RangeFilter, Str, exclusive
from billfold.core import clock
from billfold.core.errors import NotFound

M = TypeVar("M", bound=models.Model)

LIST_PARAMS: dict[str, Field] = {
    "limit": Int(min=1, max=100),
    "starting_after": Str(max_length=255),
    "ending_before": Str(max_length=255),
}


def apply_range(queryset: models.QuerySet[M], field: str, value: Mapping[str, int]) -> models.QuerySet[M]:
    """Filter on a timestamp column with ``created=...`` / ``created[gte]=...`` semantics."""
    lookups = {"eq": "", "gt": "__gt", "gte": "__gte", "lt": "__lt", "lte": "__lte"}
    filters: dict[str, Any] = {}
    for op, stamp in value.items():
        moment = clock.from_unix(stamp)
        if op == "eq":
            # Unix seconds name a whole second.
            filters[f"{field}__gte"] = moment
            filters[f"{field}__lt"] = clock.from_unix(stamp + 1)
        else:
            filters[f"{field}{lookups[op]}"] = moment
    return queryset.filter(**filters)


CREATED_FILTER = RangeFilter()


def list_object(data: Sequence[dict[str, Any]], *, url: str, has_more: bool) -> dict[str, Any]:
    return {"object": "list", "data": list(data), "has_more": has_more, "url": url}


def paginate(
    queryset: models.QuerySet[M],
    params: Mapping[str, Any],
    *,
    url: str,
    render: Callable[[list[M]], list[dict[str, Any]]],
    kind: str,
) -> dict[str, Any]:
    """One page of ``queryset`` (already filtered to the caller's mode), newest first.

    Cursors are public ids of objects in the same list; ordering is by primary key, which
    follows creation order.
    """
    exclusive(params, "starting_after", "ending_before")
    limit: int = params.get("limit") or 10
    after = params.get("starting_after")
    before = params.get("ending_before")
    if after or before:
        cursor_id = after or before
        cursor = queryset.filter(public_id=cursor_id).values_list("pk", flat=True).first()
        if cursor is None:
            raise NotFound(kind, str(cursor_id), param="starting_after" if after else "ending_before")
    if before:
        rows = list(queryset.filter(pk__gt=cursor).order_by("pk")[: limit + 1])
        has_more = len(rows) > limit
        rows = rows[:limit][::-1]
    else:
        page = queryset.filter(pk__lt=cursor) if after else queryset
        rows = list(page.order_by("-pk")[: limit + 1])
        has_more = len(rows) > limit
        rows = rows[:limit]
    return list_object(render(rows), url=url, has_more=has_more)
