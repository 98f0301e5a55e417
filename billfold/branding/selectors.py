"""Reading the brand: the saved row or the defaults, and the theme pages and emails draw with."""

from __future__ import annotations

import base64

from django.conf import settings
from django.core.cache import cache
from django.urls import reverse

from billfold.branding.models import Brand
from billfold.branding.theme import Theme, theme_build
from billfold.core.crypto import sha256_hex
from billfold.files.models import StoredFile


def brand_get(*, image_bytes: bool = False) -> Brand:
    """The saved brand, or an unsaved one holding the defaults; the icon's and logo's bytes are only
    loaded when asked for (to inline them in a PDF)."""
    brands = Brand.objects.select_related("icon", "logo").filter(pk=1)
    if not image_bytes:
        brands = brands.defer("icon__content", "logo__content")
    return brands.first() or Brand(pk=1)


def business_name(brand: Brand | None = None) -> str:
    """The name customers see: the brand's, else ``BILLFOLD_BUSINESS_NAME``, else the site's host name."""
    if brand is not None and brand.business_name:
        return brand.business_name
    configured: str | None = getattr(settings, "BILLFOLD_BUSINESS_NAME", None)
    if configured:
        return configured
    return str(settings.SITE_URL).split("://", 1)[-1].split("/", 1)[0]


def _file_url(stored: StoredFile | None, *, absolute: bool, inline: bool) -> str | None:
    if stored is None:
        return None
    if inline:
        # For documents rendered offline (PDFs), which fetch nothing.
        return f"data:{stored.content_type};base64,{base64.b64encode(bytes(stored.content)).decode()}"
    path = reverse("file-download", kwargs={"file_id": stored.public_id, "filename": stored.filename})
    return f"{str(settings.SITE_URL).rstrip('/')}{path}" if absolute else path


def brand_theme(brand: Brand | None = None, *, absolute: bool = False, inline_images: bool = False) -> Theme:
    """The theme of ``brand`` (the saved one by default). ``absolute`` gives image URLs with the site's
    address (emails); ``inline_images`` gives them as data: URLs (PDFs)."""
    if brand is None and not absolute and not inline_images:
        return _saved_theme()
    brand = brand if brand is not None else brand_get(image_bytes=inline_images)
    return _theme_of(brand, absolute=absolute, inline_images=inline_images)


_THEME_FIELDS = (
    "business_name",
    "brand_color",
    "accent_color",
    "font",
    "corner_shape",
    "icon_id",
    "logo_id",
    "updated",
)


def _saved_theme() -> Theme:
    """The saved brand's theme for pages, kept in the cache under everything it is built from: every
    page asks, and one narrow query replaces reading the brand with its images."""
    state = Brand.objects.filter(pk=1).values_list(*_THEME_FIELDS).first()
    key = "brand-theme:" + sha256_hex(
        repr((state, settings.SITE_URL, getattr(settings, "BILLFOLD_BUSINESS_NAME", None)))
    )
    theme: Theme | None = cache.get(key)
    if theme is None:
        theme = _theme_of(brand_get(), absolute=False, inline_images=False)
        cache.set(key, theme, 3600)
    return theme


def _theme_of(brand: Brand, *, absolute: bool, inline_images: bool) -> Theme:
    return theme_build(
        business_name=business_name(brand),
        brand_color=brand.brand_color,
        accent_color=brand.accent_color,
        font=brand.font,
        corner_shape=brand.corner_shape,
        logo_url=_file_url(brand.logo, absolute=absolute, inline=inline_images),
        icon_url=_file_url(brand.icon, absolute=absolute, inline=inline_images),
    )
