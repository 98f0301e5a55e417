"""The Stripe JSON of a payment method (cards only)."""

from __future__ import annotations

from typing import Any

from billfold.api.representations.common import address, unix
from billfold.payments.models import PaymentMethod

# Stripe's ``display_brand`` spells some brands out.
_DISPLAY_BRANDS = {"amex": "american_express", "diners": "diners_club", "unionpay": "union_pay"}


def render_payment_method(payment_method: PaymentMethod) -> dict[str, Any]:
    details = payment_method.billing_details
    brand = payment_method.card_brand
    return {
        "id": payment_method.public_id,
        "object": "payment_method",
        "allow_redisplay": payment_method.allow_redisplay,
        "billing_details": {
            "address": address(details.get("address") or {}),
            "email": details.get("email"),
            "name": details.get("name"),
            "phone": details.get("phone"),
            "tax_id": details.get("tax_id"),
        },
        "card": {
            "brand": brand,
            "checks": {
                "address_line1_check": None,
                "address_postal_code_check": None,
                "cvc_check": payment_method.card_cvc_check,
            },
            "country": payment_method.card_country,
            "display_brand": _DISPLAY_BRANDS.get(brand, brand),
            "exp_month": payment_method.card_exp_month,
            "exp_year": payment_method.card_exp_year,
            "fingerprint": payment_method.card_fingerprint,
            "funding": payment_method.card_funding,
            "generated_from": None,
            "last4": payment_method.card_last4,
            "networks": {"available": [brand], "preferred": None},
            "regulated_status": None,
            "three_d_secure_usage": {"supported": True},
            "wallet": None,
        },
        "created": unix(payment_method.created),
        "customer": payment_method.customer.public_id if payment_method.customer else None,
        "customer_account": None,
        "livemode": payment_method.livemode,
        "metadata": payment_method.metadata,
        "type": payment_method.type,
    }


def load_payment_methods(ids: list[str], livemode: bool) -> dict[str, dict[str, Any]]:
    payment_methods = PaymentMethod.objects.select_related("customer").filter(public_id__in=ids, livemode=livemode)
    return {pm.public_id: render_payment_method(pm) for pm in payment_methods}
