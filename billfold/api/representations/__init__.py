"""Model → Stripe JSON. Registered here for event payloads and for ``expand``."""

from __future__ import annotations

from billfold.api.expand import register_expandable, register_includer, register_loader
from billfold.api.representations.customer import load_customers, render_customer
from billfold.api.representations.payment_method import load_payment_methods, render_payment_method
from billfold.api.representations.price import include_tiers, load_prices, render_price
from billfold.api.representations.product import load_products, render_product
from billfold.api.representations.setup_intent import load_setup_intents, render_setup_intent
from billfold.api.representations.tax_id import include_customer_tax_ids, load_tax_ids, render_tax_id
from billfold.catalog.models import Price, Product
from billfold.customers.models import Customer, TaxId
from billfold.events.rendering import register_renderer
from billfold.payments.models import PaymentMethod, SetupIntent

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
