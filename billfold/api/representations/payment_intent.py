"""The Stripe JSON of a payment intent."""

from __future__ import annotations

from typing import Any

from billfold.api.representations.common import unix
from billfold.payments.models import PaymentIntent


def render_payment_intent(intent: PaymentIntent) -> dict[str, Any]:
    return {
        "id": intent.public_id,
        "object": "payment_intent",
        "amount": intent.amount,
        # Funds are captured when authorised, so nothing is ever waiting to be captured.
        "amount_capturable": 0,
        "amount_details": {"tip": {}},
        "amount_received": intent.amount_received,
        "application": None,
        "application_fee_amount": None,
        "automatic_payment_methods": {"enabled": True} if intent.automatic_payment_methods else None,
        "canceled_at": unix(intent.canceled_at),
        "cancellation_reason": intent.cancellation_reason,
        "capture_method": intent.capture_method,
        "client_secret": intent.client_secret,
        "confirmation_method": intent.confirmation_method,
        "created": unix(intent.created),
        "currency": intent.currency,
        "customer": intent.customer.public_id if intent.customer else None,
        "customer_account": None,
        "description": intent.description,
        "excluded_payment_method_types": None,
        "last_payment_error": intent.last_payment_error,
        "latest_charge": intent.latest_charge.public_id if intent.latest_charge else None,
        "livemode": intent.livemode,
        "managed_payments": None,
        "metadata": intent.metadata,
        "next_action": intent.next_action,
        "on_behalf_of": None,
        "payment_method": intent.payment_method.public_id if intent.payment_method else None,
        "payment_method_configuration_details": None,
        "payment_method_options": {
            "card": {
                "installments": None,
                "mandate_options": None,
                "network": None,
                "request_three_d_secure": "automatic",
            }
        },
        "payment_method_types": intent.payment_method_types,
        "processing": None,
        "receipt_email": intent.receipt_email,
        "review": None,
        "setup_future_usage": intent.setup_future_usage,
        "shipping": None,
        "source": None,
        "statement_descriptor": intent.statement_descriptor,
        "statement_descriptor_suffix": None,
        "status": intent.status,
        "transfer_data": None,
        "transfer_group": None,
    }


def load_payment_intents(ids: list[str], livemode: bool) -> dict[str, dict[str, Any]]:
    intents = PaymentIntent.objects.select_related("customer", "payment_method", "latest_charge").filter(
        public_id__in=ids, livemode=livemode
    )
    return {intent.public_id: render_payment_intent(intent) for intent in intents}
