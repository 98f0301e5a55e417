"""The card form people type their card into, on Billfold's own pages (hosted invoice page, portal).

It checks what can be checked without the processor (digits, check digit, a real expiry, a CVC of 3
or 4 digits) and says what to fix in words a customer understands. The number and CVC only pass
through: ``card_input()`` hands them to the processor and they are never saved, logged or shown in
an error.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from billfold.payments.cards import expiry_problem, full_year, luhn_valid
from billfold.payments.processors.base import CardInput

_EXPIRY = re.compile(r"^\s*(\d{1,2})\s*/\s*(\d{2}|\d{4})\s*$")


class CardForm(forms.Form):
    name = forms.CharField(label=_("Name on card"), max_length=200)
    number = forms.CharField(label=_("Card number"), max_length=30)
    expiry = forms.CharField(label=_("Expiry (MM / YY)"), max_length=9)
    cvc = forms.CharField(label=_("CVC"), max_length=4, min_length=3)
    postal_code = forms.CharField(label=_("Postal code"), max_length=20, required=False)

    def __init__(self, *args: Any, today: dt.date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.today = today
        attributes = {
            "name": {"autocomplete": "cc-name"},
            "number": {"autocomplete": "cc-number", "inputmode": "numeric", "placeholder": "1234 1234 1234 1234"},
            "expiry": {"autocomplete": "cc-exp", "inputmode": "numeric", "placeholder": _("MM / YY")},
            "cvc": {"autocomplete": "cc-csc", "inputmode": "numeric", "placeholder": "123"},
            "postal_code": {"autocomplete": "postal-code"},
        }
        for name, extra in attributes.items():
            self.fields[name].widget.attrs.update(extra)

    def clean_number(self) -> str:
        number = re.sub(r"[\s-]", "", self.cleaned_data["number"])
        if not number.isdigit() or not 12 <= len(number) <= 19:
            raise forms.ValidationError(_("Enter the card number as printed: 12 to 19 digits."))
        if not luhn_valid(number):
            raise forms.ValidationError(_("This card number is not valid; check it for a typing mistake."))
        return number

    def clean_expiry(self) -> tuple[int, int]:
        match = _EXPIRY.match(self.cleaned_data["expiry"])
        if match is None:
            raise forms.ValidationError(_("Enter the expiry date as MM / YY, for example 04 / 30."))
        month, year = int(match.group(1)), full_year(int(match.group(2)))
        if expiry_problem(month, year, today=self.today) is not None:
            raise forms.ValidationError(_("This expiry date has passed or does not exist."))
        return month, year

    def clean_cvc(self) -> str:
        cvc: str = self.cleaned_data["cvc"].strip()
        if not cvc.isdigit():
            raise forms.ValidationError(_("Enter the 3 or 4 digits of the security code."))
        return cvc

    def card_input(self) -> CardInput:
        month, year = self.cleaned_data["expiry"]
        return CardInput(
            number=self.cleaned_data["number"], exp_month=month, exp_year=year, cvc=self.cleaned_data["cvc"]
        )

    def billing_details(self) -> dict[str, Any]:
        details: dict[str, Any] = {"name": self.cleaned_data["name"]}
        if self.cleaned_data.get("postal_code"):
            details["address"] = {"postal_code": self.cleaned_data["postal_code"]}
        return details
