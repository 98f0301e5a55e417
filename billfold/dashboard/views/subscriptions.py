"""Subscriptions: lists by status, a subscription's detail, creating one for a customer, and canceling
it (now or at period end)."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from billfold.billing.invoices.selectors import invoice_list
from billfold.billing.models import Subscription
from billfold.billing.models.subscriptions import STATUSES
from billfold.billing.subscriptions import services
from billfold.billing.subscriptions.creation import NewSubscription
from billfold.billing.subscriptions.selectors import subscription_get, subscription_item_list, subscription_list
from billfold.core.errors import DomainError, NotFound
from billfold.dashboard.forms.common import add_domain_error
from billfold.dashboard.forms.subscriptions import SUBSCRIPTION_PARAMS, SubscriptionForm
from billfold.dashboard.pages import paginate, query_without_page, render_page
from billfold.dashboard.security import livemode, staff_page

SECTION = "subscriptions"
# The list's filters: Stripe's statuses, plus every subscription that has not ended (the default).
FILTERS: tuple[tuple[str, str], ...] = (
    ("current", "Current"),
    *((status, status.replace("_", " ").capitalize()) for status in STATUSES),
    ("all", "All"),
)


def _subscription(request: HttpRequest, subscription_id: str) -> Subscription:
    try:
        return subscription_get(public_id=subscription_id, livemode=livemode(request))
    except NotFound:
        raise Http404("No such subscription") from None


@staff_page
@require_http_methods(["GET", "HEAD"])
def subscription_list_page(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "current")
    if status not in dict(FILTERS):
        status = "current"
    rows = subscription_list(livemode=livemode(request), status=None if status == "current" else status)
    rows = rows.prefetch_related("items__price__product").order_by("-created", "-pk")
    return render_page(
        request,
        "dashboard/subscriptions/subscription_list.html",
        {
            "page": paginate(request, rows),
            "status": status,
            "filters": FILTERS,
            "pager_query": query_without_page(request),
        },
        section=SECTION,
    )


@staff_page
@require_http_methods(["GET", "HEAD"])
def subscription_detail(request: HttpRequest, subscription_id: str) -> HttpResponse:
    subscription = _subscription(request, subscription_id)
    items = list(subscription_item_list(subscription=subscription))
    invoices = invoice_list(livemode=subscription.livemode, subscription_id=subscription.public_id)
    return render_page(
        request,
        "dashboard/subscriptions/subscription_detail.html",
        {
            "subscription": subscription,
            "items": items,
            "period_end": items[0].current_period_end if items else None,
            "period_start": items[0].current_period_start if items else None,
            "invoices": list(invoices.order_by("-created", "-pk")[:20]),
        },
        section=SECTION,
    )


@staff_page
@require_http_methods(["GET", "HEAD", "POST"])
def subscription_cancel(request: HttpRequest, subscription_id: str) -> HttpResponse:
    """Choose when to cancel and confirm; the cancellation is the services' (as ``DELETE`` and
    ``cancel_at_period_end`` are in the API)."""
    subscription = _subscription(request, subscription_id)
    back = reverse("dashboard:subscription", args=[subscription.public_id])
    if subscription.ended:
        messages.error(request, f"This subscription has already ended ({subscription.status}).")
        return redirect(back)
    items = list(subscription_item_list(subscription=subscription))
    period_end = items[0].current_period_end if items else None
    error = None
    if request.method == "POST":
        when = request.POST.get("when")
        try:
            if when == "now":
                services.subscription_cancel(subscription=subscription)
                messages.success(request, "The subscription was canceled.")
                return redirect(back)
            if when == "period_end":
                services.subscription_update(subscription=subscription, values={"cancel_at_period_end": True})
                messages.success(request, "The subscription will be canceled at the end of the current period.")
                return redirect(back)
            error = "Choose when the subscription should end."
        except DomainError as refused:
            error = refused.message
    return render_page(
        request,
        "dashboard/subscriptions/subscription_cancel.html",
        {"subscription": subscription, "period_end": period_end, "error": error, "back": back},
        section=SECTION,
        status=400 if error else 200,
    )


@staff_page
@require_POST
def subscription_renew(request: HttpRequest, subscription_id: str) -> HttpResponse:
    """Take back a cancellation planned for the end of the period."""
    subscription = _subscription(request, subscription_id)
    try:
        services.subscription_update(subscription=subscription, values={"cancel_at_period_end": False})
    except DomainError as refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, "The subscription will renew as usual.")
    return redirect("dashboard:subscription", subscription_id=subscription.public_id)


@staff_page
@require_http_methods(["GET", "HEAD", "POST"])
def subscription_new(request: HttpRequest) -> HttpResponse:
    """Subscribe a customer to a price (``?customer=`` fills in the customer), through the same
    service as ``POST /v1/subscriptions``: its first invoice is made, finalized and charged at once
    (or emailed), unless a trial comes first."""
    mode = livemode(request)
    initial = {"customer": request.GET.get("customer", "")}
    form = SubscriptionForm(request.POST if request.method == "POST" else None, initial=initial, livemode=mode)
    if request.method == "POST" and form.is_valid():
        values = form.subscription_values()
        try:
            subscription = services.subscription_create(
                customer=form.cleaned_data["customer"], livemode=mode, spec=NewSubscription(**values)
            )
        except DomainError as refused:
            add_domain_error(form, refused, SUBSCRIPTION_PARAMS)
        else:
            if subscription.status == "incomplete":
                messages.warning(
                    request,
                    "The subscription was created, but its first payment did not go through: it stays incomplete "
                    "until the customer pays its first invoice (within 23 hours).",
                )
            else:
                messages.success(request, "The subscription was created.")
            return redirect("dashboard:subscription", subscription_id=subscription.public_id)
    return render_page(
        request,
        "dashboard/subscriptions/subscription_form.html",
        {"form": form},
        section=SECTION,
        status=400 if request.method == "POST" else 200,
    )
