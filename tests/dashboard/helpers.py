"""Typed helpers for the dashboard tests: staff users, signed-in browsers and clients, billing data."""

from __future__ import annotations

import datetime as dt
import io
import struct
import zlib
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client
from playwright.sync_api import Page

from billfold.accounts.services import staff_user_create
from billfold.billing.models import Subscription
from billfold.billing.subscriptions import services as subscription_services
from billfold.billing.subscriptions.creation import NewSubscription
from billfold.catalog.models import Price
from billfold.catalog.services import price_create
from billfold.core import clock
from billfold.core.clock import frozen_at
from billfold.customers.models import Customer
from billfold.customers.services import customer_create
from tests.browser.conftest import screenshot

PASSWORD = "correct horse battery staple"
EMAIL = "owner@example.com"


def staff_user(email: str = EMAIL) -> User:
    return staff_user_create(email=email, password=PASSWORD, owner=True)


def signed_in_client(user: User | None = None) -> Client:
    client = Client()
    client.force_login(user or staff_user())
    return client


def sign_in_browser(page: Page, live_server: Any, user: User | None = None) -> User:
    """Give the browser a signed-in session without going through the form (its own test does)."""
    user = user or staff_user()
    client = signed_in_client(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}])
    return user


def png_bytes(width: int = 8, height: int = 8) -> bytes:
    """A small valid PNG (a solid indigo square), made without reading any file."""
    raw = b"".join(b"\x00" + b"\x43\x38\xca" * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def oversized_png() -> bytes:
    """A valid PNG header followed by padding: more than the 2 MB images may have."""
    buffer = io.BytesIO(png_bytes())
    buffer.seek(0, io.SEEK_END)
    buffer.write(b"\x00" * (settings.BILLFOLD_MAX_IMAGE_BYTES + 10))
    return buffer.getvalue()


def customer(*, livemode: bool = False, at: dt.datetime | None = None, **values: Any) -> Customer:
    with frozen_at(at or clock.now()):
        return customer_create(livemode=livemode, values=values)


def monthly_price(
    amount: int, *, livemode: bool = False, name: str = "Pro", at: dt.datetime | None = None, **extra: Any
) -> Price:
    values: dict[str, Any] = {
        "product_data": {"name": name},
        "currency": "usd",
        "unit_amount": amount,
        "recurring": {"interval": "month"},
        **extra,
    }
    with frozen_at(at or clock.now()):
        return price_create(livemode=livemode, values=values)


def subscribe(
    buyer: Customer, price: Price, *, at: dt.datetime | None = None, quantity: int = 1, **spec: Any
) -> Subscription:
    """A subscription billed by invoice (no card needed), started at ``at``."""
    spec.setdefault("collection_method", "send_invoice")
    spec.setdefault("days_until_due", 30)
    with frozen_at(at or clock.now()):
        return subscription_services.subscription_create(
            customer=buyer,
            livemode=buyer.livemode,
            spec=NewSubscription(items=[{"price": price, "quantity": quantity}], **spec),
        )


def cancel(subscription: Subscription, *, at: dt.datetime) -> Subscription:
    with frozen_at(at):
        return subscription_services.subscription_cancel(subscription=subscription)


def shot(page: Page, name: str) -> None:
    """A full-page screenshot from the top of the page: scrolled down, the sticky header would be
    drawn in the middle of the picture (an artifact of full-page capture, not what people see)."""
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, name)
