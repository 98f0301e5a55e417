"""The portal's forms: what the customer types, checked before any service is called."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from billfold.customers.tax_id_formats import FORMATS
from billfold.payments.forms import CardForm


class EmailForm(forms.Form):
    email = forms.EmailField(
        label=_("Email"),
        max_length=512,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
        error_messages={
            "required": _("Enter your email address."),
            "invalid": _("Enter a valid email address, like jenny@example.com."),
        },
    )


class CodeForm(forms.Form):
    email = forms.EmailField(widget=forms.HiddenInput, max_length=512)
    code = forms.CharField(
        label=_("Code"),
        max_length=12,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "pattern": "[0-9 ]*",
                "autofocus": True,
                "size": 8,
            }
        ),
        error_messages={"required": _("Enter the 6-digit code from the email.")},
    )

    def clean_code(self) -> str:
        code = "".join(str(self.cleaned_data["code"]).split())
        if not code.isdigit() or len(code) != 6:
            raise forms.ValidationError(_("The code has 6 digits, for example 123456."))
        return code


class PlanForm(forms.Form):
    """The plan and quantity chosen on the update page (GET: it only leads to the preview)."""

    price = forms.CharField(max_length=64)
    quantity = forms.IntegerField(
        label=_("Quantity"),
        min_value=1,
        error_messages={"invalid": _("Enter a whole number."), "min_value": _("The quantity is at least 1.")},
    )


class PromotionCodeForm(forms.Form):
    code = forms.CharField(
        label=_("Promotion code"),
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}),
        error_messages={"required": _("Enter the promotion code.")},
    )


def cancellation_reasons() -> dict[str, Any]:
    return {
        "too_expensive": _("It's too expensive"),
        "missing_features": _("Some features are missing"),
        "switched_service": _("I'm switching to a different service"),
        "unused": _("I don't use it enough"),
        "customer_service": _("Customer service was less than expected"),
        "too_complex": _("Ease of use was less than expected"),
        "low_quality": _("Quality was less than expected"),
        "other": _("Other reason"),
    }


class CancelForm(forms.Form):
    reason = forms.ChoiceField(
        label=_("Why are you canceling?"),
        widget=forms.RadioSelect,
        required=False,
        choices=[],
    )
    comment = forms.CharField(
        label=_("Anything else you'd like to tell us?"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args: Any, options: list[str], required: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        labels = cancellation_reasons()
        field = self.fields["reason"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(option, labels[option]) for option in options if option in labels]
        field.required = required and bool(options)
        field.error_messages["required"] = _("Choose a reason, so that we can do better.")
        if not options:
            del self.fields["reason"]


class NewCardForm(CardForm):
    make_default = forms.BooleanField(label=_("Use this card for future payments"), required=False, initial=True)


COUNTRY_HELP = _("Two-letter country code, for example US, DE or FR.")


class AddressFields(forms.Form):
    """A postal address, as the API's ``address`` hash; ``prefix`` tells billing from shipping."""

    line1 = forms.CharField(
        label=_("Address line 1"),
        max_length=200,
        required=False,
        widget=forms.TextInput({"autocomplete": "address-line1"}),
    )
    line2 = forms.CharField(
        label=_("Address line 2"),
        max_length=200,
        required=False,
        widget=forms.TextInput({"autocomplete": "address-line2"}),
    )
    city = forms.CharField(
        label=_("City"), max_length=200, required=False, widget=forms.TextInput({"autocomplete": "address-level2"})
    )
    state = forms.CharField(
        label=_("State, county or province"),
        max_length=200,
        required=False,
        widget=forms.TextInput({"autocomplete": "address-level1"}),
    )
    postal_code = forms.CharField(
        label=_("Postal code"), max_length=20, required=False, widget=forms.TextInput({"autocomplete": "postal-code"})
    )
    country = forms.CharField(
        label=_("Country"),
        max_length=2,
        min_length=2,
        required=False,
        help_text=COUNTRY_HELP,
        widget=forms.TextInput({"autocomplete": "country", "size": 3}),
        error_messages={"min_length": COUNTRY_HELP},
    )

    def clean_country(self) -> str:
        country = str(self.cleaned_data.get("country") or "").strip().upper()
        if country and not country.isalpha():
            raise forms.ValidationError(COUNTRY_HELP)
        return country

    def address(self) -> dict[str, str] | None:
        """The address as the services take it (only the parts given), or None when all are empty."""
        values = {key: str(value).strip() for key, value in self.cleaned_data.items() if str(value or "").strip()}
        return values or None


class CustomerForm(forms.Form):
    """Name, email and phone; only the fields the configuration allows are kept (see ``__init__``)."""

    name = forms.CharField(
        label=_("Name"), max_length=256, required=False, widget=forms.TextInput({"autocomplete": "name"})
    )
    email = forms.EmailField(
        label=_("Email"),
        max_length=512,
        required=False,
        widget=forms.EmailInput({"autocomplete": "email"}),
        error_messages={"invalid": _("Enter a valid email address, like jenny@example.com.")},
    )
    phone = forms.CharField(
        label=_("Phone"), max_length=20, required=False, widget=forms.TextInput({"autocomplete": "tel", "type": "tel"})
    )

    def __init__(self, *args: Any, allowed: set[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in list(self.fields):
            if name not in allowed:
                del self.fields[name]


class ShippingForm(AddressFields):
    name = forms.CharField(label=_("Recipient name"), max_length=256, required=False)
    phone = forms.CharField(label=_("Recipient phone"), max_length=20, required=False)

    field_order = ["name", "phone", "line1", "line2", "city", "state", "postal_code", "country"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Browsers fill shipping fields from the shipping part of what they remember.
        for field in self.fields.values():
            hint = field.widget.attrs.get("autocomplete")
            if hint:
                field.widget.attrs["autocomplete"] = f"shipping {hint}"

    def shipping(self) -> dict[str, Any] | None:
        values = {key: str(value).strip() for key, value in self.cleaned_data.items() if str(value or "").strip()}
        name, phone = values.pop("name", None), values.pop("phone", None)
        if not values and not name and not phone:
            return None
        return {"name": name, "phone": phone, "address": values}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        filled = [key for key, value in cleaned.items() if str(value or "").strip()]
        if filled and not cleaned.get("name"):
            self.add_error("name", _("Enter the name of the person who receives the shipment."))
        if filled and not cleaned.get("line1"):
            self.add_error("line1", _("Enter the street address."))
        return cleaned


class TaxIdForm(forms.Form):
    type = forms.ChoiceField(label=_("Type"), choices=[], error_messages={"required": _("Choose the type of tax ID.")})
    value = forms.CharField(label=_("Number"), max_length=64, error_messages={"required": _("Enter the tax ID.")})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["type"]
        assert isinstance(field, forms.ChoiceField)
        labels = {code: f"{fmt.description} ({fmt.example})" for code, fmt in FORMATS.items()}
        field.choices = [("", _("Choose a type")), *sorted(labels.items(), key=lambda choice: str(choice[1]).lower())]
