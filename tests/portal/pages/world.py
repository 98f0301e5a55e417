"""A merchant's portal with two customers, shared by the page tests and the browser tests.

Jenny subscribes to Basic ($10 per seat per month, 2 seats) with a Visa card; Bob, another
customer, has his own subscription, card, tax ID and invoice, which Jenny must never reach.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from billfold.billing.coupons import coupon_create, promotion_code_create
from billfold.billing.models import Coupon, Invoice, Subscription
from billfold.billing.subscriptions import services
from billfold.billing.subscriptions.creation import NewSubscription
from billfold.catalog.models import Price, Product
from billfold.catalog.services import price_create, product_create
from billfold.core.clock import frozen_at
from billfold.customers.models import Customer, TaxId
from billfold.customers.services import customer_create
from billfold.customers.tax_ids import tax_id_create
from billfold.payments.models import PaymentMethod
from billfold.portal.configurations import portal_configuration_default, portal_configuration_update
from billfold.portal.models import PortalConfiguration
from billfold.portal.sessions import NewPortalSession, portal_session_create

T0 = dt.datetime(2031, 5, 1, 9, 0, tzinfo=dt.UTC)
RETURN_URL = "https://merchant.example/account"


@dataclass
class World:
    configuration: PortalConfiguration
    basic: Product
    pro: Product
    basic_month: Price
    basic_year: Price
    pro_month: Price
    jenny: Customer
    jenny_sub: Subscription
    bob: Customer
    bob_sub: Subscription
    bob_card: PaymentMethod
    bob_tax_id: TaxId
    bob_invoice: Invoice
    coupon: Coupon

    @property
    def link_token(self) -> str:
        assert self.configuration.login_link is not None
        return self.configuration.login_link.token


def _price(product: Product, amount: int, interval: str = "month") -> Price:
    return price_create(
        livemode=False,
        values={
            "currency": "usd",
            "unit_amount": amount,
            "product": product.public_id,
            "recurring": {"interval": interval},
        },
    )


def _customer(email: str, name: str) -> Customer:
    return customer_create(
        livemode=False,
        values={
            "email": email,
            "name": name,
            "payment_method": "pm_card_visa",
            "invoice_settings": {"default_payment_method": "pm_card_visa"},
        },
    )


def _subscribe(customer: Customer, price: Price, quantity: int = 1) -> Subscription:
    return services.subscription_create(
        customer=customer, livemode=False, spec=NewSubscription(items=[{"price": price, "quantity": quantity}])
    )


def world_build(features: dict[str, Any] | None = None) -> World:
    with frozen_at(T0 - dt.timedelta(days=1)):
        basic = product_create(
            livemode=False, values={"name": "Basic", "description": "For small teams", "unit_label": "seat"}
        )
        pro = product_create(livemode=False, values={"name": "Pro", "description": "For growing teams"})
        basic_month, basic_year, pro_month = _price(basic, 1000), _price(basic, 10000, "year"), _price(pro, 3000)
        coupon = coupon_create(livemode=False, percent_off=Decimal(20), duration="forever", name="Loyalty")
        promotion_code_create(livemode=False, coupon=coupon, code="SPRING20")
        configuration = portal_configuration_default(livemode=False)
        configuration = portal_configuration_update(
            configuration=configuration,
            values={
                "business_profile": {
                    "headline": "Acme partners with Billfold for simplified billing.",
                    "privacy_policy_url": "https://merchant.example/privacy",
                    "terms_of_service_url": "https://merchant.example/terms",
                },
                "default_return_url": RETURN_URL,
                "login_page": {"enabled": True},
                "features": features
                or {
                    "customer_update": {
                        "enabled": True,
                        "allowed_updates": ["name", "email", "address", "shipping", "phone", "tax_id"],
                    },
                    "subscription_update": {
                        "enabled": True,
                        "default_allowed_updates": ["price", "quantity", "promotion_code"],
                        "proration_behavior": "always_invoice",
                        "products": [
                            {
                                "product": basic.public_id,
                                "prices": [basic_month.public_id, basic_year.public_id],
                                "adjustable_quantity": {"enabled": True, "minimum": 1, "maximum": 10},
                            },
                            {"product": pro.public_id, "prices": [pro_month.public_id]},
                        ],
                    },
                },
            },
        )
    with frozen_at(T0):
        jenny = _customer("jenny@example.com", "Jenny Rosen")
        jenny_sub = _subscribe(jenny, basic_month, 2)
        bob = _customer("bob@example.com", "Bob Smith")
        bob_sub = _subscribe(bob, pro_month)
        bob_card = PaymentMethod.objects.get(customer=bob)
        bob_tax_id = tax_id_create(customer=bob, tax_type="eu_vat", value="DE123456789")
        bob_invoice = Invoice.objects.get(customer=bob)
    return World(
        configuration=configuration,
        basic=basic,
        pro=pro,
        basic_month=basic_month,
        basic_year=basic_year,
        pro_month=pro_month,
        jenny=jenny,
        jenny_sub=jenny_sub,
        bob=bob,
        bob_sub=bob_sub,
        bob_card=bob_card,
        bob_tax_id=bob_tax_id,
        bob_invoice=bob_invoice,
        coupon=coupon,
    )


def session_for(customer: Customer, *, at: dt.datetime = T0, **params: Any) -> NewPortalSession:
    with frozen_at(at):
        return portal_session_create(livemode=False, customer_id=customer.public_id, return_url=RETURN_URL, **params)


def session_path(created: NewPortalSession) -> str:
    return "/p/session/" + created.url.rsplit("/", 1)[1]
