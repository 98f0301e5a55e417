"""Serving stored images at the URL their ``file`` object gives (``/files/<id>/<filename>``)."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

from billfold.files.selectors import file_for_download


@require_safe
def file_download(request: HttpRequest, file_id: str, filename: str) -> HttpResponse:
    stored = file_for_download(public_id=file_id)
    if stored is None or filename != stored.filename:
        raise Http404("No such file")
    etag = f'"{stored.sha256}"'
    if request.META.get("HTTP_IF_NONE_MATCH") == etag:
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(bytes(stored.content), content_type=stored.content_type)
        response["Content-Length"] = str(stored.size)
    response["ETag"] = etag
    # A file's bytes never change under its id, so caches may keep it for good.
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    response["Content-Disposition"] = f'inline; filename="{stored.filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
