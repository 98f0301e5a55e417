"""The Stripe JSON of a charge."""

from __future__ import annotations

from typing import Any

from billfold.api.representations.common import address, unix
from billfold.api.representations.refund import render_refund
from billfold.events.rendering import known_rows
from billfold.payments.models import Charge

# How many refunds a charge shows inline; the rest are a page away (``has_more``).
INLINE_REFUNDS = 10


def _card_details(charge: Charge) -> dict[str, Any]:
    card = charge.payment_method_details
    brand = card.get("brand")
    return {
        "card": {
            "amount_authorized": charge.amount if charge.paid else None,
            "authorization_code": None,
            "brand": brand,
            "checks": {
                "address_line1_check": None,
                "address_postal_code_check": None,
                "cvc_check": card.get("cvc_check"),
            },
            "country": card.get("country"),
            "exp_month": card.get("exp_month"),
            "exp_year": card.get("exp_year"),
            "extended_authorization": {"status": "disabled"},
            "fingerprint": card.get("fingerprint"),
            "funding": card.get("funding"),
            "incremental_authorization": {"status": "unavailable"},
            "installments": None,
            "last4": card.get("last4"),
            "mandate": None,
            "multicapture": {"status": "unavailable"},
            "network": brand,
            "network_token": {"used": False},
            "network_transaction_id": None,
            "overcapture": {"maximum_amount_capturable": charge.amount, "status": "unavailable"},
            "regulated_status": None,
            "three_d_secure": None,
            "transaction_link_id": None,
            "wallet": None,
        },
        "type": "card",
    }


def render_charge(charge: Charge) -> dict[str, Any]:
    details = charge.billing_details
    known = known_rows(charge, "refunds")  # a charge just made has none: its maker says so
    refunds = (
        list(known[: INLINE_REFUNDS + 1])
        if known is not None
        else list(
            charge.refunds.select_related("charge__customer", "charge__payment_method", "payment_intent").order_by(
                "-pk"
            )[: INLINE_REFUNDS + 1]
        )
    )
    return {
        "id": charge.public_id,
        "object": "charge",
        "amount": charge.amount,
        "amount_captured": charge.amount_captured,
        "amount_refunded": charge.amount_refunded,
        "application": None,
        "application_fee": None,
        "application_fee_amount": None,
        # Billfold keeps no balance; Stripe also leaves this null for asynchronously captured payments.
        "balance_transaction": None,
        "billing_details": {
            "address": address(details.get("address") or {}),
            "email": details.get("email"),
            "name": details.get("name"),
            "phone": details.get("phone"),
            "tax_id": details.get("tax_id"),
        },
        "calculated_statement_descriptor": charge.statement_descriptor.upper() if charge.statement_descriptor else None,
        "captured": charge.paid,
        "created": unix(charge.created),
        "currency": charge.currency,
        "customer": charge.customer.public_id if charge.customer else None,
        "description": charge.description,
        "disputed": False,
        "failure_balance_transaction": None,
        "failure_code": charge.failure_code,
        "failure_message": charge.failure_message,
        "fraud_details": {},
        "livemode": charge.livemode,
        "metadata": charge.metadata,
        "on_behalf_of": None,
        "outcome": charge.outcome,
        "paid": charge.paid,
        "payment_intent": charge.payment_intent.public_id,
        "payment_method": charge.payment_method.public_id,
        "payment_method_details": _card_details(charge),
        "receipt_email": charge.receipt_email,
        "receipt_number": None,
        "receipt_url": None,
        "refunded": charge.refunded,
        "refunds": {
            "object": "list",
            "data": [render_refund(refund) for refund in refunds[:INLINE_REFUNDS]],
            "has_more": len(refunds) > INLINE_REFUNDS,
            "url": f"/v1/charges/{charge.public_id}/refunds",
        },
        "review": None,
        "shipping": None,
        "source": None,
        "source_transfer": None,
        "statement_descriptor": charge.statement_descriptor,
        "statement_descriptor_suffix": None,
        "status": charge.status,
        "transfer_data": None,
        "transfer_group": None,
    }


def load_charges(ids: list[str], livemode: bool) -> dict[str, dict[str, Any]]:
    charges = Charge.objects.select_related("customer", "payment_intent", "payment_method").filter(
        public_id__in=ids, livemode=livemode
    )
    return {charge.public_id: render_charge(charge) for charge in charges}
