"""The Stripe JSON of a customer."""

from __future__ import annotations

from typing import Any

from billfold.api.representations.common import address, deleted, unix
from billfold.customers.models import Customer


def render_customer(customer: Customer) -> dict[str, Any]:
    if customer.deleted:
        return deleted("customer", customer.public_id)
    settings = customer.invoice_settings or {}
    rendering = settings.get("rendering_options")
    shipping = customer.shipping
    return {
        "id": customer.public_id,
        "object": "customer",
        "address": address(customer.address),
        "balance": customer.balance,
        "created": unix(customer.created),
        "currency": customer.currency,
        "default_source": None,
        "delinquent": customer.delinquent,
        "description": customer.description,
        "discount": None,
        "email": customer.email,
        "invoice_prefix": customer.invoice_prefix,
        "invoice_settings": {
            "custom_fields": settings.get("custom_fields"),
            "default_payment_method": settings.get("default_payment_method"),
            "footer": settings.get("footer"),
            "rendering_options": (
                {"amount_tax_display": rendering.get("amount_tax_display"), "template": None} if rendering else None
            ),
        },
        "livemode": customer.livemode,
        "metadata": customer.metadata,
        "name": customer.name,
        "next_invoice_sequence": customer.next_invoice_sequence,
        "phone": customer.phone,
        "preferred_locales": customer.preferred_locales,
        "shipping": (
            {"address": address(shipping.get("address")), "name": shipping.get("name"), "phone": shipping.get("phone")}
            if shipping
            else None
        ),
        "tax_exempt": customer.tax_exempt,
        "test_clock": _test_clock_public_id(customer),
    }


def _test_clock_public_id(customer: Customer) -> str | None:
    # Lists and loaders fetch the clock with the customer; a lone customer costs one more query.
    test_clock = customer.test_clock if customer.test_clock_id is not None else None
    return test_clock.public_id if test_clock is not None else None


def load_customers(ids: list[str], livemode: bool) -> dict[str, dict[str, Any]]:
    customers = Customer.objects.filter(public_id__in=ids, livemode=livemode).select_related("test_clock")
    return {c.public_id: render_customer(c) for c in customers}
