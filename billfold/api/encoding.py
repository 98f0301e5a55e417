"""Stripe's form encoding: ``a[b][0][c]=x`` pairs into nested dicts and lists.

Rules (those of Stripe's API and of the Rack parser its SDKs target):
- ``key[sub]`` nests a hash, and so do ``key[0]``, ``key[1]``: an index is a hash key here,
  because only the schema knows whether ``metadata[0]=x`` sets the metadata key ``"0"`` or
  ``items[0]=x`` the first item (``params.ListOf`` turns index-keyed hashes into lists);
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
_SEGMENT = re.compile(r"\[([^\[\]]*)\]")


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


def _has_path(node: dict[str, Any], parts: list[str]) -> bool:
    """Whether the last element of a ``key[]`` list already holds this path (Rack's rule).

    A path through another ``[]`` never counts as present, so it keeps filling the same element.
    """
    if "" in parts:
        return False
    current: Any = node
    for part in parts:
        if not isinstance(current, dict) or part not in current:
            return False
        current = current[part]
    return True


def _insert(node: Any, parts: list[str], depth: int, value: str) -> None:
    key = parts[depth]
    last = depth == len(parts) - 1
    if isinstance(node, list):
        # ``key[]``: node is a list being appended to.
        if last:
            node.append(value)
            return
        if parts[depth + 1 :] == [""]:
            # ``a[][]=x``: each pair is a one-element inner list, as Rack makes it.
            node.append([value])
            return
        if not node or not isinstance(node[-1], dict) or _has_path(node[-1], parts[depth + 1 :]):
            node.append({})
        child = node[-1]
        if not isinstance(child, dict):
            raise _conflict(parts[: depth + 1])
        _insert(child, parts, depth + 1, value)
        return

    if last:
        if isinstance(node.get(key), (dict, list)):
            raise _conflict(parts[: depth + 1])
        node[key] = value
        return

    nxt = parts[depth + 1]
    existing = node.get(key)
    if existing is None:
        existing = [] if nxt == "" else {}
        node[key] = existing
    elif isinstance(existing, str) or (nxt == "") != isinstance(existing, list):
        raise _conflict(parts[: depth + 1])
    _insert(existing, parts, depth + 1, value)


def decode(raw: str) -> dict[str, Any]:
    """Decode an ``application/x-www-form-urlencoded`` body or query string."""
    root: dict[str, Any] = {}
    for key, value in parse_pairs(raw):
        if not key:
            continue
        if "\x00" in key or "\x00" in value:
            # PostgreSQL cannot store NUL in text; refuse it here rather than fail at the database.
            raise ParamError(f"Invalid value for {key[:100]}: it contains a NUL character (%00).", param=key[:100])
        _insert(root, split_key(key), 0, value)
    return root
