"""Reads for stored files."""

from __future__ import annotations

from django.db.models import QuerySet

from billfold.core.errors import NotFound
from billfold.files.models import StoredFile


def file_get(*, public_id: str, livemode: bool) -> StoredFile:
    stored = StoredFile.objects.defer("content").filter(public_id=public_id, livemode=livemode).first()
    if stored is None:
        raise NotFound("file", public_id)
    return stored


def file_list(*, livemode: bool, purpose: str | None = None) -> QuerySet[StoredFile]:
    files = StoredFile.objects.defer("content").filter(livemode=livemode)
    if purpose is not None:
        files = files.filter(purpose=purpose)
    return files


def file_for_download(*, public_id: str) -> StoredFile | None:
    """The file behind a public image URL, in either mode: the URL itself is the permission."""
    return StoredFile.objects.filter(public_id=public_id).first()
