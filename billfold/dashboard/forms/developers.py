"""The Developers section's forms: API keys, webhook endpoints and the events log's filters.

Rules of the services (a URL webhooks may go to, the event types that exist) are not repeated
here: the services check them and their messages are shown next to the field (``add_domain_error``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.forms.boundfield import BoundWidget

from billfold.accounts.services import MAX_KEY_NAME
from billfold.events.endpoints import MAX_URL_LENGTH
from billfold.events.event_types import EVENT_TYPES
from billfold.events.models import WebhookEndpoint

# How long the old secret keeps working after a roll, as Stripe offers it.
EXPIRATIONS: dict[str, tuple[str, dt.timedelta]] = {
    "now": ("Now", dt.timedelta(0)),
    "1h": ("In 1 hour", dt.timedelta(hours=1)),
    "24h": ("In 24 hours", dt.timedelta(hours=24)),
    "3d": ("In 3 days", dt.timedelta(days=3)),
    "7d": ("In 7 days", dt.timedelta(days=7)),
}

API_KEY_PARAMS = {"name": "name"}
WEBHOOK_PARAMS = {
    "url": "url",
    "description": "description",
    "enabled_events": "events",
    "disabled": "enabled",
}
ALL_EVENTS = "all"
SELECTED_EVENTS = "selected"


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        label="Name",
        max_length=MAX_KEY_NAME,
        help_text="What will use this key, such as “Production server” or “CI”. Only shown to you.",
        error_messages={"required": "Give the key a name, so that you can tell it from the others later."},
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )


class RollForm(forms.Form):
    """When the old secret (an API key's or an endpoint's signing secret) stops working."""

    expires = forms.ChoiceField(
        label="The current secret stops working",
        choices=[(value, label) for value, (label, _) in EXPIRATIONS.items()],
        widget=forms.RadioSelect,
        error_messages={"required": "Choose when the current secret stops working."},
    )

    def expires_in(self) -> dt.timedelta:
        return EXPIRATIONS[self.cleaned_data["expires"]][1]


def _event_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in sorted(EVENT_TYPES)]


class WebhookEndpointForm(forms.Form):
    url = forms.CharField(
        label="Endpoint URL",
        max_length=MAX_URL_LENGTH,
        help_text="Where events are POSTed, such as https://example.com/webhooks. In test mode, addresses "
        "on this machine and private networks are allowed too.",
        error_messages={"required": "Enter the URL events should be sent to."},
        widget=forms.TextInput(
            attrs={"inputmode": "url", "autocomplete": "off", "spellcheck": "false", "placeholder": "https://"}
        ),
    )
    description = forms.CharField(
        label="Description",
        required=False,
        max_length=5000,
        help_text="What this endpoint is for. Only shown to you.",
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    scope = forms.ChoiceField(
        label="Events to send",
        choices=[(ALL_EVENTS, "All events"), (SELECTED_EVENTS, "Selected events")],
        initial=SELECTED_EVENTS,
        widget=forms.RadioSelect,
    )
    events = forms.MultipleChoiceField(
        label="Event types",
        required=False,
        choices=_event_choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": "%(value)s is not an event type Billfold knows."},
    )
    enabled = forms.BooleanField(
        label="Enabled",
        required=False,
        help_text="A disabled endpoint receives nothing; deliveries still waiting for it are marked failed.",
    )

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not editing:
            # New endpoints start enabled, as with the API.
            del self.fields["enabled"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("scope") == SELECTED_EVENTS and not data.get("events") and "events" not in self.errors:
            self.add_error("events", "Choose at least one event type, or send all events.")
        return data

    def endpoint_values(self) -> dict[str, Any]:
        data = self.cleaned_data
        values: dict[str, Any] = {
            "url": data["url"].strip(),
            "description": data["description"].strip() or None,
            "enabled_events": ["*"] if data["scope"] == ALL_EVENTS else list(data["events"]),
        }
        if "enabled" in self.fields:
            values["disabled"] = not data["enabled"]
        return values

    def event_groups(self) -> list[tuple[str, list[BoundWidget]]]:
        """The event type checkboxes grouped by the resource they start with (``customer`` holds
        ``customer.created`` and ``customer.subscription.updated``)."""
        groups: dict[str, list[BoundWidget]] = {}
        for checkbox in self["events"]:
            groups.setdefault(str(checkbox.data["value"]).split(".", 1)[0], []).append(checkbox)
        return list(groups.items())

    def selected_count(self) -> int:
        value = self["events"].value()
        return len(value) if isinstance(value, list) else 0

    @classmethod
    def initial_for(cls, endpoint: WebhookEndpoint) -> dict[str, Any]:
        everything = "*" in endpoint.enabled_events
        return {
            "url": endpoint.url,
            "description": endpoint.description or "",
            "scope": ALL_EVENTS if everything else SELECTED_EVENTS,
            "events": [] if everything else list(endpoint.enabled_events),
            "enabled": endpoint.status == WebhookEndpoint.ENABLED,
        }


class EventFilterForm(forms.Form):
    """The events log's filters; all optional, read from the query string."""

    type = forms.CharField(
        label="Event type",
        required=False,
        max_length=100,
        help_text="An exact type such as invoice.paid, or the start of one such as invoice.",
        widget=forms.TextInput(attrs={"list": "event-types", "autocomplete": "off", "spellcheck": "false"}),
    )
    object = forms.CharField(
        label="Object id",
        required=False,
        max_length=64,
        help_text="Such as cus_… or in_…",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    since = forms.DateField(
        label="From",
        required=False,
        # Only ISO dates: what date inputs send, and never ambiguous (is 10/04 April or October?).
        input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": "Enter a date such as 2026-11-24."},
    )
    until = forms.DateField(
        label="To",
        required=False,
        input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": "Enter a date such as 2026-11-24."},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            # Every filter is optional: saying so on each would only add noise.
            field.hide_optional = True  # type: ignore[attr-defined]

    def clean_type(self) -> str:
        return str(self.cleaned_data["type"]).strip().removesuffix("*")

    def clean_object(self) -> str:
        return str(self.cleaned_data["object"]).strip()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and until < since:
            self.add_error("until", "The end date is before the start date.")
        return data
