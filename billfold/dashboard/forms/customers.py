"""The customer form: contact details and billing address, as ``customer_create``/``customer_update`` take them."""

from __future__ import annotations

from typing import Any

from django import forms

from billfold.customers.models import Customer

CUSTOMER_PARAMS = {
    "email": "email",
    "name": "name",
    "phone": "phone",
    "description": "description",
    "address.line1": "line1",
    "address.line2": "line2",
    "address.city": "city",
    "address.state": "state",
    "address.postal_code": "postal_code",
    "address.country": "country",
}
_ADDRESS = ("line1", "line2", "city", "state", "postal_code", "country")


class CustomerForm(forms.Form):
    name = forms.CharField(label="Name", required=False, max_length=256)
    email = forms.CharField(
        label="Email address",
        required=False,
        max_length=512,
        help_text="Invoices, receipts and portal sign-in codes go here.",
        widget=forms.EmailInput,
    )
    phone = forms.CharField(label="Phone", required=False, max_length=20)
    description = forms.CharField(label="Description", required=False, max_length=350, help_text="Only shown to you.")
    line1 = forms.CharField(label="Address line 1", required=False, max_length=200)
    line2 = forms.CharField(label="Address line 2", required=False, max_length=200)
    city = forms.CharField(label="City", required=False, max_length=200)
    state = forms.CharField(label="State or region", required=False, max_length=200)
    postal_code = forms.CharField(label="Postal code", required=False, max_length=20)
    country = forms.CharField(
        # Not max_length=2: a browser would silently cut "Germany" to "GE" (Georgia).
        label="Country",
        required=False,
        max_length=60,
        help_text="Two-letter code, such as US, GB or DE.",
    )

    def clean_country(self) -> str:
        country = str(self.cleaned_data["country"]).strip().upper()
        if country and (len(country) != 2 or not country.isalpha()):
            raise forms.ValidationError("Enter the country's two-letter code, such as US, GB or DE.")
        return country

    def customer_values(self) -> dict[str, Any]:
        data = self.cleaned_data
        address = {key: data[key].strip() or None for key in _ADDRESS}
        return {
            "name": data["name"].strip() or None,
            "email": data["email"].strip() or None,
            "phone": data["phone"].strip() or None,
            "description": data["description"].strip() or None,
            "address": address if any(address.values()) else None,
        }

    @classmethod
    def initial_for(cls, customer: Customer) -> dict[str, Any]:
        address = customer.address or {}
        return {
            "name": customer.name or "",
            "email": customer.email or "",
            "phone": customer.phone or "",
            "description": customer.description or "",
            **{key: address.get(key) or "" for key in _ADDRESS},
        }
