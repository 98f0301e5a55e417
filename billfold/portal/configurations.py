"""Portal configurations and their login links: writes (one transaction each, with their event) and reads.

``values`` hashes are the API's parameters after type checks (``None`` = unset with ``""``); the
rules that need the database or several fields at once live here so that the dashboard, which
calls the same functions, refuses exactly what the API refuses, with the same ``param`` names.

The default configuration of each mode is made on first use (``portal_configuration_default``)
rather than by a data migration: every reader of configurations goes through it, so it exists
from the first request even after a database is emptied (tests flush tables, an operator may
restore a dump), and it is made in the mode it is asked for with an ordinary creation event.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import QuerySet

from billfold.catalog.models import Price, Product
from billfold.core import clock
from billfold.core.errors import DomainError, InvalidParam, NotFound
from billfold.core.ids import new_id, random_string
from billfold.core.metadata import merge_metadata
from billfold.events.rendering import render_object
from billfold.events.services import changed_attributes, event_record
from billfold.portal.models import LoginLink, PortalConfiguration

MAX_PRODUCTS = 10
MAX_URL_LENGTH = 2048
CANCELLATION_REASONS = (
    "too_expensive",
    "missing_features",
    "switched_service",
    "unused",
    "customer_service",
    "too_complex",
    "low_quality",
    "other",
)
CUSTOMER_UPDATES = ("address", "email", "name", "phone", "shipping", "tax_id")
SUBSCRIPTION_UPDATES = ("price", "promotion_code", "quantity")
SCHEDULE_CONDITIONS = ("decreasing_item_amount", "shortening_interval")
# The path of the login page under SITE_URL; the portal's pages serve it.
LOGIN_PATH = "/p/login/"


def features_default() -> dict[str, Any]:
    """What a configuration offers for every feature its creation leaves out: nothing (as Stripe)."""
    return {
        "customer_update": {"allowed_updates": [], "enabled": False},
        "invoice_history": {"enabled": False},
        "payment_method_update": {"enabled": False, "payment_method_configuration": None},
        "subscription_cancel": {
            "cancellation_reason": {"enabled": False, "options": []},
            "enabled": False,
            "mode": "at_period_end",
            "proration_behavior": "none",
        },
        "subscription_update": {
            "default_allowed_updates": [],
            "enabled": False,
            "proration_behavior": "none",
            "schedule_at_period_end": {"conditions": []},
            "trial_update_behavior": "end_trial",
            "billing_cycle_anchor": None,
            "products": [],
        },
    }


def _default_configuration_values() -> dict[str, Any]:
    """The configuration a new installation starts with: a useful self-serve portal without plan
    changes (those need the merchant to pick products): billing details, invoices, cards, and
    cancellation at period end with a reason survey."""
    return {
        "features": {
            "customer_update": {"enabled": True, "allowed_updates": ["address", "email", "name", "phone", "tax_id"]},
            "invoice_history": {"enabled": True},
            "payment_method_update": {"enabled": True},
            "subscription_cancel": {
                "enabled": True,
                "mode": "at_period_end",
                "cancellation_reason": {
                    "enabled": True,
                    "options": ["too_expensive", "missing_features", "switched_service", "unused", "other"],
                },
            },
        },
    }


# --- checks ------------------------------------------------------------------------------------


def url_check(url: str, *, param: str) -> str:
    """An absolute http(s) URL, as Stripe requires for every URL a customer is sent to."""
    value = url.strip()
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(value) > MAX_URL_LENGTH:
        raise InvalidParam(
            f"Not a valid URL: '{url[:100]}'. Give an absolute http:// or https:// URL (at most "
            f"{MAX_URL_LENGTH} characters) such as https://example.com/account.",
            param=param,
            code="url_invalid",
        )
    return value


def _p(*parts: str | int) -> str:
    """``features[subscription_update][products][0]`` from its parts, as Stripe names parameters."""
    first, *rest = parts
    return str(first) + "".join(f"[{part}]" for part in rest)


def _distinct(values: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _products_clean(products: Sequence[Mapping[str, Any]], *, livemode: bool) -> list[dict[str, Any]]:
    base = ("features", "subscription_update", "products")
    if len(products) > MAX_PRODUCTS:
        raise InvalidParam(
            f"A portal configuration can offer at most {MAX_PRODUCTS} products for subscription updates; "
            f"you gave {len(products)}.",
            param=_p(*base),
        )
    cleaned: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, entry in enumerate(products):
        product_id = entry["product"]
        product_param = _p(*base, index, "product")
        product = Product.objects.filter(public_id=product_id, livemode=livemode, deleted=False).first()
        if product is None:
            raise NotFound("product", product_id, param=product_param)
        if not product.active:
            raise InvalidParam(
                f"The product {product_id} is archived; only active products can be offered in the portal.",
                param=product_param,
            )
        if product_id in seen:
            raise InvalidParam(f"The product {product_id} is listed more than once.", param=product_param)
        seen.add(product_id)
        price_ids = entry["prices"]
        if not price_ids:
            raise InvalidParam(
                f"Give at least one price of the product {product_id} that customers can switch to.",
                param=_p(*base, index, "prices"),
            )
        prices = {p.public_id: p for p in Price.objects.filter(public_id__in=price_ids, livemode=livemode)}
        for price_index, price_id in enumerate(price_ids):
            _price_check(prices.get(price_id), price_id, product_id, param=_p(*base, index, "prices", price_index))
        cleaned.append(
            {
                "adjustable_quantity": _quantity_clean(entry.get("adjustable_quantity"), param=_p(*base, index)),
                "prices": _distinct(price_ids),
                "product": product_id,
            }
        )
    return cleaned


def _price_check(price: Price | None, price_id: str, product_id: str, *, param: str) -> None:
    if price is None:
        raise NotFound("price", price_id, param=param)
    if price.product.public_id != product_id:
        raise InvalidParam(
            f"The price {price_id} belongs to the product {price.product.public_id}, not to {product_id}. "
            "List each price under its own product.",
            param=param,
        )
    if price.recurring_interval is None:
        raise InvalidParam(
            f"The price {price_id} is a one-time price; subscriptions can only be switched to recurring prices.",
            param=param,
        )
    if not price.active:
        raise InvalidParam(f"The price {price_id} is inactive; only active prices can be offered.", param=param)
    if price.recurring_usage_type == "metered":
        raise InvalidParam(
            f"The price {price_id} is usage-based (metered); the portal cannot switch subscriptions to it.",
            param=param,
        )


def _quantity_clean(value: Mapping[str, Any] | None, *, param: str) -> dict[str, Any]:
    """``adjustable_quantity``: off unless enabled; bounds only with ``enabled=true``, 0 ≤ minimum < maximum."""
    if value is None:
        return {"enabled": False, "maximum": None, "minimum": 1}
    param = _p(param, "adjustable_quantity")
    enabled = value["enabled"]
    minimum = value.get("minimum")
    maximum = value.get("maximum")
    if not enabled and (minimum is not None or maximum is not None):
        name = "minimum" if minimum is not None else "maximum"
        raise InvalidParam(
            f"{name} can only be set when adjustable_quantity[enabled] is true.",
            param=_p(param, name),
        )
    minimum = 1 if minimum is None else minimum
    if maximum is not None and maximum <= minimum:
        raise InvalidParam(
            f"The maximum quantity ({maximum}) must be greater than the minimum quantity ({minimum}).",
            param=_p(param, "maximum"),
        )
    return {"enabled": enabled, "maximum": maximum, "minimum": minimum}


def _features_merge(current: dict[str, Any], change: Mapping[str, Any], *, livemode: bool) -> dict[str, Any]:
    """``current`` with the features ``change`` gives (hashes merge key by key, as Stripe updates do)."""
    features = copy.deepcopy(current)
    if (given := change.get("customer_update")) is not None:
        target = features["customer_update"]
        if "enabled" in given:
            target["enabled"] = given["enabled"]
        if "allowed_updates" in given:
            target["allowed_updates"] = _distinct(given["allowed_updates"] or [])
    if (given := change.get("invoice_history")) is not None:
        features["invoice_history"]["enabled"] = given["enabled"]
    if (given := change.get("payment_method_update")) is not None:
        features["payment_method_update"]["enabled"] = given["enabled"]
        if given.get("payment_method_configuration"):
            # Billfold has one way to pay (cards through its processor) and no such objects.
            raise NotFound(
                "payment method configuration",
                given["payment_method_configuration"],
                param=_p("features", "payment_method_update", "payment_method_configuration"),
            )
    if (given := change.get("subscription_cancel")) is not None:
        _cancel_merge(features["subscription_cancel"], given)
    if (given := change.get("subscription_pause")) is not None and (given.get("enabled") or given.get("duration")):
        raise InvalidParam(
            "Billfold's portal cannot pause subscriptions; leave features[subscription_pause] out or set "
            "its enabled to false.",
            param=_p("features", "subscription_pause", "enabled" if given.get("enabled") else "duration"),
        )
    if (given := change.get("subscription_update")) is not None:
        _update_merge(features["subscription_update"], given, livemode=livemode)
    _features_check(features)
    return features


def _cancel_merge(target: dict[str, Any], given: Mapping[str, Any]) -> None:
    for key in ("enabled", "mode", "proration_behavior"):
        if key in given:
            target[key] = given[key]
    if (reason := given.get("cancellation_reason")) is not None:
        if reason.get("feedback_options"):
            raise InvalidParam(
                "Custom feedback options are not available in Billfold; choose among the standard reasons in "
                "cancellation_reason[options].",
                param=_p("features", "subscription_cancel", "cancellation_reason", "feedback_options"),
            )
        target["cancellation_reason"]["enabled"] = reason["enabled"]
        if "options" in reason:
            target["cancellation_reason"]["options"] = _distinct(reason["options"] or [])


def _update_merge(target: dict[str, Any], given: Mapping[str, Any], *, livemode: bool) -> None:
    for key in ("enabled", "proration_behavior", "trial_update_behavior", "billing_cycle_anchor"):
        if key in given:
            target[key] = given[key]
    if "default_allowed_updates" in given:
        target["default_allowed_updates"] = _distinct(given["default_allowed_updates"] or [])
    if "products" in given:
        target["products"] = _products_clean(given["products"] or [], livemode=livemode)
    if (schedule := given.get("schedule_at_period_end")) is not None and "conditions" in schedule:
        types = _distinct([condition["type"] for condition in schedule["conditions"] or []])
        target["schedule_at_period_end"] = {"conditions": [{"type": kind} for kind in types]}


def _features_check(features: Mapping[str, Any]) -> None:
    """Rules across fields, on the configuration as it would be after the change."""
    cancel = features["subscription_cancel"]
    cancel_param = ("features", "subscription_cancel", "proration_behavior")
    if cancel["proration_behavior"] == "always_invoice":
        raise InvalidParam(
            "proration_behavior `always_invoice` is not supported for subscription cancellations; use `none` "
            "or `create_prorations`.",
            param=_p(*cancel_param),
        )
    if cancel["proration_behavior"] == "create_prorations" and cancel["mode"] != "immediately":
        raise InvalidParam(
            "proration_behavior `create_prorations` is only compatible with mode `immediately`: a subscription "
            "canceled at the end of its period has nothing to prorate. Set mode to `immediately` or "
            "proration_behavior to `none`.",
            param=_p(*cancel_param),
        )
    reason = cancel["cancellation_reason"]
    if reason["enabled"] and not reason["options"]:
        raise InvalidParam(
            "Give at least one cancellation reason in options when the cancellation reason survey is enabled.",
            param=_p("features", "subscription_cancel", "cancellation_reason", "options"),
        )
    update = features["subscription_update"]
    if update["enabled"] and "price" in update["default_allowed_updates"] and not update["products"]:
        raise InvalidParam(
            "Customers can switch prices (default_allowed_updates includes `price`) only among the products you "
            "list: give at least one product with its prices in features[subscription_update][products].",
            param=_p("features", "subscription_update", "products"),
        )


def _business_profile_merge(current: Mapping[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    profile = {key: current.get(key) for key in ("headline", "privacy_policy_url", "terms_of_service_url")}
    for key, value in given.items():
        if value is not None and key != "headline":
            value = url_check(value, param=_p("business_profile", key))
        profile[key] = value
    return profile


def _apply(configuration: PortalConfiguration, values: Mapping[str, Any]) -> None:
    """Set everything ``values`` gives except the login page (which needs the row saved first)."""
    if "business_profile" in values:
        configuration.business_profile = _business_profile_merge(
            configuration.business_profile, values["business_profile"] or {}
        )
    if "default_return_url" in values:
        url = values["default_return_url"]
        configuration.default_return_url = url_check(url, param="default_return_url") if url is not None else None
    if "features" in values:
        configuration.features = _features_merge(
            configuration.features, values["features"] or {}, livemode=configuration.livemode
        )
    if "name" in values:
        configuration.name = values["name"]
    if "metadata" in values:
        configuration.metadata = merge_metadata(configuration.metadata, values["metadata"])
    if "active" in values:
        if not values["active"] and configuration.is_default:
            raise InvalidParam(
                "The default configuration cannot be deactivated: it is used by every portal session that names "
                "no configuration. Make another configuration the default first.",
                param="active",
            )
        configuration.active = values["active"]


# --- the login link ----------------------------------------------------------------------------


def login_page_url(link: LoginLink) -> str:
    return f"{settings.SITE_URL}{LOGIN_PATH}{link.token}"


def _login_page_set(configuration: PortalConfiguration, enabled: bool) -> None:
    """Turn the login page on (a new link if it was off) or off (the link dies for good)."""
    live = configuration.login_link
    if enabled and live is None:
        # Test-mode links say so in the URL, as Stripe's do; the rest is ~190 bits of randomness.
        prefix = "" if configuration.livemode else "test_"
        link = LoginLink.objects.create(
            configuration=configuration,
            livemode=configuration.livemode,
            token=f"{prefix}{random_string(32)}",
            created=clock.now(),
        )
        configuration.login_link = link
    elif not enabled and live is not None:
        LoginLink.objects.filter(pk=live.pk).update(deactivated=clock.now())
        configuration.login_link = None


# --- writes ------------------------------------------------------------------------------------


def _create(*, livemode: bool, values: Mapping[str, Any], is_default: bool) -> PortalConfiguration:
    now = clock.now()
    configuration = PortalConfiguration(
        public_id=new_id("bpc"),
        livemode=livemode,
        created=now,
        updated=now,
        is_default=is_default,
        business_profile={"headline": None, "privacy_policy_url": None, "terms_of_service_url": None},
        features=features_default(),
    )
    _apply(configuration, values)
    configuration.save(force_insert=True)
    login_page = values.get("login_page")
    if login_page is not None and login_page["enabled"]:
        _login_page_set(configuration, True)
        configuration.save(update_fields=["login_link"])
    event_record(type="billing_portal.configuration.created", obj=configuration, livemode=livemode)
    return configuration


@transaction.atomic
def portal_configuration_create(*, livemode: bool, values: Mapping[str, Any]) -> PortalConfiguration:
    """A new (not default) configuration. ``features`` is required, as on Stripe."""
    portal_configuration_default(livemode=livemode)
    return _create(livemode=livemode, values=values, is_default=False)


def portal_configuration_default(*, livemode: bool) -> PortalConfiguration:
    """The mode's default configuration, made on first use (see the module's docstring)."""
    found = _default_get(livemode)
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return _create(livemode=livemode, values=_default_configuration_values(), is_default=True)
    except IntegrityError:
        # Another process made it at the same moment (the one-default constraint refused ours).
        found = _default_get(livemode)
        if found is None:
            raise
        return found


def _default_get(livemode: bool) -> PortalConfiguration | None:
    return PortalConfiguration.objects.select_related("login_link").filter(livemode=livemode, is_default=True).first()


@transaction.atomic
def portal_configuration_update(
    *, configuration: PortalConfiguration, values: Mapping[str, Any]
) -> PortalConfiguration:
    """Change any of the creation's fields, plus ``active``. Refusals change nothing."""
    configuration = (
        PortalConfiguration.objects.select_for_update(of=("self",))
        .select_related("login_link")
        .get(pk=configuration.pk)
    )
    before = _rendered_with_products(configuration)
    state = copy.deepcopy(_state(configuration))
    _apply(configuration, values)
    if (login_page := values.get("login_page")) is not None:
        _login_page_set(configuration, login_page["enabled"])
    if _state(configuration) == state:
        return configuration  # nothing changed: no write, no event (as Stripe)
    configuration.updated = clock.now()
    configuration.save()
    _record_updated(configuration, before)
    return configuration


def _rendered_with_products(configuration: PortalConfiguration) -> dict[str, Any]:
    """The API's rendering with the includable ``features.subscription_update.products`` filled in."""
    rendered = render_object(configuration)
    rendered["features"]["subscription_update"]["products"] = copy.deepcopy(
        configuration.features["subscription_update"]["products"]
    )
    return rendered


def _record_updated(configuration: PortalConfiguration, before: dict[str, Any]) -> None:
    """``billing_portal.configuration.updated``; ``previous_attributes`` also shows the old products
    when they changed, though the object (as the API returns it by default) leaves them out."""
    after = _rendered_with_products(configuration)
    previous = changed_attributes(before, after)
    if previous:
        event_record(
            type="billing_portal.configuration.updated",
            obj=configuration,
            livemode=configuration.livemode,
            previous_attributes=previous,
            rendered=render_object(configuration),
        )


def _state(configuration: PortalConfiguration) -> tuple[Any, ...]:
    """Everything an update can touch, products included: when any of it differs, the update is a
    change (``updated`` moves and an event is written)."""
    return (
        configuration.active,
        configuration.name,
        configuration.business_profile,
        configuration.default_return_url,
        configuration.features,
        configuration.metadata,
        configuration.login_link_id,
    )


@transaction.atomic
def portal_configuration_make_default(*, configuration: PortalConfiguration) -> PortalConfiguration:
    """Make ``configuration`` (active) the default of its mode in place of the current one."""
    configuration = (
        PortalConfiguration.objects.select_for_update(of=("self",))
        .select_related("login_link")
        .get(pk=configuration.pk)
    )
    if configuration.is_default:
        return configuration
    if not configuration.active:
        raise DomainError(
            f"The configuration {configuration.public_id} is inactive; activate it before making it the default.",
            param="configuration",
        )
    current = portal_configuration_default(livemode=configuration.livemode)
    current = (
        PortalConfiguration.objects.select_for_update(of=("self",)).select_related("login_link").get(pk=current.pk)
    )
    now = clock.now()
    for row, is_default in ((current, False), (configuration, True)):
        before = _rendered_with_products(row)
        row.is_default = is_default
        row.updated = now
        # Cleared first, then set: the one-default constraint holds after each statement.
        row.save(update_fields=["is_default", "updated"])
        _record_updated(row, before)
    return configuration


# --- reads -------------------------------------------------------------------------------------


def portal_configuration_get(*, public_id: str, livemode: bool, param: str = "id") -> PortalConfiguration:
    portal_configuration_default(livemode=livemode)
    found = (
        PortalConfiguration.objects.select_related("login_link").filter(public_id=public_id, livemode=livemode).first()
    )
    if found is None:
        raise NotFound("billing_portal.configuration", public_id, param=param)
    return found


def portal_configuration_list(
    *, livemode: bool, active: bool | None = None, is_default: bool | None = None
) -> QuerySet[PortalConfiguration]:
    portal_configuration_default(livemode=livemode)
    rows = PortalConfiguration.objects.select_related("login_link").filter(livemode=livemode)
    if active is not None:
        rows = rows.filter(active=active)
    if is_default is not None:
        rows = rows.filter(is_default=is_default)
    return rows


def login_link_get(*, token: str) -> LoginLink | None:
    """The live login link with this token whose configuration is active, or None."""
    link = LoginLink.objects.select_related("configuration").filter(token=token, deactivated__isnull=True).first()
    if link is None or not link.configuration.active:
        return None
    return link
