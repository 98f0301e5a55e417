"""Storing uploaded images after checking what they really are.

The name and the declared content type of an upload prove nothing, so the bytes are decoded
with Pillow (only its JPEG and PNG readers are allowed to look at them) and the stored content
type comes from what was decoded.
"""

from __future__ import annotations

import hashlib
import io
import re
import threading

from django.conf import settings
from django.db import transaction
from PIL import Image, ImageFile, UnidentifiedImageError

from billfold.core import clock
from billfold.core.errors import InvalidParam
from billfold.core.ids import new_id
from billfold.files.models import StoredFile

IMAGE_PURPOSES = ("product_image", "business_icon", "business_logo")
# Larger images are refused before they are decoded: a small PNG can unpack into gigabytes.
MAX_IMAGE_SIDE = 4096
_CONTENT_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg"}
_EXTENSIONS = {"PNG": "png", "JPEG": "jpg"}
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _limit_text(limit: int) -> str:
    return f"{limit / (1024 * 1024):g} MB ({limit} bytes)"


def _size_check(content: bytes) -> None:
    limit: int = settings.BILLFOLD_MAX_IMAGE_BYTES
    if not content:
        raise InvalidParam("The file is empty. Upload a JPEG or PNG image.", param="file")
    if len(content) >= limit:
        raise InvalidParam(
            f"The file is too large: images must be smaller than {_limit_text(limit)}. "
            "Resize or compress it and upload it again.",
            param="file",
        )


_strict_load = threading.Lock()


def _load_strictly(image: Image.Image) -> None:
    """Decode every pixel, refusing truncated data even if a library (WeasyPrint does, on import)
    has switched Pillow's process-wide LOAD_TRUNCATED_IMAGES on."""
    with _strict_load:
        previous = ImageFile.LOAD_TRUNCATED_IMAGES
        ImageFile.LOAD_TRUNCATED_IMAGES = False
        try:
            image.load()
        finally:
            ImageFile.LOAD_TRUNCATED_IMAGES = previous


def _decode(content: bytes) -> tuple[str, int, int]:
    """``(format, width, height)`` of a JPEG or PNG that decodes completely; refuses anything else."""
    not_an_image = InvalidParam(
        "The file is not a JPEG or PNG image (its content was checked, not its name). "
        "Upload a JPEG or PNG smaller than " + _limit_text(settings.BILLFOLD_MAX_IMAGE_BYTES) + ".",
        param="file",
    )
    try:
        with Image.open(io.BytesIO(content), formats=list(_CONTENT_TYPES)) as image:
            image_format = str(image.format)
            width, height = image.size
            if width > MAX_IMAGE_SIDE or height > MAX_IMAGE_SIDE:
                raise InvalidParam(
                    f"The image is {width}x{height} pixels; images can be at most {MAX_IMAGE_SIDE} pixels wide "
                    "and high. Resize it and upload it again.",
                    param="file",
                )
            # A truncated or corrupt file only shows itself when every pixel is decoded.
            _load_strictly(image)
    except InvalidParam:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError):
        raise not_an_image from None
    if width < 1 or height < 1:
        raise not_an_image
    return image_format, width, height


def safe_filename(filename: str, image_format: str) -> str:
    """A name fit for a URL path, ending in the extension of the decoded format."""
    stem = filename.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    if "." in stem:
        stem = stem.rsplit(".", 1)[0]
    stem = _UNSAFE.sub("-", stem).strip("-.")[:100] or "image"
    return f"{stem}.{_EXTENSIONS[image_format]}"


@transaction.atomic
def file_create(*, livemode: bool, purpose: str, filename: str, content: bytes) -> StoredFile:
    """Store an uploaded image once its bytes prove to be a complete JPEG or PNG within the limits."""
    if purpose not in IMAGE_PURPOSES:
        raise InvalidParam(
            f"Invalid purpose: {purpose[:40]}. Billfold stores images with purpose {', '.join(IMAGE_PURPOSES)}.",
            param="purpose",
        )
    _size_check(content)
    image_format, width, height = _decode(content)
    return StoredFile.objects.create(
        public_id=new_id("file", 24),
        livemode=livemode,
        created=clock.now(),
        purpose=purpose,
        filename=safe_filename(filename, image_format),
        content_type=_CONTENT_TYPES[image_format],
        size=len(content),
        width=width,
        height=height,
        sha256=hashlib.sha256(content).hexdigest(),
        content=content,
    )
