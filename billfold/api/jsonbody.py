"""The JSON of API responses: two-space indented like Stripe's, UTF-8."""

from __future__ import annotations

from typing import Any

import orjson


def json_body(data: Any) -> bytes:
    """``data`` as indented JSON bytes.

    orjson writes the same text as ``json.dumps(data, indent=2)`` except that non-ASCII
    characters stay UTF-8 instead of ``\\u`` escapes, and does it about ten times faster: the standard
    library's indenting encoder is pure Python and was an eighth of a retrieve's CPU time.
    """
    return orjson.dumps(data, option=orjson.OPT_INDENT_2)
