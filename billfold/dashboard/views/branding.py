"""Branding: the business name, icon, logo, colors, font and corners customers see, with a live preview.

Saving goes through ``branding.services.brand_update``. Images are stored as soon as they arrive
(``views.uploads``, the API's check), so an image uploaded with a form refused for another reason is
kept. The previews are the real templates (the portal's login page and overview, a receipt email)
rendered by the server with the values not saved yet and sample data, shown in sandboxed frames:
the preview endpoint alone may be framed, by the dashboard only.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any
from urllib.parse import urlencode

from babel import Locale
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from billfold.billing.models import Subscription, SubscriptionItem
from billfold.branding.models import Brand
from billfold.branding.selectors import brand_get, brand_theme, business_name
from billfold.branding.services import MAX_NAME, brand_update
from billfold.branding.theme import FONTS, SHAPES, Theme, color_parse
from billfold.catalog.models import Price, Product
from billfold.core import clock
from billfold.core.errors import DomainError
from billfold.core.locales import Formats, Language
from billfold.customers.models import Customer
from billfold.dashboard.forms.branding import BRAND_PARAMS, IMAGE_PURPOSES, BrandImageForm, BrandingForm
from billfold.dashboard.forms.common import add_domain_error
from billfold.dashboard.pages import render_page
from billfold.dashboard.security import CONTENT_SECURITY_POLICY, livemode, staff_page
from billfold.dashboard.views.uploads import image_upload, pending_image
from billfold.emails import kinds
from billfold.emails.branding import email_branding
from billfold.emails.content import email_render
from billfold.emails.models import Email
from billfold.events.models import Event
from billfold.files.models import StoredFile
from billfold.payments.models import PaymentMethod
from billfold.portal.models import LoginLink, PortalAccess, PortalConfiguration
from billfold.portal.pages import display
from billfold.portal.pages.access import Portal
from billfold.portal.pages.display import SubscriptionCard
from billfold.portal.pages.forms import EmailForm

SECTION = "branding"
# (kind, title) of the previews, in the order the page shows them.
PREVIEWS = (("login", "Portal login page"), ("portal", "Customer portal"), ("email", "Email receipt"))
# The dashboard page frames its previews; nothing else changes from every dashboard page's policy.
PAGE_POLICY = f"{CONTENT_SECURITY_POLICY}; frame-src 'self'"
# What a preview may do inside its frame: show itself, its stylesheet and images, nothing more.
# ``sandbox`` also holds when the preview is opened on its own, outside the frame.
_PREVIEW_POLICY = "default-src 'none'; {style} img-src 'self' data:; base-uri 'none'; form-action 'none'; "
_PREVIEW_POLICY += "frame-ancestors 'self'; sandbox"
SAMPLE_NAME = "Jenny Rosen"
SAMPLE_EMAIL = "jenny.rosen@example.com"
# What a new portal configuration offers (``portal.configurations``), for previews before there is one.
SAMPLE_FEATURES: dict[str, Any] = {
    "customer_update": {"enabled": True, "allowed_updates": ["address", "email", "name", "phone", "tax_id"]},
    "invoice_history": {"enabled": True},
    "payment_method_update": {"enabled": True},
    "subscription_cancel": {"enabled": True},
    "subscription_update": {"enabled": False},
}


def file_path(stored: StoredFile) -> str:
    """Where this site serves the stored image (a path: the dashboard may have another host name)."""
    return reverse("file-download", args=[stored.public_id, stored.filename])


# --- the page ------------------------------------------------------------------------------------


def _preview_query(form: BrandingForm, pending: dict[str, StoredFile]) -> str:
    """The form's values (typed or saved) as the preview endpoint's query string."""
    values: dict[str, str] = {
        name: str(form[name].value() or "")
        for name in ("business_name", "brand_color", "accent_color", "font", "corner_shape")
    }
    for name in IMAGE_PURPOSES:
        if name in pending:
            values[name] = pending[name].public_id
        elif form.is_bound and form[f"remove_{name}"].value():
            values[name] = "none"
    return urlencode(values)


def _image(name: str, form: BrandingForm, brand: Brand, pending: StoredFile | None) -> dict[str, Any]:
    """What the page shows of the icon or the logo: the saved image, one uploaded but not saved yet, the fields."""
    current: StoredFile | None = getattr(brand, name)
    return {
        "name": name,
        "field": form[name],
        "remove": form[f"remove_{name}"],
        "current_url": file_path(current) if current is not None else None,
        "pending": pending,
        "pending_url": file_path(pending) if pending is not None else None,
        "upload_url": reverse("dashboard:branding-image", args=[name]),
    }


def _page(
    request: HttpRequest, form: BrandingForm, brand: Brand, pending: dict[str, StoredFile], *, status: int = 200
) -> HttpResponse:
    query = _preview_query(form, pending)
    images = [_image(name, form, brand, pending.get(name)) for name in IMAGE_PURPOSES]
    previews = [
        {"kind": kind, "title": title, "url": f"{reverse('dashboard:branding-preview', args=[kind])}?{query}"}
        for kind, title in PREVIEWS
    ]
    response = render_page(
        request,
        "dashboard/branding/branding.html",
        {
            "form": form,
            "images": images,
            # The color pickers start on the typed color, or the saved one while the typed one is not a color.
            "colors": [
                {"field": form[name], "swatch": color_parse(str(form[name].value() or "")) or getattr(brand, name)}
                for name in ("brand_color", "accent_color")
            ],
            "previews": previews,
            "saved": not brand._state.adding,
        },
        section=SECTION,
        status=status,
    )
    response["Content-Security-Policy"] = PAGE_POLICY
    return response


@staff_page
@require_http_methods(["GET", "HEAD", "POST"])
def branding(request: HttpRequest) -> HttpResponse:
    """The branding form; ``action=preview`` (the button shown without JavaScript) only redraws the previews."""
    brand = brand_get()
    default_name = business_name(Brand())
    if request.method != "POST":
        form = BrandingForm(initial=BrandingForm.initial_for(brand), default_name=default_name)
        return _page(request, form, brand, {})
    form = BrandingForm(request.POST, request.FILES, default_name=default_name)
    form_valid = form.is_valid()
    images = {
        name: image_upload(request, form, field=name, purpose=purpose) for name, purpose in IMAGE_PURPOSES.items()
    }
    pending = {name: image for name, image in images.items() if isinstance(image, StoredFile)}
    acceptable = form_valid and False not in images.values()
    if request.POST.get("action") == "preview":
        return _page(request, form, brand, pending, status=200 if acceptable else 400)
    if acceptable:
        values = form.brand_values()
        for name in IMAGE_PURPOSES:
            if name in pending:
                values[name] = pending[name]
            elif form.cleaned_data[f"remove_{name}"]:
                values[name] = None
        try:
            brand_update(values=values)
        except DomainError as refused:
            add_domain_error(form, refused, BRAND_PARAMS)
        else:
            messages.success(request, "Your branding was saved: customers see it from now on.")
            return redirect("dashboard:branding")
    return _page(request, form, brand, pending, status=400)


@staff_page
@require_POST
def branding_image(request: HttpRequest, name: str) -> HttpResponse:
    """Store a newly chosen icon or logo at once (the page's script sends it), so the previews can show it
    before the form is saved; the answer is the file's id for the form's ``pending_<name>`` field."""
    if name not in IMAGE_PURPOSES:
        raise Http404("No such image")
    if name not in request.FILES:
        return JsonResponse({"error": "Choose a JPEG or PNG image to upload."}, status=400)
    form = BrandImageForm(data={}, files=request.FILES)
    form.is_valid()
    stored = image_upload(request, form, field=name, purpose=IMAGE_PURPOSES[name])
    if not isinstance(stored, StoredFile):
        return JsonResponse({"error": " ".join(str(error) for error in form[name].errors)}, status=400)
    return JsonResponse({"id": stored.public_id, "filename": stored.filename, "url": file_path(stored)})


# --- the previews --------------------------------------------------------------------------------


def _previewed_brand(request: HttpRequest, params: QueryDict) -> Brand:
    """The saved brand with the values of ``params`` that are valid in its place (the others stay as
    saved: the form says what is wrong with them). Never saved."""
    saved = brand_get()
    brand = Brand(
        pk=saved.pk,
        business_name=saved.business_name,
        brand_color=saved.brand_color,
        accent_color=saved.accent_color,
        font=saved.font,
        corner_shape=saved.corner_shape,
        icon=saved.icon,
        logo=saved.logo,
    )
    if "business_name" in params:
        brand.business_name = params.get("business_name", "").strip()[:MAX_NAME]
    for name in ("brand_color", "accent_color"):
        parsed = color_parse(params.get(name, ""))
        if parsed is not None:
            setattr(brand, name, parsed)
    font, shape = params.get("font", ""), params.get("corner_shape", "")
    if font in FONTS:
        brand.font = font
    if shape in SHAPES:
        brand.corner_shape = shape
    for name, purpose in IMAGE_PURPOSES.items():
        value = params.get(name, "")
        if value == "none":
            setattr(brand, name, None)
        elif value:
            found = pending_image(request, field=name, purpose=purpose, value=value)
            if found is not None:
                setattr(brand, name, found)
    return brand


def _portal_configuration(request: HttpRequest) -> PortalConfiguration:
    """The portal's default configuration in the dashboard's mode (its headline, links and features show
    in the previews), or, before the portal was ever configured, what a new one offers."""
    found = PortalConfiguration.objects.filter(livemode=livemode(request), is_default=True).first()
    return found or PortalConfiguration(features=SAMPLE_FEATURES, business_profile={})


def _sample_portal(configuration: PortalConfiguration, theme: Theme, nonce: str, language: Language) -> dict[str, Any]:
    """The overview of a made-up customer with a subscription, a card and invoices."""
    fmt = Formats(language.locale)
    now = clock.now()
    features: dict[str, Any] = dict(configuration.features or {})
    customer = Customer(
        name=SAMPLE_NAME,
        email=SAMPLE_EMAIL,
        phone="+1 541 555 0199",
        address={"line1": "27 Fredrick Ave", "city": "Brothers", "postal_code": "97712", "country": "US"},
    )
    product = Product(name="Pro plan", description="Everything a growing team needs.")
    price = Price(product=product, currency="usd", unit_amount=2900, recurring_interval="month")
    item = SubscriptionItem(price=price, quantity=1)
    subscription = Subscription(public_id="sub_preview", status="active", currency="usd")
    card = SubscriptionCard(
        subscription=subscription,
        item=item,
        items=[item],
        status_label=display.status_label("active"),
        price_text=display.price_text(price, fmt),
        discounts=[],
        next_payment=f"{fmt.money(2900, 'usd')} on {fmt.date(now + dt.timedelta(days=12))}",
        trial_end=None,
        cancels_on=None,
        period_end=fmt.date(now + dt.timedelta(days=12)),
        can_update=bool((features.get("subscription_update") or {}).get("enabled")),
        can_cancel=bool((features.get("subscription_cancel") or {}).get("enabled")),
        can_renew=False,
    )
    invoices = [
        {
            "number": f"0F3A9C1D-000{number}",
            "date": fmt.date(now - dt.timedelta(days=days)),
            "amount": fmt.money(2900, "usd"),
            "status": status,
            "status_label": display.invoice_status_label(status),
            "url": "#",
            "pdf_url": "#",
            "payable": status == "open",
        }
        for number, days, status in ((3, 18, "open"), (2, 48, "paid"), (1, 79, "paid"))
    ]
    access = PortalAccess(customer=customer, configuration=configuration, livemode=True, via="login_link")
    portal = Portal(access=access, nonce=nonce, language=language, theme=theme, features=features)
    return {
        "portal": portal,
        "subscriptions": [card],
        "payment_methods": [
            PaymentMethod(
                public_id="pm_preview", card_brand="visa", card_last4="4242", card_exp_month=8, card_exp_year=2031
            )
        ],
        "default_card": "pm_preview",
        "invoices": invoices,
        "more_invoices": True,
        "address_lines": ["27 Fredrick Ave", "97712 Brothers", "US"],
        "tax_ids": [],
        "allowed_updates": set((features.get("customer_update") or {}).get("allowed_updates") or []),
    }


def _portal_preview(request: HttpRequest, brand: Brand, kind: str) -> HttpResponse:
    nonce = secrets.token_urlsafe(16)
    theme = brand_theme(brand)
    language = Language(code="en", locale=Locale.parse("en"))
    configuration = _portal_configuration(request)
    context: dict[str, Any] = {
        "business_profile": configuration.business_profile or {},
        "return_url": configuration.default_return_url,
    }
    if kind == "login":
        template = "portal/login.html"
        form = EmailForm()
        # The preview must not take the focus from the dashboard's page (browsers refuse it in a sandbox).
        form.fields["email"].widget.attrs.pop("autofocus", None)
        # A made-up link: the preview's form posts nowhere (``form-action 'none'``).
        context.update(link=LoginLink(token="preview"), form=form)  # noqa: S106
    else:
        template = "portal/home.html"
        context.update(_sample_portal(configuration, theme, nonce, language))
    with translation.override(language.code):
        # ``messages`` is emptied: the dashboard's own notices belong to the dashboard's page.
        response = render(
            request, template, {**context, "language": language, "nonce": nonce, "theme": theme, "messages": []}
        )
    response["Content-Security-Policy"] = _PREVIEW_POLICY.format(style=f"style-src 'self' 'nonce-{nonce}';")
    return response


def _email_preview(brand: Brand) -> HttpResponse:
    """A receipt as the customer's mail program shows it: the logo, sent inside real emails, is
    referred to by its URL here."""
    now = clock.now()
    invoice = {
        "number": "0F3A9C1D-0003",
        "currency": "usd",
        "amount_paid": 2900,
        "total": 2900,
        "status_transitions": {"paid_at": clock.to_unix(now)},
        "hosted_invoice_url": "#",
        "invoice_pdf": "#",
        "lines": {
            "data": [{"description": "1 \N{MULTIPLICATION SIGN} Pro plan (at $29.00 / month)", "amount": 2900}],
            "has_more": False,
        },
    }
    email = Email(
        kind=kinds.RECEIPT,
        livemode=True,
        to_email=SAMPLE_EMAIL,
        context={"locale": "en", "customer_name": SAMPLE_NAME, "card": {"brand": "visa", "last4": "4242"}},
    )
    email.event = Event(type="invoice.paid", data={"object": invoice})
    branding = email_branding(brand)
    html = email_render(email, now=now, branding=branding).html
    if branding.logo is not None and brand.logo is not None:
        html = html.replace(f'src="cid:{branding.logo.content_id}"', f'src="{file_path(brand.logo)}"')
    response = HttpResponse(html)
    # Emails are styled inline (mail programs ignore style sheets); the frame runs no script at all.
    response["Content-Security-Policy"] = _PREVIEW_POLICY.format(style="style-src 'unsafe-inline';")
    return response


@staff_page
@require_safe
def branding_preview(request: HttpRequest, kind: str) -> HttpResponse:
    """One preview (``login``, ``portal`` or ``email``) in the brand the query string describes over the
    saved one, with sample data; the dashboard's Branding page frames it."""
    if kind not in dict(PREVIEWS):
        raise Http404("No such preview")
    brand = _previewed_brand(request, request.GET)
    response = _email_preview(brand) if kind == "email" else _portal_preview(request, brand, kind)
    response["X-Frame-Options"] = "SAMEORIGIN"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response
