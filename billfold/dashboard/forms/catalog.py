"""The product and price forms: what the dashboard asks for, turned into the catalog services' values.

Rules of the catalog (statement descriptor, unit label, tax code, tiers) are not repeated here: the
services check them and their messages are shown next to the field (``add_domain_error``).
"""

from __future__ import annotations

from typing import Any

from django import forms

from billfold.catalog.models import Product
from billfold.catalog.rules import MAX_INTERVAL_COUNT, MAX_TRIAL_PERIOD_DAYS
from billfold.core.money import CURRENCIES
from billfold.dashboard.forms.common import parse_amount

# Shown first in the currency list; the rest follow alphabetically.
COMMON_CURRENCIES = ("usd", "eur", "gbp", "cad", "aud", "chf", "jpy")
CURRENCY_CHOICES = [(c, c.upper()) for c in COMMON_CURRENCIES] + [
    (c, c.upper()) for c in sorted(CURRENCIES) if c not in COMMON_CURRENCIES
]
TIER_ROWS = 4

# Parameter paths of the catalog's refusals → the form field they are about.
PRODUCT_PARAMS = {
    "name": "name",
    "description": "description",
    "images": "image",
    "tax_code": "tax_code",
    "statement_descriptor": "statement_descriptor",
    "unit_label": "unit_label",
}
PRICE_PARAMS = {
    "currency": "currency",
    "unit_amount": "amount",
    "nickname": "nickname",
    "tax_behavior": "tax_behavior",
    "recurring.interval": "interval",
    "recurring.interval_count": "interval_count",
    "recurring.trial_period_days": "trial_period_days",
    "tiers": "tiers",
    "tiers_mode": "pricing",
}


class ProductForm(forms.Form):
    name = forms.CharField(label="Name", max_length=250)
    description = forms.CharField(
        label="Description",
        required=False,
        max_length=40000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Shown to customers at checkout, in the portal and on invoices.",
    )
    image = forms.FileField(
        label="Image",
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png"}),
        help_text="JPEG or PNG, smaller than 2 MB.",
    )
    remove_image = forms.BooleanField(label="Remove the image", required=False)
    tax_code = forms.CharField(
        label="Tax code",
        required=False,
        max_length=100,
        help_text="Type to search Stripe's product tax codes by name or number.",
        widget=forms.TextInput(attrs={"list": "tax-codes", "autocomplete": "off", "spellcheck": "false"}),
    )
    statement_descriptor = forms.CharField(
        label="Statement descriptor",
        required=False,
        max_length=100,
        help_text="What customers see on their card statement for this product's renewals: "
        "5 to 22 Latin characters, at least one letter, none of < > \\ ' \" *.",
    )
    unit_label = forms.CharField(
        label="Unit label",
        required=False,
        max_length=100,
        help_text='What one unit is called, such as "seat": line items then read "per seat". At most 12 characters.',
    )

    def product_values(self) -> dict[str, Any]:
        """The product's attributes as ``product_create``/``product_update`` take them; blank unsets."""
        data = self.cleaned_data
        return {
            "name": data["name"].strip(),
            "description": data["description"].strip() or None,
            "tax_code": data["tax_code"].strip() or None,
            "statement_descriptor": data["statement_descriptor"] or None,
            "unit_label": data["unit_label"].strip() or None,
        }

    @classmethod
    def initial_for(cls, product: Product) -> dict[str, Any]:
        return {
            "name": product.name,
            "description": product.description or "",
            "tax_code": product.tax_code or "",
            "statement_descriptor": product.statement_descriptor or "",
            "unit_label": product.unit_label or "",
        }


class PriceForm(forms.Form):
    type = forms.ChoiceField(
        label="Billing",
        choices=[("recurring", "Recurring"), ("one_time", "One time")],
        initial="recurring",
        widget=forms.RadioSelect,
    )
    pricing = forms.ChoiceField(
        label="Pricing model",
        choices=[
            ("standard", "Standard: one price per unit"),
            ("graduated", "Graduated tiers: each unit priced by the tier it falls in"),
            ("volume", "Volume tiers: every unit priced by the tier the total falls in"),
        ],
        initial="standard",
    )
    amount = forms.CharField(
        label="Amount", required=False, max_length=30, widget=forms.TextInput(attrs={"inputmode": "decimal"})
    )
    currency = forms.ChoiceField(label="Currency", choices=CURRENCY_CHOICES, initial="usd")
    interval = forms.ChoiceField(
        label="Billing period",
        choices=[("month", "Monthly"), ("year", "Yearly"), ("week", "Weekly"), ("day", "Daily")],
        initial="month",
        required=False,
    )
    interval_count = forms.IntegerField(
        label="Every",
        min_value=1,
        max_value=max(MAX_INTERVAL_COUNT.values()),
        initial=1,
        required=False,
        help_text="Bill every this many periods (3 with Monthly: every 3 months).",
    )
    trial_period_days = forms.IntegerField(
        label="Free trial (days)",
        min_value=0,
        max_value=MAX_TRIAL_PERIOD_DAYS,
        required=False,
        help_text="New subscriptions to this price start with a trial this long.",
    )
    nickname = forms.CharField(
        label="Price description", required=False, max_length=250, help_text="Only shown to you, in lists of prices."
    )
    tax_behavior = forms.ChoiceField(
        label="Include tax in price",
        choices=[("unspecified", "Not set"), ("exclusive", "No: tax is added"), ("inclusive", "Yes: tax is included")],
        initial="unspecified",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Needed depending on other choices (the amount for standard pricing, the period for recurring
        # prices), so not marked "optional" though the browser may leave them empty.
        for name in ("amount", "interval", "interval_count"):
            self.fields[name].hide_optional = True  # type: ignore[attr-defined]
        for row in range(TIER_ROWS):
            self.fields[f"tier_{row}_up_to"] = forms.IntegerField(
                label=f"Tier {row + 1}: up to", min_value=1, required=False
            )
            self.fields[f"tier_{row}_unit"] = forms.CharField(
                label=f"Tier {row + 1}: per unit", max_length=30, required=False
            )
            self.fields[f"tier_{row}_flat"] = forms.CharField(
                label=f"Tier {row + 1}: flat fee", max_length=30, required=False
            )
            # The tier table shows the inputs without <label>s: their names come from here.
            for part in ("up_to", "unit", "flat"):
                field = self.fields[f"tier_{row}_{part}"]
                field.widget.attrs["aria-label"] = str(field.label)

    def tier_rows(self) -> list[dict[str, forms.BoundField]]:
        return [
            {"up_to": self[f"tier_{row}_up_to"], "unit": self[f"tier_{row}_unit"], "flat": self[f"tier_{row}_flat"]}
            for row in range(TIER_ROWS)
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        currency = data.get("currency") or "usd"
        if data.get("pricing") == "standard":
            if not (data.get("amount") or "").strip():
                self.add_error("amount", "Enter the price's amount, such as 19.99.")
            else:
                try:
                    data["unit_amount"] = parse_amount(data["amount"], currency)
                except forms.ValidationError as refused:
                    self.add_error("amount", refused)
        elif data.get("pricing") in ("graduated", "volume"):
            data["tiers"] = self._tiers(currency)
        if data.get("type") == "recurring" and not data.get("interval"):
            self.add_error("interval", "Choose how often the price is billed.")
        return data

    def _tiers(self, currency: str) -> list[dict[str, Any]]:
        tiers: list[dict[str, Any]] = []
        for row in range(TIER_ROWS):
            up_to = self.cleaned_data.get(f"tier_{row}_up_to")
            unit_text = (self.cleaned_data.get(f"tier_{row}_unit") or "").strip()
            flat_text = (self.cleaned_data.get(f"tier_{row}_flat") or "").strip()
            if up_to is None and not unit_text and not flat_text:
                continue
            tier: dict[str, Any] = {"up_to": up_to}
            for text, key, field in ((unit_text, "unit_amount", "unit"), (flat_text, "flat_amount", "flat")):
                if text:
                    try:
                        tier[key] = parse_amount(text, currency)
                    except forms.ValidationError as refused:
                        self.add_error(f"tier_{row}_{field}", refused)
            tiers.append(tier)
        if not tiers:
            self.add_error(None, "Enter at least one tier: its amount per unit, a flat fee, or both.")
            return []
        # The last tier covers every quantity above the one before it.
        tiers[-1]["up_to"] = "inf"
        return tiers

    def price_values(self) -> dict[str, Any]:
        """The price as ``price_create`` takes it (without ``product``)."""
        data = self.cleaned_data
        values: dict[str, Any] = {
            "currency": data["currency"],
            "nickname": data["nickname"].strip() or None,
            "tax_behavior": data["tax_behavior"],
        }
        if data["pricing"] == "standard":
            values["unit_amount"] = data["unit_amount"]
        else:
            values.update(billing_scheme="tiered", tiers_mode=data["pricing"], tiers=data["tiers"])
        if data["type"] == "recurring":
            values["recurring"] = {
                "interval": data["interval"],
                "interval_count": data.get("interval_count") or 1,
                "trial_period_days": data.get("trial_period_days"),
            }
        return values
