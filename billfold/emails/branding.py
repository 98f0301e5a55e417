"""How emails look: the business's name, colors and logo, in one place.

``email_branding()`` is the one function the templates' look comes from; brand settings (when
they exist) plug in here, and every email follows. The defaults are neutral and readable.
"""

from __future__ import annotations

from dataclasses import dataclass

from billfold.branding.models import Brand
from billfold.branding.selectors import brand_get, business_name
from billfold.branding.theme import WHITE, readable_on, text_on


@dataclass(frozen=True)
class Logo:
    """An image sent inside the email (a related MIME part), not fetched from a server: mail
    clients block remote images by default, and a tracking-free mail loads nothing."""

    content: bytes
    # The image's MIME subtype: png, jpeg or gif.
    subtype: str
    # Pixels; the image is shown at this height, its width following.
    height: int = 40
    # What the HTML refers to as cid:<content_id>.
    content_id: str = "logo"


@dataclass(frozen=True)
class Branding:
    business_name: str
    # Colors as #rrggbb: the header band and buttons, and the text drawn on them.
    brand_color: str
    on_brand_color: str
    logo: Logo | None = None


DEFAULT_BRAND_COLOR = "#1f4e79"
DEFAULT_ON_BRAND_COLOR = "#ffffff"


def email_branding(brand: Brand | None = None) -> Branding:
    """The brand as emails draw it: buttons and links in the accent color (darkened until it reads on
    white, since both sit on the white body), the logo sent inside the email. ``brand`` is the saved
    one by default (the dashboard's Branding page previews one not saved yet)."""
    if brand is None:
        brand = brand_get(image_bytes=True)
        if brand._state.adding:
            return Branding(
                business_name=business_name(brand),
                brand_color=DEFAULT_BRAND_COLOR,
                on_brand_color=DEFAULT_ON_BRAND_COLOR,
            )
    name = business_name(brand)
    color = readable_on(brand.accent_color, WHITE)
    logo = None
    if brand.logo is not None:
        logo = Logo(content=bytes(brand.logo.content), subtype=brand.logo.content_type.split("/", 1)[1])
    return Branding(business_name=name, brand_color=color, on_brand_color=text_on(color), logo=logo)
