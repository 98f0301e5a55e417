"""The Stripe JSON of a tax code."""

from __future__ import annotations

from typing import Any

from billfold.catalog.tax_codes import TaxCode


def render_tax_code(code: TaxCode) -> dict[str, Any]:
    return {"id": code.id, "object": "tax_code", "description": code.description, "name": code.name}
