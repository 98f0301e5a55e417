from __future__ import annotations

from django.urls import include, path

from billfold.files.views import file_download

urlpatterns = [
    path("", include("billfold.api.urls")),
    path("files/<str:file_id>/<str:filename>", file_download, name="file-download"),
    path("", include("billfold.billing.urls")),
]
