"""Model → Stripe JSON. Registered here for event payloads and for ``expand``."""

from __future__ import annotations

from billfold.api.expand import register_loader
from billfold.api.representations.customer import load_customers, render_customer
from billfold.customers.models import Customer
from billfold.events.rendering import register_renderer

register_renderer(Customer, render_customer)
register_loader("cus", load_customers)
