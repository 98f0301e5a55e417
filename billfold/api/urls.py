from __future__ import annotations

from django.urls import URLPattern, re_path

from billfold.api.routing import not_found_view
from billfold.api.views import customers, events, files, prices, products
from billfold.api.views import payment_methods as payment_method_views
from billfold.api.views import search as search_views
from billfold.api.views import setup_intents as setup_intent_views
from billfold.api.views import tax_codes as tax_code_views
from billfold.api.views import tax_ids as tax_id_views

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
    # Anything else under /v1 answers Stripe's "Unrecognized request URL" 404.
    re_path(r"^v1/(?P<rest>.*)$", not_found_view),
]
