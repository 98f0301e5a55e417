"""The overview, payment methods, billing information and invoice history.

Cards go through a SetupIntent (``payment_method_create`` then ``setup_intent_confirm``, as an
integration using the API would), the customer's details through ``customer_update`` and the tax
ID services; every row is looked up among the signed-in customer's own (404 otherwise).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from billfold.api.representations.invoice import hosted_invoice_url
from billfold.billing.models import Invoice, Subscription, SubscriptionItem
from billfold.billing.subscriptions.services import subscription_update
from billfold.billing.subscriptions.upcoming import customer_fingerprint
from billfold.clocks.selectors import customer_now
from billfold.core.errors import DomainError
from billfold.core.locales import Formats
from billfold.customers.models import TaxId
from billfold.customers.services import customer_update
from billfold.customers.tax_ids import tax_id_create, tax_id_delete
from billfold.payments.errors import CardError
from billfold.payments.models import PaymentMethod
from billfold.payments.services import (
    payment_method_create,
    payment_method_detach,
    setup_intent_cancel,
    setup_intent_confirm,
    setup_intent_create,
)
from billfold.portal import rules
from billfold.portal.pages import display
from billfold.portal.pages.access import Portal, client_address, page, portal_page, rate_limited_message
from billfold.portal.pages.flows import finish
from billfold.portal.pages.forms import AddressFields, CustomerForm, NewCardForm, ShippingForm, TaxIdForm
from billfold.portal.pages.page_cache import kept_page
from billfold.portal.throttle import Limit, RateLimited, rate_limit_hit

INVOICES_PER_PAGE = 20
# Adding cards is where stolen numbers would be tried one after another (card testing).
CARD_TRIES_PER_CUSTOMER = Limit("portal_card_add:customer", 10, dt.timedelta(hours=1))
CARD_TRIES_PER_ADDRESS = Limit("portal_card_add:address", 30, dt.timedelta(hours=1))
SHOWN_STATUSES = ("open", "paid", "void", "uncollectible")


def _context(portal: Portal, **extra: Any) -> dict[str, Any]:
    return {
        "portal": portal,
        "business_profile": portal.configuration.business_profile,
        "return_url": portal.return_url,
        "language": portal.language,
        **extra,
    }


def _cards(portal: Portal) -> list[PaymentMethod]:
    return list(
        PaymentMethod.objects.filter(livemode=portal.livemode, customer=portal.customer, type="card").order_by(
            "-created", "-pk"
        )
    )


def _default_card_id(portal: Portal) -> str | None:
    value = (portal.customer.invoice_settings or {}).get("default_payment_method")
    return str(value) if value else None


def _live_subscriptions(portal: Portal) -> list[Subscription]:
    items = SubscriptionItem.objects.filter(deleted=False).select_related("price__product").order_by("pk")
    return list(
        Subscription.objects.select_related("customer", "schedule")
        .prefetch_related(Prefetch("items", queryset=items, to_attr="live_items"))
        .filter(livemode=portal.livemode, customer=portal.customer, status__in=rules.LIVE_STATUSES)
        .order_by("-created", "-pk")
    )


def _invoices(portal: Portal) -> Any:
    return Invoice.objects.filter(
        livemode=portal.livemode, customer=portal.customer, status__in=SHOWN_STATUSES, deleted=False
    ).order_by("-created", "-pk")


def _invoice_rows(invoices: Any, fmt: Formats) -> list[dict[str, Any]]:
    rows = []
    for invoice in invoices:
        url = hosted_invoice_url(invoice)
        rows.append(
            {
                "number": invoice.number,
                "date": fmt.date(invoice.effective_at or invoice.finalized_at or invoice.created),
                "amount": fmt.money(invoice.total, invoice.currency),
                "status": invoice.status,
                "status_label": display.invoice_status_label(invoice.status),
                "url": url,
                "pdf_url": f"{url}/pdf",
                "payable": invoice.status in ("open", "uncollectible") and invoice.amount_remaining > 0,
            }
        )
    return rows


def _address_lines(address: dict[str, Any] | None) -> list[str]:
    if not address:
        return []
    city_line = " ".join(str(address.get(key) or "") for key in ("postal_code", "city")).strip()
    parts = [address.get("line1"), address.get("line2"), city_line, address.get("state"), address.get("country")]
    return [str(part) for part in parts if part]


@require_safe
@portal_page
def home(request: HttpRequest, portal: Portal) -> HttpResponse:
    return kept_page(request, portal, "home", lambda slots: _home(request, portal, slots))


def _home(request: HttpRequest, portal: Portal, slots: dict[str, Any]) -> HttpResponse:
    fmt = Formats(portal.language.locale)
    customer = portal.customer
    tax_ids = list(TaxId.objects.filter(customer=customer).order_by("pk"))
    state = customer_fingerprint(customer, tax_ids=tax_ids)
    cards = [
        display.subscription_card(s, portal.features, fmt, customer_state=state) for s in _live_subscriptions(portal)
    ]
    invoices = _invoice_rows(_invoices(portal)[:5], fmt) if portal.enabled("invoice_history") else []
    return page(
        request,
        "portal/home.html",
        _context(
            portal,
            subscriptions=cards,
            payment_methods=_cards(portal) if portal.enabled("payment_method_update") else [],
            default_card=_default_card_id(portal),
            invoices=invoices,
            more_invoices=portal.enabled("invoice_history") and _invoices(portal).count() > 5,
            address_lines=_address_lines(customer.address),
            shipping=customer.shipping,
            shipping_lines=_address_lines((customer.shipping or {}).get("address")),
            tax_ids=tax_ids,
            allowed_updates=set((portal.features.get("customer_update") or {}).get("allowed_updates") or []),
            **slots,
        ),
        nonce=slots.get("nonce", portal.nonce),
        theme=portal.theme,
    )


@require_safe
@portal_page
def done(request: HttpRequest, portal: Portal) -> HttpResponse:
    """The confirmation page of a deep link whose ``after_completion`` is ``hosted_confirmation``."""
    flow = portal.flow or {}
    confirmation = (flow.get("after_completion") or {}).get("hosted_confirmation") or {}
    return page(
        request,
        "portal/done.html",
        _context(portal, custom_message=confirmation.get("custom_message")),
        nonce=portal.nonce,
        theme=portal.theme,
    )


# --- payment methods ------------------------------------------------------------------------------


def _payment_methods_enabled(portal: Portal) -> None:
    if not portal.enabled("payment_method_update"):
        raise Http404("Payment methods cannot be changed here")


def _card_of(portal: Portal, payment_method_id: str) -> PaymentMethod:
    found = PaymentMethod.objects.filter(
        public_id=payment_method_id, livemode=portal.livemode, customer=portal.customer
    ).first()
    if found is None:
        raise Http404("No such payment method")
    return found


def _card_page(
    request: HttpRequest, portal: Portal, form: NewCardForm, *, error: str | None = None, status: int = 200
) -> HttpResponse:
    return page(
        request,
        "portal/card_add.html",
        _context(portal, form=form, error=error, test_mode=not portal.livemode),
        nonce=portal.nonce,
        theme=portal.theme,
        status=status,
    )


@require_http_methods(["GET", "HEAD", "POST"])
@portal_page
def card_add(request: HttpRequest, portal: Portal) -> HttpResponse:
    """Add a card: set up for future payments through a SetupIntent; declines keep what was typed."""
    _payment_methods_enabled(portal)
    today = customer_now(portal.customer).date()
    if request.method != "POST":
        return _card_page(request, portal, NewCardForm(today=today))
    form = NewCardForm(request.POST, today=today)
    if not form.is_valid():
        return _card_page(request, portal, form, status=400)
    customer = portal.customer
    try:
        # Each try counts, in its own transaction: a card-testing run is cut off whatever the outcome.
        with transaction.atomic():
            rate_limit_hit(limit=CARD_TRIES_PER_CUSTOMER, key=customer.public_id, message="card tries")
        with transaction.atomic():
            rate_limit_hit(limit=CARD_TRIES_PER_ADDRESS, key=client_address(request), message="card tries")
    except RateLimited as refused:
        return _card_page(request, portal, form, error=rate_limited_message(refused), status=429)
    try:
        payment_method = payment_method_create(
            livemode=portal.livemode, card=form.card_input(), billing_details=form.billing_details()
        )
        intent = setup_intent_create(livemode=portal.livemode, customer=customer, usage="off_session")
        intent = setup_intent_confirm(setup_intent=intent, payment_method_id=payment_method.public_id)
    except CardError as refused:
        message = decline_message(refused.code, refused.decline.decline_code, refused.message)
        return _card_page(request, portal, form, error=message, status=402)
    except DomainError as refused:
        return _card_page(request, portal, form, error=refused.message, status=400)
    if intent.status == "requires_action":
        setup_intent_cancel(setup_intent=intent, cancellation_reason="abandoned")
        message = _("This card asks for an authentication step the portal cannot show. Try another card.")
        return _card_page(request, portal, form, error=message, status=402)
    if intent.status != "succeeded":
        error = intent.last_setup_error or {}
        message = decline_message(error.get("code"), error.get("decline_code"), error.get("message"))
        return _card_page(request, portal, form, error=message, status=402)
    if form.cleaned_data["make_default"] or _default_card_id(portal) is None:
        _make_default(portal, payment_method)
    return finish(request, portal, kind="payment_method_update", notice=_("Your card was added."))


def decline_message(code: str | None, decline_code: str | None, fallback: str | None) -> str:
    """The processor's reason in the customer's language; reasons meant for developers (a live card
    in test mode...) stay as the processor gave them."""
    generic = _("The card was declined. Try another card.")
    messages_by_code = {
        "generic_decline": generic,
        "lost_card": generic,
        "stolen_card": generic,
        "do_not_honor": generic,
        "insufficient_funds": _("Your card has insufficient funds. Try another card."),
        "expired_card": _("Your card has expired. Try another card."),
        "incorrect_cvc": _("Your card's security code is incorrect. Check it and try again."),
        "processing_error": _("An error occurred while processing your card. Try again in a little while."),
    }
    for key in (decline_code, code):
        if key in messages_by_code:
            return str(messages_by_code[key])
    return fallback or generic


def _make_default(portal: Portal, payment_method: PaymentMethod) -> None:
    """The card future invoices are charged to: the customer's default, and that of each running
    subscription that named a card of its own (a subscription's card wins over the customer's)."""
    customer_update(
        customer=portal.customer, values={"invoice_settings": {"default_payment_method": payment_method.public_id}}
    )
    for subscription in _live_subscriptions(portal):
        if subscription.default_payment_method_id not in (None, payment_method.pk):
            subscription_update(subscription=subscription, values={"default_payment_method": payment_method})


@require_POST
@portal_page
def card_make_default(request: HttpRequest, portal: Portal, payment_method_id: str) -> HttpResponse:
    _payment_methods_enabled(portal)
    payment_method = _card_of(portal, payment_method_id)
    try:
        _make_default(portal, payment_method)
    except DomainError as refused:
        messages.error(request, refused.message)
        return HttpResponseRedirect(reverse("portal:home"))
    return finish(
        request,
        portal,
        kind="payment_method_default",
        notice=_("Your %(brand)s card ending in %(last4)s is now your default payment method.")
        % {"brand": payment_method.card_brand.title(), "last4": payment_method.card_last4},
    )


def _removal_problem(portal: Portal, payment_method: PaymentMethod) -> str | None:
    cards = _cards(portal)
    running = any(s.status in display.RUNNING_STATUSES for s in _live_subscriptions(portal))
    if running and len(cards) <= 1:
        return _("This is your only card and you have an active subscription: add another card before removing it.")
    if running and _default_card_id(portal) == payment_method.public_id:
        return _("This is your default card: make another card the default before removing it.")
    return None


@require_http_methods(["GET", "HEAD", "POST"])
@portal_page
def card_remove(request: HttpRequest, portal: Portal, payment_method_id: str) -> HttpResponse:
    """Asks first (GET), removes on the confirmation (POST)."""
    _payment_methods_enabled(portal)
    payment_method = _card_of(portal, payment_method_id)
    problem = _removal_problem(portal, payment_method)
    if request.method == "POST" and problem is None:
        try:
            for subscription in _live_subscriptions(portal):
                if subscription.default_payment_method_id == payment_method.pk:
                    # Falls back to the customer's default card rather than a removed one.
                    subscription_update(subscription=subscription, values={"default_payment_method": None})
            payment_method_detach(payment_method=payment_method)
        except DomainError as refused:
            problem = refused.message
        else:
            messages.success(
                request,
                _("Your %(brand)s card ending in %(last4)s was removed.")
                % {"brand": payment_method.card_brand.title(), "last4": payment_method.card_last4},
            )
            return HttpResponseRedirect(reverse("portal:home"))
    return page(
        request,
        "portal/card_remove.html",
        _context(portal, card=payment_method, problem=problem),
        nonce=portal.nonce,
        theme=portal.theme,
        status=409 if problem and request.method == "POST" else 200,
    )


# --- billing information --------------------------------------------------------------------------


def _allowed(portal: Portal) -> set[str]:
    update = portal.features.get("customer_update") or {}
    if not update.get("enabled"):
        return set()
    allowed = set(update.get("allowed_updates") or [])
    if not portal.access.can_change_email:
        allowed.discard("email")
    return allowed


def _address_initial(address: dict[str, Any] | None) -> dict[str, Any]:
    return {key: value for key, value in (address or {}).items() if value}


def _billing_forms(portal: Portal, data: Any = None) -> dict[str, Any]:
    allowed = _allowed(portal)
    customer = portal.customer
    shipping = customer.shipping or {}
    forms: dict[str, Any] = {
        "details": CustomerForm(
            data,
            allowed=allowed,
            prefix="customer",
            initial={"name": customer.name, "email": customer.email, "phone": customer.phone},
        )
    }
    if "address" in allowed:
        forms["address"] = AddressFields(data, prefix="address", initial=_address_initial(customer.address))
    if "shipping" in allowed:
        forms["shipping"] = ShippingForm(
            data,
            prefix="shipping",
            initial={
                "name": shipping.get("name"),
                "phone": shipping.get("phone"),
                **_address_initial(shipping.get("address")),
            },
        )
    return forms


def _billing_page(
    request: HttpRequest,
    portal: Portal,
    forms: dict[str, Any],
    *,
    tax_form: TaxIdForm | None = None,
    error: str | None = None,
    status: int = 200,
) -> HttpResponse:
    allowed = _allowed(portal)
    return page(
        request,
        "portal/billing.html",
        _context(
            portal,
            forms=forms,
            allowed=allowed,
            email_locked=not portal.access.can_change_email
            and "email" in set((portal.features.get("customer_update") or {}).get("allowed_updates") or []),
            tax_ids=list(TaxId.objects.filter(customer=portal.customer).order_by("pk")) if "tax_id" in allowed else [],
            tax_form=tax_form or TaxIdForm(),
            error=error,
        ),
        nonce=portal.nonce,
        theme=portal.theme,
        status=status,
    )


@require_http_methods(["GET", "HEAD", "POST"])
@portal_page
def billing(request: HttpRequest, portal: Portal) -> HttpResponse:
    allowed = _allowed(portal)
    if not allowed:
        raise Http404("Billing information cannot be changed here")
    if request.method != "POST":
        return _billing_page(request, portal, _billing_forms(portal))
    forms = _billing_forms(portal, request.POST)
    if not all(form.is_valid() for form in forms.values()):
        return _billing_page(request, portal, forms, status=400)
    values: dict[str, Any] = {}
    details = forms["details"].cleaned_data
    for name in ("name", "email", "phone"):
        if name in allowed:
            values[name] = str(details.get(name) or "").strip() or None
    if "address" in forms:
        values["address"] = forms["address"].address()
    if "shipping" in forms:
        values["shipping"] = forms["shipping"].shipping()
    try:
        customer_update(customer=portal.customer, values=values)
    except DomainError as refused:
        return _billing_page(request, portal, forms, error=refused.message, status=400)
    messages.success(request, _("Your billing information was saved."))
    return HttpResponseRedirect(reverse("portal:home"))


def _tax_ids_allowed(portal: Portal) -> None:
    if "tax_id" not in _allowed(portal):
        raise Http404("Tax IDs cannot be changed here")


@require_POST
@portal_page
def tax_id_add(request: HttpRequest, portal: Portal) -> HttpResponse:
    _tax_ids_allowed(portal)
    form = TaxIdForm(request.POST)
    if form.is_valid():
        try:
            tax_id_create(
                customer=portal.customer, tax_type=form.cleaned_data["type"], value=form.cleaned_data["value"]
            )
        except DomainError as refused:
            form.add_error("value", refused.message)
    if not form.is_valid():
        return _billing_page(request, portal, _billing_forms(portal), tax_form=form, status=400)
    messages.success(request, _("The tax ID was added."))
    return HttpResponseRedirect(reverse("portal:billing"))


@require_http_methods(["GET", "HEAD", "POST"])
@portal_page
def tax_id_remove(request: HttpRequest, portal: Portal, tax_id: str) -> HttpResponse:
    """Asks first (GET), removes on the confirmation (POST)."""
    _tax_ids_allowed(portal)
    found = TaxId.objects.filter(public_id=tax_id, livemode=portal.livemode, customer=portal.customer).first()
    if found is None:
        raise Http404("No such tax ID")
    if request.method != "POST":
        return page(
            request, "portal/tax_id_remove.html", _context(portal, tax_id=found), nonce=portal.nonce, theme=portal.theme
        )
    tax_id_delete(tax_id=found)
    messages.success(request, _("The tax ID %(value)s was removed.") % {"value": found.value})
    return HttpResponseRedirect(reverse("portal:billing"))


# --- invoices -------------------------------------------------------------------------------------


@require_safe
@portal_page
def invoices(request: HttpRequest, portal: Portal) -> HttpResponse:
    if not portal.enabled("invoice_history"):
        raise Http404("Invoice history is not shown here")
    paginator = Paginator(_invoices(portal), INVOICES_PER_PAGE)
    current = paginator.get_page(request.GET.get("page"))
    fmt = Formats(portal.language.locale)
    return page(
        request,
        "portal/invoices.html",
        _context(portal, rows=_invoice_rows(current.object_list, fmt), page_obj=current),
        nonce=portal.nonce,
        theme=portal.theme,
    )
