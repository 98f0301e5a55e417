"""Helpers shared by the dashboard's forms: amounts typed in major units, and domain refusals shown
next to the field they are about."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from django import forms

from billfold.catalog.rules import MAX_AMOUNT
from billfold.core.errors import DomainError
from billfold.core.money import decimal_places, to_minor

_AMOUNT = re.compile(r"\d+(\.\d*)?|\.\d+")


def parse_amount(text: str, currency: str) -> int:
    """``"19.99"`` in ``usd`` → ``1999``; refuses text that is not a plain non-negative amount, or has
    more decimals than the currency has (``jpy`` has none)."""
    cleaned = text.strip().replace(",", "")
    if not _AMOUNT.fullmatch(cleaned):
        raise forms.ValidationError(f"Enter an amount such as {'19.99' if decimal_places(currency) else '1999'}.")
    try:
        value = Decimal(cleaned)
        minor = to_minor(value, currency)
    except (InvalidOperation, ValueError):
        places = decimal_places(currency)
        shown = currency.upper()
        raise forms.ValidationError(
            f"{shown} amounts have no decimals." if places == 0 else f"{shown} amounts have at most {places} decimals."
        ) from None
    if minor > MAX_AMOUNT:
        raise forms.ValidationError("That amount is too large.")
    return minor


def add_domain_error(form: forms.Form, refused: DomainError, fields: dict[str, str]) -> None:
    """Attach ``refused`` to the form field its parameter names (``fields`` maps parameter paths,
    dotted and without any parent hash, such as ``recurring.interval``, to form fields), or to the whole form."""
    param = refused.param or ""
    for prefix in ("default_price_data", "product_data"):
        if param.startswith(prefix + "["):
            param = param[len(prefix) :]
    parts = re.findall(r"[^\[\]]+", param)
    for length in range(len(parts), 0, -1):
        field = fields.get(".".join(parts[:length]))
        if field is not None and field in form.fields:
            form.add_error(field, refused.message)
            return
    form.add_error(None, refused.message)
