"""The Stripe JSON of a file (an uploaded image, served by Billfold at ``url``)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.urls import reverse

from billfold.api.representations.common import unix
from billfold.files.models import StoredFile

_TYPES = {"image/png": "png", "image/jpeg": "jpg"}


def render_file(stored: StoredFile) -> dict[str, Any]:
    return {
        "id": stored.public_id,
        "object": "file",
        "created": unix(stored.created),
        "expires_at": None,
        "filename": stored.filename,
        "links": {
            "object": "list",
            "data": [],
            "has_more": False,
            "url": f"/v1/file_links?file={stored.public_id}",
        },
        "purpose": stored.purpose,
        "size": stored.size,
        "title": None,
        "type": _TYPES.get(stored.content_type),
        "url": settings.SITE_URL + reverse("file-download", args=[stored.public_id, stored.filename]),
    }
