"""The invoice a change would make (``POST /v1/invoices/create_preview``), with nothing written.

The preview runs the very services that would apply the change (``changes.update_build``,
``creation.build``, the renewal builders of ``advance``) inside a transaction that is always
rolled back, so its numbers are the ones the real change produces: pass the same
``proration_date`` to the update and it bills exactly what the preview showed. The caller's
``render`` turns the draft into JSON before the rollback (the domain does not know the API's
shapes). Nothing is finalized and nothing is charged.

Which invoice: the one the change bills at once (an interval change, ``billing_cycle_anchor=now``,
``always_invoice``, ``trial_end=now``), else the subscription's next one (at its trial's end or
its period's end, pending prorations included, the items of its schedule's phase beginning then);
for a new subscription, its first invoice; for a customer alone, their pending invoice items.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from django.db import transaction

from billfold.billing import invoices as invoice_services
from billfold.billing.models import Invoice, Subscription
from billfold.billing.schedules.transitions import items_after_phase_change
from billfold.billing.subscriptions import advance, changes, creation
from billfold.billing.subscriptions.common import live_items, locked
from billfold.core.errors import DomainError, InvalidParam
from billfold.customers.models import Customer

Render = Callable[[Invoice], dict[str, Any]]
# subscription_details keys that mean "preview this update" for an existing subscription.
UPDATE_KEYS = (
    "items",
    "proration_behavior",
    "proration_date",
    "billing_cycle_anchor",
    "trial_end",
    "cancel_at",
    "cancel_at_period_end",
    "default_tax_rates",
)


class NoUpcomingInvoice(DomainError):
    http_status = 404

    def __init__(self, what: str) -> None:
        super().__init__(f"No upcoming invoices for {what}.", code="invoice_upcoming_none")


class _RollBack(Exception):
    """Raised to undo everything a preview wrote once its invoice has been rendered."""


def _upcoming(subscription: Subscription) -> Invoice:
    """The subscription's next invoice (built as the engine would, unsaved once rolled back)."""
    items = live_items(subscription)
    if subscription.status == "trialing" and subscription.trial_end is not None:
        if subscription.cancel_at is not None and subscription.cancel_at <= subscription.trial_end:
            raise NoUpcomingInvoice(f"subscription {subscription.public_id}: it ends before its trial does")
        at = subscription.trial_end
        items = items_after_phase_change(subscription, items, at)
        invoice = advance.trial_end_draft(subscription, items, at)
    elif subscription.status in ("active", "past_due", "unpaid"):
        at = items[0].current_period_end
        if subscription.cancel_at is not None and subscription.cancel_at <= at:
            raise NoUpcomingInvoice(f"subscription {subscription.public_id}: it is set to cancel")
        items = items_after_phase_change(subscription, items, at)
        invoice = advance.renewal_draft(subscription, items, at)
    else:
        raise NoUpcomingInvoice(f"subscription {subscription.public_id}: it is {subscription.status}")
    return _dated(invoice, at)


def _dated(invoice: Invoice, at: dt.datetime) -> Invoice:
    invoice.created = at
    invoice.save(update_fields=["created"])
    return invoice


def _update_values(details: Mapping[str, Any], discounts: Sequence[Mapping[str, str]] | None) -> dict[str, Any]:
    values = {key: details[key] for key in UPDATE_KEYS if key in details}
    if discounts is not None:
        values["discounts"] = list(discounts)
    return values


def _for_subscription(
    subscription: Subscription, details: Mapping[str, Any], discounts: Sequence[Mapping[str, str]] | None
) -> Invoice:
    subscription = locked(subscription)
    values = _update_values(details, discounts)
    invoice = changes.update_build(subscription=subscription, values=values) if values else None
    subscription.save()
    return invoice if invoice is not None else _upcoming(subscription)


def _for_new_subscription(
    customer: Customer, livemode: bool, details: Mapping[str, Any], discounts: Sequence[Mapping[str, str]] | None
) -> Invoice:
    spec = creation.NewSubscription(
        items=details["items"],
        proration_behavior=details.get("proration_behavior") or "create_prorations",
        billing_cycle_anchor=anchor if isinstance(anchor := details.get("billing_cycle_anchor"), dt.datetime) else None,
        trial_end=details.get("trial_end"),
        cancel_at=details.get("cancel_at"),
        cancel_at_period_end=bool(details.get("cancel_at_period_end")),
        default_tax_rates=details.get("default_tax_rates") or (),
        discounts=discounts or (),
    )
    built = creation.build(customer=customer, livemode=livemode, spec=spec)
    if built.invoice is not None:
        return built.invoice
    built.subscription.status = "active"
    return _upcoming(built.subscription)


def _for_customer(customer: Customer, livemode: bool, discounts: Sequence[Mapping[str, str]] | None) -> Invoice:
    return invoice_services.invoice_create(
        customer=customer,
        livemode=livemode,
        discounts=discounts or (),
        pending_invoice_items_behavior="include_and_require",
    )


def invoice_preview(
    *,
    livemode: bool,
    render: Render,
    customer: Customer | None = None,
    subscription: Subscription | None = None,
    subscription_details: Mapping[str, Any] | None = None,
    discounts: Sequence[Mapping[str, str]] | None = None,
) -> dict[str, Any]:
    """The rendered invoice (status ``draft``, id ``upcoming_in_...``); nothing is kept."""
    details = subscription_details or {}
    if subscription is not None and customer is not None and subscription.customer_id != customer.pk:
        raise InvalidParam(
            f"The subscription {subscription.public_id} belongs to another customer than {customer.public_id}.",
            param="subscription",
        )
    if subscription is None and customer is None:
        raise InvalidParam(
            "Missing required param: customer (or subscription). Say whose invoice to preview.",
            param="customer",
            code="parameter_missing",
        )
    rendered: dict[str, Any] = {}
    try:
        with transaction.atomic():
            if subscription is not None:
                invoice = _for_subscription(subscription, details, discounts)
            elif details.get("items"):
                assert customer is not None
                invoice = _for_new_subscription(customer, livemode, details, discounts)
            else:
                assert customer is not None
                invoice = _for_customer(customer, livemode, discounts)
            rendered = render(Invoice.objects.select_related("customer__test_clock").get(pk=invoice.pk))
            raise _RollBack
    except _RollBack:
        pass
    return _as_preview(rendered)


def _as_preview(rendered: dict[str, Any]) -> dict[str, Any]:
    """A preview's ids, as Stripe gives them: the invoice ``upcoming_in_...``, its lines ``il_tmp_...``."""
    preview_id = f"upcoming_{rendered['id']}"
    rendered["id"] = preview_id
    lines = rendered.get("lines") or {}
    lines["url"] = f"/v1/invoices/{preview_id}/lines"
    for line in lines.get("data", []):
        line["id"] = "il_tmp_" + str(line["id"]).removeprefix("il_")
        line["invoice"] = preview_id
    return rendered
