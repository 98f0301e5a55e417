"""Stripe's product tax codes (``txcd_...``), shipped as static data.

The list is the one Stripe publishes; products and prices refer to these ids in ``tax_code``.
It never changes at run time, so it is read from ``data/tax_codes.json`` once per process.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA_PATH = Path(__file__).with_name("data") / "tax_codes.json"

_WORD = re.compile(r"[a-z0-9_]+")


@dataclass(frozen=True)
class TaxCode:
    id: str
    name: str
    description: str


@cache
def _codes() -> tuple[TaxCode, ...]:
    raw = json.loads(DATA_PATH.read_text(encoding="utf-8"))
    codes = [TaxCode(id=row["id"], name=row["name"], description=row["description"]) for row in raw]
    return tuple(sorted(codes, key=lambda code: code.id))


@cache
def _by_id() -> dict[str, TaxCode]:
    return {code.id: code for code in _codes()}


def tax_code_get(code: str) -> TaxCode | None:
    return _by_id().get(code)


def tax_code_list() -> list[TaxCode]:
    """Every tax code, in id order."""
    return list(_codes())


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text.lower()))


def _score(code: TaxCode, query: str, terms: list[str]) -> int:
    """How well ``code`` answers ``query``; 0 when some term matches nowhere.

    Every term must match (a word prefix counts, so "soft" finds "software"). A hit in the id
    beats one in the name, which beats one in the description; whole words beat prefixes, and
    a name containing the whole phrase ranks above names that merely contain its words.
    """
    code_id = code.id.lower()
    name = code.name.lower()
    if query == code_id or query == code_id.removeprefix("txcd_"):
        return 1_000_000
    name_words = _words(code.name)
    description_words = _words(code.description)
    score = 0
    for term in terms:
        if code_id.startswith(term) or code_id.removeprefix("txcd_").startswith(term):
            score += 1_000
        elif term in name_words:
            score += 100
        elif any(word.startswith(term) for word in name_words):
            score += 60
        elif term in description_words:
            score += 10
        elif any(word.startswith(term) for word in description_words):
            score += 5
        else:
            return 0
    if query in name:
        score += 200
        if name.startswith(query):
            score += 100
    return score


def tax_code_search(query: str, *, limit: int = 20) -> list[TaxCode]:
    """Tax codes matching every word of ``query`` (case-insensitive), best first.

    Ties keep id order, so general codes (lower ids within a family) come before specific ones.
    """
    normalized = " ".join(query.lower().split())
    terms = _WORD.findall(normalized)
    if not terms or limit <= 0:
        return []
    scored = [(score, code) for code in _codes() if (score := _score(code, normalized, terms)) > 0]
    scored.sort(key=lambda pair: (-pair[0], pair[1].id))
    return [code for _, code in scored[:limit]]
