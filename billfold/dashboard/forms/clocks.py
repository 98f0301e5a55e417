"""Test clock forms: a new clock, advancing one, and a new customer living on one.

Times are typed in UTC (the dashboard's one time zone) in a ``datetime-local`` field, which
browsers send as ``2030-01-31T09:00`` or ``2030-01-31T09:00:05``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.db.models import QuerySet

from billfold.catalog.models import Price
from billfold.clocks.models import TestClock
from billfold.clocks.services import advance_limit
from billfold.core.periods import add_interval
from billfold.dashboard.templatetags.dashboard import price_text, when

INPUT_FORMAT = "%Y-%m-%dT%H:%M:%S"
_INPUT_FORMATS = ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"]
# A clock's time stays within years every part of Billfold can count in (an advance may add two years).
EARLIEST = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(3000, 1, 1, tzinfo=dt.UTC)
# The quick advances: (value of the button, label, interval added once).
STEPS: tuple[tuple[str, str, str], ...] = (
    ("day", "+1 day", "day"),
    ("week", "+1 week", "week"),
    ("month", "+1 month", "month"),
    ("year", "+1 year", "year"),
)
# The cards a customer made on a clock can get: (magic payment method id, label).
CARDS: tuple[tuple[str, str], ...] = (
    ("", "No card"),
    ("pm_card_visa", "Visa •••• 4242: every payment succeeds"),
    ("pm_card_chargeCustomerFail", "Visa •••• 0341: saved, but every payment is declined"),
)
CUSTOMER_PARAMS = {
    "name": "name",
    "email": "email",
    "payment_method": "card",
    "invoice_settings.default_payment_method": "card",
}


def time_input(moment: dt.datetime) -> str:
    """A UTC time as the ``datetime-local`` field shows it."""
    return moment.astimezone(dt.UTC).strftime(INPUT_FORMAT)


class UtcDateTimeField(forms.DateTimeField):
    """A date and time typed in UTC, whatever the server's time zone; seconds optional."""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local", "step": "1"}, format=INPUT_FORMAT)
    default_error_messages = {"invalid": "Enter a date and time such as 2030-01-31 09:00 (UTC)."}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(input_formats=_INPUT_FORMATS, **kwargs)

    def to_python(self, value: Any) -> dt.datetime | None:
        if isinstance(value, str):
            text = value.strip()
            for fmt in _INPUT_FORMATS:
                try:
                    parsed = dt.datetime.strptime(text, fmt)  # noqa: DTZ007 - the field's time zone is UTC, set below
                except ValueError:
                    continue
                return parsed.replace(tzinfo=dt.UTC)
        result = super().to_python(value)
        return result.astimezone(dt.UTC) if result is not None else None


class TestClockForm(forms.Form):
    name = forms.CharField(
        label="Name",
        required=False,
        max_length=300,
        help_text="To tell your clocks apart, such as “Annual plan renewal”.",
    )
    frozen_time = UtcDateTimeField(
        label="Start date and time (UTC)",
        help_text="The clock's customers live at this time until you advance it. It can be in the past.",
        error_messages={"required": "Choose the time the clock starts at."},
    )

    def clean_frozen_time(self) -> dt.datetime:
        value: dt.datetime = self.cleaned_data["frozen_time"]
        if not EARLIEST <= value < LATEST:
            raise forms.ValidationError("Choose a time between the years 1970 and 2999.")
        return value


class AdvanceForm(forms.Form):
    """Where to move a clock: a quick step (``step`` names one of ``STEPS``) or a typed time.

    A quick step fills in the time it stands for, so a refusal shows that time in the field.
    """

    frozen_time = UtcDateTimeField(
        label="Advance to (UTC)",
        required=False,
    )

    def __init__(self, data: Any = None, *, test_clock: TestClock, **kwargs: Any) -> None:
        self.step = ""
        if data is not None:
            step = str(data.get("step", ""))
            if step in {value for value, _, _ in STEPS}:
                data = data.copy()
                self.step = step
                data["frozen_time"] = time_input(self.step_target(test_clock, step))
        super().__init__(data, **kwargs)
        self.test_clock = test_clock
        field = self.fields["frozen_time"]
        # Required in effect (``clean_frozen_time``): the quick steps fill it in.
        field.hide_optional = True  # type: ignore[attr-defined]
        if test_clock.status != TestClock.ADVANCING:
            field.help_text = (
                f"One advance can reach {when(advance_limit(test_clock))} at most; to go further, advance in "
                "several steps."
            )

    @staticmethod
    def step_target(test_clock: TestClock, step: str) -> dt.datetime:
        interval = {value: interval for value, _, interval in STEPS}[step]
        return add_interval(test_clock.frozen_time.astimezone(dt.UTC), interval, 1)

    def clean_frozen_time(self) -> dt.datetime:
        value: dt.datetime | None = self.cleaned_data.get("frozen_time")
        if value is None:
            raise forms.ValidationError("Choose the time to advance the clock to, or use one of the buttons above.")
        if value >= LATEST:
            raise forms.ValidationError("Choose a time before the year 3000.")
        return value


class ClockCustomerForm(forms.Form):
    """A new customer on a clock, optionally with a test card and a subscription to start with."""

    name = forms.CharField(label="Name", required=False, max_length=256)
    email = forms.CharField(
        label="Email address",
        required=False,
        max_length=512,
        widget=forms.EmailInput,
        help_text="Test-mode emails go only to the addresses BILLFOLD_TEST_EMAIL_RECIPIENTS allows.",
    )
    card = forms.ChoiceField(
        label="Payment method", required=False, choices=CARDS, widget=forms.RadioSelect, initial=""
    )
    price = forms.ChoiceField(
        label="Subscribe to",
        required=False,
        help_text="Starts now on the clock's time. Without a card, invoices are sent to be paid within 30 days.",
    )

    def __init__(self, *args: Any, prices: QuerySet[Price], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.prices = {price.public_id: price for price in prices}
        price_field = self.fields["price"]
        assert isinstance(price_field, forms.ChoiceField)
        price_field.choices = [("", "No subscription")] + [
            (price.public_id, f"{price.product.name} · {price_text(price)}") for price in self.prices.values()
        ]

    def customer_values(self, test_clock: TestClock) -> dict[str, Any]:
        data = self.cleaned_data
        values: dict[str, Any] = {
            "name": data["name"].strip() or None,
            "email": data["email"].strip() or None,
            "test_clock": test_clock.public_id,
        }
        if data["card"]:
            values["payment_method"] = data["card"]
            values["invoice_settings"] = {"default_payment_method": data["card"]}
        return values

    def chosen_price(self) -> Price | None:
        chosen: str = self.cleaned_data["price"]
        return self.prices.get(chosen) if chosen else None
