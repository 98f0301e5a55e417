"""Refunds: giving back all or part of a successful charge.

Like a charge (see ``payments.intents``), a refund is committed as ``pending`` with the
processor's idempotency key before the processor is asked, then recorded as succeeded or failed
in a second transaction. A crash in between leaves it pending; ``refund_resume`` (or
``refunds_resume`` from a worker) asks again with the same key and never refunds twice.
Pending refunds count against what is left to refund, so concurrent refunds cannot give back
more than was charged.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from django.db import transaction
from django.db.models import Sum

from billfold.core import clock
from billfold.core.errors import InvalidParam
from billfold.core.ids import new_id, random_string
from billfold.core.metadata import merge_metadata
from billfold.core.money import format_amount
from billfold.events.rendering import render_object
from billfold.events.services import event_record, event_record_update
from billfold.payments.errors import RefundRefused
from billfold.payments.intents import customer_moment, request_window_start, require_no_transaction
from billfold.payments.models import Charge, PaymentIntent, Refund
from billfold.payments.processors.base import RefundResult
from billfold.payments.processors.registry import processor_get

REASONS = ("duplicate", "fraudulent", "requested_by_customer")


def _charge_to_refund(charge: Charge | None, payment_intent: PaymentIntent | None) -> Charge:
    if charge is None and payment_intent is None:
        raise InvalidParam("Name what to refund: pass either `charge` or `payment_intent`.", param="charge")
    if payment_intent is not None:
        intent = PaymentIntent.objects.select_related("latest_charge").get(pk=payment_intent.pk)
        paid = intent.latest_charge if intent.status == "succeeded" else None
        if paid is None:
            raise RefundRefused(
                f"PaymentIntent {intent.public_id} does not have a successful charge to refund "
                f"(its status is {intent.status}).",
                code="charge_not_refundable",
                param="payment_intent",
            )
        if charge is not None and charge.pk != paid.pk:
            raise InvalidParam(
                f"The charge {charge.public_id} does not belong to PaymentIntent {intent.public_id}: pass only one "
                "of them.",
                param="charge",
            )
        charge = paid
    assert charge is not None
    return charge


def _refundable(charge: Charge) -> int:
    """Minor units still refundable: the amount less what was refunded and what is being refunded."""
    pending = charge.refunds.filter(status="pending").aggregate(total=Sum("amount"))["total"] or 0
    return charge.amount - charge.amount_refunded - pending


def refund_create(
    *,
    charge: Charge | None = None,
    payment_intent: PaymentIntent | None = None,
    amount: int | None = None,
    reason: str | None = None,
    metadata: Mapping[str, str | None] | None = None,
    request_key: str | None = None,
) -> Refund:
    """Refund ``amount`` minor units (all that is left when None) of a successful charge, named by
    the charge or by its payment intent. Refusals change nothing. Outside any transaction: the
    pending refund is committed before the processor is asked.

    ``request_key`` is the Idempotency-Key of the API request (see ``refund_of_request``).
    """
    require_no_transaction("refund_create")
    if reason is not None and reason not in REASONS:
        raise InvalidParam(f"Invalid reason: must be one of {', '.join(REASONS)}.", param="reason")
    with transaction.atomic(durable=True):
        charge = Charge.objects.select_for_update().get(pk=_charge_to_refund(charge, payment_intent).pk)
        if charge.status != "succeeded":
            raise RefundRefused(
                f"Charge {charge.public_id} failed, so there is nothing to refund.",
                code="charge_not_refundable",
                param="charge",
            )
        left = _refundable(charge)
        if left <= 0:
            raise RefundRefused(
                f"Charge {charge.public_id} has already been refunded.", code="charge_already_refunded", param="charge"
            )
        if amount is not None and amount <= 0:
            raise InvalidParam("The refund amount must be a positive number of minor units.", param="amount")
        if amount is not None and amount > left:
            raise InvalidParam(
                f"Refund amount ({format_amount(amount, charge.currency)}) is greater than unrefunded amount on "
                f"charge ({format_amount(left, charge.currency)}).",
                param="amount",
                code="amount_too_large",
            )
        refund = Refund.objects.create(
            public_id=new_id("re"),
            livemode=charge.livemode,
            created=customer_moment(charge.customer),
            charge=charge,
            payment_intent_id=charge.payment_intent_id,
            amount=amount if amount is not None else left,
            currency=charge.currency,
            reason=reason,
            status="pending",
            processor=charge.processor,
            processor_key=f"billfold_re_{random_string(32)}",
            request_key=request_key,
            metadata=merge_metadata({}, metadata or {}),
        )
    return _finish(refund)


def refund_of_request(*, livemode: bool, request_key: str) -> Refund | None:
    """The refund an API request with this Idempotency-Key created, if that request died before answering."""
    return (
        Refund.objects.filter(livemode=livemode, request_key=request_key, requested_at__gte=request_window_start())
        .order_by("pk")
        .first()
    )


def _finish(refund: Refund) -> Refund:
    """Ask the processor (no transaction open), then record what it answered."""
    charge = refund.charge
    result = processor_get(refund.processor).refund(
        charge_reference=charge.processor_reference,
        amount=refund.amount,
        currency=refund.currency,
        idempotency_key=refund.processor_key,
        livemode=refund.livemode,
    )
    return _record(refund, result)


def _record(refund: Refund, result: RefundResult) -> Refund:
    with transaction.atomic(durable=True):
        refund = Refund.objects.select_for_update().get(pk=refund.pk)
        if refund.status != "pending":
            return refund  # another resumer recorded it first
        charge = Charge.objects.select_for_update(of=("self",)).select_related("customer").get(pk=refund.charge_id)
        moment = customer_moment(charge.customer)
        refund.processor_reference = result.reference
        if result.status == "succeeded":
            before = render_object(charge)
            refund.status = "succeeded"
            refund.save()
            charge.amount_refunded += refund.amount
            charge.save(update_fields=["amount_refunded"])
            event_record(type="refund.created", obj=refund, livemode=refund.livemode, created=moment)
            event_record_update(
                type="charge.refunded", obj=charge, livemode=charge.livemode, before=before, created=moment
            )
        else:
            refund.status = "failed"
            refund.failure_reason = result.failure_reason or "unknown"
            refund.save()
            event_record(type="refund.created", obj=refund, livemode=refund.livemode, created=moment)
            event_record(type="refund.failed", obj=refund, livemode=refund.livemode, created=moment)
        return refund


def refund_resume(*, refund: Refund) -> Refund:
    """Finish a refund a crash left pending; outside any transaction."""
    require_no_transaction("refund_resume")
    refund = Refund.objects.select_related("charge").get(pk=refund.pk)
    return _finish(refund) if refund.status == "pending" else refund


def refunds_resume(*, older_than: dt.timedelta) -> int:
    """Finish every refund pending for longer than ``older_than`` (a worker's crash recovery)."""
    cutoff = clock.now() - older_than
    pending = list(Refund.objects.filter(status="pending", requested_at__lt=cutoff).values_list("pk", flat=True))
    for refund_id in pending:
        refund_resume(refund=Refund(pk=refund_id))
    return len(pending)


@transaction.atomic
def refund_update(*, refund: Refund, metadata: Mapping[str, str | None] | None) -> Refund:
    """Change a refund's metadata (the only thing that can change), with ``refund.updated``."""
    refund = Refund.objects.select_for_update(of=("self",)).select_related("charge__customer").get(pk=refund.pk)
    before = render_object(refund)
    refund.metadata = merge_metadata(refund.metadata, metadata) if metadata is not None else {}
    refund.save(update_fields=["metadata"])
    event_record_update(type="refund.updated", obj=refund, livemode=refund.livemode, before=before)
    return refund
