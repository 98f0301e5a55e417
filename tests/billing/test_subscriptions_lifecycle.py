"""Subscription statuses over time: trials, payment behaviors, cancellation, pausing, dunning, refusals."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import override_settings

from billfold.api.representations.invoice import render_invoice
from billfold.billing import invoices
from billfold.billing.models import Subscription
from billfold.billing.subscriptions import services, undo
from billfold.billing.subscriptions.common import SubscriptionStateError
from billfold.billing.subscriptions.preview import invoice_preview
from billfold.billing.subscriptions.rules import NoPaymentMethodForSubscription, SubscriptionPaymentFailed
from billfold.billing.subscriptions.status import subscription_payment_result
from billfold.core.clock import frozen_at
from billfold.core.errors import InvalidParam
from billfold.customers.services import customer_create, customer_update
from billfold.events.models import Event
from billfold.events.services import events_collected
from billfold.payments.models import Charge, PaymentIntent
from billfold.payments.services import payment_method_attach_id
from tests.billing.subscription_factories import (
    DAY,
    T0,
    advance,
    at,
    buyer,
    invoices_of,
    item_of,
    lines,
    pending,
    percent_off,
    recurring,
    snapshot,
    subscribe,
    types,
    update,
)

pytestmark = pytest.mark.django_db(transaction=True)
HALF = T0 + 15 * DAY
HOUR = dt.timedelta(hours=1)


def cancel(subscription: Subscription, when: Any = HALF, **options: Any) -> Subscription:
    with frozen_at(when):
        return services.subscription_cancel(subscription=subscription, **options)


# ---- Trials ---------------------------------------------------------------------------------------


def test_trial_with_a_card_warns_three_days_before_then_charges() -> None:
    subscription = subscribe(buyer(), recurring(1000), trial_period_days=14)
    assert (subscription.status, subscription.trial_start, subscription.trial_end) == ("trialing", T0, T0 + 14 * DAY)
    trial_invoice = subscription.latest_invoice
    assert trial_invoice is not None
    assert (trial_invoice.status, trial_invoice.total) == ("paid", 0)
    assert lines(trial_invoice) == [(0, "Trial period for Pro")]
    # invoice.upcoming 7 days before the trial's end, then trial_will_end 3 days before.
    assert subscription.next_action_at == T0 + 7 * DAY

    warned = advance(subscription, T0 + 11 * DAY)
    assert "customer.subscription.trial_will_end" in types(subscription.public_id)
    assert (warned.status, warned.next_action_at) == ("trialing", T0 + 14 * DAY)

    active = advance(warned, T0 + 14 * DAY)
    assert active.status == "active"
    assert active.billing_cycle_anchor == T0 + 14 * DAY
    assert (item_of(active).current_period_start, item_of(active).current_period_end) == (
        at(2030, 4, 15),
        at(2030, 5, 15),
    )
    first_paid = invoices_of(active)[-1]
    assert (first_paid.billing_reason, first_paid.status, first_paid.total) == ("subscription_cycle", "paid", 1000)
    assert types(subscription.public_id).count("customer.subscription.trial_will_end") == 1


@override_settings(BILLFOLD_UPCOMING_RENEWAL_DAYS="0")
def test_short_trial_warns_at_once() -> None:
    subscription = subscribe(buyer(), recurring(1000), trial_end=T0 + 2 * DAY)
    assert types(subscription.public_id) == [
        "customer.subscription.trial_will_end",
        "customer.subscription.created",
    ]
    assert subscription.next_action_at == T0 + 2 * DAY


def test_trial_without_a_card_ends_past_due_by_default() -> None:
    subscription = subscribe(buyer(card=None), recurring(1000), trial_period_days=7)
    assert subscription.status == "trialing"
    ended = advance(subscription, T0 + 7 * DAY)
    invoice = invoices_of(ended)[-1]
    assert (ended.status, invoice.status, invoice.attempt_count) == ("past_due", "open", 1)


def test_trial_without_a_card_can_pause_then_resume() -> None:
    customer = buyer(card=None)
    subscription = subscribe(
        customer,
        recurring(1000),
        trial_period_days=7,
        trial_settings={"end_behavior": {"missing_payment_method": "pause"}},
    )
    paused = advance(subscription, T0 + 7 * DAY)
    assert paused.status == "paused"
    assert types(subscription.public_id)[-2:] == ["customer.subscription.paused", "customer.subscription.updated"]
    with pytest.raises(SubscriptionStateError):
        update(paused, T0 + 8 * DAY, items=[{"id": item_of(paused).public_id, "quantity": 2}])

    card = payment_method_attach_id(public_id="pm_card_visa", customer=customer, param="payment_method")
    update(paused, T0 + 9 * DAY, default_payment_method=card)
    with frozen_at(T0 + 9 * DAY):
        resumed = services.subscription_resume(subscription=paused)
    assert resumed.status == "active"
    assert resumed.billing_cycle_anchor == T0 + 9 * DAY
    assert (resumed.latest_invoice.status, resumed.latest_invoice.total) == ("paid", 1000)  # type: ignore[union-attr]
    assert "customer.subscription.resumed" in types(subscription.public_id)


def test_resume_keeping_the_anchor_prorates_the_rest_of_the_period() -> None:
    subscription = subscribe(
        buyer(card=None),
        recurring(1000),
        trial_period_days=14,
        billing_cycle_anchor=T0 + 14 * DAY,
        trial_settings={"end_behavior": {"missing_payment_method": "pause"}},
    )
    paused = advance(subscription, T0 + 14 * DAY)
    with frozen_at(T0 + 29 * DAY):
        resumed = services.subscription_resume(subscription=paused, billing_cycle_anchor="unchanged")
    assert resumed.status == "active"
    assert resumed.billing_cycle_anchor == T0 + 14 * DAY
    # Resumed on Apr 30 in the Apr 15 - May 15 cycle: 15 of 30 days left.
    assert pending(resumed) == [(500, "Remaining time on Pro after 30 Apr 2030")]


def test_trial_without_a_card_can_cancel() -> None:
    subscription = subscribe(
        buyer(card=None),
        recurring(1000),
        trial_period_days=7,
        trial_settings={"end_behavior": {"missing_payment_method": "cancel"}},
    )
    ended = advance(subscription, T0 + 7 * DAY)
    assert (ended.status, ended.ended_at, ended.next_action_at) == ("canceled", T0 + 7 * DAY, None)
    assert types(subscription.public_id)[-1] == "customer.subscription.deleted"


def test_trial_end_now_bills_at_once() -> None:
    subscription = subscribe(buyer(), recurring(1000), trial_period_days=30)
    ended = update(subscription, HALF, trial_end="now")
    assert (ended.status, ended.trial_end, ended.billing_cycle_anchor) == ("active", HALF, HALF)
    assert (ended.latest_invoice.total, ended.latest_invoice.status) == (1000, "paid")  # type: ignore[union-attr]


def test_adding_a_trial_to_an_active_subscription_credits_the_unused_time() -> None:
    subscription = subscribe(buyer(), recurring(1000))
    trialing = update(subscription, HALF, trial_end=at(2030, 5, 10))
    assert (trialing.status, trialing.billing_cycle_anchor) == ("trialing", at(2030, 5, 10))
    assert pending(trialing) == [(-500, "Unused time on Pro after 16 Apr 2030")]
    assert invoices_of(advance(trialing, at(2030, 5, 10)))[-1].total == 500


# ---- Payment behaviors ----------------------------------------------------------------------------


def test_allow_incomplete_keeps_a_declined_subscription_incomplete_until_paid() -> None:
    subscription = subscribe(buyer(card="pm_card_chargeCustomerFail"), recurring(1000))
    invoice = subscription.latest_invoice
    assert invoice is not None
    assert (subscription.status, invoice.status, invoice.attempt_count) == ("incomplete", "open", 1)
    with pytest.raises(SubscriptionStateError):
        update(subscription, T0 + DAY, items=[{"id": item_of(subscription).public_id, "quantity": 2}])

    invoices.invoice_pay(invoice=invoice, payment_method="pm_card_visa")
    assert Subscription.objects.get(pk=subscription.pk).status == "active"


def test_incomplete_expires_after_23_hours_and_voids_its_invoice() -> None:
    subscription = subscribe(buyer(card="pm_card_chargeCustomerFail"), recurring(1000))
    assert subscription.next_action_at == T0 + 23 * HOUR
    expired = advance(subscription, T0 + DAY)
    assert (expired.status, expired.next_action_at) == ("incomplete_expired", None)
    assert invoices_of(expired)[0].status == "void"


def test_default_incomplete_leaves_the_payment_to_the_customer() -> None:
    subscription = subscribe(buyer(), recurring(1000), payment_behavior="default_incomplete")
    invoice = subscription.latest_invoice
    assert invoice is not None
    assert (subscription.status, invoice.status, invoice.next_payment_attempt) == ("incomplete", "open", None)
    assert PaymentIntent.objects.get().status == "requires_payment_method"
    assert Charge.objects.count() == 0


def test_error_if_incomplete_refuses_a_declined_card_and_keeps_nothing() -> None:
    customer = buyer(card="pm_card_chargeCustomerFail")
    price = recurring(1000)
    code = percent_off("10", "forever")
    before = snapshot()
    with pytest.raises(SubscriptionPaymentFailed) as refused:
        subscribe(customer, price, payment_behavior="error_if_incomplete", discounts=[{"coupon": code.public_id}])
    assert (refused.value.http_status, refused.value.error_type, refused.value.code) == (
        402,
        "card_error",
        "card_declined",
    )
    assert snapshot() == before


def test_taking_a_request_back_keeps_what_other_requests_wrote_meanwhile() -> None:
    """Undo removes only the events the refused request wrote: another request's change to the same
    customer, made between the checkpoint and the undo, keeps its event (its webhook, and the change
    of every page kept under the customer's events)."""
    customer = buyer()
    with events_collected() as written, frozen_at(T0):
        point = undo.checkpoint(customer=customer, events=written)
    with frozen_at(T0):
        customer_update(customer=customer, values={"address": {"line1": "1 Main St", "country": "US"}})
        undo.undo(point, subscription_id="sub_never_made", livemode=False)
    updated = Event.objects.filter(type="customer.updated", customer_id=customer.public_id)
    assert [e.data["object"]["address"]["line1"] for e in updated] == ["1 Main St"]


def test_error_if_incomplete_update_is_taken_back_whole() -> None:
    ten = recurring(1000)
    twenty = recurring(2000, product=ten.product.public_id)
    customer = buyer()
    subscription = subscribe(customer, ten)
    failing = payment_method_attach_id(public_id="pm_card_chargeCustomerFail", customer=customer, param="pm")
    subscription = update(subscription, T0 + DAY, default_payment_method=failing)
    before = snapshot()
    with pytest.raises(SubscriptionPaymentFailed):
        update(
            subscription,
            HALF,
            items=[{"id": item_of(subscription).public_id, "price": twenty}],
            proration_behavior="always_invoice",
            payment_behavior="error_if_incomplete",
        )
    assert snapshot() == before


def test_allow_incomplete_update_that_fails_makes_it_past_due() -> None:
    ten = recurring(1000)
    twenty = recurring(2000, product=ten.product.public_id)
    customer = buyer()
    subscription = subscribe(customer, ten)
    failing = payment_method_attach_id(public_id="pm_card_chargeCustomerFail", customer=customer, param="pm")
    subscription = update(subscription, T0 + DAY, default_payment_method=failing)
    updated = update(
        subscription,
        HALF,
        items=[{"id": item_of(subscription).public_id, "price": twenty}],
        proration_behavior="always_invoice",
    )
    assert (updated.status, item_of(updated).price) == ("past_due", twenty)


def test_send_invoice_is_active_and_past_due_after_the_due_date() -> None:
    subscription = subscribe(buyer(card=None), recurring(1000), collection_method="send_invoice", days_until_due=7)
    invoice = subscription.latest_invoice
    assert invoice is not None
    assert (subscription.status, invoice.status, invoice.due_date) == ("active", "open", T0 + 7 * DAY)
    assert "invoice.sent" in types(invoice.public_id)
    overdue = advance(subscription, T0 + 7 * DAY)
    assert overdue.status == "past_due"
    invoices.invoice_pay(invoice=invoice, paid_out_of_band=True)
    assert Subscription.objects.get(pk=subscription.pk).status == "active"


# ---- Dunning ----------------------------------------------------------------------------------------


def _failing_renewal() -> Subscription:
    customer = buyer()
    subscription = subscribe(customer, recurring(1000))
    failing = payment_method_attach_id(public_id="pm_card_chargeCustomerFail", customer=customer, param="pm")
    subscription = update(subscription, T0 + DAY, default_payment_method=failing)
    renewed = advance(subscription, at(2030, 5, 1))
    assert renewed.status == "past_due"
    return renewed


def test_exhausted_retries_cancel_by_default() -> None:
    renewed = _failing_renewal()
    with frozen_at(at(2030, 5, 15)):
        subscription_payment_result(invoice=invoices_of(renewed)[-1], succeeded=False, final=True)
    canceled = Subscription.objects.get(pk=renewed.pk)
    assert (canceled.status, canceled.cancellation_details["reason"]) == ("canceled", "payment_failed")
    assert types(renewed.public_id)[-1] == "customer.subscription.deleted"


@override_settings(BILLFOLD_DUNNING_FINAL_ACTION="unpaid")
def test_exhausted_retries_can_leave_it_unpaid_with_draft_renewals() -> None:
    renewed = _failing_renewal()
    with frozen_at(at(2030, 5, 15)):
        subscription_payment_result(invoice=invoices_of(renewed)[-1], succeeded=False, final=True)
    unpaid = advance(Subscription.objects.get(pk=renewed.pk), at(2030, 6, 1))
    assert unpaid.status == "unpaid"
    latest = invoices_of(unpaid)[-1]
    assert (latest.status, latest.auto_advance) == ("draft", False)


# ---- Cancellation -----------------------------------------------------------------------------------


def test_cancel_at_period_end_then_reactivate_then_cancel_for_good() -> None:
    subscription = subscribe(buyer(), recurring(1000))
    scheduled = update(subscription, T0 + 5 * DAY, cancel_at_period_end=True)
    assert (scheduled.cancel_at, scheduled.canceled_at, scheduled.status) == (at(2030, 5, 1), T0 + 5 * DAY, "active")
    reactivated = update(scheduled, T0 + 6 * DAY, cancel_at_period_end=False)
    assert (reactivated.cancel_at, reactivated.canceled_at, reactivated.cancel_at_period_end) == (None, None, False)
    update(reactivated, T0 + 7 * DAY, cancel_at_period_end=True)
    ended = advance(reactivated, at(2030, 5, 1))
    assert (ended.status, ended.ended_at, ended.canceled_at) == ("canceled", at(2030, 5, 1), T0 + 7 * DAY)
    assert [i.billing_reason for i in invoices_of(ended)] == ["subscription_create"]


def test_cancel_now_with_proration_and_final_invoice_credits_the_customer() -> None:
    subscription = subscribe(buyer(), recurring(1000))
    canceled = cancel(
        subscription, invoice_now=True, prorate=True, cancellation_details={"feedback": "too_expensive", "comment": "$"}
    )
    assert (canceled.status, canceled.canceled_at, canceled.ended_at) == ("canceled", HALF, HALF)
    assert canceled.cancellation_details == {
        "comment": "$",
        "feedback": "too_expensive",
        "reason": "cancellation_requested",
    }
    final = canceled.latest_invoice
    assert final is not None
    assert (final.total, final.status) == (-500, "paid")
    assert canceled.customer.balance == -500
    with pytest.raises(SubscriptionStateError):
        cancel(canceled)


def test_cancel_now_drops_pending_prorations() -> None:
    subscription = subscribe(buyer(), recurring(1000))
    updated = update(subscription, T0 + 5 * DAY, items=[{"id": item_of(subscription).public_id, "quantity": 2}])
    assert len(pending(updated)) == 2
    canceled = cancel(updated)
    assert pending(canceled) == []
    assert [i.total for i in invoices_of(canceled)] == [1000]


def test_cancel_at_inside_the_period_credits_and_ends_there() -> None:
    subscription = subscribe(buyer(), recurring(1000))
    scheduled = update(subscription, HALF, cancel_at=at(2030, 4, 21))
    assert item_of(scheduled).current_period_end == at(2030, 4, 21)
    assert pending(scheduled) == [(-333, "Unused time on Pro after 21 Apr 2030")]
    ended = advance(scheduled, at(2030, 4, 21))
    assert ended.status == "canceled"
    assert ended.customer.balance == -333


# ---- Pausing collection -----------------------------------------------------------------------------


def test_pause_collection_keeps_renewals_as_drafts_until_it_resumes() -> None:
    subscription = subscribe(buyer(), recurring(1000))
    paused = update(
        subscription, T0 + DAY, pause_collection={"behavior": "keep_as_draft", "resumes_at": at(2030, 5, 15)}
    )
    assert paused.pause_collection == {"behavior": "keep_as_draft", "resumes_at": int(at(2030, 5, 15).timestamp())}
    renewed = advance(paused, at(2030, 5, 1))
    draft = invoices_of(renewed)[-1]
    assert (renewed.status, draft.status, draft.auto_advance) == ("active", "draft", False)
    resumed = advance(renewed, at(2030, 5, 15))
    assert resumed.pause_collection is None
    assert invoices_of(advance(resumed, at(2030, 6, 1)))[-1].status == "paid"


def test_pause_collection_void_voids_renewals() -> None:
    subscription = subscribe(buyer(), recurring(1000))
    paused = update(subscription, T0 + DAY, pause_collection={"behavior": "void"})
    assert invoices_of(advance(paused, at(2030, 5, 1)))[-1].status == "void"


# ---- The engine ---------------------------------------------------------------------------------------


def test_advancing_twice_renews_once() -> None:
    subscription = subscribe(buyer(), recurring(1000))
    advance(subscription, at(2030, 5, 1))
    advance(subscription, at(2030, 5, 1))
    assert [i.billing_reason for i in invoices_of(subscription)] == ["subscription_create", "subscription_cycle"]
    assert Charge.objects.count() == 2


def test_advancing_far_catches_up_every_period_in_order() -> None:
    subscription = subscribe(buyer(), recurring(1000))
    caught_up = advance(subscription, at(2030, 8, 15))
    assert [i.period_end for i in invoices_of(caught_up)[1:]] == [
        at(2030, 5, 1),
        at(2030, 6, 1),
        at(2030, 7, 1),
        at(2030, 8, 1),
    ]
    assert item_of(caught_up).current_period_end == at(2030, 9, 1)


# ---- Preview --------------------------------------------------------------------------------------------


def test_preview_shows_the_prorations_the_update_then_makes() -> None:
    ten = recurring(1000)
    twenty = recurring(2000, product=ten.product.public_id)
    subscription = subscribe(buyer(), ten)
    change = {"items": [{"id": item_of(subscription).public_id, "price": twenty}], "proration_date": HALF}
    before = snapshot()
    with frozen_at(HALF + HOUR):
        preview = invoice_preview(
            livemode=False, render=render_invoice, subscription=subscription, subscription_details=change
        )
    assert snapshot() == before
    assert preview["id"].startswith("upcoming_in_")
    assert (preview["status"], preview["number"], preview["billing_reason"]) == ("draft", None, "subscription_cycle")
    assert [(line["amount"], line["description"]) for line in preview["lines"]["data"]] == [
        (-500, "Unused time on Pro after 16 Apr 2030"),
        (1000, "Remaining time on Pro after 16 Apr 2030"),
        (2000, "1 \u00d7 Pro (at $20.00 / month)"),
    ]
    assert preview["created"] == int(at(2030, 5, 1).timestamp())
    updated = update(subscription, HALF + 2 * HOUR, **change)
    assert [amount for amount, _ in pending(updated)] == [-500, 1000]


def test_preview_of_a_new_subscription_writes_nothing() -> None:
    customer = buyer()
    price = recurring(1000)
    before = snapshot()
    with frozen_at(HALF):
        preview = invoice_preview(
            livemode=False,
            render=render_invoice,
            customer=customer,
            subscription_details={"items": [{"price": price, "quantity": 2}], "billing_cycle_anchor": at(2030, 5, 1)},
        )
    assert snapshot() == before
    assert (preview["total"], preview["billing_reason"]) == (1000, "subscription_create")


# ---- Refusals --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("second", "param"),
    [
        ({"currency": "eur"}, "items[1][price]"),
        ({"interval": "year"}, "items[1][price]"),
    ],
)
def test_mixed_currencies_or_intervals_are_refused(second: dict[str, Any], param: str) -> None:
    customer, first, other = buyer(), recurring(1000), recurring(500, **second)
    before = snapshot()
    with pytest.raises(InvalidParam) as refused:
        subscribe(customer, first, other)
    assert refused.value.param == param
    assert snapshot() == before


def test_a_customer_keeps_one_currency() -> None:
    customer = buyer()
    subscribe(customer, recurring(1000))
    euros = recurring(900, currency="eur")
    before = snapshot()
    with pytest.raises(InvalidParam) as refused:
        subscribe(customer, euros)
    assert refused.value.code == "currency_mismatch"
    assert snapshot() == before


def test_no_card_is_refused_unless_the_customer_pays_later() -> None:
    customer, price = buyer(card=None), recurring(1000)
    before = snapshot()
    with pytest.raises(NoPaymentMethodForSubscription):
        subscribe(customer, price)
    assert snapshot() == before


def test_bad_states_and_values_are_refused_without_changes() -> None:
    subscription = subscribe(buyer(), recurring(1000))
    item_id = item_of(subscription).public_id
    refusals: list[tuple[dict[str, Any], type[Exception]]] = [
        ({"items": [{"id": item_id, "deleted": True}]}, InvalidParam),
        ({"items": [{"id": item_id, "quantity": 2}], "proration_date": at(2030, 3, 1)}, InvalidParam),
        ({"trial_end": at(2030, 3, 1)}, InvalidParam),
        ({"cancel_at": at(2030, 3, 1)}, InvalidParam),
        ({"payment_behavior": "pending_if_incomplete"}, InvalidParam),
    ]
    for values, error in refusals:
        before = snapshot()
        with pytest.raises(error):
            update(subscription, HALF, **values)
        assert snapshot() == before
    with frozen_at(HALF), pytest.raises(SubscriptionStateError):
        services.subscription_resume(subscription=subscription)
    canceled = cancel(subscription)
    before = snapshot()
    with pytest.raises(SubscriptionStateError):
        update(canceled, HALF + DAY, metadata={"a": "b"})
    assert snapshot() == before


def test_deleted_customer_cannot_subscribe() -> None:
    with frozen_at(T0):
        customer = customer_create(livemode=False, values={})
    customer.deleted = True
    customer.save()
    with pytest.raises(InvalidParam):
        subscribe(customer, recurring(1000))
