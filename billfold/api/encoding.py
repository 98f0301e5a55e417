"""Stripe's form encoding: ``a[b][0][c]=x`` pairs into nested dicts and lists.

Rules (those of Stripe's API and of the Rack parser its SDKs target):
- ``key[sub]`` nests a hash; ``key[0]``, ``key[1]`` build a list in index order;
- ``key[]`` appends to a list; ``items[][price]=a&items[][quantity]=2`` starts a new element
  whenever the key it sets is already present in the last one;
- every leaf value is a string (the schema converts types); an empty string means "unset";
- a key used both as a value and as a container is a 400 naming the parameter.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

from billfold.api.errors import ParamError

MAX_FIELDS = 5000
MAX_DEPTH = 12
MAX_INDEX = 10000
_SEGMENT = re.compile(r"\[([^\[\]]*)\]")


class _Indexed(dict[int, Any]):
    """A list being built from ``key[N]`` segments; becomes a real list once all pairs are read."""


def parse_pairs(raw: str) -> list[tuple[str, str]]:
    try:
        return parse_qsl(raw, keep_blank_values=True, max_num_fields=MAX_FIELDS, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        raise ParamError("The request body is not valid UTF-8.", param=None) from None
    except ValueError:
        raise ParamError(f"Too many parameters: at most {MAX_FIELDS} are accepted.", param=None) from None


def split_key(key: str) -> list[str]:
    """``items[0][price]`` → ``["items", "0", "price"]``; ``expand[]`` → ``["expand", ""]``."""
    head, bracket, _ = key.partition("[")
    if not bracket:
        return [key]
    rest = key[len(head) :]
    segments = _SEGMENT.findall(rest)
    if "".join(f"[{s}]" for s in segments) != rest or not head:
        raise ParamError(f"Invalid parameter name: {key}", param=key)
    if len(segments) > MAX_DEPTH:
        raise ParamError(f"Parameter nested too deeply: {key}", param=key)
    return [head, *segments]


def _path_name(parts: list[str]) -> str:
    return parts[0] + "".join(f"[{p}]" for p in parts[1:])


def _conflict(parts: list[str]) -> ParamError:
    name = _path_name(parts)
    return ParamError(f"Invalid value for {name}: it is given both as a value and as a hash or array.", param=name)


def _insert(node: Any, parts: list[str], depth: int, value: str) -> None:
    key = parts[depth]
    last = depth == len(parts) - 1
    if isinstance(node, list):
        # ``key[]``: node is a list being appended to.
        if last:
            node.append(value)
            return
        nxt = parts[depth + 1]
        if not node or not isinstance(node[-1], dict) or (nxt in node[-1] and depth + 2 == len(parts)):
            node.append({})
        child = node[-1]
        if not isinstance(child, dict):
            raise _conflict(parts[: depth + 1])
        _insert(child, parts, depth + 1, value)
        return

    if isinstance(node, _Indexed):
        if not key.isdigit() or int(key) > MAX_INDEX:
            raise ParamError(
                f"Invalid array index in {_path_name(parts[: depth + 1])}: mix of list indexes and hash keys.",
                param=_path_name(parts[: depth + 1]),
            )
        slot: Any = int(key)
    else:
        slot = key

    if last:
        if isinstance(node.get(slot), (dict, list)):
            raise _conflict(parts[: depth + 1])
        node[slot] = value
        return

    nxt = parts[depth + 1]
    existing = node.get(slot)
    if existing is None:
        existing = [] if nxt == "" else _Indexed() if nxt.isdigit() else {}
        node[slot] = existing
    elif (
        isinstance(existing, str)
        or (nxt == "" and not isinstance(existing, list))
        or (nxt.isdigit() and isinstance(existing, list))
    ):
        raise _conflict(parts[: depth + 1])
    elif nxt != "" and not nxt.isdigit() and isinstance(existing, (_Indexed, list)):
        raise ParamError(
            f"Invalid array index in {_path_name(parts[: depth + 2])}: mix of list indexes and hash keys.",
            param=_path_name(parts[: depth + 2]),
        )
    _insert(existing, parts, depth + 1, value)


def _finish(node: Any) -> Any:
    if isinstance(node, _Indexed):
        return [_finish(node[i]) for i in sorted(node)]
    if isinstance(node, dict):
        return {k: _finish(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_finish(v) for v in node]
    return node


def decode(raw: str) -> dict[str, Any]:
    """Decode an ``application/x-www-form-urlencoded`` body or query string."""
    root: dict[str, Any] = {}
    for key, value in parse_pairs(raw):
        if not key:
            continue
        _insert(root, split_key(key), 0, value)
    result: dict[str, Any] = _finish(root)
    return result
