"""``expand[]``: replace ids in a rendered object by the objects they name, batched.

Each object type declares which of its fields can be expanded (dotted paths for fields inside
hashes, e.g. ``invoice_settings.default_payment_method``). Expansion runs level by level over
every object of a result at once, so expanding ``data.customer`` on a list of 100 objects costs
one query, not 100. Some fields are "includable" instead (Stripe omits them unless asked, like
a price's ``tiers``); their includers fill them in, also in one batch.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from billfold.api.errors import ParamError

MAX_DEPTH = 4

# Given public ids and the mode, the rendered objects by id (missing ids are left out).
Loader = Callable[[list[str], bool], dict[str, dict[str, Any]]]
# Given rendered objects of one type and the mode, fill in an includable field on each.
Includer = Callable[[list[dict[str, Any]], bool], None]

# object type -> expandable field -> the loader key to use whatever the id looks like, or None to
# pick the loader from the id's prefix. Objects with merchant-chosen ids (products) need the key.
_expandable: dict[str, dict[str, str | None]] = defaultdict(dict)
_loaders: dict[str, Loader] = {}
_includers: dict[tuple[str, str], Includer] = {}


def register_loader(prefix: str, loader: Loader) -> None:
    """Load objects whose ids start with ``prefix + "_"``."""
    _loaders[prefix] = loader


def register_expandable(object_type: str, *fields: str, target: str | None = None) -> None:
    """Let ``fields`` of ``object_type`` be expanded; ``target`` names the loader when ids can be custom."""
    for name in fields:
        _expandable[object_type][name] = target


def register_includer(object_type: str, field: str, includer: Includer) -> None:
    _includers[(object_type, field)] = includer


def _load(ids: Iterable[str], livemode: bool, target: str | None) -> dict[str, dict[str, Any]]:
    by_prefix: dict[str, list[str]] = defaultdict(list)
    for object_id in ids:
        by_prefix[target or object_id.split("_", 1)[0]].append(object_id)
    found: dict[str, dict[str, Any]] = {}
    for prefix, group in by_prefix.items():
        loader = _loaders.get(prefix)
        if loader is not None:
            found.update(loader(sorted(set(group)), livemode))
    return found


def _holders(obj: dict[str, Any], dotted: str) -> list[tuple[dict[str, Any], str]]:
    """The hashes holding the field ``dotted`` names, with its last part; a list on the way (e.g.
    ``total_discount_amounts.discount``) stands for each of its hashes."""
    *parents, leaf = dotted.split(".")
    nodes: list[Any] = [obj]
    for part in parents:
        found = [node.get(part) for node in nodes if isinstance(node, dict)]
        nodes = [item for value in found for item in (value if isinstance(value, list) else [value])]
    return [(node, leaf) for node in nodes if isinstance(node, dict)]


def _cannot(path: str, param: str) -> ParamError:
    return ParamError(f"This property cannot be expanded ({path}).", param=param)


def _expand_level(objects: list[dict[str, Any]], segments: list[str], livemode: bool, path: str, param: str) -> None:
    if not segments or not objects:
        return
    if segments[0] == "data" and all(o.get("object") in {"list", "search_result"} for o in objects):
        items = [item for o in objects for item in o.get("data", []) if isinstance(item, dict)]
        _expand_level(items, segments[1:], livemode, path, param)
        return
    object_type = objects[0].get("object", "")
    fields = _expandable.get(object_type, {})
    # Longest dotted field that the path starts with.
    match = None
    for size in range(len(segments), 0, -1):
        candidate = ".".join(segments[:size])
        if candidate in fields or (object_type, candidate) in _includers:
            match, rest = candidate, segments[size:]
            break
    if match is None:
        raise _cannot(path, param)
    includer = _includers.get((object_type, match))
    if includer is not None:
        if rest:
            raise _cannot(path, param)
        includer(objects, livemode)
        return
    holders = [(h, leaf) for obj in objects for h, leaf in _holders(obj, match) if h.get(leaf) is not None]
    # A field is an id, or a list of ids (an invoice's ``discounts``): each id becomes its object.
    ids = [
        v for h, leaf in holders for v in (h[leaf] if isinstance(h[leaf], list) else [h[leaf]]) if isinstance(v, str)
    ]
    loaded = _load(ids, livemode, fields.get(match)) if ids else {}

    def replaced(value: Any) -> Any:
        return dict(loaded[value]) if isinstance(value, str) and value in loaded else value

    expanded: list[dict[str, Any]] = []
    for holder, leaf in holders:
        value = holder[leaf]
        values = [replaced(v) for v in value] if isinstance(value, list) else [replaced(value)]
        holder[leaf] = values if isinstance(value, list) else values[0]
        expanded.extend(v for v in values if isinstance(v, dict))
    _expand_level(expanded, rest, livemode, path, param)


def expand_result(result: dict[str, Any], paths: list[str], livemode: bool) -> dict[str, Any]:
    """Expand ``paths`` in ``result`` in place (and return it)."""
    for index, path in sorted(enumerate(paths), key=lambda p: p[1].count(".")):
        param = f"expand[{index}]"
        segments = path.split(".")
        # Stripe counts every property, ``data`` of a list included: ``data.a.b.c`` is the deepest.
        if len(segments) > MAX_DEPTH:
            raise ParamError(f"You cannot expand more than {MAX_DEPTH} levels of a property ({path}).", param=param)
        if not all(segments):
            raise _cannot(path, param)
        _expand_level([result], segments, livemode, path, param)
    return result
