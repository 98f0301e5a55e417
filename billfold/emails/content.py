"""Turning an email row into its subject, plain-text and HTML bodies.

Each kind has three templates, ``emails/<kind>.subject.txt``, ``emails/<kind>.txt`` and
``emails/<kind>.html`` (the HTML extends ``emails/base.html``, the branded layout); a self-hoster
can override any of them. The context is built here: amounts and dates in the customer's locale
(Babel, ``core.locales.Formats``), every link absolute (``SITE_URL``), the look from
``branding.email_branding()``. Everything is rendered in the email's language (the row's
``locale``, chosen when it was queued): texts from the ``emails`` app's gettext catalogs.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from billfold.core import clock
from billfold.core.locales import ENGLISH, Formats, Language, language_of_tag
from billfold.emails import kinds
from billfold.emails.branding import DEFAULT_BRAND_COLOR, DEFAULT_ON_BRAND_COLOR, Branding, email_branding
from billfold.emails.models import Email
from billfold.payments.declines import decline_reason

_COLOR = re.compile(r"#[0-9a-fA-F]{6}")
_BLANK_LINES = re.compile(r"\n[ \t]*(?:\n[ \t]*)+\n")


class PasscodeExpired(Exception):
    """The login code expired before it could be sent: sending it would only confuse."""


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str
    branding: Branding
    # The BCP 47 tag of the language it is written in (``de``, ``pt-BR``): its Content-Language.
    language: str = "en"


def _lines(obj: dict[str, Any], fmt: Formats) -> dict[str, Any]:
    lines = obj.get("lines") or {}
    return {
        "lines": [
            {"description": line.get("description") or "", "amount": fmt.money(line["amount"], obj["currency"])}
            for line in lines.get("data") or []
        ],
        # The event embeds the first lines only; the hosted invoice shows them all.
        "more_lines": bool(lines.get("has_more")),
    }


def _card(email: Email) -> str | None:
    card = email.context.get("card")
    if not card:
        return None
    return f"{str(card['brand']).replace('_', ' ').title()} \N{BULLET}\N{BULLET}\N{BULLET}\N{BULLET} {card['last4']}"


def _event_object(email: Email) -> dict[str, Any]:
    assert email.event is not None, f"{email.kind} email {email.public_id} has no event"
    obj: dict[str, Any] = email.event.data["object"]
    return obj


def _receipt(email: Email, fmt: Formats, now: dt.datetime) -> dict[str, Any]:
    obj = _event_object(email)
    currency = obj["currency"]
    amount_paid = fmt.money(obj["amount_paid"], currency)
    totals = [(_("Amount paid"), amount_paid)]
    if obj["total"] != obj["amount_paid"]:
        # Credit or an earlier balance made the amount charged differ from the invoice's total.
        totals.insert(0, (_("Invoice total"), fmt.money(obj["total"], currency)))
    return {
        "number": obj["number"],
        "amount_paid": amount_paid,
        "totals": totals,
        "paid_on": fmt.date((obj.get("status_transitions") or {}).get("paid_at")),
        "hosted_invoice_url": obj["hosted_invoice_url"],
        "invoice_pdf": obj["invoice_pdf"],
        "card": _card(email),
        **_lines(obj, fmt),
    }


def _reason(email: Email) -> str:
    """Why the card was refused, translated by its decline code; else as the processor said it."""
    reason = str(email.context.get("reason") or "")
    if not reason:
        return ""
    return str(decline_reason(email.context.get("decline_code"), reason))


def _payment_failed(email: Email, fmt: Formats, now: dt.datetime) -> dict[str, Any]:
    obj = _event_object(email)
    return {
        "number": obj["number"],
        "amount_due": fmt.money(obj["amount_remaining"], obj["currency"]),
        "hosted_invoice_url": obj["hosted_invoice_url"],
        "next_attempt_on": fmt.date(obj.get("next_payment_attempt")),
        "reason": _reason(email),
        "card": _card(email),
    }


def _upcoming_renewal(email: Email, fmt: Formats, now: dt.datetime) -> dict[str, Any]:
    obj = _event_object(email)
    amount_due = fmt.money(obj["amount_due"], obj["currency"])
    return {
        "amount_due": amount_due,
        "totals": [(_("Amount due"), amount_due)],
        # A subscription's next invoice covers the period ending at the renewal (billing/subscriptions/advance.py).
        "renews_on": fmt.date(obj["period_end"]),
        **_lines(obj, fmt),
    }


def _interval(recurring: dict[str, Any] | None) -> str:
    """``per month``, ``every 3 months``: the words the portal's pages use for a price's interval."""
    if not recurring:
        return ""
    unit, count = str(recurring["interval"]), int(recurring.get("interval_count") or 1)
    if count == 1:
        once = {"day": _("per day"), "week": _("per week"), "month": _("per month"), "year": _("per year")}
        return once.get(unit, f"per {unit}")
    every = {
        "day": ngettext("every %(count)d day", "every %(count)d days", count),
        "week": ngettext("every %(count)d week", "every %(count)d weeks", count),
        "month": ngettext("every %(count)d month", "every %(count)d months", count),
        "year": ngettext("every %(count)d year", "every %(count)d years", count),
    }
    return every.get(unit, f"every %(count)d {unit}s") % {"count": count}


def _trial_ending(email: Email, fmt: Formats, now: dt.datetime) -> dict[str, Any]:
    obj = _event_object(email)
    products: dict[str, str] = email.context.get("products") or {}
    plans = []
    for item in (obj.get("items") or {}).get("data") or []:
        price = item.get("price") or {}
        name = products.get(str(price.get("product")), "") or price.get("nickname") or _("Subscription")
        quantity = int(item.get("quantity") or 1)
        amount = None
        if price.get("unit_amount") is not None:
            amount = f"{fmt.money(price['unit_amount'], price['currency'])} {_interval(price.get('recurring'))}".strip()
        plans.append({"name": name, "quantity": quantity, "price": amount})
    return {
        "trial_ends_on": fmt.date(obj["trial_end"]),
        "plans": plans,
        "has_payment_method": bool(email.context.get("has_payment_method")),
    }


def _passcode(email: Email, fmt: Formats, now: dt.datetime) -> dict[str, Any]:
    left = int(email.context["expires_at"]) - clock.to_unix(now)
    if left <= 0:
        raise PasscodeExpired(f"The login code expired {-left} s before it could be sent.")
    return {"code": email.context["code"], "minutes": math.ceil(left / 60)}


_BUILDERS: dict[str, Callable[[Email, Formats, dt.datetime], dict[str, Any]]] = {
    kinds.RECEIPT: _receipt,
    kinds.PAYMENT_FAILED: _payment_failed,
    kinds.UPCOMING_RENEWAL: _upcoming_renewal,
    kinds.TRIAL_ENDING: _trial_ending,
    kinds.PASSCODE: _passcode,
}


def _safe(branding: Branding) -> Branding:
    """Colors go into style attributes: anything but #rrggbb falls back to the default."""
    return replace(
        branding,
        brand_color=branding.brand_color if _COLOR.fullmatch(branding.brand_color) else DEFAULT_BRAND_COLOR,
        on_brand_color=(
            branding.on_brand_color if _COLOR.fullmatch(branding.on_brand_color) else DEFAULT_ON_BRAND_COLOR
        ),
    )


def email_language(email: Email) -> Language:
    """The language the email is written in: its row's ``locale`` (``emails.services.locale_of``);
    a locale Billfold does not speak (a row queued before it did) gives English."""
    return language_of_tag(str(email.context.get("locale") or "")) or ENGLISH


def email_render(email: Email, *, now: dt.datetime, branding: Branding | None = None) -> Rendered:
    """The email's subject and bodies as they are sent at ``now``, in the saved brand unless another
    ``branding`` is given (a preview); raises PasscodeExpired for a stale code."""
    branding = _safe(branding if branding is not None else email_branding())
    language = email_language(email)
    fmt = Formats(language.locale)
    with translation.override(language.code):
        context: dict[str, Any] = {
            "brand": branding,
            "livemode": email.livemode,
            "customer_name": email.context.get("customer_name") or "",
            "lang": language.tag,
            "site_url": settings.SITE_URL,
            **_BUILDERS[email.kind](email, fmt, now),
        }
        # One line: a header cannot hold a line break, and a template's trailing newline is not part of it.
        subject = " ".join(render_to_string(f"emails/{email.kind}.subject.txt", context).split())
        context["subject"] = subject
        # Template tags leave blank lines behind; a paragraph break is one blank line.
        text = _BLANK_LINES.sub("\n\n", render_to_string(f"emails/{email.kind}.txt", context)).strip() + "\n"
        html = render_to_string(f"emails/{email.kind}.html", context)
    return Rendered(subject=subject, text=text, html=html, branding=branding, language=language.tag)
