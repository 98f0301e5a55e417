"""Paying an invoice with a card the customer types on one of Billfold's pages.

The hosted invoice page (and the portal, which sends customers there to pay) takes card details
instead of a saved payment method. The card becomes a payment method through the processor, pays
the invoice like ``POST /v1/invoices/{id}/pay`` with it, and, when the customer asks to keep it and
the payment went through, is attached and made the card future invoices are charged to: the
subscription's default when the invoice is a subscription's (it wins over the customer's), else the
customer's. This is what fixes a subscription whose card was declined.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any

from billfold.billing.invoices import invoice_pay
from billfold.billing.models import Invoice, Subscription
from billfold.billing.subscriptions.services import subscription_update
from billfold.core import clock
from billfold.core.errors import DomainError
from billfold.customers.services import customer_update
from billfold.payments.models import PaymentAttempt, PaymentMethod
from billfold.payments.processors.base import CardInput
from billfold.payments.services import payment_method_attach, payment_method_create

logger = logging.getLogger(__name__)

# Card testing (trying stolen numbers one after another) is refused on an invoice after this many
# declined cards within the window; the customer can come back later.
MAX_DECLINES = 10
DECLINE_WINDOW = dt.timedelta(hours=1)


class TooManyDeclines(DomainError):
    http_status = 429
    error_type = "invalid_request_error"

    def __init__(self) -> None:
        super().__init__(
            "Too many cards were declined for this invoice in the last hour. Please try again later or contact "
            "the business that sent it.",
            code="rate_limit",
        )


def invoice_declines_recent(invoice: Invoice) -> int:
    since = clock.now() - DECLINE_WINDOW
    return PaymentAttempt.objects.filter(
        payment_intent__livemode=invoice.livemode,
        payment_intent__invoice_id=invoice.public_id,
        status="declined",
        created__gte=since,
    ).count()


def invoice_pay_with_new_card(
    *, invoice: Invoice, card: CardInput, billing_details: Mapping[str, Any], save: bool
) -> Invoice:
    """Pay ``invoice`` with a newly typed card; a decline leaves the invoice open with the attempt
    recorded (read ``invoice.status`` and its payment intent's ``last_payment_error``), a card the
    processor refuses outright raises ``CardError``. Outside any transaction (the processor is called)."""
    if invoice_declines_recent(invoice) >= MAX_DECLINES:
        raise TooManyDeclines()
    payment_method = payment_method_create(livemode=invoice.livemode, card=card, billing_details=billing_details)
    invoice = invoice_pay(invoice=invoice, payment_method=payment_method)
    if invoice.status != "paid" or not save:
        return invoice
    try:
        _keep_for_future_payments(invoice, payment_method)
    except DomainError:
        # The payment went through; a card that could not be kept must not make it look failed.
        logger.exception("Invoice %s was paid, but its card could not be saved for future payments", invoice.public_id)
    return invoice


def _keep_for_future_payments(invoice: Invoice, payment_method: PaymentMethod) -> None:
    payment_method = payment_method_attach(payment_method=payment_method, customer=invoice.customer)
    subscription = (
        Subscription.objects.filter(livemode=invoice.livemode, public_id=invoice.subscription_id).first()
        if invoice.subscription_id
        else None
    )
    if subscription is not None and subscription.status not in ("canceled", "incomplete_expired"):
        subscription_update(subscription=subscription, values={"default_payment_method": payment_method})
    else:
        settings = {**invoice.customer.invoice_settings, "default_payment_method": payment_method.public_id}
        customer_update(customer=invoice.customer, values={"invoice_settings": settings})
