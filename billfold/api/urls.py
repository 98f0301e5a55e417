from __future__ import annotations

from django.urls import URLPattern, re_path

from billfold.api.routing import not_found_view
from billfold.api.views import customers, events

urlpatterns: list[URLPattern] = [
    *customers.urlpatterns,
    *events.urlpatterns,
    # Anything else under /v1 answers Stripe's "Unrecognized request URL" 404.
    re_path(r"^v1/(?P<rest>.*)$", not_found_view),
]
