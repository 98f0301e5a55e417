"""POST /v1/invoices/create_preview: the invoice a subscription change (or a new subscription, or the
customer's pending items) would make, computed by the real services and rolled back."""

from __future__ import annotations

from typing import Any

from billfold.api.errors import ParamError
from billfold.api.params import Bool, Enum, Field, Hash, ListOf, OneOf, Str, Timestamp, validate
from billfold.api.representations.invoice import render_invoice
from billfold.api.routing import ApiCall, route
from billfold.api.views.subscriptions import DISCOUNTS, PRORATION, TAX_RATES, UPDATE_ITEM, item_entries, timestamp
from billfold.billing.subscriptions import selectors
from billfold.billing.subscriptions.preview import invoice_preview
from billfold.core.money import currency_check
from billfold.customers import selectors as customer_selectors

_DETAILS = Hash(
    {
        "billing_cycle_anchor": OneOf(Enum("now", "unchanged"), Timestamp()),
        "cancel_at": Timestamp(unsettable=True),
        "cancel_at_period_end": Bool(),
        "default_tax_rates": TAX_RATES,
        "items": ListOf(UPDATE_ITEM, max_items=20),
        "proration_behavior": PRORATION,
        "proration_date": Timestamp(),
        "trial_end": Timestamp(allow_now=True),
    }
)
_PREVIEW: dict[str, Field] = {
    "automatic_tax": Hash({"enabled": Bool(required=True)}),
    "currency": Str(max_length=3),
    "customer": Str(max_length=5000),
    "discounts": DISCOUNTS,
    "preview_mode": Enum("next", "recurring"),
    "subscription": Str(max_length=5000),
    "subscription_details": _DETAILS,
}


def invoice_create_preview(call: ApiCall) -> dict[str, Any]:
    values = validate(_PREVIEW, call.params)
    if (values.get("automatic_tax") or {}).get("enabled"):
        raise ParamError(
            "automatic_tax[enabled]=true is not available: Billfold computes taxes from tax rates only.",
            param="automatic_tax[enabled]",
        )
    customer = (
        customer_selectors.customer_get(public_id=values["customer"], livemode=call.livemode, param="customer")
        if "customer" in values
        else None
    )
    subscription = (
        selectors.subscription_get(public_id=values["subscription"], livemode=call.livemode, param="subscription")
        if "subscription" in values
        else None
    )
    details = dict(values.get("subscription_details") or {})
    for name in ("cancel_at", "proration_date", "trial_end"):
        timestamp(details, name)
    if isinstance(details.get("billing_cycle_anchor"), int):
        if subscription is not None:
            raise ParamError(
                "subscription_details[billing_cycle_anchor] can only be now or unchanged for an existing subscription.",
                param="subscription_details[billing_cycle_anchor]",
            )
        timestamp(details, "billing_cycle_anchor")
    elif details.get("billing_cycle_anchor") == "unchanged":
        details.pop("billing_cycle_anchor")
    if "items" in details:
        details["items"] = item_entries(call, details["items"] or [], param="subscription_details[items]")
    rendered = invoice_preview(
        livemode=call.livemode,
        render=render_invoice,
        customer=customer,
        subscription=subscription,
        subscription_details=details,
        discounts=values.get("discounts"),
    )
    if "currency" in values and currency_check(values["currency"]) != rendered["currency"]:
        raise ParamError(
            f"currency is {values['currency']}, but this invoice would be in {rendered['currency']}.", param="currency"
        )
    return rendered


urlpatterns = [route("invoices/create_preview", POST=invoice_create_preview)]
