"""Model → Stripe JSON. Registered here for event payloads and for ``expand``."""

from __future__ import annotations

from billfold.api.expand import register_expandable, register_includer, register_loader
from billfold.api.jsonbody import json_body
from billfold.api.representations.charge import load_charges, render_charge
from billfold.api.representations.coupon import (
    include_applies_to,
    include_currency_options,
    load_coupons,
    render_coupon,
)
from billfold.api.representations.customer import load_customers, render_customer
from billfold.api.representations.discount import load_discounts, render_discount
from billfold.api.representations.event import render_event
from billfold.api.representations.invoice import (
    include_payments,
    load_invoices,
    load_line_items,
    render_invoice,
    render_line_item,
)
from billfold.api.representations.invoice_item import load_invoice_items, render_invoice_item
from billfold.api.representations.payment_intent import load_payment_intents, render_payment_intent
from billfold.api.representations.payment_method import load_payment_methods, render_payment_method
from billfold.api.representations.portal import (
    include_configuration_products,
    load_portal_configurations,
    render_portal_configuration,
    render_portal_session,
)
from billfold.api.representations.price import include_tiers, load_prices, render_price
from billfold.api.representations.product import load_products, render_product
from billfold.api.representations.promotion_code import (
    include_restriction_currency_options,
    load_promotion_codes,
    render_promotion_code,
)
from billfold.api.representations.refund import load_refunds, render_refund
from billfold.api.representations.setup_intent import load_setup_intents, render_setup_intent
from billfold.api.representations.subscription import load_subscriptions, render_subscription
from billfold.api.representations.subscription_item import load_subscription_items, render_subscription_item
from billfold.api.representations.subscription_schedule import (
    load_subscription_schedules,
    render_subscription_schedule,
)
from billfold.api.representations.tax_id import include_customer_tax_ids, load_tax_ids, render_tax_id
from billfold.api.representations.tax_rate import load_tax_rates, render_tax_rate
from billfold.api.representations.test_clock import load_test_clocks, render_test_clock
from billfold.billing.models import (
    Coupon,
    Discount,
    Invoice,
    InvoiceItem,
    InvoiceLineItem,
    PromotionCode,
    Subscription,
    SubscriptionItem,
    SubscriptionSchedule,
    TaxRate,
)
from billfold.catalog.models import Price, Product
from billfold.clocks.models import TestClock
from billfold.customers.models import Customer, TaxId
from billfold.events.models import Event
from billfold.events.rendering import register_encoder, register_renderer
from billfold.payments.models import Charge, PaymentIntent, PaymentMethod, Refund, SetupIntent
from billfold.portal.models import PortalConfiguration, PortalSession

register_renderer(Customer, render_customer)
register_loader("cus", load_customers)
register_renderer(Product, render_product)
register_renderer(Price, render_price)
register_loader("prod", load_products)
register_loader("price", load_prices)
register_expandable("price", "product", target="prod")
register_expandable("product", "default_price")
register_includer("price", "tiers", include_tiers)
register_renderer(TaxId, render_tax_id)
register_loader("txi", load_tax_ids)
register_expandable("tax_id", "customer", "owner.customer")
register_includer("customer", "tax_ids", include_customer_tax_ids)
register_renderer(PaymentMethod, render_payment_method)
register_renderer(SetupIntent, render_setup_intent)
register_loader("pm", load_payment_methods)
register_loader("seti", load_setup_intents)
register_expandable("payment_method", "customer")
register_expandable("setup_intent", "customer", "payment_method")
register_expandable("customer", "invoice_settings.default_payment_method")
register_renderer(PaymentIntent, render_payment_intent)
register_renderer(Charge, render_charge)
register_renderer(Refund, render_refund)
register_loader("pi", load_payment_intents)
register_loader("ch", load_charges)
register_loader("re", load_refunds)
register_expandable("payment_intent", "customer", "payment_method", "latest_charge")
register_expandable("charge", "customer", "payment_intent", "payment_method")
register_expandable("refund", "charge", "payment_intent")
register_renderer(TestClock, render_test_clock)
register_loader("clock", load_test_clocks)
register_expandable("customer", "test_clock")
register_renderer(Coupon, render_coupon)
# Coupon ids are the merchant's choice, so fields naming a coupon say which loader to use.
register_loader("coupon", load_coupons)
register_includer("coupon", "applies_to", include_applies_to)
register_includer("coupon", "currency_options", include_currency_options)
register_renderer(PromotionCode, render_promotion_code)
register_loader("promo", load_promotion_codes)
register_expandable("promotion_code", "promotion.coupon", target="coupon")
register_expandable("promotion_code", "customer")
register_includer("promotion_code", "restrictions.currency_options", include_restriction_currency_options)
register_renderer(Discount, render_discount)
register_loader("di", load_discounts)
register_expandable("discount", "source.coupon", target="coupon")
register_expandable("discount", "customer", "promotion_code")
register_renderer(TaxRate, render_tax_rate)
register_loader("txr", load_tax_rates)
register_renderer(Invoice, render_invoice)
register_renderer(InvoiceLineItem, render_line_item)
register_renderer(InvoiceItem, render_invoice_item)
register_loader("in", load_invoices)
register_loader("il", load_line_items)
register_loader("ii", load_invoice_items)
register_expandable("invoice", "customer", "default_payment_method", "test_clock")
register_includer("invoice", "payments", include_payments)
register_expandable("line_item", "invoice", "parent.invoice_item_details.invoice_item")
register_expandable("line_item", "pricing.price_details.price", target="price")
register_expandable("invoiceitem", "customer", "invoice", "test_clock")
register_expandable("invoiceitem", "pricing.price_details.price", target="price")
register_renderer(Subscription, render_subscription)
register_renderer(SubscriptionItem, render_subscription_item)
register_loader("sub", load_subscriptions)
register_loader("si", load_subscription_items)
register_expandable("subscription", "customer", "default_payment_method", "latest_invoice", "test_clock")
# Items are embedded: expanding through them (items.data.price.product) only walks into them.
register_expandable("subscription", "items")
register_expandable("subscription_item", "price")
register_expandable("invoice", "subscription", "parent.subscription_details.subscription")
# Lists of discount ids (and the discount of each discount amount) expand to the discounts.
register_expandable("invoice", "discounts", "total_discount_amounts.discount")
register_expandable("line_item", "discounts", "discount_amounts.discount")
register_expandable("invoiceitem", "discounts")
register_expandable("subscription", "discounts")
register_expandable("subscription_item", "discounts")
# The embedded lines: expanding through them (lines.data.discounts) only walks into them.
register_expandable("invoice", "lines")
register_renderer(SubscriptionSchedule, render_subscription_schedule)
# sub_sched_ ids share their first part with subscriptions' sub_: fields naming one say which loader.
register_loader("sub_sched", load_subscription_schedules)
register_expandable("subscription", "schedule", target="sub_sched")
register_expandable("subscription_schedule", "customer", "subscription", "test_clock")
register_expandable("subscription_schedule", "phases.items.price", target="price")
register_expandable("subscription_schedule", "default_settings.default_payment_method")
register_renderer(PortalConfiguration, render_portal_configuration)
# Events only: the session's url (which holds its secret) is given once, by the API's answer.
register_renderer(PortalSession, render_portal_session)
register_loader("bpc", load_portal_configurations)
register_expandable("billing_portal.session", "configuration")
register_includer(
    "billing_portal.configuration", "features.subscription_update.products", include_configuration_products
)
# Webhook bodies: an event rendered and encoded as GET /v1/events/{id} answers it.
register_renderer(Event, render_event)
register_encoder(json_body)
