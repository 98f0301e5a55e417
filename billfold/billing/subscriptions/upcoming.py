"""A subscription's next invoice for display, remembered while nothing it is made from has changed.

``invoice_preview`` builds the next invoice exactly, by running the engine inside a transaction it
rolls back: about a hundred queries and the database's write lock. Pages that show "next payment"
for several subscriptions on every view (the customer portal's overview) would pay that on each
load, so the rendered preview is kept in Django's cache under a fingerprint of everything the
engine reads to build it:

- the subscription's row (status, periods, trial, cancellation, discounts, tax rates, ...) and
  its schedule's (the phase that begins at the period end);
- its live items, with their prices and the products' names and update times (line descriptions);
- the customer's row (balance, address and tax status), tax IDs and pending invoice items;
- every discount of the customer not yet on an invoice, with its coupon's row (a coupon's amounts
  per currency can change);
- whether each tax rate those rows name is still active.

Prices' amounts and tax rates' percentages never change once made (as on Stripe), so their ids in
those rows stand for them. Any write that changes the next invoice changes one of
these rows, hence the key: a stale preview is never shown. Entries also expire after
``KEEP_FOR`` so the cache holds only what is being looked at.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from typing import Any

from django.core.cache import cache
from django.db import models

from billfold.billing.models import Discount, InvoiceItem, Subscription, SubscriptionItem, TaxRate
from billfold.billing.subscriptions.preview import Render, invoice_preview
from billfold.core.errors import DomainError
from billfold.customers.models import Customer, TaxId

KEEP_FOR = 600  # seconds
_TAX_RATE_ID = re.compile(r"txr_[A-Za-z0-9]+")
_MISSING = object()


def _row(instance: models.Model) -> tuple[Any, ...]:
    return tuple(getattr(instance, field.attname) for field in instance._meta.concrete_fields)


def _digest(parts: Iterable[Any]) -> str:
    return hashlib.sha256(repr(tuple(parts)).encode()).hexdigest()


def _tax_rates_state(parts: list[Any]) -> list[tuple[str, bool]]:
    """Whether each tax rate named anywhere in ``parts`` (rows as tuples) is active: an archived
    rate keeps applying to a subscription that carries it, but not to a new invoice item."""
    ids = sorted(set(_TAX_RATE_ID.findall(repr(parts))))
    if not ids:
        return []
    return list(TaxRate.objects.filter(public_id__in=ids).order_by("public_id").values_list("public_id", "active"))


def customer_fingerprint(customer: Customer, *, tax_ids: Sequence[TaxId] | None = None) -> str:
    """What a customer contributes to each of their subscriptions' next invoices (two to four
    queries: give ``tax_ids``, the customer's tax IDs in pk order, when they are at hand)."""
    pending = InvoiceItem.objects.filter(customer=customer, invoice__isnull=True).order_by("pk")
    if tax_ids is None:
        tax_ids = list(TaxId.objects.filter(customer=customer).order_by("pk"))
    discounts = Discount.objects.filter(customer=customer, invoice_id__isnull=True).select_related("coupon")
    parts: list[Any] = [_row(customer), *(_row(item) for item in pending), *(_row(tax_id) for tax_id in tax_ids)]
    parts.extend((_row(discount), _row(discount.coupon)) for discount in discounts.order_by("pk"))
    parts.extend(_tax_rates_state(parts))
    return _digest(parts)


def _subscription_fingerprint(
    subscription: Subscription, items: Sequence[SubscriptionItem], discounts: Sequence[Discount]
) -> str:
    parts: list[Any] = [_row(subscription)]
    if subscription.schedule is not None:
        # Its phases decide the items the next invoice bills (a change scheduled at the period end).
        parts.append(_row(subscription.schedule))
    for item in items:
        product = item.price.product
        parts.append((_row(item), _row(item.price), product.pk, product.name, product.updated))
    parts.extend((_row(discount), _row(discount.coupon)) for discount in discounts)
    parts.extend(_tax_rates_state(parts))
    return _digest(parts)


def upcoming_invoice_cached(
    subscription: Subscription,
    *,
    render: Render,
    purpose: str,
    customer_state: str,
    items: Sequence[SubscriptionItem],
    discounts: Sequence[Discount],
) -> dict[str, Any] | None:
    """``invoice_preview`` of the subscription's next invoice, rendered by ``render``; None when it
    has none (canceling, ended). ``items`` are its live items (prices and products loaded),
    ``discounts`` every discount on it or its items, and ``customer_state`` the customer's
    ``customer_fingerprint``; ``purpose`` names the rendering (one cache entry per renderer)."""
    state = _digest([customer_state, _subscription_fingerprint(subscription, items, discounts)])
    key = f"upcoming:{purpose}:{subscription.pk}:{state}"
    found = cache.get(key, _MISSING)
    if found is not _MISSING:
        return found  # type: ignore[no-any-return]
    try:
        rendered: dict[str, Any] | None = invoice_preview(
            livemode=subscription.livemode, render=render, subscription=subscription
        )
    except DomainError:
        rendered = None
    cache.set(key, rendered, KEEP_FOR)
    return rendered
