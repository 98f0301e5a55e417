"""Sending webhook deliveries: claim due deliveries, POST the signed events, record the attempts.

A delivery row is made with its event (``endpoints.route_event``). Workers claim due rows the way
the billing engine does (``billing/renewals.py``): ``claimed_until`` = now + ``lease()`` set in a
short transaction, chosen with ``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL and with a
conditional ``UPDATE`` on SQLite. A claim takes a batch of up to ``CLAIM_BATCH`` deliveries to one
endpoint and writes a random ``claim_token``; an attempt is recorded only while its row still
carries that token, so a worker whose lease ran out (it hung, it died) can never record over the
worker that took the row over, and a row is sent by one worker at a time. The POSTs happen with no
transaction open.

A 2xx answer is a success; anything else (another status, a timeout, a refused address) is
retried with exponential backoff, from ``FIRST_RETRY`` doubling up to ``MAX_RETRY_WAIT``, until
``GIVE_UP_AFTER`` from the delivery's creation, when it is marked failed. Every wait runs on
``core.clock``, so tests move time instead of sleeping.

``DeliveryThreads`` runs a small pool of sender threads beside the billing worker: one hanging
endpoint holds at most half of them, never the other endpoints' deliveries or the billing run.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

from cryptography.fernet import InvalidToken
from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.db.models import F, Q, QuerySet

from billfold.core import clock
from billfold.core.errors import DomainError
from billfold.core.ids import random_string
from billfold.events.endpoints import webhook_endpoint_secrets
from billfold.events.models import Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from billfold.events.outbound import Outcome, post
from billfold.events.rendering import encode_object, render_object
from billfold.events.signing import signature_header

logger = logging.getLogger("billfold.webhooks")

FIRST_RETRY = dt.timedelta(minutes=1)
MAX_RETRY_WAIT = dt.timedelta(hours=12)
GIVE_UP_AFTER = dt.timedelta(days=3)
# Idle sender threads look for due deliveries this often (seconds).
IDLE_WAIT = 0.5
# Deliveries to one endpoint claimed together and sent one after the other by one thread: each
# claim is a commit (an fsync on SQLite), which cost as much as the POST itself one at a time.
CLAIM_BATCH = 10
# The longest a batch's outcomes wait to be written (seconds), so pending_webhooks stays current.
RECORD_EVERY = 0.5


def lease() -> dt.timedelta:
    """How long a claim keeps other workers off a batch: well past the longest POSTs (connect and
    response timeouts, plus the capped read, for each of the batch), so a live worker's claim never
    runs out under it. It is also how long a batch of a worker that died waits to be taken over."""
    per_post = 4 * settings.BILLFOLD_WEBHOOK_TIMEOUT + 30
    return max(dt.timedelta(minutes=1), dt.timedelta(seconds=per_post * CLAIM_BATCH))


def retry_wait(attempts: int) -> dt.timedelta:
    """The wait after the ``attempts``-th failed attempt: 1 min, 2, 4, 8... capped at 12 hours."""
    return min(FIRST_RETRY * (1 << min(attempts - 1, 20)), MAX_RETRY_WAIT)


def event_body(event: Event) -> bytes:
    """The event exactly as ``GET /v1/events/{id}`` answers it now."""
    return encode_object(render_object(event))


def _unclaimed(now: dt.datetime) -> Q:
    return Q(claimed_until__isnull=True) | Q(claimed_until__lte=now)


def deliveries_due(*, now: dt.datetime) -> QuerySet[WebhookDelivery]:
    return WebhookDelivery.objects.filter(status=WebhookDelivery.PENDING, next_attempt_at__lte=now).filter(
        _unclaimed(now)
    )


@dataclass(frozen=True)
class Claim:
    delivery_id: int
    token: str
    endpoint_id: int


def delivery_claim(*, now: dt.datetime, limit: int = CLAIM_BATCH, busy_endpoints: Collection[int] = ()) -> list[Claim]:
    """Claim up to ``limit`` due deliveries nobody holds, all to one endpoint (the one whose delivery
    has waited longest), earliest due first, leaving out ``busy_endpoints`` (endpoints that already
    hold as many of the caller's senders as they may)."""
    due = deliveries_due(now=now)
    if busy_endpoints:
        due = due.exclude(endpoint_id__in=list(busy_endpoints))
    # A plain read first: idle senders must not take SQLite's write lock (or a PostgreSQL row lock)
    # every time they look, on a database the API is writing to.
    endpoint_id = due.order_by("next_attempt_at", "pk").values_list("endpoint_id", flat=True).first()
    if endpoint_id is None:
        return []
    token = random_string(24)
    update = {"claimed_until": now + lease(), "claim_token": token}
    # One endpoint per batch: a batch stuck behind an endpoint that hangs holds only its own rows.
    ordered = due.filter(endpoint_id=endpoint_id).order_by("next_attempt_at", "pk")
    if connection.vendor == "postgresql":
        with transaction.atomic():
            rows = list(ordered.select_for_update(skip_locked=True).values_list("pk", "endpoint_id")[:limit])
            if rows:
                WebhookDelivery.objects.filter(pk__in=[pk for pk, _ in rows]).update(**update)
        return [Claim(pk, token, endpoint_id) for pk, endpoint_id in rows]
    with transaction.atomic():
        # SQLite's transactions take the write lock as they begin (BEGIN IMMEDIATE), so no other
        # worker can claim between this read and the UPDATE: the rows read are the rows claimed.
        rows = list(ordered.values_list("pk", "endpoint_id")[:limit])
        ids = [pk for pk, _ in rows]
        # Conditional all the same: only rows still due and unclaimed are taken.
        if ids and deliveries_due(now=now).filter(pk__in=ids).update(**update) != len(ids):
            rows = list(WebhookDelivery.objects.filter(pk__in=ids, claim_token=token).values_list("pk", "endpoint_id"))
    return [Claim(pk, token, endpoint_id) for pk, endpoint_id in rows]


@dataclass(frozen=True)
class _Sent:
    delivery: WebhookDelivery
    claim: Claim
    started: dt.datetime
    ended: dt.datetime
    outcome: Outcome


def _claimed(claims: Sequence[Claim]) -> dict[int, WebhookDelivery]:
    """The claimed deliveries still this worker's, with their endpoint and event, in one query."""
    rows = WebhookDelivery.objects.select_related("endpoint", "event").filter(
        pk__in=[c.delivery_id for c in claims],
        claim_token__in={c.token for c in claims},
        status=WebhookDelivery.PENDING,
    )
    return {row.pk: row for row in rows}


def _send(delivery: WebhookDelivery, claim: Claim) -> _Sent:
    endpoint, event = delivery.endpoint, delivery.event
    started = clock.now()
    body = event_body(event)
    try:
        secrets = webhook_endpoint_secrets(endpoint, now=started)
    except InvalidToken:
        # Encrypted under another SECRET_KEY: an attempt that fails (and is retried, then fails for
        # good) rather than an error repeated each time the claim runs out.
        error = "the endpoint's signing secret cannot be decrypted (SECRET_KEY changed?); roll the secret"
        return _Sent(delivery, claim, started, clock.now(), Outcome(None, "", error, 0))
    # A new timestamp on every attempt: receivers reject old ones to stop replays.
    header = signature_header(body, secrets=secrets, timestamp=clock.to_unix(started))
    outcome = post(endpoint.url, body, headers={"Stripe-Signature": header}, livemode=delivery.livemode)
    return _Sent(delivery, claim, started, clock.now(), outcome)


def delivery_attempt(claim: Claim) -> Outcome | None:
    """Send the claimed delivery once and record the attempt; None when the claim is no longer
    this worker's (taken over after its lease ran out, or the endpoint was disabled meanwhile)."""
    delivery = _claimed([claim]).get(claim.delivery_id)
    if delivery is None:
        return None
    sent = _send(delivery, claim)
    _record([sent])
    return sent.outcome


def _record(batch: Sequence[_Sent]) -> None:
    """Write the attempts' outcomes in one transaction; each only while its claim is still ours."""
    if not batch:
        return
    quote, adapt = connection.ops.quote_name, connection.ops.adapt_datetimefield_value
    # Plain SQL for the per-delivery UPDATE: the ORM compiling it for every delivery was a third of
    # a delivery's CPU time (bench/README.md).
    update = (
        f"UPDATE {quote(WebhookDelivery._meta.db_table)} SET attempts = %s, status = %s, next_attempt_at = %s, "  # noqa: S608
        "finished = %s, claimed_until = NULL, claim_token = NULL WHERE id = %s AND claim_token = %s AND status = %s"
    )
    recorded: list[_Sent] = []
    with transaction.atomic(), connection.cursor() as cursor:
        for sent in batch:
            delivery, outcome = sent.delivery, sent.outcome
            attempts = delivery.attempts + 1
            give_up_at = delivery.created + GIVE_UP_AFTER
            status, next_attempt, finished = WebhookDelivery.PENDING, None, None
            if outcome.delivered:
                status, finished = WebhookDelivery.SUCCEEDED, sent.ended
            elif sent.ended >= give_up_at:
                status, finished = WebhookDelivery.FAILED, sent.ended
            else:
                # The last retry lands on the deadline itself rather than being skipped.
                next_attempt = min(sent.ended + retry_wait(attempts), give_up_at)
            cursor.execute(
                update,
                [
                    attempts,
                    status,
                    adapt(next_attempt),
                    adapt(finished),
                    delivery.pk,
                    sent.claim.token,
                    WebhookDelivery.PENDING,
                ],
            )
            if cursor.rowcount == 1:
                recorded.append(sent)
        WebhookAttempt.objects.bulk_create(
            [
                WebhookAttempt(
                    delivery_id=sent.delivery.pk,
                    started=sent.started,
                    duration_ms=sent.outcome.duration_ms,
                    status_code=sent.outcome.status_code,
                    response_excerpt=sent.outcome.excerpt,
                    error=sent.outcome.error,
                )
                for sent in recorded
            ]
        )
        # One endpoint per batch, so each event appears at most once here.
        delivered = [sent.delivery.event_id for sent in recorded if sent.outcome.delivered]
        if delivered:
            Event.objects.filter(pk__in=delivered, pending_webhooks__gt=0).update(
                pending_webhooks=F("pending_webhooks") - 1
            )
    for sent in recorded:
        if not sent.outcome.delivered:
            logger.info(
                "Webhook delivery %s to %s failed (attempt %s): %s",
                sent.delivery.pk,
                sent.delivery.endpoint.url,
                sent.delivery.attempts + 1,
                sent.outcome.status_code or sent.outcome.error,
            )


def delivery_release(claims: Sequence[Claim]) -> None:
    """Give claimed deliveries back unsent, so that any worker may take them at once."""
    for token in {claim.token for claim in claims}:
        WebhookDelivery.objects.filter(
            pk__in=[c.delivery_id for c in claims if c.token == token], claim_token=token
        ).update(claimed_until=None, claim_token=None)


def send_claimed(claims: Sequence[Claim], *, should_stop: Callable[[], bool] = lambda: False) -> int:
    """Send a claimed batch in order; how many were sent. After a failed attempt the rest is given
    back (the endpoint is likely down: no need to wait out its timeout for each), and so it is
    when asked to stop. Outcomes are written together, at the end or every ``RECORD_EVERY``
    seconds, so a batch costs one commit rather than one per delivery."""
    deliveries = _claimed(claims)
    unrecorded: list[_Sent] = []
    since = time.monotonic()
    sent = 0
    try:
        for index, claim in enumerate(claims):
            if should_stop():
                delivery_release(claims[index:])
                break
            delivery = deliveries.get(claim.delivery_id)
            if delivery is None:
                continue
            done = _send(delivery, claim)
            unrecorded.append(done)
            sent += 1
            if not done.outcome.delivered:
                delivery_release(claims[index + 1 :])
                break
            if time.monotonic() - since >= RECORD_EVERY:
                _record(unrecorded)
                unrecorded, since = [], time.monotonic()
    finally:
        _record(unrecorded)
    return sent


@transaction.atomic
def delivery_resend(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Stripe's "Resend": have the worker send the delivery's event to its endpoint now.

    A delivery still waiting for a retry becomes due at once (one being sent at this moment is left
    to its sender). A finished one, succeeded or failed, is opened again rather than copied, so its
    attempts stay in one history and ``pending_webhooks`` stays exact: it counts the delivery again
    only if it had succeeded. Retries after a failed resend still end ``GIVE_UP_AFTER`` from the
    delivery's creation: an old delivery gets this one attempt.
    """
    # Conditional updates rather than a lock: a worker recording an attempt meanwhile wins.
    row = WebhookDelivery.objects.select_related("endpoint").get(pk=delivery.pk)
    if row.endpoint.status != WebhookEndpoint.ENABLED:
        raise DomainError("This endpoint is disabled: enable it to send events to it again.")
    now = clock.now()
    if row.status == WebhookDelivery.PENDING:
        WebhookDelivery.objects.filter(pk=row.pk, status=WebhookDelivery.PENDING).filter(_unclaimed(now)).update(
            next_attempt_at=now
        )
    else:
        reopened = WebhookDelivery.objects.filter(pk=row.pk, status=row.status).update(
            status=WebhookDelivery.PENDING, next_attempt_at=now, finished=None, claimed_until=None, claim_token=None
        )
        if reopened and row.status == WebhookDelivery.SUCCEEDED:
            Event.objects.filter(pk=row.event_id).update(pending_webhooks=F("pending_webhooks") + 1)
    row.refresh_from_db()
    return row


def deliver_due(*, limit: int = 100) -> int:
    """Claim and send due deliveries (in this thread), up to about ``limit``; how many were sent."""
    sent = 0
    while sent < limit:
        claims = delivery_claim(now=clock.now())
        if not claims:
            break
        sent += send_claimed(claims)
    return sent


class DeliveryThreads:
    """A pool of sender threads, each claiming a batch of deliveries to one endpoint and sending them.

    One endpoint holds at most half the threads (at least one) at a time: an endpoint that hangs
    until the timeout on every delivery slows its own deliveries, never the other endpoints'.

    ``should_stop`` is the owner's stop flag (the worker's SIGTERM handler); ``exit_when_idle``
    makes the threads end once nothing is due (``billfold worker --once``). A thread stops after
    the POST it is in, which its timeouts bound.
    """

    def __init__(
        self,
        *,
        count: int | None = None,
        should_stop: Callable[[], bool] = lambda: False,
        exit_when_idle: bool = False,
    ) -> None:
        self.count = settings.BILLFOLD_WEBHOOK_THREADS if count is None else count
        self.should_stop = should_stop
        self.exit_when_idle = exit_when_idle
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.per_endpoint = max(1, self.count // 2)
        # Endpoint pk → this pool's threads sending to it now; claims are made under the lock.
        self._sending: Counter[int] = Counter()
        self._lock = threading.Lock()

    def start(self) -> None:
        for index in range(self.count):
            thread = threading.Thread(target=self._loop, name=f"webhooks-{index + 1}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()

    def join(self) -> None:
        for thread in self._threads:
            while thread.is_alive():
                thread.join(IDLE_WAIT)
                if self.should_stop():
                    self._stop.set()

    def finish(self) -> None:
        """Stop (or, with ``exit_when_idle``, let the threads finish what is due) and wait for them."""
        if not self.exit_when_idle:
            self.stop()
        self.join()

    def _stopping(self) -> bool:
        return self._stop.is_set() or self.should_stop()

    def _claim(self) -> list[Claim]:
        with self._lock:
            busy = [pk for pk, sending in self._sending.items() if sending >= self.per_endpoint]
            claims = delivery_claim(now=clock.now(), busy_endpoints=busy)
            if claims:
                self._sending[claims[0].endpoint_id] += 1
            return claims

    def _loop(self) -> None:
        try:
            while not self._stopping():
                try:
                    claims = self._claim()
                    if claims:
                        try:
                            send_claimed(claims, should_stop=self._stopping)
                        finally:
                            with self._lock:
                                self._sending[claims[0].endpoint_id] -= 1
                except Exception:
                    # The database went away or a row's work failed: start again on a fresh connection;
                    # the claim, if any, runs out and the row is tried again.
                    logger.exception("Sending a webhook delivery failed")
                    connection.close()
                    claims = []
                if not claims:
                    if self.exit_when_idle:
                        break
                    self._stop.wait(IDLE_WAIT)
                else:
                    close_old_connections()
        finally:
            connection.close()
