"""The Stripe JSON of a setup intent."""

from __future__ import annotations

from typing import Any

from billfold.api.representations.common import unix
from billfold.payments.models import SetupIntent


def render_setup_intent(setup_intent: SetupIntent) -> dict[str, Any]:
    return {
        "id": setup_intent.public_id,
        "object": "setup_intent",
        "application": None,
        "automatic_payment_methods": None,
        "cancellation_reason": setup_intent.cancellation_reason,
        "client_secret": setup_intent.client_secret,
        "created": unix(setup_intent.created),
        "customer": setup_intent.customer.public_id if setup_intent.customer else None,
        "description": setup_intent.description,
        "excluded_payment_method_types": None,
        "flow_directions": None,
        "last_setup_error": setup_intent.last_setup_error,
        "latest_attempt": None,
        "livemode": setup_intent.livemode,
        "mandate": None,
        "metadata": setup_intent.metadata,
        "next_action": setup_intent.next_action,
        "on_behalf_of": None,
        "payment_method": setup_intent.payment_method.public_id if setup_intent.payment_method else None,
        "payment_method_configuration_details": None,
        "payment_method_options": {
            "card": {"mandate_options": None, "network": None, "request_three_d_secure": "automatic"}
        },
        "payment_method_types": setup_intent.payment_method_types,
        "single_use_mandate": None,
        "status": setup_intent.status,
        "usage": setup_intent.usage,
    }


def load_setup_intents(ids: list[str], livemode: bool) -> dict[str, dict[str, Any]]:
    setup_intents = SetupIntent.objects.select_related("customer", "payment_method").filter(
        public_id__in=ids, livemode=livemode
    )
    return {si.public_id: render_setup_intent(si) for si in setup_intents}
