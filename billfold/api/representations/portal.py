"""The Stripe JSON of ``billing_portal.configuration`` and ``billing_portal.session``."""

from __future__ import annotations

import copy
from typing import Any

from billfold.api.representations.common import unix
from billfold.portal.configurations import login_page_url
from billfold.portal.models import PortalConfiguration, PortalSession


def render_portal_configuration(configuration: PortalConfiguration) -> dict[str, Any]:
    features = copy.deepcopy(configuration.features)
    # Includable, as on Stripe: shown with expand[]=features.subscription_update.products.
    features["subscription_update"].pop("products", None)
    link = configuration.login_link
    return {
        "id": configuration.public_id,
        "object": "billing_portal.configuration",
        "active": configuration.active,
        # Connect applications do not exist in Billfold.
        "application": None,
        "business_profile": dict(configuration.business_profile),
        "created": unix(configuration.created),
        "default_return_url": configuration.default_return_url,
        "features": features,
        "is_default": configuration.is_default,
        "livemode": configuration.livemode,
        "login_page": {"enabled": link is not None, "url": login_page_url(link) if link is not None else None},
        "metadata": configuration.metadata,
        "name": configuration.name,
        "updated": unix(configuration.updated),
    }


def load_portal_configurations(ids: list[str], livemode: bool) -> dict[str, dict[str, Any]]:
    rows = PortalConfiguration.objects.select_related("login_link").filter(public_id__in=ids, livemode=livemode)
    return {row.public_id: render_portal_configuration(row) for row in rows}


def include_configuration_products(objects: list[dict[str, Any]], livemode: bool) -> None:
    """Fill in ``features.subscription_update.products`` for each rendered configuration (one query)."""
    ids = [obj["id"] for obj in objects]
    stored = dict(
        PortalConfiguration.objects.filter(public_id__in=ids, livemode=livemode).values_list("public_id", "features")
    )
    for obj in objects:
        products = (stored.get(obj["id"]) or {}).get("subscription_update", {}).get("products", [])
        obj["features"]["subscription_update"]["products"] = copy.deepcopy(products)


def render_portal_session(session: PortalSession, *, url: str | None = None) -> dict[str, Any]:
    """``url`` carries the session's secret: it is known only when the session is made, and given
    only in the answer to its creation. Everywhere else (events) it is null, so no stored copy of
    the secret exists."""
    return {
        "id": session.public_id,
        "object": "billing_portal.session",
        "configuration": session.configuration.public_id,
        "created": unix(session.created),
        "customer": session.customer.public_id,
        # Accounts v2 (customer-configured accounts) do not exist in Billfold.
        "customer_account": None,
        "flow": copy.deepcopy(session.flow),
        "livemode": session.livemode,
        "locale": session.locale,
        "on_behalf_of": None,
        "return_url": session.return_url,
        "url": url,
    }
