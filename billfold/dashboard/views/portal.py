"""Customer portal settings: the shareable login link, every option of the mode's default portal
configuration, and opening the portal as one of the customers to see what they see."""

from __future__ import annotations

import re
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from billfold.core.errors import DomainError
from billfold.customers.models import Customer
from billfold.dashboard.forms.common import add_domain_error
from billfold.dashboard.forms.portal import PORTAL_PARAMS, PortalSettingsForm
from billfold.dashboard.pages import render_page
from billfold.dashboard.security import livemode, staff_page
from billfold.portal import configurations, sessions
from billfold.portal.models import PortalConfiguration

SECTION = "portal"
_PRODUCT_INDEX = re.compile(r"^features\[subscription_update\]\[products\](?:\[(\d+)\])?")


def _configuration(request: HttpRequest) -> PortalConfiguration:
    return configurations.portal_configuration_default(livemode=livemode(request))


def _login_url(configuration: PortalConfiguration) -> str | None:
    link = configuration.login_link
    return configurations.login_page_url(link) if link is not None else None


def _render(
    request: HttpRequest, configuration: PortalConfiguration, form: PortalSettingsForm, *, status: int = 200
) -> HttpResponse:
    return render_page(
        request,
        "dashboard/portal/settings.html",
        {
            "configuration": configuration,
            "login_url": _login_url(configuration),
            "form": form,
            "products": form.product_choices(),
            "preview_email": request.GET.get("as", ""),
        },
        section=SECTION,
        status=status,
    )


def _refusal_shown(form: PortalSettingsForm, refused: DomainError) -> None:
    """A refusal about one offered product goes under that product; the rest next to its field."""
    found = _PRODUCT_INDEX.match(refused.param or "")
    if found:
        form.add_product_error(int(found.group(1)) if found.group(1) else None, refused.message)
    else:
        add_domain_error(form, refused, PORTAL_PARAMS)


@staff_page
@require_http_methods(["GET", "HEAD", "POST"])
def portal_settings(request: HttpRequest) -> HttpResponse:
    configuration = _configuration(request)
    mode = livemode(request)
    if request.method != "POST":
        form = PortalSettingsForm(initial=PortalSettingsForm.initial_for(configuration), livemode=mode)
        return _render(request, configuration, form)
    form = PortalSettingsForm(request.POST, livemode=mode)
    if form.is_valid():
        try:
            configurations.portal_configuration_update(configuration=configuration, values=form.configuration_values())
        except DomainError as refused:
            _refusal_shown(form, refused)
        else:
            messages.success(request, "The customer portal settings were saved.")
            return redirect("dashboard:portal-settings")
    return _render(request, configuration, form, status=400)


@staff_page
@require_POST
def portal_link_activate(request: HttpRequest) -> HttpResponse:
    configuration = _configuration(request)
    configurations.portal_configuration_update(configuration=configuration, values={"login_page": {"enabled": True}})
    messages.success(request, "The portal login link is active: share it with your customers.")
    return redirect(f"{reverse('dashboard:portal-settings')}#login-link")


@staff_page
@require_http_methods(["GET", "HEAD", "POST"])
def portal_link_deactivate(request: HttpRequest) -> HttpResponse:
    configuration = _configuration(request)
    if request.method == "POST":
        configurations.portal_configuration_update(
            configuration=configuration, values={"login_page": {"enabled": False}}
        )
        messages.success(request, "The login link was deactivated. It no longer opens the portal.")
        return redirect(f"{reverse('dashboard:portal-settings')}#login-link")
    return render_page(
        request,
        "dashboard/confirm.html",
        {
            "heading": "Deactivate the login link?",
            "explanation": [
                f"{_login_url(configuration) or 'The link'} will stop working at once, for everyone you shared it "
                "with. Customers already signed in keep their session until it expires.",
                "Activating the link again makes a new address: the old one never works again.",
            ],
            "action": reverse("dashboard:portal-link-deactivate"),
            "button": "Deactivate link",
            "back": reverse("dashboard:portal-settings"),
        },
        section=SECTION,
    )


def open_portal_as(request: HttpRequest, customer: Customer, *, return_to: str) -> HttpResponse:
    """A portal session for ``customer`` (the same one the API makes), opened in this browser;
    "Return" comes back to ``return_to`` in the dashboard."""
    created = sessions.portal_session_create(
        livemode=customer.livemode,
        customer_id=customer.public_id,
        return_url=request.build_absolute_uri(return_to),
    )
    return redirect(created.url)


@staff_page
@require_POST
def portal_preview(request: HttpRequest) -> HttpResponse:
    """Open the portal as the customer whose email or id was typed (the most recent one with that email)."""
    typed = request.POST.get("as", "").strip()
    mode = livemode(request)
    customers = Customer.objects.filter(livemode=mode, deleted=False)
    customer = (
        customers.filter(public_id=typed).first()
        or customers.filter(email__iexact=typed).order_by("-created", "-pk").first()
        if typed
        else None
    )
    if customer is None:
        messages.error(
            request,
            f"No {'live' if mode else 'test'}-mode customer has the email or id “{typed}”. "
            "Type the email address or id of one of your customers."
            if typed
            else "Type a customer's email address or id to preview the portal as that customer.",
        )
        return redirect(f"{reverse('dashboard:portal-settings')}?{urlencode({'as': typed})}#preview")
    return open_portal_as(request, customer, return_to=reverse("dashboard:portal-settings"))
