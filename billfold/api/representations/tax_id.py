"""The Stripe JSON of a tax ID, and a customer's includable ``tax_ids`` list."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from billfold.api.representations.common import unix
from billfold.customers.models import TaxId

# Stripe embeds the first page of a sub-list in its parent, as on ``GET`` of the list.
EMBEDDED_LIMIT = 10


def render_tax_id(tax_id: TaxId) -> dict[str, Any]:
    customer_id = tax_id.customer.public_id
    return {
        "id": tax_id.public_id,
        "object": "tax_id",
        "country": tax_id.country,
        "created": unix(tax_id.created),
        "customer": customer_id,
        "customer_account": None,
        "livemode": tax_id.livemode,
        "owner": {"customer": customer_id, "customer_account": None, "type": "customer"},
        "type": tax_id.type,
        "value": tax_id.value,
        "verification": {"status": tax_id.verification_status, "verified_address": None, "verified_name": None},
    }


def customer_tax_ids_url(customer_id: str) -> str:
    return f"/v1/customers/{customer_id}/tax_ids"


def load_tax_ids(ids: list[str], livemode: bool) -> dict[str, dict[str, Any]]:
    rows = TaxId.objects.filter(public_id__in=ids, livemode=livemode, customer__deleted=False)
    return {t.public_id: render_tax_id(t) for t in rows.select_related("customer")}


def include_customer_tax_ids(customers: list[dict[str, Any]], livemode: bool) -> None:
    """Fill ``tax_ids`` on rendered customers (``expand[]=tax_ids``) with one query for all of them."""
    live = [c for c in customers if not c.get("deleted")]
    by_customer: dict[str, list[TaxId]] = defaultdict(list)
    rows = TaxId.objects.filter(customer__public_id__in=[c["id"] for c in live], livemode=livemode)
    for tax_id in rows.select_related("customer").order_by("-pk"):
        by_customer[tax_id.customer.public_id].append(tax_id)
    for customer in live:
        found = by_customer[customer["id"]]
        customer["tax_ids"] = {
            "object": "list",
            "data": [render_tax_id(t) for t in found[:EMBEDDED_LIMIT]],
            "has_more": len(found) > EMBEDDED_LIMIT,
            "url": customer_tax_ids_url(customer["id"]),
        }
