"""Portal sessions (``POST /v1/billing_portal/sessions``) and the browser access they open.

A session's ``url`` ends in a secret shown once; Billfold keeps its SHA-256. The link works once,
within ``SESSION_REDEEM_WITHIN`` of its creation (``portal_session_redeem``); redeeming it opens a
``PortalAccess`` whose own token the browser keeps (a cookie, for the pages). An access lasts
``ACCESS_IDLE_TIMEOUT`` after the last activity: every use slides it (``portal_access_use``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction

from billfold.billing.coupons import coupon_get, coupon_redeemable_check, promotion_code_get
from billfold.billing.models import Subscription
from billfold.catalog.models import Price
from billfold.core import clock
from billfold.core.crypto import constant_time_equals, new_token, sha256_hex
from billfold.core.errors import DomainError, InvalidParam, NotFound
from billfold.core.ids import new_id
from billfold.customers.models import Customer
from billfold.events.services import event_record
from billfold.portal import rules
from billfold.portal.configurations import portal_configuration_default, portal_configuration_get, url_check
from billfold.portal.models import LoginLink, PortalAccess, PortalConfiguration, PortalSession

SESSION_REDEEM_WITHIN = dt.timedelta(minutes=5)
ACCESS_IDLE_TIMEOUT = dt.timedelta(hours=1)
TOUCH_EVERY = dt.timedelta(seconds=30)
SESSION_PATH = "/p/session/"
# Stripe's portal locales; ``auto`` picks the customer's preferred_locales, then the browser's.
LOCALES = (
    "auto", "bg", "cs", "da", "de", "el", "en", "en-AU", "en-CA", "en-GB", "en-IE", "en-IN", "en-NZ", "en-SG",
    "es", "es-419", "et", "fi", "fil", "fr", "fr-CA", "hr", "hu", "id", "it", "ja", "ko", "lt", "lv", "ms", "mt",
    "nb", "nl", "pl", "pt", "pt-BR", "ro", "ru", "sk", "sl", "sv", "th", "tr", "vi", "zh", "zh-HK", "zh-TW",
)  # fmt: skip
FLOW_TYPES = ("payment_method_update", "subscription_cancel", "subscription_update", "subscription_update_confirm")
MAX_CUSTOM_MESSAGE = 500


class PortalLinkRefused(DomainError):
    """A portal link or access that no longer lets anyone in (pages show the message)."""

    http_status = 403

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message, code=code)


@dataclass(frozen=True)
class NewPortalSession:
    """A session just made, with its URL (holding the secret): shown this once."""

    session: PortalSession
    url: str


@dataclass(frozen=True)
class NewAccess:
    """A browser access just opened, with the token the browser keeps (never stored in clear)."""

    access: PortalAccess
    token: str


# --- flow_data ---------------------------------------------------------------------------------


def _p(*parts: str | int) -> str:
    first, *rest = parts
    return str(first) + "".join(f"[{part}]" for part in rest)


def _subscription_of(customer: Customer, subscription_id: str, *, param: str) -> Subscription:
    subscription = (
        Subscription.objects.select_related("customer")
        .filter(public_id=subscription_id, livemode=customer.livemode)
        .first()
    )
    if subscription is None:
        raise NotFound("subscription", subscription_id, param=param)
    if subscription.customer_id != customer.pk:
        raise InvalidParam(
            f"The subscription {subscription_id} belongs to another customer than {customer.public_id}.", param=param
        )
    return subscription


def _feature_required(configuration: PortalConfiguration, feature: str, flow_type: str) -> None:
    if not configuration.features[feature]["enabled"]:
        raise InvalidParam(
            f"The `{flow_type}` flow needs features[{feature}][enabled] on the portal configuration "
            f"{configuration.public_id}; enable it there or choose another flow.",
            param=_p("flow_data", "type"),
        )


def _after_completion(given: Mapping[str, Any] | None) -> dict[str, Any]:
    given = given or {}
    kind = given.get("type", "portal_homepage")
    base = ("flow_data", "after_completion")
    for key in ("redirect", "hosted_confirmation"):
        if key in given and kind != key:
            raise InvalidParam(
                f"flow_data[after_completion][{key}] can only be given when flow_data[after_completion][type] is "
                f"`{key}`.",
                param=_p(*base, key),
            )
    redirect = None
    if kind == "redirect":
        if given.get("redirect") is None:
            raise InvalidParam(
                "Missing required param: flow_data[after_completion][redirect][return_url].",
                param=_p(*base, "redirect", "return_url"),
                code="parameter_missing",
            )
        redirect = {"return_url": url_check(given["redirect"]["return_url"], param=_p(*base, "redirect", "return_url"))}
    hosted = None
    if kind == "hosted_confirmation":
        message = (given.get("hosted_confirmation") or {}).get("custom_message")
        hosted = {"custom_message": message}
    return {"hosted_confirmation": hosted, "redirect": redirect, "type": kind}


def _cancel_flow(given: Mapping[str, Any], customer: Customer) -> dict[str, Any]:
    base = ("flow_data", "subscription_cancel")
    subscription = _subscription_of(customer, given["subscription"], param=_p(*base, "subscription"))
    problem = rules.subscription_cancel_problem(subscription)
    if problem is not None:
        raise InvalidParam(f"This subscription cannot be canceled: {problem}", param=_p(*base, "subscription"))
    retention = None
    if (given_retention := given.get("retention")) is not None:
        offer = given_retention.get("coupon_offer")
        if offer is None:
            raise InvalidParam(
                "Missing required param: flow_data[subscription_cancel][retention][coupon_offer].",
                param=_p(*base, "retention", "coupon_offer"),
                code="parameter_missing",
            )
        coupon_param = _p(*base, "retention", "coupon_offer", "coupon")
        coupon = coupon_get(public_id=offer["coupon"], livemode=customer.livemode, param=coupon_param)
        coupon_redeemable_check(coupon=coupon, currency=subscription.currency, param=coupon_param)
        retention = {"coupon_offer": {"coupon": coupon.public_id}, "type": "coupon_offer"}
    return {"retention": retention, "subscription": subscription.public_id}


def _updatable(given: Mapping[str, Any], customer: Customer, base: tuple[str, ...]) -> Subscription:
    subscription = _subscription_of(customer, given["subscription"], param=_p(*base, "subscription"))
    problem = rules.subscription_update_problem(subscription)
    if problem is not None:
        raise InvalidParam(f"This subscription cannot be updated: {problem}", param=_p(*base, "subscription"))
    return subscription


def _update_confirm_flow(given: Mapping[str, Any], customer: Customer) -> dict[str, Any]:
    base = ("flow_data", "subscription_update_confirm")
    subscription = _updatable(given, customer, base)
    items = given["items"]
    if len(items) != 1:
        raise InvalidParam(
            f"Give exactly one item in flow_data[subscription_update_confirm][items] (you gave {len(items)}): the "
            "portal confirms updates of single-item subscriptions.",
            param=_p(*base, "items"),
        )
    item = items[0]
    item_param = _p(*base, "items", 0)
    live = rules.live_items(subscription)
    if item["id"] not in {row.public_id for row in live}:
        raise InvalidParam(
            f"The subscription item {item['id']} is not an item of the subscription {subscription.public_id}.",
            param=_p(item_param, "id"),
        )
    if item.get("price") is None and item.get("quantity") is None:
        raise InvalidParam(
            "Give the new price or quantity (or both) of the item to update.",
            param=_p(item_param, "price"),
            code="parameter_missing",
        )
    if (price_id := item.get("price")) is not None:
        _confirm_price_check(price_id, subscription, param=_p(item_param, "price"))
    discounts = None
    if given.get("discounts") is not None:
        discounts = [
            _discount_clean(entry, subscription, param=_p(*base, "discounts", index))
            for index, entry in enumerate(given["discounts"])
        ]
    return {
        "discounts": discounts,
        "items": [{"id": item["id"], "price": item.get("price"), "quantity": item.get("quantity")}],
        "subscription": subscription.public_id,
    }


def _confirm_price_check(price_id: str, subscription: Subscription, *, param: str) -> None:
    price = Price.objects.filter(public_id=price_id, livemode=subscription.livemode).first()
    if price is None:
        raise NotFound("price", price_id, param=param)
    if not price.active:
        raise InvalidParam(f"The price {price_id} is inactive.", param=param)
    if price.recurring_interval is None or price.recurring_usage_type == "metered":
        raise InvalidParam(
            f"The price {price_id} is not a licensed recurring price; a subscription can only be updated to one.",
            param=param,
        )
    if price.currency != subscription.currency:
        raise InvalidParam(
            f"The price {price_id} is in {price.currency}, and the subscription {subscription.public_id} is billed "
            f"in {subscription.currency}.",
            param=param,
        )


def _discount_clean(entry: Mapping[str, Any], subscription: Subscription, *, param: str) -> dict[str, Any]:
    coupon_id, code_id = entry.get("coupon"), entry.get("promotion_code")
    if (coupon_id is None) == (code_id is None):
        raise InvalidParam("Give exactly one of coupon or promotion_code for each discount.", param=param)
    if coupon_id is not None:
        coupon = coupon_get(public_id=coupon_id, livemode=subscription.livemode, param=_p(param, "coupon"))
        coupon_redeemable_check(coupon=coupon, currency=subscription.currency, param=_p(param, "coupon"))
        return {"coupon": coupon.public_id, "promotion_code": None}
    assert code_id is not None
    code_param = _p(param, "promotion_code")
    code = promotion_code_get(public_id=code_id, livemode=subscription.livemode, param=code_param)
    if not code.active:
        raise InvalidParam(f"The promotion code {code.code} is inactive.", param=code_param)
    coupon_redeemable_check(coupon=code.coupon, currency=subscription.currency, param=code_param)
    return {"coupon": None, "promotion_code": code.public_id}


def _flow_clean(
    flow_data: Mapping[str, Any], *, customer: Customer, configuration: PortalConfiguration
) -> dict[str, Any]:
    kind = flow_data["type"]
    if kind not in FLOW_TYPES:
        raise InvalidParam(
            f"The `{kind}` flow is not available in Billfold's portal; choose one of {', '.join(FLOW_TYPES)}.",
            param=_p("flow_data", "type"),
        )
    for other in FLOW_TYPES:
        if other != kind and other in flow_data:
            raise InvalidParam(
                f"flow_data[{other}] can only be given when flow_data[type] is `{other}`.",
                param=_p("flow_data", other),
            )
    flow: dict[str, Any] = {
        "after_completion": _after_completion(flow_data.get("after_completion")),
        "subscription_cancel": None,
        "subscription_update": None,
        "subscription_update_confirm": None,
        "type": kind,
    }
    if kind == "payment_method_update":
        _feature_required(configuration, "payment_method_update", kind)
        return flow
    given = flow_data.get(kind)
    if given is None:
        raise InvalidParam(
            f"Missing required param: flow_data[{kind}].", param=_p("flow_data", kind), code="parameter_missing"
        )
    if kind == "subscription_cancel":
        _feature_required(configuration, "subscription_cancel", kind)
        flow[kind] = _cancel_flow(given, customer)
    elif kind == "subscription_update":
        _feature_required(configuration, "subscription_update", kind)
        flow[kind] = {"subscription": _updatable(given, customer, ("flow_data", kind)).public_id}
    else:
        _feature_required(configuration, "subscription_update", kind)
        flow[kind] = _update_confirm_flow(given, customer)
    return flow


# --- sessions ----------------------------------------------------------------------------------


def _session_url(secret: str) -> str:
    return f"{settings.SITE_URL}{SESSION_PATH}{secret}"


@transaction.atomic
def portal_session_create(
    *,
    livemode: bool,
    customer_id: str,
    configuration_id: str | None = None,
    return_url: str | None = None,
    locale: str | None = None,
    flow_data: Mapping[str, Any] | None = None,
) -> NewPortalSession:
    """A single-use link into the portal for ``customer_id``; writes ``billing_portal.session.created``."""
    customer = Customer.objects.filter(public_id=customer_id, livemode=livemode, deleted=False).first()
    if customer is None:
        raise NotFound("customer", customer_id, param="customer")
    if configuration_id is None:
        configuration = portal_configuration_default(livemode=livemode)
    else:
        configuration = portal_configuration_get(public_id=configuration_id, livemode=livemode, param="configuration")
        if not configuration.active:
            raise InvalidParam(
                f"The portal configuration {configuration_id} is inactive; activate it or use another one.",
                param="configuration",
            )
    if return_url is not None:
        return_url = url_check(return_url, param="return_url")
    else:
        return_url = configuration.default_return_url
        if return_url is None:
            raise InvalidParam(
                "Missing required param: return_url. Give one, or set default_return_url on the portal "
                f"configuration {configuration.public_id}.",
                param="return_url",
                code="parameter_missing",
            )
    if locale is not None and locale not in LOCALES:
        raise InvalidParam(f"Invalid locale: must be one of {', '.join(LOCALES)}.", param="locale")
    flow = _flow_clean(flow_data, customer=customer, configuration=configuration) if flow_data is not None else None
    secret = new_token(32)
    now = clock.now()
    session = PortalSession(
        public_id=new_id("bps"),
        livemode=livemode,
        created=now,
        customer=customer,
        configuration=configuration,
        return_url=return_url,
        locale=locale,
        flow=flow,
        secret_hash=sha256_hex(secret),
        redeem_by=now + SESSION_REDEEM_WITHIN,
    )
    session.save(force_insert=True)
    event_record(type="billing_portal.session.created", obj=session, livemode=livemode)
    return NewPortalSession(session=session, url=_session_url(secret))


def portal_access_open(
    *,
    customer: Customer,
    configuration: PortalConfiguration,
    via: str,
    session: PortalSession | None = None,
    login_link: LoginLink | None = None,
) -> NewAccess:
    """Sign a browser in as ``customer`` (after a redeemed session or a good login code)."""
    token = new_token(32)
    now = clock.now()
    access = PortalAccess.objects.create(
        livemode=customer.livemode,
        customer=customer,
        configuration=configuration,
        via=via,
        session=session,
        login_link=login_link,
        can_change_email=via != PortalAccess.LOGIN_LINK,
        token_hash=sha256_hex(token),
        created=now,
        last_active=now,
        expires=now + ACCESS_IDLE_TIMEOUT,
    )
    return NewAccess(access=access, token=token)


@transaction.atomic
def portal_session_redeem(*, secret: str) -> NewAccess:
    """Open the portal with a session URL's secret: once, within 5 minutes of the session's creation."""
    digest = sha256_hex(secret)
    session = (
        PortalSession.objects.select_for_update(of=("self",))
        .select_related("customer", "configuration")
        .filter(secret_hash=digest)
        .first()
    )
    # The lookup is by hash; comparing the hashes again in constant time keeps the check itself
    # free of timing differences whatever index the database uses.
    if session is None or not constant_time_equals(session.secret_hash, digest):
        raise PortalLinkRefused(
            "This portal link is not valid. Go back to the website you came from to open the portal again.",
            code="portal_session_invalid",
        )
    if session.redeemed is not None:
        raise PortalLinkRefused(
            "This portal link has already been used. Go back to the website you came from to open the portal again.",
            code="portal_session_used",
        )
    now = clock.now()
    if now >= session.redeem_by:
        raise PortalLinkRefused(
            "This portal link has expired. Go back to the website you came from to open the portal again.",
            code="portal_session_expired",
        )
    if session.customer.deleted or not session.configuration.active:
        raise PortalLinkRefused(
            "This portal is no longer available. Contact the business you came from for help.",
            code="portal_session_invalid",
        )
    session.redeemed = now
    session.save(update_fields=["redeemed"])
    return portal_access_open(
        customer=session.customer, configuration=session.configuration, via=PortalAccess.SESSION, session=session
    )


# --- browser access ----------------------------------------------------------------------------


def portal_access_get(*, token: str) -> PortalAccess | None:
    """The open, unexpired access the browser's ``token`` names, or None (read only)."""
    digest = sha256_hex(token)
    access = (
        PortalAccess.objects.select_related("customer", "configuration", "session", "login_link")
        .filter(token_hash=digest, ended__isnull=True)
        .first()
    )
    if access is None or not constant_time_equals(access.token_hash, digest):
        return None
    if clock.now() >= access.expires or access.customer.deleted:
        return None
    return access


def portal_access_touch(*, access: PortalAccess) -> bool:
    """Slide the access's expiry to an hour from now; False if it had expired or ended meanwhile."""
    now = clock.now()
    expires = now + ACCESS_IDLE_TIMEOUT
    slid = PortalAccess.objects.filter(pk=access.pk, ended__isnull=True, expires__gt=now).update(
        last_active=now, expires=expires
    )
    if slid:
        access.last_active, access.expires = now, expires
    return bool(slid)


def portal_access_use(*, token: str) -> PortalAccess | None:
    """What each portal page calls: the access for ``token``, kept alive by this use, or None.

    The expiry slides at most every ``TOUCH_EVERY``: a customer clicking through pages does not
    write to the database on each one, and their access ends an hour after their last activity
    give or take that much (never later)."""
    access = portal_access_get(token=token)
    if access is None:
        return None
    if clock.now() - access.last_active < TOUCH_EVERY:
        return access
    return access if portal_access_touch(access=access) else None


def portal_access_end(*, access: PortalAccess) -> None:
    """Sign the browser out: the token stops working at once."""
    PortalAccess.objects.filter(pk=access.pk, ended__isnull=True).update(ended=clock.now())
