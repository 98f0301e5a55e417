from __future__ import annotations

import collections
import string

from billfold.core.ids import new_id, random_string


def test_ids_have_the_prefix_and_length() -> None:
    value = new_id("cus", 14)
    assert value.startswith("cus_")
    assert len(value) == 4 + 14
    assert set(value[4:]) <= set(string.ascii_letters + string.digits)


def test_every_base62_character_is_about_equally_likely() -> None:
    counts = collections.Counter(random_string(62_000))
    assert set(counts) == set(string.ascii_letters + string.digits)
    # 1,000 expected each; a modulo bias on 256 byte values would give some characters 1,250.
    assert max(counts.values()) < 1_150
    assert min(counts.values()) > 850


def test_lengths_from_one_up_and_no_repeats() -> None:
    assert [len(random_string(n)) for n in range(1, 40)] == list(range(1, 40))
    assert len({new_id("evt") for _ in range(10_000)}) == 10_000
