from __future__ import annotations

import io
from typing import Any

import pytest
from django.test import Client
from PIL import Image

from billfold.branding.models import Brand
from billfold.branding.selectors import brand_get, brand_theme, business_name
from billfold.branding.services import brand_update
from billfold.core.errors import InvalidParam
from billfold.files.models import StoredFile
from billfold.files.services import file_create
from tests.billing.test_invoice_pages import finalized_invoice, page_path

pytestmark = pytest.mark.django_db


def png(color: str = "#0b3d2e", size: tuple[int, int] = (120, 40)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


def logo() -> StoredFile:
    return file_create(livemode=False, purpose="business_logo", filename="logo.png", content=png())


def test_defaults_until_saved(settings: Any) -> None:
    settings.BILLFOLD_BUSINESS_NAME = "Acme Inc."
    brand = brand_get()
    assert brand._state.adding
    assert (brand.brand_color, brand.accent_color, brand.font, brand.corner_shape) == (
        "#ffffff",
        "#3d4eac",
        "system",
        "rounded",
    )
    assert business_name(brand) == "Acme Inc."
    assert brand_theme().business_name == "Acme Inc."


def test_update_normalises_and_keeps_one_row() -> None:
    brand_update(values={"business_name": "  Acme  ", "accent_color": "FA0", "font": "serif"})
    brand_update(values={"brand_color": "#0B3D2E", "corner_shape": "pill"})
    brand = Brand.objects.get()
    assert (brand.business_name, brand.accent_color, brand.brand_color, brand.font, brand.corner_shape) == (
        "Acme",
        "#ffaa00",
        "#0b3d2e",
        "serif",
        "pill",
    )


@pytest.mark.parametrize(
    ("values", "param"),
    [
        ({"accent_color": "orange"}, "accent_color"),
        ({"brand_color": "#12"}, "brand_color"),
        ({"font": "comic"}, "font"),
        ({"corner_shape": "blob"}, "corner_shape"),
        ({"business_name": "x" * 101}, "business_name"),
    ],
)
def test_refusals_name_the_field_and_change_nothing(values: dict[str, Any], param: str) -> None:
    brand_update(values={"accent_color": "#3d4eac", "business_name": "Acme"})
    with pytest.raises(InvalidParam) as refused:
        brand_update(values={"business_name": "Changed", **values})
    assert refused.value.param == param
    assert Brand.objects.get().business_name == "Acme"


def test_an_image_must_be_uploaded_for_its_place() -> None:
    icon = file_create(livemode=False, purpose="business_icon", filename="i.png", content=png(size=(64, 64)))
    with pytest.raises(InvalidParam) as refused:
        brand_update(values={"logo": icon})
    assert refused.value.param == "logo"
    brand_update(values={"icon": icon, "logo": logo()})
    assert brand_get().icon == icon


def test_the_hosted_invoice_page_and_pdf_wear_the_brand(client: Client) -> None:
    brand_update(values={"business_name": "Acme", "brand_color": "#0b3d2e", "accent_color": "#ffd400", "logo": logo()})
    invoice = finalized_invoice()
    html = client.get(page_path(invoice)).content.decode()
    assert "--accent: #ffd400;" in html
    assert "--brand: #0b3d2e;" in html
    assert '<img src="/files/file_' in html and 'alt="Acme"' in html
    assert "<title>Invoice ACME-0001 · Acme</title>" in html
    pdf = client.get(f"{page_path(invoice)}/pdf").content
    assert pdf.startswith(b"%PDF-")
    assert b"/Subtype /Image" in pdf


def test_emails_take_the_brand_once_it_is_saved() -> None:
    from billfold.branding.theme import contrast
    from billfold.emails.branding import DEFAULT_BRAND_COLOR, email_branding

    assert email_branding().brand_color == DEFAULT_BRAND_COLOR
    brand_update(values={"business_name": "Acme", "accent_color": "#ffd400", "logo": logo()})
    branding = email_branding()
    assert branding.business_name == "Acme"
    # The yellow accent is darkened until buttons and links read on the white email body.
    assert contrast(branding.brand_color, "#ffffff") >= 4.5
    assert contrast(branding.on_brand_color, branding.brand_color) >= 4.5
    assert branding.logo is not None and branding.logo.subtype == "png"
    assert branding.logo.content == png()
