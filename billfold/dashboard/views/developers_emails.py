"""Developers > Emails: the emails Billfold wrote (receipts, failed payments, renewals, trials, login
codes) in the mode in view, with their headers and bodies, for setups without a real mailbox.

A mail's HTML is the one part the dashboard does not write itself, so it is never put into a
dashboard page: ``email_html`` serves it alone, under a policy that runs no script, loads nothing
but inline images, and sandboxes the document; the detail page shows it in a sandboxed frame (its
own policy allows frames from this site on that page only).

Login codes are the customer's secret: the sender keeps neither the code nor the bodies once a code
mail has left (``emails.sending``). The dashboard never shows a code: a code mail's body is drawn
again with the code masked.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import logging
import re
from dataclasses import dataclass
from urllib.parse import urlencode

from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import escape
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_http_methods

from billfold.billing.models import Invoice, Subscription
from billfold.core import clock
from billfold.customers.models import Customer
from billfold.dashboard.pages import paginate, query_without_page, render_page
from billfold.dashboard.security import CONTENT_SECURITY_POLICY, livemode, staff_page
from billfold.emails import kinds
from billfold.emails.branding import email_branding
from billfold.emails.content import email_render
from billfold.emails.models import Email
from billfold.emails.sending import sender_address

logger = logging.getLogger("billfold.dashboard")

SECTION = "developers"
TAB = "dashboard:emails"
MASK = "••••••"
KIND_LABELS = {
    kinds.RECEIPT: "Receipt",
    kinds.PAYMENT_FAILED: "Payment failed",
    kinds.UPCOMING_RENEWAL: "Upcoming renewal",
    kinds.TRIAL_ENDING: "Trial ending",
    kinds.PASSCODE: "Login code",
}
STATUSES = (("", "Any status"), (Email.QUEUED, "Queued"), (Email.SENT, "Sent"), (Email.FAILED, "Failed"))
# The email's own HTML, alone: no script, no request anywhere (images only as data: or https:), inline
# styles (mail HTML is styled inline), shown only in a frame of this site, and sandboxed even if opened
# by itself.
EMAIL_HTML_POLICY = (
    "default-src 'none'; img-src data: https:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'self'; sandbox allow-popups allow-popups-to-escape-sandbox"
)
# The detail page's policy: the dashboard's, plus the frame the HTML body is shown in.
DETAIL_POLICY = f"{CONTENT_SECURITY_POLICY}; frame-src 'self'"
# A login code in a body written before codes were dropped from stored bodies.
_CODE = re.compile(r"(?<!\d)\d{6}(?!\d)")
_HEAD = re.compile(r"<head(\s[^>]*)?>", re.IGNORECASE)


@dataclass(frozen=True)
class Bodies:
    """What the detail page shows of a mail: as sent, or drawn again (``note`` says why)."""

    subject: str
    text: str
    html: str
    note: str = ""


def _page(request: HttpRequest, template: str, context: dict[str, object], *, status: int = 200) -> HttpResponse:
    return render_page(request, template, {"developer_tab": TAB, **context}, section=SECTION, status=status)


def _email(request: HttpRequest, email_id: str) -> Email:
    found = Email.objects.filter(public_id=email_id, livemode=livemode(request)).first()
    if found is None:
        raise Http404("No such email")
    return found


def _masked(text: str) -> str:
    return _CODE.sub(MASK, text)


def _render(email: Email, now: dt.datetime, note: str) -> Bodies:
    try:
        rendered = email_render(email, now=now)
    except Exception:
        # A mail that cannot be drawn (its template or its data is broken) must not break the page.
        logger.exception("Email %s could not be rendered for the dashboard", email.public_id)
        return Bodies(subject=email.subject, text="", html="", note="This email could not be rendered.")
    return Bodies(subject=rendered.subject, text=rendered.text, html=rendered.html, note=note)


def _passcode_bodies(email: Email) -> Bodies:
    never_shown = (
        "Login codes are the customer's secret: Billfold does not keep them once sent, and the dashboard never "
        "shows one."
    )
    if email.text_body or email.html_body:
        # Written before code mails stopped keeping their bodies.
        return Bodies(
            subject=email.subject, text=_masked(email.text_body), html=_masked(email.html_body), note=never_shown
        )
    expires = email.context.get("expires_at")
    if not isinstance(expires, int):
        return Bodies(subject=email.subject, text="", html="", note=f"{never_shown} Its body was not kept either.")
    masked = copy.copy(email)
    masked.context = {**email.context, "code": MASK}
    # Drawn at the moment it was sent (or written), so it reads as the customer read it.
    moment = min(email.sent_at or email.created, clock.from_unix(expires - 60))
    drawn = _render(masked, moment, f"{never_shown} This is the email drawn again with the code hidden.")
    return Bodies(
        subject=email.subject or drawn.subject, text=_masked(drawn.text), html=_masked(drawn.html), note=drawn.note
    )


def bodies(email: Email) -> Bodies:
    """The subject and bodies to show: as sent; a login code mail drawn again with its code masked;
    a mail not sent (yet) drawn as it would be sent now."""
    if email.kind == kinds.PASSCODE:
        return _passcode_bodies(email)
    if email.status == Email.SENT:
        return Bodies(subject=email.subject, text=email.text_body, html=email.html_body)
    when_sent = "when it is sent" if email.status == Email.QUEUED else "if it is sent again"
    return _render(
        email,
        clock.now(),
        f"Not sent: this is the email as it would be drawn now. It is drawn again {when_sent}, with the brand "
        "and templates of that moment.",
    )


def headers(email: Email, subject: str) -> list[tuple[str, str]]:
    """The message's headers as the sender writes them (the From of today's settings and brand)."""
    sender = sender_address(email_branding().business_name)
    domain = sender.rpartition("@")[2].rstrip(">") or "localhost"
    rows = [("From", sender), ("To", email.to_email), ("Subject", subject or "—")]
    if email.sent_at is not None:
        rows.append(("Date", email.sent_at.astimezone(dt.UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")))
    rows += [("Message-ID", f"<{email.public_id}@{domain}>"), ("Auto-Submitted", "auto-generated")]
    return rows


def _related(email: Email) -> list[tuple[str, str, str]]:
    """Links to what the mail is about that exist in this mode: (label, text, URL)."""
    links = []
    if email.customer_id:
        buyer = Customer.objects.filter(public_id=email.customer_id, livemode=email.livemode, deleted=False).first()
        if buyer is not None:
            name = buyer.name or buyer.email or buyer.public_id
            links.append(("Customer", name, reverse("dashboard:customer", args=[buyer.public_id])))
    if email.object_id.startswith("in_"):
        invoice = Invoice.objects.filter(public_id=email.object_id, livemode=email.livemode, deleted=False).first()
        if invoice is not None:
            number = invoice.number or invoice.public_id
            links.append(("Invoice", number, reverse("dashboard:invoice", args=[invoice.public_id])))
    is_subscription = email.object_id.startswith("sub_")
    if is_subscription and Subscription.objects.filter(public_id=email.object_id, livemode=email.livemode).exists():
        links.append(("Subscription", email.object_id, reverse("dashboard:subscription", args=[email.object_id])))
    return links


@staff_page
@require_http_methods(["GET", "HEAD"])
def email_list(request: HttpRequest) -> HttpResponse:
    recipient = request.GET.get("to", "").strip()
    kind = request.GET.get("kind", "")
    status = request.GET.get("status", "")
    rows = Email.objects.filter(livemode=livemode(request))
    if recipient:
        rows = rows.filter(to_email__icontains=recipient)
    if kind in KIND_LABELS:
        rows = rows.filter(kind=kind)
    else:
        kind = ""
    if status in dict(STATUSES):
        if status:
            rows = rows.filter(status=status)
    else:
        status = ""
    return _page(
        request,
        "dashboard/developers/email_list.html",
        {
            "page": paginate(request, rows.order_by("-pk")),
            "recipient": recipient,
            "kind": kind,
            "status": status,
            "kinds": list(KIND_LABELS.items()),
            "statuses": STATUSES,
            "kind_labels": KIND_LABELS,
            "filtered": bool(recipient or kind or status),
            "pager_query": query_without_page(request),
        },
    )


@staff_page
@require_http_methods(["GET", "HEAD"])
def email_detail(request: HttpRequest, email_id: str) -> HttpResponse:
    email = _email(request, email_id)
    shown = bodies(email)
    # Back to the list as it was filtered (the list's links carry its filters).
    filters = urlencode({key: value for key, value in request.GET.items() if key in ("to", "kind", "status", "page")})
    back = reverse("dashboard:emails") + (f"?{filters}" if filters else "")
    response = _page(
        request,
        "dashboard/developers/email_detail.html",
        {
            "email": email,
            "kind_label": KIND_LABELS.get(email.kind, email.kind),
            "bodies": shown,
            "headers": headers(email, shown.subject),
            "related": _related(email),
            "html_url": reverse("dashboard:email-html", args=[email.public_id]) if shown.html else "",
            "back": back,
        },
    )
    if shown.html:
        response["Content-Security-Policy"] = DETAIL_POLICY
    return response


def _inline_logo(html: str) -> str:
    """The logo a mail carries as a related part (``cid:``), as a data: URL a browser can show."""
    logo = email_branding().logo
    if logo is None:
        return html
    data = base64.b64encode(logo.content).decode("ascii")
    return html.replace(f'src="cid:{logo.content_id}"', f'src="data:image/{logo.subtype};base64,{data}"')


@staff_page
@xframe_options_sameorigin
@require_http_methods(["GET", "HEAD"])
def email_html(request: HttpRequest, email_id: str) -> HttpResponse:
    """The mail's HTML body alone, for the detail page's sandboxed frame (see the module's doc)."""
    html = bodies(_email(request, email_id)).html
    if not html:
        html = f"<!DOCTYPE html><p>{escape('This email has no HTML body.')}</p>"
    # Links open in a new tab rather than inside the frame.
    html = _HEAD.sub(lambda head: f'{head.group(0)}<base target="_blank">', _inline_logo(html), count=1)
    response = HttpResponse(html, content_type="text/html; charset=utf-8")
    response["Content-Security-Policy"] = EMAIL_HTML_POLICY
    return response
