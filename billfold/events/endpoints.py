"""Webhook endpoints: writes (one transaction each), reads, and routing new events to them.

Stripe writes no event about webhook endpoints themselves, so neither does Billfold.

Routing runs on every event written (``route_event``, an event subscriber), on the API's hot path.
Each process keeps the enabled endpoints in memory with the ``WebhookEndpointsVersion`` token it
read them under; every endpoint change writes a new token in its transaction. Recording an event
therefore costs one primary-key read (plain SQL, ~16 µs on SQLite) when no endpoint wants it,
plus the delivery rows and the ``pending_webhooks`` count when some do, all in the event's own
transaction.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.db import connection, transaction
from django.db.models import F, QuerySet

from billfold.core import clock
from billfold.core.errors import InvalidParam, NotFound
from billfold.core.ids import new_id, random_string
from billfold.core.metadata import merge_metadata
from billfold.events.addresses import address_refusal
from billfold.events.event_types import EVENT_TYPES
from billfold.events.models import Event, WebhookDelivery, WebhookEndpoint, WebhookEndpointsVersion
from billfold.events.services import API_VERSION
from billfold.events.signing import new_secret, secret_decrypt, secret_encrypt

# How long the previous secret keeps signing after a roll, so receivers can switch without a gap.
PREVIOUS_SECRET_VALID_FOR = dt.timedelta(hours=24)
MAX_URL_LENGTH = 2048
# Stripe's limit per account and mode; it also keeps routing an event cheap.
MAX_ENDPOINTS = 16


# --- checks ----------------------------------------------------------------------------------------


def _url_check(url: str, *, livemode: bool, param: str = "url") -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidParam(
            f"Invalid URL: '{url[:100]}'. Give an absolute http:// or https:// URL such as "
            "https://example.com/webhooks.",
            param=param,
        )
    if len(url) > MAX_URL_LENGTH:
        raise InvalidParam(f"Invalid URL: it must be at most {MAX_URL_LENGTH} characters long.", param=param)
    if parts.username is not None or parts.password is not None:
        raise InvalidParam("Invalid URL: it must not contain a user name or password.", param=param)
    try:
        parts.port  # noqa: B018 - raises on a port out of range or not a number
    except ValueError:
        raise InvalidParam(f"Invalid URL: '{url[:100]}' has an invalid port.", param=param) from None
    try:
        literal = ipaddress.ip_address(parts.hostname)
    except ValueError:
        literal = None
    # Host names are checked when each delivery resolves them; an address given outright, now.
    if literal is not None and (refusal := address_refusal(literal, livemode=livemode)) is not None:
        raise InvalidParam(f"Invalid URL: {refusal}", param=param)
    return url.strip()


def _events_check(events: Sequence[str], *, param: str = "enabled_events") -> list[str]:
    if not events:
        raise InvalidParam(
            "Give at least one event type in enabled_events, or ['*'] for all of them.",
            param=param,
            code="parameter_missing",
        )
    cleaned: list[str] = []
    for index, name in enumerate(events):
        if name != "*" and name not in EVENT_TYPES:
            raise InvalidParam(
                f"Invalid event type: '{name[:100]}' is not an event type (e.g. customer.created, invoice.paid); "
                "give '*' for all of them.",
                param=f"{param}[{index}]",
            )
        if name not in cleaned:
            cleaned.append(name)
    if "*" in cleaned:
        # All events already include every listed one; Stripe stores the wildcard alone.
        return ["*"]
    return cleaned


def _api_version_check(version: str) -> str:
    if version != API_VERSION:
        raise InvalidParam(
            f"Invalid api_version: Billfold renders events in API version {API_VERSION} only; give that or "
            "leave api_version out.",
            param="api_version",
        )
    return version


def _version_bump() -> None:
    """Tell every process the endpoint list changed (in the caller's transaction)."""
    token = random_string(24)
    if WebhookEndpointsVersion.objects.filter(pk=1).update(token=token) == 0:
        WebhookEndpointsVersion.objects.create(pk=1, token=token)


# --- writes ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewEndpoint:
    """An endpoint just made, with its signing secret: shown this once, never again."""

    endpoint: WebhookEndpoint
    secret: str


@transaction.atomic
def webhook_endpoint_create(
    *,
    livemode: bool,
    url: str,
    enabled_events: Sequence[str],
    description: str | None = None,
    api_version: str | None = None,
    metadata: Mapping[str, str | None] | None = None,
) -> NewEndpoint:
    url = _url_check(url, livemode=livemode)
    events = _events_check(enabled_events)
    if api_version is not None:
        _api_version_check(api_version)
    if WebhookEndpoint.objects.filter(livemode=livemode).count() >= MAX_ENDPOINTS:
        raise InvalidParam(
            f"You can have at most {MAX_ENDPOINTS} webhook endpoints in {'live' if livemode else 'test'} mode. "
            "Delete one you no longer use first.",
            param="url",
        )
    secret = new_secret()
    endpoint = WebhookEndpoint(
        public_id=new_id("we"),
        livemode=livemode,
        created=clock.now(),
        url=url,
        description=description,
        enabled_events=events,
        api_version=api_version,
        metadata=merge_metadata({}, metadata or {}),
        secret_encrypted=secret_encrypt(secret),
    )
    endpoint.save(force_insert=True)
    _version_bump()
    return NewEndpoint(endpoint=endpoint, secret=secret)


def _fail_pending(endpoint: WebhookEndpoint, *, delete: bool) -> None:
    """Stop the deliveries still waiting for ``endpoint`` (disabled or deleted).

    Deleted: its deliveries go, and their events no longer count them as pending (Stripe's
    ``pending_webhooks`` counts deliveries to the endpoints that exist). Disabled: they are
    marked failed and still count, as undelivered.
    """
    if delete:
        undelivered = WebhookDelivery.objects.filter(endpoint=endpoint).exclude(status=WebhookDelivery.SUCCEEDED)
        Event.objects.filter(pk__in=undelivered.values("event_id"), pending_webhooks__gt=0).update(
            pending_webhooks=F("pending_webhooks") - 1
        )
        return
    WebhookDelivery.objects.filter(endpoint=endpoint, status=WebhookDelivery.PENDING).update(
        status=WebhookDelivery.FAILED, next_attempt_at=None, finished=clock.now(), claimed_until=None
    )


@transaction.atomic
def webhook_endpoint_update(*, endpoint: WebhookEndpoint, values: Mapping[str, Any]) -> WebhookEndpoint:
    """Change ``url``, ``enabled_events``, ``description`` (None unsets), ``disabled``, ``metadata``.

    Disabling stops the deliveries still pending for it (they are marked failed).
    """
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    if "url" in values:
        endpoint.url = _url_check(values["url"], livemode=endpoint.livemode)
    if "enabled_events" in values:
        endpoint.enabled_events = _events_check(values["enabled_events"])
    if "description" in values:
        endpoint.description = values["description"]
    if "metadata" in values:
        endpoint.metadata = merge_metadata(endpoint.metadata, values["metadata"])
    if "disabled" in values:
        status = WebhookEndpoint.DISABLED if values["disabled"] else WebhookEndpoint.ENABLED
        if status == WebhookEndpoint.DISABLED and endpoint.status == WebhookEndpoint.ENABLED:
            _fail_pending(endpoint, delete=False)
        endpoint.status = status
    endpoint.save()
    _version_bump()
    return endpoint


@transaction.atomic
def webhook_endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    _fail_pending(endpoint, delete=True)
    endpoint.delete()
    _version_bump()


@transaction.atomic
def webhook_endpoint_roll_secret(
    *, endpoint: WebhookEndpoint, keep_previous_for: dt.timedelta = PREVIOUS_SECRET_VALID_FOR
) -> NewEndpoint:
    """A new signing secret; the current one keeps signing beside it for ``keep_previous_for``
    (zero: it stops at once, for a secret that leaked). Deliveries then carry both signatures."""
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    secret = new_secret()
    if keep_previous_for > dt.timedelta(0):
        endpoint.previous_secret_encrypted = endpoint.secret_encrypted
        endpoint.previous_secret_expires = clock.now() + keep_previous_for
    else:
        endpoint.previous_secret_encrypted = None
        endpoint.previous_secret_expires = None
    endpoint.secret_encrypted = secret_encrypt(secret)
    endpoint.save()
    return NewEndpoint(endpoint=endpoint, secret=secret)


# --- reads -----------------------------------------------------------------------------------------


def webhook_endpoint_get(*, public_id: str, livemode: bool) -> WebhookEndpoint:
    endpoint = WebhookEndpoint.objects.filter(public_id=public_id, livemode=livemode).first()
    if endpoint is None:
        raise NotFound("webhook_endpoint", public_id)
    return endpoint


def webhook_endpoint_list(*, livemode: bool) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.filter(livemode=livemode)


def webhook_endpoint_secrets(endpoint: WebhookEndpoint, *, now: dt.datetime) -> list[str]:
    """The secrets that sign a delivery sent at ``now``: the current one, then the previous one
    while it is still valid."""
    secrets = [secret_decrypt(endpoint.secret_encrypted)]
    if (
        endpoint.previous_secret_encrypted is not None
        and endpoint.previous_secret_expires is not None
        and now < endpoint.previous_secret_expires
    ):
        secrets.append(secret_decrypt(endpoint.previous_secret_encrypted))
    return secrets


# --- routing new events (an event subscriber) --------------------------------------------------------


@dataclass(frozen=True)
class _Route:
    pk: int
    livemode: bool
    everything: bool
    types: frozenset[str]


# (version token, enabled endpoints). Replaced whole, so threads never see it half-built.
_cache: tuple[str, tuple[_Route, ...]] | None = None


def _version_token() -> str | None:
    # Plain SQL: the ORM compiling this one-row read on every event cost 20 times its execution
    # (~340 µs against ~16 µs on SQLite), on every API write.
    table = connection.ops.quote_name(WebhookEndpointsVersion._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT token FROM {table} WHERE id = 1")  # noqa: S608 - a model's table name
        row = cursor.fetchone()
    return str(row[0]) if row is not None else None


def _routes() -> tuple[_Route, ...]:
    global _cache
    token = _version_token()
    if token is None:
        # Never changed through the services (a fresh database): nothing to cache against.
        return ()
    cached = _cache
    if cached is not None and cached[0] == token:
        return cached[1]
    routes = tuple(
        _Route(pk=pk, livemode=livemode, everything="*" in events, types=frozenset(events))
        for pk, livemode, events in WebhookEndpoint.objects.filter(status=WebhookEndpoint.ENABLED).values_list(
            "pk", "livemode", "enabled_events"
        )
    )
    _cache = (token, routes)
    return routes


def route_event(event: Event) -> None:
    """Create the event's deliveries, one per enabled endpoint of its mode that wants its type."""
    _route(event, _routes())


def route_events(events: Sequence[Event]) -> None:
    """``route_event`` for events written together, reading the endpoints' version once."""
    routes = _routes()
    if routes:
        for event in events:
            _route(event, routes)


def _route(event: Event, routes: tuple[_Route, ...]) -> None:
    targets = [
        route.pk
        for route in routes
        if route.livemode == event.livemode and (route.everything or event.type in route.types)
    ]
    if not targets:
        return
    # Server time, not the event's (which a test clock may have moved): retries run on it.
    now = connection.ops.adapt_datetimefield_value(clock.now())
    quote = connection.ops.quote_name
    deliveries, events = quote(WebhookDelivery._meta.db_table), quote(Event._meta.db_table)
    # Plain SQL again, for the same reason as the version read: the ORM's bulk_create and update
    # cost ~0.5 ms per event to compile, on every API write once an endpoint takes all events.
    values = ", ".join(["(%s, %s, %s, %s, %s, %s, 0)"] * len(targets))
    params: list[Any] = []
    for pk in targets:
        params += [event.pk, pk, event.livemode, now, WebhookDelivery.PENDING, now]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {deliveries} (event_id, endpoint_id, livemode, created, status, next_attempt_at, attempts) "  # noqa: S608
            f"VALUES {values}",
            params,
        )
        cursor.execute(
            f"UPDATE {events} SET pending_webhooks = pending_webhooks + %s WHERE id = %s",  # noqa: S608
            [len(targets), event.pk],
        )
    event.pending_webhooks += len(targets)
