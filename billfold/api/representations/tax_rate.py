"""The Stripe JSON of a tax rate."""

from __future__ import annotations

from typing import Any

from billfold.api.representations.common import unix
from billfold.billing.models import TaxRate


def render_tax_rate(tax_rate: TaxRate) -> dict[str, Any]:
    return {
        "id": tax_rate.public_id,
        "object": "tax_rate",
        "active": tax_rate.active,
        "country": tax_rate.country,
        "created": unix(tax_rate.created),
        "description": tax_rate.description,
        "display_name": tax_rate.display_name,
        # Stripe fills these three only for rates its tax automation computes; rates defined
        # by hand, the only kind here, have them null.
        "effective_percentage": None,
        "flat_amount": None,
        "rate_type": None,
        "inclusive": tax_rate.inclusive,
        "jurisdiction": tax_rate.jurisdiction,
        "jurisdiction_level": tax_rate.jurisdiction_level,
        "livemode": tax_rate.livemode,
        "metadata": tax_rate.metadata,
        "percentage": float(tax_rate.percentage),
        "state": tax_rate.state,
        "tax_type": tax_rate.tax_type,
    }


def load_tax_rates(ids: list[str], livemode: bool) -> dict[str, dict[str, Any]]:
    return {t.public_id: render_tax_rate(t) for t in TaxRate.objects.filter(public_id__in=ids, livemode=livemode)}
