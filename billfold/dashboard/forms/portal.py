"""The customer portal settings form: every option of a portal configuration, as
``portal_configuration_update`` takes it (the dashboard edits the mode's default configuration).

The products customers may switch between are one checkbox per recurring price, grouped by
product, with each product's quantity bounds; a product is offered when any of its prices is ticked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.db.models import Prefetch

from billfold.catalog.models import Price, Product
from billfold.portal.configurations import CANCELLATION_REASONS
from billfold.portal.models import PortalConfiguration

# API parameter paths (dotted, as ``add_domain_error`` reads them) → the field showing their refusal.
PORTAL_PARAMS = {
    "business_profile.headline": "headline",
    "business_profile.terms_of_service_url": "terms_of_service_url",
    "business_profile.privacy_policy_url": "privacy_policy_url",
    "default_return_url": "default_return_url",
    "features.customer_update": "customer_allowed_updates",
    "features.subscription_cancel.proration_behavior": "cancel_proration_behavior",
    "features.subscription_cancel.mode": "cancel_mode",
    "features.subscription_cancel.cancellation_reason": "cancellation_reasons",
    "features.subscription_update.default_allowed_updates": "update_allowed",
    "features.subscription_update.proration_behavior": "update_proration_behavior",
    "features.subscription_update": "update_enabled",
}
REASON_LABELS = {
    "too_expensive": "It's too expensive",
    "missing_features": "Some features are missing",
    "switched_service": "I'm switching to a different service",
    "unused": "I don't use the service enough",
    "customer_service": "Customer service was less than expected",
    "too_complex": "Ease of use was less than expected",
    "low_quality": "Quality was less than expected",
    "other": "Other reason",
}
CUSTOMER_UPDATE_LABELS = (
    ("email", "Email address"),
    ("address", "Billing address"),
    ("shipping", "Shipping address"),
    ("phone", "Phone number"),
    ("tax_id", "Tax IDs"),
    ("name", "Name"),
)
SUBSCRIPTION_UPDATE_LABELS = (
    ("price", "Switch plans (between the prices below)"),
    ("quantity", "Change quantity"),
    ("promotion_code", "Redeem promotion codes"),
)
PRORATION_CHOICES = (
    ("create_prorations", "Prorate: credit unused time and charge the difference on the next invoice"),
    ("always_invoice", "Prorate and invoice the difference immediately"),
    ("none", "No proration: the new price applies from the next renewal"),
)


def _url_field(label: str, help_text: str = "") -> forms.URLField:
    """An optional absolute URL; ``example.com/terms`` is read as ``https://example.com/terms``."""
    return forms.URLField(label=label, help_text=help_text, required=False, max_length=2048, assume_scheme="https")


@dataclass
class ProductChoice:
    """A product offered for plan switching, with its ticked prices and quantity fields."""

    product: Product
    prices: list[tuple[Price, forms.BoundField]]
    quantity_enabled: forms.BoundField
    quantity_minimum: forms.BoundField
    quantity_maximum: forms.BoundField
    errors: list[str]


def _switchable_products(livemode: bool) -> list[Product]:
    """Active products with at least one active, licensed (not metered) recurring price."""
    prices = Price.objects.filter(active=True, recurring_interval__isnull=False).exclude(recurring_usage_type="metered")
    products = (
        Product.objects.filter(livemode=livemode, active=True, deleted=False)
        .prefetch_related(Prefetch("prices", queryset=prices.order_by("unit_amount", "pk"), to_attr="switchable"))
        .order_by("name", "pk")
    )
    return [product for product in products if product.switchable]


class PortalSettingsForm(forms.Form):
    # Business information
    headline = forms.CharField(
        label="Headline",
        required=False,
        max_length=60,
        help_text="Shown at the top of the portal, such as “Manage your Acme subscription”. At most 60 characters.",
    )
    terms_of_service_url = _url_field("Terms of service URL")
    privacy_policy_url = _url_field("Privacy policy URL")
    default_return_url = _url_field(
        "Default return URL",
        ("Where “Return to …” sends customers when a portal session names no return_url (your site's account page)."),
    )
    # Customer information
    customer_enabled = forms.BooleanField(label="Customers can update their information", required=False)
    customer_allowed_updates = forms.MultipleChoiceField(
        label="Information customers can update",
        choices=CUSTOMER_UPDATE_LABELS,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    # Payment methods and invoices
    payment_methods_enabled = forms.BooleanField(
        label="Customers can add, remove and choose their default payment method", required=False
    )
    invoice_history_enabled = forms.BooleanField(
        label="Customers can see their invoices, pay open ones and download PDFs", required=False
    )
    # Cancellations
    cancel_enabled = forms.BooleanField(label="Customers can cancel subscriptions", required=False)
    cancel_mode = forms.ChoiceField(
        label="When a cancellation takes effect",
        choices=(
            ("at_period_end", "At the end of the billing period (customers can renew until then)"),
            ("immediately", "Immediately"),
        ),
        widget=forms.RadioSelect,
    )
    cancel_proration_behavior = forms.ChoiceField(
        label="Immediate cancellations",
        choices=(
            ("none", "No refund or credit for the unused time"),
            ("create_prorations", "Credit the unused time (prorate)"),
        ),
        widget=forms.RadioSelect,
        help_text="Proration applies only to immediate cancellations.",
    )
    cancellation_reason_enabled = forms.BooleanField(label="Ask customers why they cancel", required=False)
    cancellation_reasons = forms.MultipleChoiceField(
        label="Reasons offered",
        choices=[(reason, REASON_LABELS[reason]) for reason in CANCELLATION_REASONS],
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    # Subscription updates
    update_enabled = forms.BooleanField(label="Customers can change their subscriptions", required=False)
    update_allowed = forms.MultipleChoiceField(
        label="Changes allowed",
        choices=SUBSCRIPTION_UPDATE_LABELS,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    update_proration_behavior = forms.ChoiceField(
        label="When customers change plan or quantity", choices=PRORATION_CHOICES, widget=forms.RadioSelect
    )
    schedule_decreasing = forms.BooleanField(
        label="Downgrades (a lower amount per period) wait for the end of the billing period", required=False
    )
    schedule_shortening = forms.BooleanField(
        label="Switches to a shorter billing interval wait for the end of the billing period", required=False
    )
    trial_update_behavior = forms.ChoiceField(
        label="Changes during a free trial",
        choices=(("end_trial", "End the trial and start billing"), ("continue_trial", "Keep the trial running")),
        widget=forms.RadioSelect,
    )
    billing_cycle_anchor = forms.ChoiceField(
        label="Billing date after a change",
        choices=(("unchanged", "Keep the current billing date"), ("now", "Restart the billing period on the change")),
        widget=forms.RadioSelect,
    )

    def __init__(self, *args: Any, livemode: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.products = _switchable_products(livemode)
        self.product_errors: dict[str, list[str]] = {}
        for product in self.products:
            key = product.public_id
            for price in product.switchable:  # type: ignore[attr-defined]
                self.fields[f"price_{price.public_id}"] = forms.BooleanField(required=False)
            self.fields[f"qty_{key}_enabled"] = forms.BooleanField(label="Adjustable quantity", required=False)
            self.fields[f"qty_{key}_minimum"] = forms.IntegerField(label="Minimum", min_value=0, required=False)
            self.fields[f"qty_{key}_maximum"] = forms.IntegerField(label="Maximum", min_value=1, required=False)

    # --- what the template shows ----------------------------------------------------------------

    def product_choices(self) -> list[ProductChoice]:
        return [
            ProductChoice(
                product=product,
                prices=[(price, self[f"price_{price.public_id}"]) for price in product.switchable],  # type: ignore[attr-defined]
                quantity_enabled=self[f"qty_{product.public_id}_enabled"],
                quantity_minimum=self[f"qty_{product.public_id}_minimum"],
                quantity_maximum=self[f"qty_{product.public_id}_maximum"],
                errors=self.product_errors.get(product.public_id, []),
            )
            for product in self.products
        ]

    # --- between the configuration and the form ---------------------------------------------------

    @classmethod
    def initial_for(cls, configuration: PortalConfiguration) -> dict[str, Any]:
        profile = configuration.business_profile or {}
        features = configuration.features
        customer = features["customer_update"]
        cancel = features["subscription_cancel"]
        update = features["subscription_update"]
        conditions = {c["type"] for c in (update.get("schedule_at_period_end") or {}).get("conditions") or []}
        initial: dict[str, Any] = {
            "headline": profile.get("headline") or "",
            "terms_of_service_url": profile.get("terms_of_service_url") or "",
            "privacy_policy_url": profile.get("privacy_policy_url") or "",
            "default_return_url": configuration.default_return_url or "",
            "customer_enabled": customer["enabled"],
            "customer_allowed_updates": customer["allowed_updates"],
            "payment_methods_enabled": features["payment_method_update"]["enabled"],
            "invoice_history_enabled": features["invoice_history"]["enabled"],
            "cancel_enabled": cancel["enabled"],
            "cancel_mode": cancel["mode"],
            "cancel_proration_behavior": cancel["proration_behavior"],
            "cancellation_reason_enabled": cancel["cancellation_reason"]["enabled"],
            "cancellation_reasons": cancel["cancellation_reason"]["options"],
            "update_enabled": update["enabled"],
            "update_allowed": update["default_allowed_updates"],
            "update_proration_behavior": update["proration_behavior"],
            "schedule_decreasing": "decreasing_item_amount" in conditions,
            "schedule_shortening": "shortening_interval" in conditions,
            "trial_update_behavior": update.get("trial_update_behavior") or "end_trial",
            "billing_cycle_anchor": update.get("billing_cycle_anchor") or "unchanged",
        }
        for offered in update["products"]:
            for price_id in offered["prices"]:
                initial[f"price_{price_id}"] = True
            quantity = offered.get("adjustable_quantity") or {}
            key = offered["product"]
            initial[f"qty_{key}_enabled"] = bool(quantity.get("enabled"))
            if quantity.get("enabled"):
                initial[f"qty_{key}_minimum"] = quantity.get("minimum")
                initial[f"qty_{key}_maximum"] = quantity.get("maximum")
        return initial

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("cancel_mode") == "at_period_end" and data.get("cancel_proration_behavior") == "create_prorations":
            # Nothing to prorate when the period runs to its end: keep the setting meaningful.
            data["cancel_proration_behavior"] = "none"
        if data.get("cancellation_reason_enabled") and not data.get("cancellation_reasons"):
            self.add_error("cancellation_reasons", "Tick at least one reason, or stop asking why customers cancel.")
        for product in self.products:
            key = product.public_id
            minimum = data.get(f"qty_{key}_minimum")
            maximum = data.get(f"qty_{key}_maximum")
            if data.get(f"qty_{key}_enabled") and minimum is not None and maximum is not None and maximum <= minimum:
                self.add_error(f"qty_{key}_maximum", "The maximum must be greater than the minimum.")
        return data

    def _offered_products(self) -> list[dict[str, Any]]:
        data = self.cleaned_data
        offered: list[dict[str, Any]] = []
        for product in self.products:
            key = product.public_id
            prices = [p.public_id for p in product.switchable if data.get(f"price_{p.public_id}")]  # type: ignore[attr-defined]
            if not prices:
                continue
            quantity: dict[str, Any] = {"enabled": bool(data.get(f"qty_{key}_enabled"))}
            if quantity["enabled"]:
                for bound in ("minimum", "maximum"):
                    if data.get(f"qty_{key}_{bound}") is not None:
                        quantity[bound] = data[f"qty_{key}_{bound}"]
            offered.append({"product": key, "prices": prices, "adjustable_quantity": quantity})
        return offered

    def configuration_values(self) -> dict[str, Any]:
        data = self.cleaned_data
        conditions = [
            {"type": kind}
            for kind, ticked in (
                ("decreasing_item_amount", data["schedule_decreasing"]),
                ("shortening_interval", data["schedule_shortening"]),
            )
            if ticked
        ]
        return {
            "business_profile": {
                "headline": data["headline"].strip() or None,
                "terms_of_service_url": data["terms_of_service_url"] or None,
                "privacy_policy_url": data["privacy_policy_url"] or None,
            },
            "default_return_url": data["default_return_url"] or None,
            "features": {
                "customer_update": {
                    "enabled": data["customer_enabled"],
                    "allowed_updates": data["customer_allowed_updates"],
                },
                "invoice_history": {"enabled": data["invoice_history_enabled"]},
                "payment_method_update": {"enabled": data["payment_methods_enabled"]},
                "subscription_cancel": {
                    "enabled": data["cancel_enabled"],
                    "mode": data["cancel_mode"],
                    "proration_behavior": data["cancel_proration_behavior"],
                    "cancellation_reason": {
                        "enabled": data["cancellation_reason_enabled"],
                        "options": data["cancellation_reasons"],
                    },
                },
                "subscription_update": {
                    "enabled": data["update_enabled"],
                    "default_allowed_updates": data["update_allowed"],
                    "proration_behavior": data["update_proration_behavior"],
                    "products": self._offered_products(),
                    "schedule_at_period_end": {"conditions": conditions},
                    "trial_update_behavior": data["trial_update_behavior"],
                    "billing_cycle_anchor": None if data["billing_cycle_anchor"] == "unchanged" else "now",
                },
            },
        }

    def add_product_error(self, index: int | None, message: str) -> None:
        """A refusal about the ``index``-th offered product shows under that product; others above the list."""
        offered = self._offered_products()
        if index is not None and index < len(offered):
            self.product_errors.setdefault(offered[index]["product"], []).append(message)
        else:
            self.add_error(None, message)
