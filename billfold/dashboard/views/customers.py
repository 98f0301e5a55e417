"""Customers: search, list, a customer's whole picture, and creating or editing one."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from billfold.billing.invoices.selectors import invoice_list
from billfold.billing.subscriptions.selectors import subscription_list
from billfold.core.errors import DomainError, NotFound
from billfold.customers import selectors, services
from billfold.customers.models import Customer
from billfold.dashboard.forms.common import add_domain_error
from billfold.dashboard.forms.customers import CUSTOMER_PARAMS, CustomerForm
from billfold.dashboard.pages import paginate, query_without_page, render_page
from billfold.dashboard.security import livemode, staff_page
from billfold.dashboard.views.portal import open_portal_as
from billfold.events.models import Event
from billfold.payments.selectors import payment_method_list

SECTION = "customers"
RECENT = 10


def _customer(request: HttpRequest, customer_id: str) -> Customer:
    try:
        return selectors.customer_get(public_id=customer_id, livemode=livemode(request))
    except NotFound:
        raise Http404("No such customer") from None


@staff_page
@require_http_methods(["GET", "HEAD"])
def customer_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    customers = selectors.customer_list(livemode=livemode(request))
    if query:
        # An exact id goes straight to the customer, as pasting one into Stripe's search does.
        exact = customers.filter(public_id=query).first()
        if exact is not None:
            return redirect("dashboard:customer", customer_id=exact.public_id)
        customers = customers.filter(
            Q(email__icontains=query) | Q(name__icontains=query) | Q(public_id__istartswith=query)
        )
    return render_page(
        request,
        "dashboard/customers/customer_list.html",
        {
            "page": paginate(request, customers.order_by("-created", "-pk")),
            "query": query,
            "pager_query": query_without_page(request),
        },
        section=SECTION,
    )


@staff_page
@require_http_methods(["GET", "HEAD"])
def customer_detail(request: HttpRequest, customer_id: str) -> HttpResponse:
    customer = _customer(request, customer_id)
    subscriptions = list(
        subscription_list(livemode=customer.livemode, customer=customer, status="all")
        .prefetch_related("items__price__product")
        .order_by("-created", "-pk")[:RECENT]
    )
    invoices = list(invoice_list(livemode=customer.livemode, customer=customer).order_by("-created", "-pk")[:RECENT])
    related = [customer.public_id, *(s.public_id for s in subscriptions), *(i.public_id for i in invoices)]
    events = list(
        Event.objects.filter(livemode=customer.livemode, object_id__in=related)
        .only("public_id", "type", "created", "object_id")
        .order_by("-created", "-pk")[:RECENT]
    )
    default_pm = (customer.invoice_settings or {}).get("default_payment_method")
    return render_page(
        request,
        "dashboard/customers/customer_detail.html",
        {
            "customer": customer,
            "subscriptions": subscriptions,
            "invoices": invoices,
            "payment_methods": list(payment_method_list(livemode=customer.livemode, customer=customer)[:RECENT]),
            "default_payment_method": default_pm,
            "events": events,
        },
        section=SECTION,
    )


def _save(request: HttpRequest, customer: Customer | None) -> HttpResponse:
    initial = CustomerForm.initial_for(customer) if customer is not None else None
    form = CustomerForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            if customer is None:
                customer = services.customer_create(livemode=livemode(request), values=form.customer_values())
                messages.success(request, "The customer was created.")
            else:
                customer = services.customer_update(customer=customer, values=form.customer_values())
                messages.success(request, "Your changes were saved.")
        except DomainError as refused:
            add_domain_error(form, refused, CUSTOMER_PARAMS)
        else:
            return redirect("dashboard:customer", customer_id=customer.public_id)
    return render_page(
        request,
        "dashboard/customers/customer_form.html",
        {"form": form, "customer": customer},
        section=SECTION,
        status=400 if request.method == "POST" else 200,
    )


@staff_page
@require_http_methods(["GET", "HEAD", "POST"])
def customer_new(request: HttpRequest) -> HttpResponse:
    return _save(request, None)


@staff_page
@require_http_methods(["GET", "HEAD", "POST"])
def customer_edit(request: HttpRequest, customer_id: str) -> HttpResponse:
    return _save(request, _customer(request, customer_id))


@staff_page
@require_POST
def customer_portal(request: HttpRequest, customer_id: str) -> HttpResponse:
    """Open the customer portal as this customer (a portal session, as the API makes); its return
    link comes back to the customer's page."""
    customer = _customer(request, customer_id)
    return open_portal_as(request, customer, return_to=reverse("dashboard:customer", args=[customer.public_id]))
