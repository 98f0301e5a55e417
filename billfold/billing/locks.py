"""The one order in which billing services take row locks, so two of them can never deadlock.

**Subscription → invoice → customer → payment intent.** A service that locks more than one of
these rows takes them in that order, skipping the ones it does not need:

- subscription writes (create, update, cancel, resume, the engine's renewals) lock the
  subscription first, then the invoices they make or change, whose finalization locks the
  customer (invoice number, balance);
- a subscription schedule is only ever locked (``schedule_locked``) by a
  transaction that already holds its subscription's lock (schedule writes, the engine's phase
  changes, a cancellation stopping the schedule), so two of them can never hold one each;
- invoice services that can move a subscription (pay, the dunning retries, void, mark
  uncollectible) lock the invoice's subscription *before* the invoice (``invoice_locked``);
- voiding cancels the invoice's PaymentIntent last.

On PostgreSQL two transactions that take the same two rows in opposite orders deadlock, and the
database aborts one of them: a customer canceling while a dunning retry records its payment
would get an error instead of a canceled subscription. With one order the later transaction
waits for the earlier one and then sees what it did. SQLite has one writer at a time and takes
its lock when a transaction begins, so the order does not matter there, but it costs nothing.
"""

from __future__ import annotations

from billfold.billing.models import Invoice, Subscription, SubscriptionSchedule


def schedule_locked(pk: int) -> SubscriptionSchedule:
    """The subscription schedule re-read under a row lock: only while holding its subscription's lock."""
    return (
        SubscriptionSchedule.objects.select_for_update(of=("self",))
        .select_related("customer", "subscription", "released_subscription")
        .get(pk=pk)
    )


def subscription_locked(pk: int) -> Subscription:
    """The subscription re-read under a row lock."""
    return (
        Subscription.objects.select_for_update(of=("self",))
        .select_related("customer", "default_payment_method", "latest_invoice")
        .get(pk=pk)
    )


def invoice_locked(invoice: Invoice) -> tuple[Subscription | None, Invoice]:
    """Lock the invoice's subscription (if it has one), then the invoice: the order above.

    The subscription an invoice belongs to never changes, so it can be read before any lock.
    """
    subscription = None
    if invoice.subscription_id is not None:
        pk = (
            Subscription.objects.filter(livemode=invoice.livemode, public_id=invoice.subscription_id)
            .values_list("pk", flat=True)
            .first()
        )
        subscription = subscription_locked(pk) if pk is not None else None
    locked = (
        Invoice.objects.select_for_update(of=("self",))
        .select_related("customer", "default_payment_method")
        .get(pk=invoice.pk)
    )
    return subscription, locked
