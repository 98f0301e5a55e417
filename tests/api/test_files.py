"""/v1/files image uploads through the official stripe SDK, and the URLs that serve them."""

from __future__ import annotations

import io
import os
import urllib.error
import urllib.request
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from PIL import Image

from billfold.events.models import Event
from billfold.files.models import StoredFile

# The keys of Stripe's file object (fixtures3.json resources["file"]).
FILE_KEYS = {"created", "expires_at", "filename", "id", "links", "object", "purpose", "size", "title", "type", "url"}


@pytest.fixture
def uploads(sdk: ModuleType) -> ModuleType:
    """The SDK; its uploads go to Billfold too (the ``sdk`` fixture sets ``upload_api_base``)."""
    return sdk


def image_bytes(image_format: str, size: tuple[int, int] = (40, 30), *, noise: bool = False) -> bytes:
    if noise:
        image = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    else:
        image = Image.new("RGB", size, (200, 30, 90))
    buffer = io.BytesIO()
    image.save(buffer, format=image_format)
    return buffer.getvalue()


def named(content: bytes, name: str) -> io.BytesIO:
    stream = io.BytesIO(content)
    stream.name = name
    return stream


def fetch(
    live_server: Any, url: str, method: str = "GET", headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(live_server.url + urlsplit(url).path, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_png_upload_is_stored_and_served(uploads: ModuleType, live_server: Any) -> None:
    content = image_bytes("PNG")
    uploaded = uploads.File.create(file=named(content, "My Logo (final).png"), purpose="product_image")
    data = uploaded.to_dict()
    assert set(data) == FILE_KEYS
    assert uploaded.id.startswith("file_")
    assert uploaded.object == "file"
    assert uploaded.purpose == "product_image"
    assert uploaded.type == "png"
    assert uploaded.size == len(content)
    assert uploaded.filename == "My-Logo-final.png"
    assert uploaded.expires_at is None
    assert uploaded.title is None
    assert uploaded.links.to_dict() == {
        "object": "list",
        "data": [],
        "has_more": False,
        "url": f"/v1/file_links?file={uploaded.id}",
    }
    assert uploaded.url == f"{settings.SITE_URL}/files/{uploaded.id}/My-Logo-final.png"
    stored = StoredFile.objects.get(public_id=uploaded.id)
    assert (stored.width, stored.height, stored.content_type) == (40, 30, "image/png")

    status, headers, body = fetch(live_server, uploaded.url)
    assert status == 200
    assert body == content
    assert headers["Content-Type"] == "image/png"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert headers["Content-Disposition"] == 'inline; filename="My-Logo-final.png"'
    assert fetch(live_server, uploaded.url, method="HEAD")[0] == 200
    assert fetch(live_server, f"/files/{uploaded.id}/other.png")[0] == 404
    assert fetch(live_server, "/files/file_unknown/My-Logo-final.png")[0] == 404
    # Writes are not served: Django's CSRF check answers before the view's 405.
    assert fetch(live_server, uploaded.url, method="POST")[0] == 403
    assert fetch(live_server, uploaded.url, headers={"If-None-Match": headers["ETag"]})[:1] == (304,)
    assert Event.objects.count() == 0


def test_jpeg_upload_is_typed_from_its_content(uploads: ModuleType, live_server: Any) -> None:
    content = image_bytes("JPEG")
    # The name claims PNG; the bytes are a JPEG, and the bytes decide.
    uploaded = uploads.File.create(file=named(content, "photo.png"), purpose="business_logo")
    assert uploaded.type == "jpg"
    assert uploaded.filename == "photo.jpg"
    status, headers, body = fetch(live_server, uploaded.url)
    assert (status, headers["Content-Type"], body) == (200, "image/jpeg", content)


def gif() -> bytes:
    return image_bytes("GIF")


def truncated_png() -> bytes:
    return image_bytes("PNG", (64, 64), noise=True)[:200]


@pytest.mark.parametrize(
    ("content", "name", "fragment"),
    [
        (gif, "anim.gif", "not a JPEG or PNG image"),
        (gif, "anim.png", "not a JPEG or PNG image"),
        (lambda: b"just some text, not an image\n" * 10, "notes.png", "not a JPEG or PNG image"),
        (lambda: b"", "empty.png", "The file is empty"),
        (truncated_png, "cut.png", "not a JPEG or PNG image"),
        (lambda: image_bytes("PNG", (4097, 2)), "wide.png", "at most 4096 pixels"),
        (lambda: image_bytes("PNG", (900, 900), noise=True), "big.png", "smaller than 2 MB (2097152 bytes)"),
    ],
)
def test_refused_uploads_name_the_param_and_store_nothing(
    uploads: ModuleType, content: Any, name: str, fragment: str
) -> None:
    data = content()
    if name == "big.png":
        assert len(data) > settings.BILLFOLD_MAX_IMAGE_BYTES
    with pytest.raises(uploads.InvalidRequestError) as raised:
        uploads.File.create(file=named(data, name), purpose="product_image")
    assert raised.value.http_status == 400
    assert raised.value.param == "file"
    assert fragment in str(raised.value.user_message)
    assert StoredFile.objects.count() == 0


def test_purpose_and_file_are_required(uploads: ModuleType, api_url: str, test_key: str) -> None:
    with pytest.raises(uploads.InvalidRequestError) as raised:
        uploads.File.create(file=named(image_bytes("PNG"), "a.png"), purpose="dispute_evidence")
    assert raised.value.param == "purpose"
    with pytest.raises(uploads.InvalidRequestError) as raised:
        uploads.File.create(file=named(image_bytes("PNG"), "a.png"))
    assert (raised.value.param, raised.value.code) == ("purpose", "parameter_missing")
    with pytest.raises(uploads.InvalidRequestError) as raised:
        uploads.File.create(purpose="product_image")
    assert (raised.value.param, raised.value.code) == ("file", "parameter_missing")
    # A form-encoded "file" is text, not an upload.
    request = urllib.request.Request(
        f"{api_url}/files",
        data=b"purpose=product_image&file=abc",
        headers={"Authorization": f"Bearer {test_key}", "Content-Type": "application/x-www-form-urlencoded"},
    )
    with pytest.raises(urllib.error.HTTPError) as http_error:
        urllib.request.urlopen(request, timeout=30)
    assert http_error.value.code == 400
    assert StoredFile.objects.count() == 0


def test_multipart_is_refused_where_no_upload_is_expected(api_url: str, test_key: str) -> None:
    body = b'--XyZ\r\nContent-Disposition: form-data; name="name"\r\n\r\nWidget\r\n--XyZ--\r\n'
    request = urllib.request.Request(
        f"{api_url}/products",
        data=body,
        headers={"Authorization": f"Bearer {test_key}", "Content-Type": "multipart/form-data; boundary=XyZ"},
    )
    with pytest.raises(urllib.error.HTTPError) as http_error:
        urllib.request.urlopen(request, timeout=30)
    assert http_error.value.code == 400


def test_idempotent_upload_covers_the_bytes(uploads: ModuleType) -> None:
    first = uploads.File.create(file=named(image_bytes("PNG"), "a.png"), purpose="product_image", idempotency_key="k1")
    again = uploads.File.create(file=named(image_bytes("PNG"), "a.png"), purpose="product_image", idempotency_key="k1")
    assert again.id == first.id
    with pytest.raises(uploads.IdempotencyError):
        uploads.File.create(
            file=named(image_bytes("PNG", (10, 10)), "a.png"), purpose="product_image", idempotency_key="k1"
        )
    assert StoredFile.objects.count() == 1


def test_retrieve_and_list(uploads: ModuleType, live_key: str) -> None:
    logo = uploads.File.create(file=named(image_bytes("PNG"), "logo.png"), purpose="business_logo")
    icon = uploads.File.create(file=named(image_bytes("PNG"), "icon.png"), purpose="business_icon")
    image = uploads.File.create(file=named(image_bytes("JPEG"), "shirt.jpg"), purpose="product_image")
    assert uploads.File.retrieve(logo.id).to_dict() == logo.to_dict()
    page = uploads.File.list(limit=2)
    assert page.url == "/v1/files"
    assert [f.id for f in page.data] == [image.id, icon.id]
    assert page.has_more is True
    assert [f.id for f in uploads.File.list(limit=1).auto_paging_iter()] == [image.id, icon.id, logo.id]
    assert [f.id for f in uploads.File.list(purpose="business_icon").data] == [icon.id]
    assert uploads.File.list(api_key=live_key).data == []
    with pytest.raises(uploads.InvalidRequestError) as raised:
        uploads.File.retrieve(logo.id, api_key=live_key)
    assert raised.value.code == "resource_missing"


def test_products_reference_uploaded_images(uploads: ModuleType, live_server: Any) -> None:
    content = image_bytes("PNG")
    uploaded = uploads.File.create(file=named(content, "shirt.png"), purpose="product_image")
    product = uploads.Product.create(name="T-shirt", images=[uploaded.url])
    assert product.images == [uploaded.url]
    assert fetch(live_server, product.images[0])[2] == content


def test_a_truncated_png_is_refused_even_after_a_pdf_library_relaxed_pillow(uploads: ModuleType) -> None:
    from PIL import ImageFile

    previous = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = True  # what importing WeasyPrint does to the whole process
    try:
        with pytest.raises(uploads.InvalidRequestError) as raised:
            uploads.File.create(purpose="product_image", file=named(truncated_png(), "cut.png"))
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = previous
    assert raised.value.param == "file"
    assert StoredFile.objects.count() == 0
