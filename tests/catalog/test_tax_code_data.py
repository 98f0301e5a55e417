"""The shipped tax code list and the lookups over it."""

from __future__ import annotations

import json
import re

from billfold.catalog.tax_codes import DATA_PATH, TaxCode, tax_code_get, tax_code_list, tax_code_search


def test_data_file_is_the_whole_list_well_formed() -> None:
    rows = json.loads(DATA_PATH.read_text(encoding="utf-8"))
    assert len(rows) == 635
    assert all(set(row) == {"id", "name", "description"} for row in rows)
    ids = [row["id"] for row in rows]
    assert all(re.fullmatch(r"txcd_\d{8}", code) for code in ids)
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)
    assert all(row["name"].strip() == row["name"] and row["name"] for row in rows)
    assert all(row["description"].strip() for row in rows)


def test_general_codes_are_present() -> None:
    names = {code.id: code.name for code in tax_code_list()}
    assert names["txcd_00000000"] == "Nontaxable"
    assert names["txcd_10000000"] == "General - Electronically Supplied Services"
    assert names["txcd_10103000"] == "Software as a service (SaaS) - personal use"
    assert names["txcd_10103001"] == "Software as a service (SaaS) - business use"
    assert names["txcd_20030000"] == "General - Services"
    assert names["txcd_92010001"] == "Shipping"
    assert names["txcd_99999999"] == "General - Tangible Goods"


def test_get() -> None:
    assert tax_code_get("txcd_99999999") == TaxCode(
        id="txcd_99999999",
        name="General - Tangible Goods",
        description="A physical good that can be moved or touched. Also known as tangible personal property.",
    )
    assert tax_code_get("txcd_12345678") is None
    assert tax_code_get("TXCD_99999999") is None
    assert tax_code_get("") is None


def test_list_is_in_id_order_and_a_fresh_copy() -> None:
    codes = tax_code_list()
    assert [c.id for c in codes[:3]] == ["txcd_00000000", "txcd_10000000", "txcd_10010001"]
    assert codes[-1].id == "txcd_99999999"
    codes.clear()
    assert len(tax_code_list()) == 635


def _ids(query: str, limit: int = 20) -> list[str]:
    return [code.id for code in tax_code_search(query, limit=limit)]


def test_search_by_id_finds_that_code_alone() -> None:
    assert _ids("txcd_10103000") == ["txcd_10103000"]
    assert _ids("TXCD_10103000") == ["txcd_10103000"]
    assert _ids(" 10103000 ") == ["txcd_10103000"]


def test_search_by_id_prefix_lists_the_family_in_id_order() -> None:
    assert _ids("txcd_1010", limit=5) == [
        "txcd_10101000",
        "txcd_10102000",
        "txcd_10102001",
        "txcd_10103000",
        "txcd_10103001",
    ]


def test_search_ranks_name_hits_above_description_hits() -> None:
    # "SaaS" is in four names and, as "SaaS program", in three more descriptions.
    assert _ids("saas") == [
        "txcd_10103000",
        "txcd_10103001",
        "txcd_10103100",
        "txcd_10103101",
        "txcd_10701401",
        "txcd_10701410",
        "txcd_10701411",
    ]
    # Every SaaS description mentions business use; the names that say it come first.
    assert _ids("SaaS business", limit=4) == ["txcd_10103001", "txcd_10103101", "txcd_10103000", "txcd_10103100"]


def test_search_prefers_names_starting_with_the_phrase() -> None:
    assert _ids("clothing", limit=3) == ["txcd_30011000", "txcd_20090024", "txcd_20090026"]
    assert _ids("gift card") == ["txcd_10502000"]


def test_search_whole_words_beat_prefixes() -> None:
    # "soft" is a word of the soft drink names and only a prefix of "software".
    assert _ids("soft", limit=1) == ["txcd_41040009"]
    assert "txcd_10103000" in _ids("soft", limit=100)


def test_search_needs_every_word() -> None:
    assert _ids("digital books permanent") == ["txcd_10302000", "txcd_10401100", "txcd_10804010"]
    assert _ids("gift zeppelin") == []


def test_search_limits_and_empty_queries() -> None:
    assert len(_ids("digital", limit=7)) == 7
    assert _ids("digital", limit=0) == []
    assert _ids("") == []
    assert _ids("   ") == []
    assert _ids("-- / --") == []
