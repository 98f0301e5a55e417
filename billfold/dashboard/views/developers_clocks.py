"""Developers > Test clocks: simulated time for test-mode customers (create, attach customers,
advance with its progress shown, delete).

Advancing runs every renewal and payment retry due for the clock's customers, which can take a
while, so the advance runs outside the request, as ``test_clock_advance_start`` and
``test_clock_advance_run`` allow: the POST marks the clock ``advancing`` and, once that has
committed, a background thread of this process runs the advance (the API runs it within its
request; ``billfold worker`` has no part in clocks). The thread keeps its simulated time to
itself (``thread_own_time``), so requests served meanwhile keep the real time. The clock's page
shows the advance's progress, polled by ``clocks.js``, then what the advance did.

A process that stops during an advance leaves the clock ``advancing``; advancing to the same
time resumes it (the service allows it), which the page offers once the advance has stalled.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections import Counter
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.db import connection, transaction
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from billfold.billing.models import Invoice, Subscription
from billfold.billing.subscriptions import services as subscription_services
from billfold.billing.subscriptions.creation import NewSubscription
from billfold.billing.subscriptions.selectors import subscription_list
from billfold.catalog.models import Price
from billfold.catalog.selectors import price_list
from billfold.clocks import advance, selectors, services
from billfold.clocks.models import TestClock
from billfold.core import clock as core_clock
from billfold.core.errors import DomainError, NotFound
from billfold.customers import services as customer_services
from billfold.customers.models import Customer
from billfold.dashboard.forms.clocks import (
    CUSTOMER_PARAMS,
    STEPS,
    AdvanceForm,
    ClockCustomerForm,
    TestClockForm,
    time_input,
)
from billfold.dashboard.forms.common import add_domain_error
from billfold.dashboard.pages import paginate, render_page
from billfold.dashboard.security import livemode, staff_page
from billfold.dashboard.templatetags.dashboard import when
from billfold.events.models import Event

logger = logging.getLogger("billfold.dashboard")

SECTION = "developers"
TAB = "dashboard:test-clocks"
# An advance still running after this long (real time) most likely lost its process: offer to resume it.
STALLED_AFTER = dt.timedelta(minutes=2)
# Rows shown on a clock's page; a clock is a test fixture, with a handful of customers.
SHOWN = 50

# Clocks whose advance a thread of this process is running (their pks), so a resume never starts a second one.
_running: set[int] = set()
_running_lock = threading.Lock()


def _page(request: HttpRequest, template: str, context: dict[str, Any], *, status: int = 200) -> HttpResponse:
    return render_page(request, template, {"developer_tab": TAB, **context}, section=SECTION, status=status)


def _live_mode_page(request: HttpRequest) -> HttpResponse:
    return _page(request, "dashboard/developers/clock_live_mode.html", {}, status=200)


def _clock(request: HttpRequest, test_clock_id: str) -> TestClock:
    try:
        return selectors.test_clock_get(public_id=test_clock_id, livemode=livemode(request))
    except NotFound:
        raise Http404("No such test clock") from None


# --- running an advance ----------------------------------------------------------------------------


def advance_run(clock_pk: int) -> TestClock:
    """Run the clock's advance to its target: what the background thread does, callable directly."""
    with core_clock.thread_own_time():
        return services.test_clock_advance_run(test_clock=TestClock.objects.get(pk=clock_pk))


def _advance_thread(clock_pk: int) -> None:
    try:
        advance_run(clock_pk)
    except Exception:
        # The clock stays advancing; its page offers to resume once it has stalled.
        logger.exception("Advancing test clock %s in the background failed", clock_pk)
    finally:
        with _running_lock:
            _running.discard(clock_pk)
        # The thread's own database connection; Django only closes those of request threads.
        connection.close()


def advance_in_background(clock_pk: int) -> threading.Thread | None:
    """Start the advance's thread, unless this process already runs one for the clock."""
    with _running_lock:
        if clock_pk in _running:
            return None
        _running.add(clock_pk)
    thread = threading.Thread(target=_advance_thread, args=(clock_pk,), name=f"test-clock-{clock_pk}", daemon=True)
    thread.start()
    return thread


def _start_advance(test_clock: TestClock, frozen_time: dt.datetime) -> TestClock:
    """Mark the clock advancing (refusals raise) and run the advance once that has committed."""
    with transaction.atomic():
        started = services.test_clock_advance_start(test_clock=test_clock, frozen_time=frozen_time)
        transaction.on_commit(lambda: advance_in_background(started.pk))
    return started


# --- what a page shows of a clock ---------------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    """Where an advancing clock is: from ``start`` to ``target``, now at ``at``."""

    start: dt.datetime
    target: dt.datetime
    at: dt.datetime
    began: dt.datetime | None

    @property
    def percent(self) -> int:
        span = (self.target - self.start).total_seconds()
        done = (self.at - self.start).total_seconds()
        return 100 if span <= 0 else max(0, min(100, round(100 * done / span)))


@dataclass(frozen=True)
class AdvanceReport:
    """What the clock's last advance did: the events of its customers and their objects, and the
    invoices it created."""

    start: dt.datetime
    target: dt.datetime
    finished: bool
    event_counts: list[tuple[str, int]]
    invoices: list[Invoice]


def _last_advancing_event(test_clock: TestClock) -> Event | None:
    return (
        Event.objects.filter(livemode=False, object_id=test_clock.public_id, type="test_helpers.test_clock.advancing")
        .order_by("-pk")
        .first()
    )


def _frozen_time_in(event: Event) -> dt.datetime:
    return core_clock.from_unix(int(event.data["object"]["frozen_time"]))


def _progress(test_clock: TestClock) -> Progress | None:
    target = advance.advancing_target(test_clock)
    if target is None:
        return None
    began = _last_advancing_event(test_clock)
    start = _frozen_time_in(began) if began is not None else test_clock.frozen_time
    return Progress(start=start, target=target, at=test_clock.frozen_time, began=began.created if began else None)


def _stalled(progress: Progress | None) -> bool:
    return progress is not None and progress.began is not None and core_clock.now() - progress.began > STALLED_AFTER


def _advance_report(test_clock: TestClock) -> AdvanceReport | None:
    began = _last_advancing_event(test_clock)
    if began is None or test_clock.status == TestClock.ADVANCING:
        return None
    ended = (
        Event.objects.filter(livemode=False, object_id=test_clock.public_id, pk__gt=began.pk)
        .exclude(type="test_helpers.test_clock.advancing")
        .order_by("pk")
        .first()
    )
    customers = Customer.objects.filter(test_clock=test_clock)
    ids = [
        *customers.values_list("public_id", flat=True),
        *Subscription.objects.filter(customer__in=customers).values_list("public_id", flat=True),
        *Invoice.objects.filter(customer__in=customers).values_list("public_id", flat=True),
    ]
    events = Event.objects.filter(livemode=False, pk__gt=began.pk, object_id__in=ids)
    if ended is not None:
        events = events.filter(pk__lt=ended.pk)
    rows = list(events.values_list("type", "object_id"))
    created = [object_id for kind, object_id in rows if kind == "invoice.created"]
    target = ((began.data["object"].get("status_details") or {}).get("advancing") or {}).get("target_frozen_time")
    return AdvanceReport(
        start=_frozen_time_in(began),
        target=core_clock.from_unix(target) if isinstance(target, int) else test_clock.frozen_time,
        finished=test_clock.status == TestClock.READY,
        event_counts=sorted(Counter(kind for kind, _ in rows).items()),
        invoices=list(Invoice.objects.filter(public_id__in=created).select_related("customer").order_by("pk")),
    )


@dataclass(frozen=True)
class SubscriptionRow:
    subscription: Subscription
    # When its current period ends (the next renewal, unless it ends or changes first); None once ended.
    period_end: dt.datetime | None


def _period_end(subscription: Subscription) -> dt.datetime | None:
    if subscription.ended_at is not None:
        return None
    items = [item for item in subscription.items.all() if not item.deleted]
    return items[0].current_period_end if items else None


def _status_payload(test_clock: TestClock) -> dict[str, Any]:
    progress = _progress(test_clock)
    return {
        "id": test_clock.public_id,
        "status": test_clock.status,
        "frozen_time": core_clock.to_unix(test_clock.frozen_time),
        "frozen_time_text": when(test_clock.frozen_time),
        "target_text": when(progress.target) if progress else None,
        "percent": progress.percent if progress else None,
    }


def _detail(
    request: HttpRequest,
    test_clock: TestClock,
    *,
    form: AdvanceForm | None = None,
    status: int = 200,
) -> HttpResponse:
    customers = list(selectors.test_clock_customers(test_clock=test_clock).order_by("-created", "-pk")[:SHOWN])
    subscriptions = [
        SubscriptionRow(subscription, _period_end(subscription))
        for subscription in subscription_list(livemode=False, test_clock=test_clock, status="all")
        .filter(customer__deleted=False)
        .prefetch_related("items__price__product")
        .order_by("-created", "-pk")[:SHOWN]
    ]
    progress = _progress(test_clock)
    failure = (test_clock.status_details or {}).get("internal_failure") or None
    failed_target = failure.get("target_frozen_time") if failure else None
    if form is None:
        form = AdvanceForm(
            test_clock=test_clock,
            initial={"frozen_time": time_input(AdvanceForm.step_target(test_clock, "day"))},
        )
    return _page(
        request,
        "dashboard/developers/clock_detail.html",
        {
            "clock": test_clock,
            "customers": customers,
            "subscriptions": subscriptions,
            "progress": progress,
            "stalled": _stalled(progress),
            "report": _advance_report(test_clock),
            "failure": failure,
            "failure_target": core_clock.from_unix(failed_target) if isinstance(failed_target, int) else None,
            "form": form,
            "steps": STEPS,
            "status_url": reverse("dashboard:test-clock-status", args=[test_clock.public_id]),
        },
        status=status,
    )


# --- pages --------------------------------------------------------------------------------------------


@staff_page
@require_http_methods(["GET", "HEAD"])
def test_clock_list(request: HttpRequest) -> HttpResponse:
    if livemode(request):
        return _live_mode_page(request)
    clocks = selectors.test_clock_list(livemode=False).annotate(
        customer_count=Count("customers", filter=Q(customers__deleted=False))
    )
    return _page(
        request,
        "dashboard/developers/clock_list.html",
        {"page": paginate(request, clocks.order_by("-created", "-pk"))},
    )


@staff_page
@require_http_methods(["GET", "HEAD", "POST"])
def test_clock_new(request: HttpRequest) -> HttpResponse:
    if livemode(request):
        return _live_mode_page(request)
    now = core_clock.now().astimezone(dt.UTC).replace(second=0, microsecond=0)
    form = TestClockForm(request.POST if request.method == "POST" else None, initial={"frozen_time": time_input(now)})
    if request.method == "POST" and form.is_valid():
        try:
            created = services.test_clock_create(
                livemode=False,
                frozen_time=form.cleaned_data["frozen_time"],
                name=form.cleaned_data["name"].strip() or None,
            )
        except DomainError as refused:
            add_domain_error(form, refused, {"frozen_time": "frozen_time", "name": "name"})
        else:
            messages.success(request, "The test clock was created. Add customers to it, then advance it.")
            return redirect("dashboard:test-clock", test_clock_id=created.public_id)
    return _page(
        request,
        "dashboard/developers/clock_form.html",
        {"form": form},
        status=400 if request.method == "POST" else 200,
    )


@staff_page
@require_http_methods(["GET", "HEAD"])
def test_clock_detail(request: HttpRequest, test_clock_id: str) -> HttpResponse:
    if livemode(request):
        return _live_mode_page(request)
    return _detail(request, _clock(request, test_clock_id))


@staff_page
@require_http_methods(["GET", "HEAD"])
def test_clock_status(request: HttpRequest, test_clock_id: str) -> HttpResponse:
    """The clock's status as JSON, for the page's progress poll."""
    if livemode(request):
        raise Http404("Test clocks exist in test mode only")
    return JsonResponse(_status_payload(_clock(request, test_clock_id)))


@staff_page
@require_http_methods(["GET", "HEAD", "POST"])
def test_clock_advance(request: HttpRequest, test_clock_id: str) -> HttpResponse:
    if livemode(request):
        return _live_mode_page(request)
    test_clock = _clock(request, test_clock_id)
    back = reverse("dashboard:test-clock", args=[test_clock.public_id])
    if request.method != "POST":
        return redirect(back)
    if request.POST.get("resume"):
        progress = _progress(test_clock)
        if progress is None:
            messages.info(request, "The clock is no longer advancing.")
            return redirect(back)
        try:
            _start_advance(test_clock, progress.target)
        except DomainError as refused:
            messages.error(request, refused.message)
        else:
            messages.info(request, f"Resuming the advance to {when(progress.target)}.")
        return redirect(back)
    form = AdvanceForm(request.POST, test_clock=test_clock)
    if form.is_valid():
        try:
            started = _start_advance(test_clock, form.cleaned_data["frozen_time"])
        except DomainError as refused:
            add_domain_error(form, refused, {"frozen_time": "frozen_time"})
        else:
            target = advance.advancing_target(started)
            messages.info(request, f"Advancing the clock to {when(target)}.")
            return redirect(back)
    test_clock.refresh_from_db()
    return _detail(request, test_clock, form=form, status=400)


def _prices() -> Any:
    return (
        price_list(livemode=False, active=True, type="recurring")
        .filter(product__active=True, product__deleted=False)
        .exclude(recurring_usage_type="metered")
        .order_by("product__name", "unit_amount", "pk")
    )


def _subscribe(buyer: Customer, price: Price) -> Subscription:
    card = bool((buyer.invoice_settings or {}).get("default_payment_method"))
    spec = NewSubscription(
        items=[{"price": price, "quantity": 1}],
        collection_method="charge_automatically" if card else "send_invoice",
        days_until_due=None if card else 30,
    )
    return subscription_services.subscription_create(customer=buyer, livemode=False, spec=spec)


@staff_page
@require_http_methods(["GET", "HEAD", "POST"])
def test_clock_customer_new(request: HttpRequest, test_clock_id: str) -> HttpResponse:
    if livemode(request):
        return _live_mode_page(request)
    test_clock = _clock(request, test_clock_id)
    back = reverse("dashboard:test-clock", args=[test_clock.public_id])
    form = ClockCustomerForm(request.POST if request.method == "POST" else None, prices=_prices())
    if request.method == "POST" and form.is_valid():
        try:
            buyer = customer_services.customer_create(livemode=False, values=form.customer_values(test_clock))
        except DomainError as refused:
            add_domain_error(form, refused, CUSTOMER_PARAMS)
        else:
            price = form.chosen_price()
            if price is None:
                messages.success(request, "The customer was added to the clock.")
                return redirect(back)
            try:
                subscription = _subscribe(buyer, price)
            except DomainError as refused:
                messages.error(
                    request, f"The customer was added to the clock, but the subscription was refused: {refused.message}"
                )
            else:
                messages.success(
                    request,
                    f"The customer was added to the clock and subscribed ({subscription.status.replace('_', ' ')}).",
                )
            return redirect(back)
    return _page(
        request,
        "dashboard/developers/clock_customer_form.html",
        {"form": form, "clock": test_clock},
        status=400 if request.method == "POST" else 200,
    )


@staff_page
@require_http_methods(["GET", "HEAD", "POST"])
def test_clock_delete(request: HttpRequest, test_clock_id: str) -> HttpResponse:
    if livemode(request):
        return _live_mode_page(request)
    test_clock = _clock(request, test_clock_id)
    back = reverse("dashboard:test-clock", args=[test_clock.public_id])
    if test_clock.status == TestClock.ADVANCING:
        messages.error(request, "The clock is advancing: delete it once the advance has finished.")
        return redirect(back)
    if request.method == "POST":
        try:
            services.test_clock_delete(test_clock=test_clock)
        except DomainError as refused:
            messages.error(request, refused.message)
            return redirect(back)
        messages.success(request, "The test clock and its customers were deleted.")
        return redirect("dashboard:test-clocks")
    count = selectors.test_clock_customers(test_clock=test_clock).count()
    attached = f"its {count} customer{'s' if count != 1 else ''}" if count else "no customers"
    return _page(
        request,
        "dashboard/confirm.html",
        {
            "heading": f"Delete the test clock {test_clock.name or test_clock.public_id}?",
            "explanation": [
                f"This clock has {attached}. Deleting the clock deletes its customers with it, as Stripe does: "
                "they disappear from lists and are no longer billed. Their invoices and events stay on record.",
                "This cannot be undone.",
            ],
            "button": "Delete test clock",
            "action": reverse("dashboard:test-clock-delete", args=[test_clock.public_id]),
            "back": back,
        },
    )
