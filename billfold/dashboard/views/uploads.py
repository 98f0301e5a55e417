"""Images uploaded through dashboard forms (a product's image, the brand's icon and logo).

An image is stored (``files.file_create``, the check the API's uploads get) as soon as it arrives,
even when another field of the form is refused: the page then keeps it as a pending file id in a
hidden ``pending_<field>`` input and says so, since a browser cannot fill a file input again.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest

from billfold.core.errors import DomainError, NotFound
from billfold.dashboard.security import livemode
from billfold.files import selectors as file_selectors
from billfold.files import services as file_services
from billfold.files.models import StoredFile


def pending_image(request: HttpRequest, *, field: str, purpose: str, value: str | None = None) -> StoredFile | None:
    """The image stored by an earlier submission (``pending_<field>``, or ``value``), if it is one of
    this mode's files of ``purpose``."""
    public_id = (value if value is not None else request.POST.get(f"pending_{field}") or "").strip()
    if not public_id:
        return None
    try:
        stored = file_selectors.file_get(public_id=public_id, livemode=livemode(request))
    except NotFound:
        return None
    return stored if stored.purpose == purpose else None


def image_upload(request: HttpRequest, form: forms.Form, *, field: str, purpose: str) -> StoredFile | bool | None:
    """The image of this submission for ``field``: a new upload (stored now), the pending one, or None.

    False when the upload was refused (the error is on the form's ``field``).
    """
    upload = request.FILES.get(field)
    if isinstance(upload, UploadedFile):
        limit: int = settings.BILLFOLD_MAX_IMAGE_BYTES
        # Never read more than the limit: the file service refuses anything that reaches it.
        content = upload.read(limit) if upload.size is not None and upload.size >= limit else upload.read()
        try:
            return file_services.file_create(
                livemode=livemode(request), purpose=purpose, filename=upload.name or "image", content=content
            )
        except DomainError as refused:
            form.add_error(field, refused.message)
            return False
    return pending_image(request, field=field, purpose=purpose)
