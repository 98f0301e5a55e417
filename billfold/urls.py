from __future__ import annotations

from django.urls import include, path
from django.views.generic import RedirectView

from billfold.files.views import file_download

urlpatterns = [
    path("", include("billfold.api.urls")),
    path("files/<str:file_id>/<str:filename>", file_download, name="file-download"),
    path("", include("billfold.billing.urls")),
    # The customer portal (login links, portal session URLs and the portal's pages).
    path("p/", include("billfold.portal.pages.urls")),
    # The merchant dashboard; the site's root leads to it.
    path("dashboard/", include("billfold.dashboard.urls")),
    path("", RedirectView.as_view(pattern_name="dashboard:home", permanent=False)),
]
