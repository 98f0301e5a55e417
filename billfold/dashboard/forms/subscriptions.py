"""The new-subscription form: a customer, one recurring price and its quantity, an optional trial
and coupon, and how it is paid, as ``subscription_create`` takes them."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet

from billfold.catalog.models import Price
from billfold.catalog.rules import MAX_TRIAL_PERIOD_DAYS
from billfold.catalog.selectors import price_list
from billfold.customers.models import Customer
from billfold.dashboard.templatetags.dashboard import price_text

# API parameter paths → the field showing their refusal.
SUBSCRIPTION_PARAMS = {
    "customer": "customer",
    "items": "price",
    "trial_period_days": "trial_period_days",
    "collection_method": "collection_method",
    "days_until_due": "days_until_due",
    "discounts": "coupon",
    "coupon": "coupon",
    "description": "description",
}


def subscribable_prices(livemode: bool) -> QuerySet[Price]:
    """Active recurring prices (not metered) of active products, by product then amount."""
    return (
        price_list(livemode=livemode, active=True, type="recurring")
        .filter(product__active=True, product__deleted=False)
        .exclude(recurring_usage_type="metered")
        .order_by("product__name", "unit_amount", "pk")
    )


class SubscriptionForm(forms.Form):
    customer = forms.CharField(
        label="Customer",
        max_length=512,
        help_text="Their email address or id (cus_…).",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    price = forms.ChoiceField(label="Price", error_messages={"required": "Choose the price to subscribe to."})
    quantity = forms.IntegerField(label="Quantity", min_value=1, max_value=1_000_000, initial=1)
    trial_period_days = forms.IntegerField(
        label="Free trial (days)",
        min_value=1,
        max_value=MAX_TRIAL_PERIOD_DAYS,
        required=False,
        help_text="Billing starts when the trial ends.",
    )
    collection_method = forms.ChoiceField(
        label="How it is paid",
        choices=(
            ("charge_automatically", "Charge the customer's default card automatically"),
            ("send_invoice", "Email an invoice for the customer to pay"),
        ),
        initial="charge_automatically",
        widget=forms.RadioSelect,
    )
    days_until_due = forms.IntegerField(
        label="Days to pay each invoice",
        min_value=0,
        max_value=365,
        initial=30,
        required=False,
        help_text="For invoices emailed to the customer.",
    )
    coupon = forms.CharField(label="Coupon", max_length=200, required=False, help_text="A coupon id, such as SPRING25.")
    description = forms.CharField(label="Description", max_length=500, required=False, help_text="Only shown to you.")

    def __init__(self, *args: Any, livemode: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.livemode = livemode
        self.prices = {price.public_id: price for price in subscribable_prices(livemode)}
        groups: dict[str, list[tuple[str, str]]] = {}
        for price in self.prices.values():
            label = price_text(price) + (f" · {price.nickname}" if price.nickname else "")
            groups.setdefault(price.product.name, []).append((price.public_id, label))
        # Needed when invoices are emailed, so not marked "optional" though it may stay empty.
        self.fields["days_until_due"].hide_optional = True  # type: ignore[attr-defined]
        price_field = self.fields["price"]
        assert isinstance(price_field, forms.ChoiceField)
        price_field.choices = [("", "Choose a price"), *groups.items()]

    def clean_customer(self) -> Customer:
        typed = str(self.cleaned_data["customer"]).strip()
        customers = Customer.objects.filter(livemode=self.livemode, deleted=False)
        found = customers.filter(public_id=typed).first() or (
            customers.filter(email__iexact=typed).order_by("-created", "-pk").first()
        )
        if found is None:
            mode = "live" if self.livemode else "test"
            raise forms.ValidationError(f"No {mode}-mode customer has the email address or id “{typed}”.")
        return found

    def clean_price(self) -> Price:
        price = self.prices.get(self.cleaned_data["price"])
        if price is None:
            raise forms.ValidationError("Choose one of the prices.")
        return price

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        customer: Customer | None = data.get("customer")
        if data.get("collection_method") == "send_invoice":
            if data.get("days_until_due") is None:
                self.add_error("days_until_due", "Say how many days the customer has to pay each invoice.")
            if customer is not None and not customer.email:
                self.add_error("collection_method", "This customer has no email address to send invoices to.")
        elif customer is not None and not (customer.invoice_settings or {}).get("default_payment_method"):
            self.add_error(
                "collection_method",
                "This customer has no default card to charge. Choose to email invoices, or let them add a card "
                "in the customer portal first.",
            )
        return data

    def subscription_values(self) -> dict[str, Any]:
        data = self.cleaned_data
        send_invoice = data["collection_method"] == "send_invoice"
        coupon = data["coupon"].strip()
        return {
            "items": [{"price": data["price"], "quantity": data["quantity"]}],
            "collection_method": data["collection_method"],
            "days_until_due": data["days_until_due"] if send_invoice else None,
            "trial_period_days": data["trial_period_days"],
            "discounts": [{"coupon": coupon}] if coupon else (),
            "description": data["description"].strip() or None,
        }
