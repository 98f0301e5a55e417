"""The branding form: the business name, icon and logo, colors, font and corner shape, turned into
the values ``branding.services.brand_update`` takes.

Colors are read by ``branding.theme.color_parse``, the rule the service applies, so both colors are
checked at once; the service's other refusals are shown next to their field (``add_domain_error``).
"""

from __future__ import annotations

from typing import Any

from django import forms

from billfold.branding.models import Brand
from billfold.branding.services import MAX_NAME
from billfold.branding.theme import FONTS, SHAPES, color_parse

# Parameters of brand_update's refusals → the form field they are about.
BRAND_PARAMS = {
    name: name for name in ("business_name", "brand_color", "accent_color", "font", "corner_shape", "icon", "logo")
}
# The images of a brand and the purpose their files are stored with.
IMAGE_PURPOSES = {"icon": "business_icon", "logo": "business_logo"}
IMAGE_HELP = "JPEG or PNG, smaller than 2 MB."


def _color_field(label: str, help_text: str) -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=20,
        help_text=help_text,
        error_messages={"required": "Enter a color as a hex code, such as #3d4eac."},
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "off", "class": "color-text"}
        ),
    )


class BrandingForm(forms.Form):
    business_name = forms.CharField(label="Business name", required=False, max_length=MAX_NAME)
    icon = forms.FileField(
        label="Icon",
        required=False,
        widget=forms.FileInput(attrs={"accept": "image/jpeg,image/png"}),
        help_text="Square: beside your name in the portal's header, on invoice pages, and as the browser tab's "
        "icon. " + IMAGE_HELP,
    )
    remove_icon = forms.BooleanField(label="Remove the icon", required=False)
    logo = forms.FileField(
        label="Logo",
        required=False,
        widget=forms.FileInput(attrs={"accept": "image/jpeg,image/png"}),
        help_text="In place of your name in the portal's header, in emails, on invoice pages and PDFs; a wide "
        "image at least 80 pixels high reads best. " + IMAGE_HELP,
    )
    remove_logo = forms.BooleanField(label="Remove the logo", required=False)
    brand_color = _color_field("Brand color", "The background of headers: the portal's and the invoice page's.")
    accent_color = _color_field("Accent color", "Buttons and links in the portal, emails and invoice pages.")
    font = forms.ChoiceField(
        label="Font", choices=[(key, label) for key, (label, _) in FONTS.items()], widget=forms.RadioSelect
    )
    corner_shape = forms.ChoiceField(
        label="Corners", choices=[(key, shape[0]) for key, shape in SHAPES.items()], widget=forms.RadioSelect
    )

    def __init__(self, *args: Any, default_name: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["business_name"]
        field.help_text = (
            f"Shown in the portal, on its login page, in emails and on invoices. Left empty, customers see "
            f"“{default_name}”."
        )
        field.widget.attrs.update({"placeholder": default_name, "autocomplete": "organization"})

    def _clean_color(self, name: str) -> str:
        value = str(self.cleaned_data[name]).strip()
        parsed = color_parse(value)
        if parsed is None:
            raise forms.ValidationError(
                f"“{value}” is not a color. Enter a hex code such as #3d4eac (# and 6 or 3 digits from 0-9 and a-f)."
            )
        return parsed

    def clean_brand_color(self) -> str:
        return self._clean_color("brand_color")

    def clean_accent_color(self) -> str:
        return self._clean_color("accent_color")

    def brand_values(self) -> dict[str, Any]:
        """The brand's settings as ``brand_update`` takes them (images apart: they are stored files)."""
        data = self.cleaned_data
        return {name: data[name] for name in ("business_name", "brand_color", "accent_color", "font", "corner_shape")}

    @classmethod
    def initial_for(cls, brand: Brand) -> dict[str, Any]:
        return {
            "business_name": brand.business_name,
            "brand_color": brand.brand_color,
            "accent_color": brand.accent_color,
            "font": brand.font,
            "corner_shape": brand.corner_shape,
        }


class BrandImageForm(forms.Form):
    """The icon or the logo sent on its own: the page's script uploads an image as soon as it is chosen."""

    icon = forms.FileField(required=False)
    logo = forms.FileField(required=False)
