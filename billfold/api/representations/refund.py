"""The Stripe JSON of a refund."""

from __future__ import annotations

from typing import Any

from billfold.api.representations.common import unix
from billfold.payments.models import Refund


def render_refund(refund: Refund) -> dict[str, Any]:
    charge = refund.charge
    rendered: dict[str, Any] = {
        "id": refund.public_id,
        "object": "refund",
        "amount": refund.amount,
        "balance_transaction": None,
        "charge": charge.public_id,
        "created": unix(refund.created),
        "currency": refund.currency,
        "customer": charge.customer.public_id if charge.customer else None,
        "customer_account": None,
        "destination_details": {"card": {"type": "refund"}, "type": "card"},
        "metadata": refund.metadata,
        "payment_intent": refund.payment_intent.public_id,
        "payment_method": charge.payment_method.public_id,
        "reason": refund.reason,
        "receipt_number": None,
        "source_transfer_reversal": None,
        "status": refund.status,
        "transfer_reversal": None,
    }
    if refund.status == "failed":
        # Stripe shows why only on a failed refund.
        rendered["failure_reason"] = refund.failure_reason
    return rendered


def load_refunds(ids: list[str], livemode: bool) -> dict[str, dict[str, Any]]:
    refunds = Refund.objects.select_related("charge__customer", "charge__payment_method", "payment_intent").filter(
        public_id__in=ids, livemode=livemode
    )
    return {refund.public_id: render_refund(refund) for refund in refunds}
