"""Colors, font and shape of a brand turned into what pages and emails use, always readable.

A merchant picks any brand color (headers) and accent color (buttons, links). Text on them must
stay readable whatever they picked, so the text color is chosen by WCAG 2.x contrast: white or the
ink color, whichever contrasts more; links drawn in the accent color on white are darkened until
they reach 4.5:1. Pure functions, no database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

INK = "#1a1f36"
WHITE = "#ffffff"
# What a font choice means: system font stacks, since pages and emails load no web fonts.
FONTS: dict[str, tuple[str, str]] = {
    "system": ("System", '-apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif'),
    "sans": ("Helvetica / Arial", '"Helvetica Neue", Helvetica, Arial, "DejaVu Sans", sans-serif'),
    "serif": ("Georgia / Times", 'Georgia, "Times New Roman", "DejaVu Serif", serif'),
    "rounded": ("Rounded", 'ui-rounded, "SF Pro Rounded", Nunito, "Varela Round", Arial, sans-serif'),
    "mono": ("Monospace", 'ui-monospace, "SF Mono", Menlo, Consolas, "DejaVu Sans Mono", monospace'),
}
# Corner radius of buttons and fields, and of cards, in CSS pixels.
SHAPES: dict[str, tuple[str, int, int]] = {
    "rounded": ("Rounded", 6, 8),
    "square": ("Square", 0, 0),
    "pill": ("Pill", 999, 16),
}
# WCAG AA for normal text.
READABLE = 4.5
_HEX = re.compile(r"^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")


def color_parse(value: str) -> str | None:
    """``#RGB``, ``#RRGGBB`` or the same without ``#``, as lowercase ``#rrggbb``; None if it is not one."""
    match = _HEX.match(value.strip())
    if match is None:
        return None
    digits = match.group(1).lower()
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    return f"#{digits}"


def _channels(color: str) -> tuple[int, int, int]:
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)


def _hex(red: float, green: float, blue: float) -> str:
    return "#" + "".join(f"{max(0, min(255, round(c))):02x}" for c in (red, green, blue))


def luminance(color: str) -> float:
    """WCAG relative luminance, 0 (black) to 1 (white)."""

    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    red, green, blue = (linear(c) for c in _channels(color))
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast(first: str, second: str) -> float:
    """WCAG contrast ratio, 1 to 21."""
    lighter, darker = sorted((luminance(first), luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def text_on(background: str) -> str:
    """White or ink, whichever reads better on ``background``."""
    return WHITE if contrast(WHITE, background) >= contrast(INK, background) else INK


def mix(color: str, other: str, amount: float) -> str:
    """``color`` moved ``amount`` (0..1) of the way towards ``other``."""
    start, end = _channels(color), _channels(other)
    red, green, blue = (a + (b - a) * amount for a, b in zip(start, end, strict=True))
    return _hex(red, green, blue)


def readable_on(color: str, background: str) -> str:
    """``color``, darkened or lightened just enough to be readable as text on ``background``."""
    target = INK if luminance(background) > 0.5 else WHITE
    for step in range(21):
        candidate = mix(color, target, step / 20)
        if contrast(candidate, background) >= READABLE:
            return candidate
    return target


@dataclass(frozen=True)
class Theme:
    business_name: str
    brand: str
    brand_text: str
    accent: str
    accent_text: str
    accent_hover: str
    # The accent as text (links) on the white page.
    link: str
    font: str
    radius: int
    radius_card: int
    logo_url: str | None = None
    icon_url: str | None = None

    def css_variables(self) -> str:
        """The theme as CSS custom properties, for a ``:root { ... }`` rule."""
        values = {
            "--brand": self.brand,
            "--brand-text": self.brand_text,
            "--accent": self.accent,
            "--accent-text": self.accent_text,
            "--accent-hover": self.accent_hover,
            "--link": self.link,
            "--font": self.font,
            "--radius": f"{self.radius}px",
            "--radius-card": f"{self.radius_card}px",
        }
        return " ".join(f"{name}: {value};" for name, value in values.items())


def theme_build(
    *,
    business_name: str,
    brand_color: str,
    accent_color: str,
    font: str,
    corner_shape: str,
    logo_url: str | None = None,
    icon_url: str | None = None,
) -> Theme:
    accent_text = text_on(accent_color)
    # Hover goes towards the text color's opposite, so it stays distinguishable on any accent.
    accent_hover = mix(accent_color, INK if accent_text == WHITE else WHITE, 0.18)
    _, radius, radius_card = SHAPES.get(corner_shape, SHAPES["rounded"])
    return Theme(
        business_name=business_name,
        brand=brand_color,
        brand_text=text_on(brand_color),
        accent=accent_color,
        accent_text=accent_text,
        accent_hover=accent_hover,
        link=readable_on(accent_color, WHITE),
        font=FONTS.get(font, FONTS["system"])[1],
        radius=radius,
        radius_card=radius_card,
        logo_url=logo_url,
        icon_url=icon_url,
    )
