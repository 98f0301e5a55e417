"""Keeping a rendered portal page while nothing it shows has changed.

The overview is what customers open most, and it shows everything they have: building it reads
a dozen tables and renders every subscription's next invoice. Its HTML is kept (in Django's cache,
``TTL`` seconds at most) under a key made of what it is built from:

- the browser's portal access (its customer, configuration, session, return URL and deep link);
- ``customer_events_version``: every change Billfold makes records an event in its transaction,
  with the customer it concerns, so any change to the customer's subscriptions, invoices, cards or
  details, and any change to shared objects (products, prices, the portal configuration), makes a
  new key;
- the configuration's and the brand's current state, the locale (language and formats), and the
  customer's date (the page says "expires", "renews on").

What differs on each response is put in afterwards: the CSP nonce and the CSRF token are rendered
as random placeholders (unknown outside this process) and replaced. Pages with a flash message
are never kept. ``TTL`` bounds how long a change made outside Billfold's services (say, an
operator editing the database by hand) can go unseen.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token

from billfold.clocks.selectors import customer_now
from billfold.events.selectors import customer_events_version
from billfold.portal.pages.access import Portal, harden

TTL = 60  # seconds
# Placeholders no page content can contain: random for each process.
NONCE_SLOT = "nonce-" + secrets.token_hex(16)
CSRF_SLOT = "csrf-" + secrets.token_hex(16)


def _key(name: str, portal: Portal) -> str:
    access = portal.access
    configuration = portal.configuration
    parts = (
        name,
        access.pk,
        access.customer_id,
        customer_events_version(portal.customer.public_id),
        configuration.pk,
        configuration.updated.isoformat(),
        repr(portal.theme),
        str(portal.language.locale),
        customer_now(portal.customer).date().isoformat(),
    )
    return "portal-page:" + hashlib.sha256(repr(parts).encode()).hexdigest()


def kept_page(
    request: HttpRequest, portal: Portal, name: str, render: Callable[[dict[str, Any]], HttpResponse]
) -> HttpResponse:
    """The page ``name``: kept HTML when nothing it shows changed, else ``render(slots)`` (which
    renders the page with ``slots`` added to its context) kept for next time."""
    if len(messages.get_messages(request)) > 0:
        return render({})  # a flash message is shown once: never kept
    key = _key(name, portal)
    html: str | None = cache.get(key)
    if html is None:
        # The customer was read with the browser's access, before the key: read it again, so that a
        # change committed in between is not kept under the key that already counts it.
        portal.customer.refresh_from_db()
        rendered = render({"nonce": NONCE_SLOT, "csrf_token": CSRF_SLOT})
        if rendered.status_code != 200:
            return rendered
        html = rendered.content.decode()
        cache.set(key, html, TTL)
    content = html.replace(NONCE_SLOT, portal.nonce).replace(CSRF_SLOT, get_token(request))
    return harden(HttpResponse(content), portal.nonce)
