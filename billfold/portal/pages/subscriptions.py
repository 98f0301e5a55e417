"""The subscription pages: switch plan or quantity (with a preview of what it costs), redeem a
promotion code, cancel (with the reason survey and a retention offer), renew.

A change the configuration's ``schedule_at_period_end`` conditions defer (a lower amount, a
shorter interval) becomes a subscription schedule whose next phase starts when the period ends:
the customer keeps the plan paid for until then, and the renewal bills the new one. The overview
shows it with a button that drops it (releasing the schedule); a later immediate change replaces it.

Every change goes through the services the API calls (``billfold.billing.subscriptions.services``,
``billfold.billing.schedules.services``), so it writes the same events and invoices. Every
subscription is looked up among the signed-in customer's own: any other id is a 404.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.core import signing
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from billfold.billing.coupons import promotion_code_find
from billfold.billing.models import Coupon, Discount, Subscription, SubscriptionItem
from billfold.billing.pricing import price_amount
from billfold.billing.schedules.services import subscription_change_at_period_end, subscription_schedule_release
from billfold.billing.subscriptions.services import subscription_cancel, subscription_update
from billfold.catalog.models import Price
from billfold.clocks.selectors import customer_now
from billfold.core import clock
from billfold.core.errors import DomainError, NotFound
from billfold.core.locales import Formats
from billfold.core.periods import add_interval
from billfold.portal import rules
from billfold.portal.pages import display
from billfold.portal.pages.access import Portal, page, portal_page
from billfold.portal.pages.flows import finish, in_flow
from billfold.portal.pages.forms import CancelForm, PromotionCodeForm

# How long a preview may be confirmed: its prorations are computed for the moment it was shown.
PREVIEW_VALID_FOR = dt.timedelta(minutes=30)
_SIGNING_SALT = "billfold.portal.plan-change"
DEFAULT_MAX_QUANTITY = 99


def subscription_of(portal: Portal, subscription_id: str) -> Subscription:
    """The signed-in customer's subscription with this id, or 404 (whoever else's it may be)."""
    found = (
        Subscription.objects.select_related("customer")
        .filter(public_id=subscription_id, livemode=portal.livemode, customer=portal.customer)
        .first()
    )
    if found is None:
        raise Http404("No such subscription")
    return found


def _item(subscription: Subscription) -> SubscriptionItem:
    items = rules.live_items(subscription)
    if len(items) != 1:
        raise Http404("This subscription cannot be updated here")
    return SubscriptionItem.objects.select_related("price__product").get(pk=items[0].pk)


@dataclass
class Option:
    """A price the customer may switch to."""

    price: Price
    text: str
    current: bool


@dataclass
class Bounds:
    minimum: int
    maximum: int


def _update_settings(portal: Portal) -> dict[str, Any]:
    return dict(portal.features.get("subscription_update") or {})


def _options(
    portal: Portal, subscription: Subscription, current: Price, fmt: Formats
) -> list[tuple[str, list[Option]]]:
    """The configured prices in the subscription's currency, grouped by product (current first)."""
    settings = _update_settings(portal)
    groups: list[tuple[str, list[Option]]] = []
    allowed = set(settings.get("default_allowed_updates") or [])
    for entry in settings.get("products") or []:
        wanted = list(entry.get("prices") or [])
        if "price" not in allowed:
            wanted = [current.public_id] if current.public_id in wanted else []
        prices = {
            price.public_id: price
            for price in Price.objects.select_related("product").filter(
                livemode=portal.livemode, public_id__in=wanted, active=True, currency=subscription.currency
            )
            if price.recurring_interval is not None and price.recurring_usage_type != "metered"
        }
        options = [
            Option(price=prices[pid], text=display.price_text(prices[pid], fmt), current=pid == current.public_id)
            for pid in wanted
            if pid in prices
        ]
        if options:
            groups.append((options[0].price.product.name, options))
    return groups


def _bounds(portal: Portal, price: Price) -> Bounds | None:
    """The quantity range for the product of ``price``, or None when its quantity is fixed."""
    settings = _update_settings(portal)
    if "quantity" not in (settings.get("default_allowed_updates") or []):
        return None
    entry = display.configured_products(portal.features).get(price.product.public_id)
    adjustable = (entry or {}).get("adjustable_quantity") or {}
    if not adjustable.get("enabled"):
        return None
    return Bounds(
        minimum=int(adjustable.get("minimum") or 1), maximum=int(adjustable.get("maximum") or DEFAULT_MAX_QUANTITY)
    )


def _shown_bounds(portal: Portal, subscription: Subscription, item: SubscriptionItem, fmt: Formats) -> Bounds | None:
    """The quantity field's range: the current product's, else the widest among the plans offered
    (each plan's own range is checked once chosen)."""
    current = _bounds(portal, item.price)
    if current is not None:
        return current
    ranges = [
        found
        for _, options in _options(portal, subscription, item.price, fmt)
        for option in options
        if (found := _bounds(portal, option.price)) is not None
    ]
    if not ranges:
        return None
    return Bounds(minimum=min(r.minimum for r in ranges), maximum=max(r.maximum for r in ranges))


def _updatable(portal: Portal, subscription: Subscription) -> SubscriptionItem:
    if not display.can_update(subscription, portal.features):
        raise Http404("This subscription cannot be updated here")
    return _item(subscription)


def _context(portal: Portal, **extra: Any) -> dict[str, Any]:
    return {
        "portal": portal,
        "business_profile": portal.configuration.business_profile,
        "return_url": portal.return_url,
        "language": portal.language,
        **extra,
    }


@require_safe
@portal_page
def update_page(request: HttpRequest, portal: Portal, subscription_id: str) -> HttpResponse:
    subscription = subscription_of(portal, subscription_id)
    item = _updatable(portal, subscription)
    return _update_page(request, portal, subscription, item)


def _update_page(
    request: HttpRequest,
    portal: Portal,
    subscription: Subscription,
    item: SubscriptionItem,
    *,
    error: str | None = None,
    promo_form: PromotionCodeForm | None = None,
    status: int = 200,
) -> HttpResponse:
    fmt = Formats(portal.language.locale)
    allowed = set(_update_settings(portal).get("default_allowed_updates") or [])
    card = display.subscription_card(subscription, portal.features, fmt)
    return page(
        request,
        "portal/update.html",
        _context(
            portal,
            card=card,
            item=item,
            groups=_options(portal, subscription, item.price, fmt),
            bounds=_shown_bounds(portal, subscription, item, fmt),
            price_allowed="price" in allowed,
            promo_allowed="promotion_code" in allowed,
            promo_form=promo_form or PromotionCodeForm(),
            error=error,
            chosen_price=request.GET.get("price") or item.price.public_id,
            chosen_quantity=request.GET.get("quantity") or item.quantity,
        ),
        nonce=portal.nonce,
        theme=portal.theme,
        status=status,
    )


def _interval_days(price: Price) -> int:
    start = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    end = add_interval(start, price.recurring_interval or "month", price.recurring_interval_count or 1)
    return (end - start).days


def _scheduled_at_period_end(portal: Portal, item: SubscriptionItem, price: Price, quantity: int) -> bool:
    """Whether the configuration defers this change to the end of the period (``schedule_at_period_end``):
    ``decreasing_item_amount`` when the new plan bills less per period, ``shortening_interval`` when
    it bills more often (yearly to monthly)."""
    conditions = {
        c.get("type") for c in (_update_settings(portal).get("schedule_at_period_end") or {}).get("conditions") or []
    }
    if "decreasing_item_amount" in conditions and price_amount(price, quantity) < price_amount(
        item.price, item.quantity
    ):
        return True
    return "shortening_interval" in conditions and _interval_days(price) < _interval_days(item.price)


def _flow_discounts(portal: Portal, subscription: Subscription) -> list[dict[str, str]] | None:
    if not in_flow(portal, "subscription_update_confirm", subscription.public_id):
        return None
    assert portal.flow is not None
    if portal.flow["type"] != "subscription_update_confirm":
        return None
    given = portal.flow["subscription_update_confirm"].get("discounts")
    if not given:
        return None
    return [{key: value} for entry in given for key, value in entry.items() if value is not None]


@dataclass
class Choice:
    price: Price
    quantity: int
    scheduled: bool


def _choice(
    portal: Portal, subscription: Subscription, item: SubscriptionItem, price_id: str, quantity_raw: str
) -> Choice | str:
    """The plan asked for, checked against the configuration; a message saying what is wrong otherwise."""
    fmt = Formats(portal.language.locale)
    price_id = price_id or item.price.public_id  # a quantity-only change names no price
    offered = {
        option.price.public_id: option.price
        for _, options in _options(portal, subscription, item.price, fmt)
        for option in options
    }
    if price_id not in offered and price_id != item.price.public_id:
        return _("Choose one of the plans offered.")
    price = offered.get(price_id) or item.price
    bounds = _bounds(portal, price)
    if bounds is None:
        quantity = item.quantity
    else:
        try:
            quantity = int(quantity_raw)
        except (TypeError, ValueError):
            return _("Enter the quantity as a whole number.")
        if not bounds.minimum <= quantity <= bounds.maximum:
            return _("Choose a quantity from %(minimum)d to %(maximum)d.") % {
                "minimum": bounds.minimum,
                "maximum": bounds.maximum,
            }
    discounts = _flow_discounts(portal, subscription)
    if price.pk == item.price_id and quantity == item.quantity and discounts is None:
        return _("This is already your plan. Choose another plan or quantity.")
    # A deep link confirming a change with its discounts applies them now, so the change goes with them.
    scheduled = discounts is None and _scheduled_at_period_end(portal, item, price, quantity)
    return Choice(price=price, quantity=quantity, scheduled=scheduled)


def _values(
    portal: Portal, subscription: Subscription, item: SubscriptionItem, choice: Choice, moment: dt.datetime
) -> dict[str, Any]:
    """The update an immediate change makes (``subscription_update``'s values)."""
    settings = _update_settings(portal)
    values: dict[str, Any] = {
        "items": [{"id": item.public_id, "price": choice.price, "quantity": choice.quantity}],
        "proration_behavior": settings.get("proration_behavior") or "create_prorations",
        "proration_date": moment,
    }
    # What the configuration says about a change during a trial, and about the billing cycle.
    if subscription.status == "trialing":
        if settings.get("trial_update_behavior", "end_trial") == "end_trial":
            values["trial_end"] = "now"
    elif settings.get("billing_cycle_anchor") == "now":
        values["billing_cycle_anchor"] = "now"
    discounts = _flow_discounts(portal, subscription)
    if discounts is not None:
        values["discounts"] = discounts
    return values


@require_safe
@portal_page
def update_confirm_page(request: HttpRequest, portal: Portal, subscription_id: str) -> HttpResponse:
    """The preview of a plan change: what it costs now or on the next invoice, before confirming."""
    subscription = subscription_of(portal, subscription_id)
    item = _updatable(portal, subscription)
    choice = _choice(portal, subscription, item, request.GET.get("price", ""), request.GET.get("quantity", ""))
    if isinstance(choice, str):
        return _update_page(request, portal, subscription, item, error=choice, status=400)
    return _confirm_page(request, portal, subscription, item, choice)


def _confirm_page(
    request: HttpRequest,
    portal: Portal,
    subscription: Subscription,
    item: SubscriptionItem,
    choice: Choice,
    *,
    error: str | None = None,
    status: int = 200,
) -> HttpResponse:
    fmt = Formats(portal.language.locale)
    moment = customer_now(portal.customer).replace(microsecond=0)
    if choice.scheduled:
        preview = _preview_after(subscription, lambda: _schedule_change(subscription, choice))
    else:
        values = _values(portal, subscription, item, choice, moment)
        preview = _preview_after(subscription, lambda: _drop_pending_change(subscription), values)
    token = signing.dumps(
        {
            "subscription": subscription.public_id,
            "item": item.public_id,
            "price": choice.price.public_id,
            "quantity": choice.quantity,
            "at": clock.to_unix(moment),
        },
        salt=_SIGNING_SALT,
    )
    return page(
        request,
        "portal/update_confirm.html",
        _context(
            portal,
            subscription=subscription,
            current_name=item.price.product.name,
            current_plan=display.plan_text(item.price, item.quantity, fmt),
            new_plan=display.plan_text(choice.price, choice.quantity, fmt),
            current_text=display.price_text(item.price, fmt),
            current_quantity=item.quantity,
            new_name=choice.price.product.name,
            new_text=display.price_text(choice.price, fmt),
            choice=choice,
            quantity_shown=_bounds(portal, choice.price) is not None or choice.quantity != 1,
            preview=preview,
            preview_amount=fmt.money(preview.amount_due, preview.currency) if preview else None,
            preview_date=fmt.date(preview.date) if preview else None,
            preview_lines=[(text, fmt.money(amount, subscription.currency)) for text, amount in preview.lines]
            if preview
            else [],
            period_end=fmt.date(item.current_period_end),
            token=token,
            error=error,
        ),
        nonce=portal.nonce,
        theme=portal.theme,
        status=status,
    )


@require_POST
@portal_page
def update_apply(request: HttpRequest, portal: Portal, subscription_id: str) -> HttpResponse:
    subscription = subscription_of(portal, subscription_id)
    item = _updatable(portal, subscription)
    try:
        signed = signing.loads(request.POST.get("token", ""), salt=_SIGNING_SALT, max_age=PREVIEW_VALID_FOR)
    except signing.BadSignature:
        # Expired or altered: show the plan choice again rather than charge an amount not shown.
        url = reverse("portal:update", kwargs={"subscription_id": subscription.public_id})
        return HttpResponseRedirect(url)
    if signed.get("subscription") != subscription.public_id or signed.get("item") != item.public_id:
        raise Http404("This preview is for another subscription")
    choice = _choice(portal, subscription, item, str(signed["price"]), str(signed["quantity"]))
    if isinstance(choice, str):
        return _update_page(request, portal, subscription, item, error=choice, status=400)
    fmt = Formats(portal.language.locale)
    try:
        if choice.scheduled:
            _schedule_change(subscription, choice)
            notice = _("Your plan changes to %(plan)s on %(date)s.") % {
                "plan": display.plan_text(choice.price, choice.quantity, fmt),
                "date": fmt.date(item.current_period_end),
            }
        else:
            values = _values(portal, subscription, item, choice, clock.from_unix(int(signed["at"])))
            # A declined card takes the whole change back, rather than leave a plan the customer did not pay for.
            values["payment_behavior"] = "error_if_incomplete"
            _drop_pending_change(subscription_update(subscription=subscription, values=values))
            notice = _("Your plan was updated.")
    except DomainError as refused:
        return _confirm_page(request, portal, subscription, item, choice, error=_refusal(refused), status=400)
    return finish(request, portal, kind="subscription_update", subscription_id=subscription.public_id, notice=notice)


def _schedule_change(subscription: Subscription, choice: Choice) -> None:
    subscription_change_at_period_end(subscription=subscription, price=choice.price, quantity=choice.quantity)


def _drop_pending_change(subscription: Subscription) -> None:
    """Release the schedule holding a change for the period's end: an immediate change replaces it."""
    change = rules.pending_change(Subscription.objects.select_related("schedule").get(pk=subscription.pk))
    if change is not None:
        subscription_schedule_release(schedule=change[0])


class _Undo(Exception):
    """Raised to take back what building a preview wrote."""


def _preview_after(
    subscription: Subscription, change: Callable[[], object], values: dict[str, Any] | None = None
) -> display.UpcomingInvoice | None:
    """The invoice confirming would make: once ``change`` (what confirming does besides the update
    ``values``) has run, the invoice that update bills at once, else the next one. Nothing is kept."""
    found = None
    try:
        with transaction.atomic():
            change()
            found = display.upcoming_invoice(
                Subscription.objects.select_related("customer").get(pk=subscription.pk), values
            )
            raise _Undo
    except _Undo:
        pass
    return found


@require_POST
@portal_page
def scheduled_change_cancel(request: HttpRequest, portal: Portal, subscription_id: str) -> HttpResponse:
    """Drop the change waiting for the end of the period: the subscription keeps its plan."""
    subscription = subscription_of(portal, subscription_id)
    change = rules.pending_change(subscription)
    if change is None:
        raise Http404("No change is scheduled for this subscription")
    try:
        subscription_schedule_release(schedule=change[0])
    except DomainError as refused:
        messages.error(request, _refusal(refused))
        return HttpResponseRedirect(reverse("portal:home"))
    items = rules.live_items(subscription)
    kept = display.plan_text(items[0].price, items[0].quantity, Formats(portal.language.locale)) if items else ""
    return finish(
        request,
        portal,
        kind="scheduled_change",
        subscription_id=subscription.public_id,
        notice=_("The scheduled change was canceled: you keep %(plan)s.") % {"plan": kept},
    )


def _refusal(refused: DomainError) -> str:
    if refused.http_status == 402:
        return _("Your card was declined, so your plan was not changed: %(reason)s") % {"reason": refused.message}
    return _("This change could not be made: %(reason)s") % {"reason": refused.message}


@require_POST
@portal_page
def promotion_code_apply(request: HttpRequest, portal: Portal, subscription_id: str) -> HttpResponse:
    subscription = subscription_of(portal, subscription_id)
    item = _updatable(portal, subscription)
    if "promotion_code" not in (_update_settings(portal).get("default_allowed_updates") or []):
        raise Http404("Promotion codes cannot be redeemed here")
    form = PromotionCodeForm(request.POST)
    if not form.is_valid():
        return _update_page(request, portal, subscription, item, promo_form=form, status=400)
    try:
        code = promotion_code_find(
            livemode=portal.livemode, code=form.cleaned_data["code"].strip(), customer=portal.customer
        )
        kept = [{"discount": discount_id} for discount_id in subscription.discounts or []]
        subscription_update(
            subscription=subscription,
            values={
                "discounts": [*kept, {"promotion_code": code.public_id}],
                "payment_behavior": "error_if_incomplete",
            },
        )
    except NotFound:
        form.add_error("code", _("This promotion code is not valid. Check it for a typing mistake."))
        return _update_page(request, portal, subscription, item, promo_form=form, status=400)
    except DomainError as refused:
        form.add_error("code", _("This promotion code cannot be used here: %(reason)s") % {"reason": refused.message})
        return _update_page(request, portal, subscription, item, promo_form=form, status=400)
    return finish(
        request,
        portal,
        kind="promotion_code",
        subscription_id=subscription.public_id,
        notice=_("The promotion code %(code)s was applied.") % {"code": code.code},
    )


# --- cancel and renew ---------------------------------------------------------------------------


def _cancel_settings(portal: Portal) -> dict[str, Any]:
    return dict(portal.features.get("subscription_cancel") or {})


def _cancel_form(portal: Portal, data: Any = None) -> CancelForm:
    reason = _cancel_settings(portal).get("cancellation_reason") or {}
    options = list(reason.get("options") or []) if reason.get("enabled") else []
    return CancelForm(data, options=options, required=bool(reason.get("enabled")))


def _retention_coupon(portal: Portal, subscription: Subscription) -> Coupon | None:
    """The coupon the session offers to keep this subscription, unless it already has it."""
    if not in_flow(portal, "subscription_cancel", subscription.public_id):
        return None
    assert portal.flow is not None
    retention = portal.flow["subscription_cancel"].get("retention")
    if not retention:
        return None
    coupon = Coupon.objects.filter(
        livemode=portal.livemode, public_id=retention["coupon_offer"]["coupon"], deleted=False
    ).first()
    if coupon is None:
        return None
    has_it = Discount.objects.filter(
        livemode=portal.livemode, public_id__in=list(subscription.discounts or []), coupon=coupon
    ).exists()
    return None if has_it else coupon


def _cancellable(portal: Portal, subscription: Subscription) -> None:
    if not display.can_cancel(subscription, portal.features):
        raise Http404("This subscription cannot be canceled here")


def _cancel_page(
    request: HttpRequest,
    portal: Portal,
    subscription: Subscription,
    form: CancelForm,
    *,
    error: str | None = None,
    status: int = 200,
) -> HttpResponse:
    fmt = Formats(portal.language.locale)
    card = display.subscription_card(subscription, portal.features, fmt)
    coupon = _retention_coupon(portal, subscription)
    offer = None
    if coupon is not None:
        offer = display.discount_text(Discount(coupon=coupon, start=clock.now()), fmt, subscription.currency)
    immediately = _cancel_settings(portal).get("mode") == "immediately"
    return page(
        request,
        "portal/cancel.html",
        _context(portal, card=card, form=form, offer=offer, immediately=immediately, error=error),
        nonce=portal.nonce,
        theme=portal.theme,
        status=status,
    )


@require_http_methods(["GET", "HEAD", "POST"])
@portal_page
def cancel_page(request: HttpRequest, portal: Portal, subscription_id: str) -> HttpResponse:
    """The cancellation page is its own confirmation: it says what happens, then one button does it."""
    subscription = subscription_of(portal, subscription_id)
    _cancellable(portal, subscription)
    if request.method != "POST":
        return _cancel_page(request, portal, subscription, _cancel_form(portal))
    form = _cancel_form(portal, request.POST)
    if not form.is_valid():
        return _cancel_page(request, portal, subscription, form, status=400)
    details = {"feedback": form.cleaned_data.get("reason") or None, "comment": form.cleaned_data.get("comment") or None}
    settings = _cancel_settings(portal)
    try:
        if settings.get("mode") == "immediately":
            behavior = settings.get("proration_behavior") or "none"
            subscription_cancel(
                subscription=subscription,
                prorate=behavior in ("create_prorations", "always_invoice"),
                invoice_now=behavior == "always_invoice",
                cancellation_details=details,
            )
            notice = _("Your subscription was canceled.")
        else:
            # The subscription ends with its period: what a schedule planned after it no longer applies.
            if subscription.schedule is not None:
                subscription_schedule_release(schedule=subscription.schedule)
            subscription = subscription_update(
                subscription=subscription, values={"cancel_at_period_end": True, "cancellation_details": details}
            )
            ends = Formats(portal.language.locale).date(_item_period_end(subscription))
            notice = _("Your subscription will be canceled on %(date)s.") % {"date": ends}
    except DomainError as refused:
        return _cancel_page(request, portal, subscription, form, error=_refusal(refused), status=400)
    return finish(request, portal, kind="subscription_cancel", subscription_id=subscription.public_id, notice=notice)


def _item_period_end(subscription: Subscription) -> dt.datetime | None:
    items = rules.live_items(subscription)
    return items[0].current_period_end if items else None


@require_POST
@portal_page
def retention_accept(request: HttpRequest, portal: Portal, subscription_id: str) -> HttpResponse:
    """Keep the subscription with the coupon the merchant offered instead of canceling."""
    subscription = subscription_of(portal, subscription_id)
    _cancellable(portal, subscription)
    coupon = _retention_coupon(portal, subscription)
    if coupon is None:
        raise Http404("No offer for this subscription")
    kept = [{"discount": discount_id} for discount_id in subscription.discounts or []]
    try:
        subscription_update(subscription=subscription, values={"discounts": [*kept, {"coupon": coupon.public_id}]})
    except DomainError as refused:
        return _cancel_page(request, portal, subscription, _cancel_form(portal), error=_refusal(refused), status=400)
    return finish(
        request,
        portal,
        kind="subscription_cancel",
        subscription_id=subscription.public_id,
        notice=_("Thank you for staying! The offer was applied to your subscription."),
    )


@require_POST
@portal_page
def renew(request: HttpRequest, portal: Portal, subscription_id: str) -> HttpResponse:
    """Take back a pending cancellation, before the subscription ends."""
    subscription = subscription_of(portal, subscription_id)
    if not display.can_renew(subscription):
        raise Http404("This subscription is not set to cancel")
    values: dict[str, Any] = (
        {"cancel_at_period_end": False} if subscription.cancel_at_period_end else {"cancel_at": None}
    )
    try:
        if subscription.schedule is not None:
            # The cancellation is its schedule's (end_behavior=cancel): released, the subscription goes on.
            subscription_schedule_release(schedule=subscription.schedule)
        else:
            subscription_update(subscription=subscription, values=values)
    except DomainError as refused:
        messages.error(request, _refusal(refused))
        return HttpResponseRedirect(reverse("portal:home"))
    return finish(request, portal, kind="renew", notice=_("Your subscription was renewed; it will not be canceled."))
