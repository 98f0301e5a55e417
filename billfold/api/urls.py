from __future__ import annotations

from django.urls import URLPattern, re_path

from billfold.api.routing import not_found_view
from billfold.api.views import billing_portal as billing_portal_views
from billfold.api.views import charges as charge_views
from billfold.api.views import coupons as coupon_views
from billfold.api.views import customers, events, files, prices, products
from billfold.api.views import invoice_items as invoice_item_views
from billfold.api.views import invoice_preview as invoice_preview_views
from billfold.api.views import invoices as invoice_views
from billfold.api.views import payment_intents as payment_intent_views
from billfold.api.views import payment_methods as payment_method_views
from billfold.api.views import promotion_codes as promotion_code_views
from billfold.api.views import refunds as refund_views
from billfold.api.views import search as search_views
from billfold.api.views import setup_intents as setup_intent_views
from billfold.api.views import subscription_items as subscription_item_views
from billfold.api.views import subscription_schedules as subscription_schedule_views
from billfold.api.views import subscriptions as subscription_views
from billfold.api.views import tax_codes as tax_code_views
from billfold.api.views import tax_ids as tax_id_views
from billfold.api.views import tax_rates as tax_rate_views
from billfold.api.views import test_clocks as test_clock_views
from billfold.api.views import webhook_endpoints as webhook_endpoint_views

urlpatterns: list[URLPattern] = [
    # Before the resources, so that customers/search is not read as a customer id.
    *search_views.urlpatterns,
    *customers.urlpatterns,
    *events.urlpatterns,
    *tax_id_views.urlpatterns,
    *products.urlpatterns,
    *prices.urlpatterns,
    *files.urlpatterns,
    *tax_code_views.urlpatterns,
    *payment_method_views.urlpatterns,
    *setup_intent_views.urlpatterns,
    *payment_intent_views.urlpatterns,
    *charge_views.urlpatterns,
    *refund_views.urlpatterns,
    *test_clock_views.urlpatterns,
    *coupon_views.urlpatterns,
    *promotion_code_views.urlpatterns,
    *tax_rate_views.urlpatterns,
    # Before invoices/<id>, so that "create_preview" is not read as an invoice id.
    *invoice_preview_views.urlpatterns,
    *invoice_views.urlpatterns,
    *invoice_item_views.urlpatterns,
    *subscription_views.urlpatterns,
    *subscription_item_views.urlpatterns,
    *subscription_schedule_views.urlpatterns,
    *webhook_endpoint_views.urlpatterns,
    *billing_portal_views.urlpatterns,
    # Anything else under /v1 answers Stripe's "Unrecognized request URL" 404.
    re_path(r"^v1/(?P<rest>.*)$", not_found_view),
]
