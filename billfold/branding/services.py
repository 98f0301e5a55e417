"""Changing the brand (the dashboard's Branding page calls this)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction

from billfold.branding.models import Brand
from billfold.branding.theme import FONTS, SHAPES, color_parse
from billfold.core import clock
from billfold.core.errors import InvalidParam
from billfold.files.models import StoredFile

_IMAGE_PURPOSES = {"icon": "business_icon", "logo": "business_logo"}
MAX_NAME = 100


def _check(values: Mapping[str, Any]) -> dict[str, Any]:
    checked: dict[str, Any] = {}
    for name in ("brand_color", "accent_color"):
        if name in values:
            parsed = color_parse(str(values[name] or ""))
            if parsed is None:
                raise InvalidParam(
                    f"{values[name]!r} is not a color: give it as a hex code such as #3d4eac.", param=name
                )
            checked[name] = parsed
    if "business_name" in values:
        name_value = str(values["business_name"] or "").strip()
        if len(name_value) > MAX_NAME:
            raise InvalidParam(f"The business name can be at most {MAX_NAME} characters.", param="business_name")
        checked["business_name"] = name_value
    if "font" in values:
        if values["font"] not in FONTS:
            raise InvalidParam(f"Choose a font among: {', '.join(FONTS)}.", param="font")
        checked["font"] = values["font"]
    if "corner_shape" in values:
        if values["corner_shape"] not in SHAPES:
            raise InvalidParam(f"Choose a corner shape among: {', '.join(SHAPES)}.", param="corner_shape")
        checked["corner_shape"] = values["corner_shape"]
    for name, purpose in _IMAGE_PURPOSES.items():
        if name in values:
            image: StoredFile | None = values[name]
            if image is not None and image.purpose != purpose:
                raise InvalidParam(f"Upload the {name} as a file with purpose {purpose}.", param=name)
            checked[name] = image
    return checked


@transaction.atomic
def brand_update(*, values: Mapping[str, Any]) -> Brand:
    """Apply validated changes: ``business_name``, ``brand_color``, ``accent_color`` (hex), ``font``,
    ``corner_shape``, ``icon`` and ``logo`` (stored images of purpose business_icon / business_logo,
    or None to remove). A refused value changes nothing."""
    checked = _check(values)
    brand, _ = Brand.objects.select_for_update().get_or_create(pk=1)
    for name, value in checked.items():
        setattr(brand, name, value)
    brand.updated = clock.now()
    brand.save()
    return brand
