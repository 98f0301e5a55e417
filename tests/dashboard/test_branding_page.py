"""The Branding page: saving each setting through brand_update, refusals next to their field with
everything else kept (an uploaded image too), the previews rendered from unsaved values (staff only,
framed by the dashboard alone), CSRF, and the saved brand on the real portal login page."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from billfold.branding.models import Brand
from billfold.branding.selectors import brand_get
from billfold.branding.services import brand_update
from billfold.branding.theme import FONTS, INK, SHAPES, WHITE, contrast
from billfold.files.models import StoredFile
from billfold.files.services import file_create
from billfold.portal.configurations import portal_configuration_default, portal_configuration_update
from tests.dashboard.helpers import oversized_png, png_bytes, signed_in_client, staff_user

pytestmark = pytest.mark.django_db

PAGE = "/dashboard/branding"
VALUES = {
    "business_name": "Acme Cloud",
    "brand_color": "#0B3D2E",
    "accent_color": "fa0",
    "font": "serif",
    "corner_shape": "pill",
}


def preview(kind: str) -> str:
    return reverse("dashboard:branding-preview", args=[kind])


def image(name: str = "logo.png", content: bytes | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, png_bytes(24, 12) if content is None else content, content_type="image/png")


def stored(purpose: str, name: str = "saved.png") -> StoredFile:
    return file_create(livemode=False, purpose=purpose, filename=name, content=png_bytes(16, 16))


def html_of(response: Any) -> str:
    return str(response.content.decode())


def input_value(html: str, name: str) -> str:
    match = re.search(rf'<input[^>]*name="{name}"[^>]*>', html)
    assert match is not None, name
    value = re.search(r'value="([^"]*)"', match.group(0))
    return value.group(1) if value else ""


def checked(html: str, name: str) -> list[str]:
    return [
        value
        for tag in re.findall(rf'<input[^>]*name="{name}"[^>]*>', html)
        if " checked" in tag
        for value in re.findall(r'value="([^"]*)"', tag)
    ]


def errors(html: str) -> list[tuple[str, str]]:
    """(field, message) of each error shown next to a field, in page order."""
    return [
        (field, message) for field, message in re.findall(r'<p class="error" id="id_(\w+)_error">([^<]*)</p>', html)
    ]


def test_the_page_shows_the_saved_brand_and_frames_its_three_previews(settings: Any) -> None:
    settings.BILLFOLD_BUSINESS_NAME = "Fallback Ltd"
    brand_update(values={"brand_color": "#0b3d2e", "font": "mono", "icon": stored("business_icon")})
    client = signed_in_client()
    response = client.get(PAGE)
    assert response.status_code == 200
    html = html_of(response)
    assert (input_value(html, "brand_color"), input_value(html, "accent_color")) == ("#0b3d2e", "#3d4eac")
    assert checked(html, "font") == ["mono"] and checked(html, "corner_shape") == ["rounded"]
    # An empty name says what customers see instead.
    assert 'placeholder="Fallback Ltd"' in html and "customers see “Fallback Ltd”" in html
    # Every font and shape the branding supports is offered.
    assert re.findall(r'name="font" value="(\w+)"', html) == list(FONTS)
    assert re.findall(r'name="corner_shape" value="(\w+)"', html) == list(SHAPES)
    # The saved icon with its remove box; no logo yet.
    icon = brand_get().icon
    assert icon is not None
    assert f'<img src="/files/{icon.public_id}/saved.png" alt="Your current icon">' in html
    assert 'name="remove_icon"' in html and 'name="remove_logo"' not in html
    assert '<span class="image-empty">No logo</span>' in html
    frames = re.findall(r'<iframe src="([^"]+)" title="([^"]+)" sandbox=""', html)
    query = "business_name=&amp;brand_color=%230b3d2e&amp;accent_color=%233d4eac&amp;font=mono&amp;corner_shape=rounded"
    assert frames == [
        (f"{preview('login')}?{query}", "Preview of the portal login page"),
        (f"{preview('portal')}?{query}", "Preview of the customer portal"),
        (f"{preview('email')}?{query}", "Preview of the email receipt"),
    ]
    # Strict as every dashboard page, but for framing its own previews.
    policy = response["Content-Security-Policy"]
    assert "frame-src 'self'" in policy and "frame-ancestors 'none'" in policy and "script-src 'self';" in policy
    assert response["X-Frame-Options"] == "DENY"
    assert "<script>" not in html and "style=" not in html and "<style" not in html
    # The nav link is there, marked as the current page.
    assert f'<a href="{PAGE}" aria-current="page">Branding</a>' in html


def test_saving_every_field_goes_through_brand_update() -> None:
    client = signed_in_client()
    response = client.post(PAGE, {**VALUES, "icon": image("mark.png"), "logo": image("wordmark.png"), "action": "save"})
    assert response.status_code == 302 and response["Location"] == PAGE
    brand = Brand.objects.select_related("icon", "logo").get()
    assert (brand.business_name, brand.brand_color, brand.accent_color, brand.font, brand.corner_shape) == (
        "Acme Cloud",
        "#0b3d2e",
        "#ffaa00",
        "serif",
        "pill",
    )
    assert brand.icon is not None and brand.logo is not None
    assert (brand.icon.purpose, brand.icon.filename, brand.logo.purpose, brand.logo.filename) == (
        "business_icon",
        "mark.png",
        "business_logo",
        "wordmark.png",
    )
    page = html_of(client.get(PAGE))
    assert "Your branding was saved: customers see it from now on." in page
    assert input_value(page, "business_name") == "Acme Cloud"
    assert (checked(page, "font"), checked(page, "corner_shape")) == (["serif"], ["pill"])

    # Each setting changes on its own; the images stay unless removed.
    for field, value, expected in (
        ("business_name", "  Acme  ", "Acme"),
        ("brand_color", "#FFFFFF", "#ffffff"),
        ("accent_color", "#123", "#112233"),
        ("font", "rounded", "rounded"),
        ("corner_shape", "square", "square"),
    ):
        assert client.post(PAGE, {**VALUES, field: value}).status_code == 302, field
        assert getattr(Brand.objects.get(), field) == expected, field
    brand = Brand.objects.get()
    assert (brand.icon_id, brand.logo_id) != (None, None)
    client.post(PAGE, {**VALUES, "remove_logo": "on"})
    brand = Brand.objects.get()
    assert brand.logo_id is None and brand.icon_id is not None
    client.post(PAGE, {**VALUES, "remove_icon": "on"})
    assert Brand.objects.get().icon_id is None


def test_bad_colors_are_refused_next_to_their_fields_and_everything_else_is_kept() -> None:
    client = signed_in_client()
    response = client.post(
        PAGE,
        {**VALUES, "brand_color": "#12345", "accent_color": "blue", "logo": image("wordmark.png"), "action": "save"},
    )
    assert response.status_code == 400
    html = html_of(response)
    assert errors(html) == [
        (
            "brand_color",
            "“#12345” is not a color. Enter a hex code such as #3d4eac (# and 6 or 3 digits from 0-9 and a-f).",
        ),
        (
            "accent_color",
            "“blue” is not a color. Enter a hex code such as #3d4eac (# and 6 or 3 digits from 0-9 and a-f).",
        ),
    ]
    assert "Please correct the highlighted fields below. Everything else you typed is kept." in html
    assert not Brand.objects.exists()
    # What was typed is still there, and the logo uploaded with the refused form is kept.
    assert input_value(html, "business_name") == "Acme Cloud"
    assert (input_value(html, "brand_color"), input_value(html, "accent_color")) == ("#12345", "blue")
    assert (checked(html, "font"), checked(html, "corner_shape")) == (["serif"], ["pill"])
    logo = StoredFile.objects.get()
    assert (logo.purpose, logo.filename) == ("business_logo", "wordmark.png")
    assert input_value(html, "pending_logo") == logo.public_id
    assert "wordmark.png is uploaded and will be used when you save." in html
    assert f'<img src="/files/{logo.public_id}/wordmark.png" alt="The logo you uploaded">' in html
    # The previews show the kept logo, and the saved colors in place of the refused ones.
    assert f"logo={logo.public_id}" in html and "brand_color=%2312345" in html
    login = html_of(client.get(f"{preview('login')}?brand_color=%2312345&logo={logo.public_id}"))
    assert "--brand: #ffffff;" in login and f'src="/files/{logo.public_id}/wordmark.png"' in login

    fixed = client.post(PAGE, {**VALUES, "pending_logo": logo.public_id})
    assert fixed.status_code == 302
    brand = Brand.objects.get()
    assert (brand.logo_id, brand.brand_color, brand.accent_color) == (logo.pk, "#0b3d2e", "#ffaa00")
    assert StoredFile.objects.count() == 1


def test_oversized_and_non_image_uploads_are_refused_with_the_rest_kept() -> None:
    brand_update(values={"business_name": "Before"})
    client = signed_in_client()
    response = client.post(
        PAGE,
        {
            **VALUES,
            "icon": image("huge.png", oversized_png()),
            "logo": SimpleUploadedFile("logo.png", b"GIF89a not a png", content_type="image/png"),
        },
    )
    assert response.status_code == 400
    html = html_of(response)
    assert errors(html) == [
        (
            "icon",
            "The file is too large: images must be smaller than 2 MB (2097152 bytes). Resize or compress it and "
            "upload it again.",
        ),
        (
            "logo",
            "The file is not a JPEG or PNG image (its content was checked, not its name). Upload a JPEG or PNG "
            "smaller than 2 MB (2097152 bytes).",
        ),
    ]
    assert not StoredFile.objects.exists()
    assert Brand.objects.get().business_name == "Before"
    assert input_value(html, "business_name") == "Acme Cloud"
    assert (input_value(html, "brand_color"), input_value(html, "accent_color")) == ("#0B3D2E", "fa0")
    assert (input_value(html, "pending_icon"), input_value(html, "pending_logo")) == ("", "")


def test_a_name_too_long_is_refused_next_to_it() -> None:
    client = signed_in_client()
    response = client.post(PAGE, {**VALUES, "business_name": "x" * 101})
    assert response.status_code == 400
    assert errors(html_of(response)) == [
        ("business_name", "Ensure this value has at most 100 characters (it has 101).")
    ]
    assert not Brand.objects.exists()


def test_the_preview_button_redraws_the_previews_without_saving() -> None:
    brand_update(values={"business_name": "Saved"})
    client = signed_in_client()
    response = client.post(PAGE, {**VALUES, "icon": image("mark.png"), "action": "preview"})
    assert response.status_code == 200
    html = html_of(response)
    icon = StoredFile.objects.get()
    assert f"{preview('login')}?business_name=Acme+Cloud&amp;brand_color=%230B3D2E&amp;accent_color=fa0" in html
    assert f"font=serif&amp;corner_shape=pill&amp;icon={icon.public_id}" in html
    assert input_value(html, "pending_icon") == icon.public_id
    assert Brand.objects.get().business_name == "Saved" and Brand.objects.get().icon_id is None
    # Removing the saved logo shows in the previews before it is saved.
    brand_update(values={"logo": stored("business_logo")})
    html = html_of(client.post(PAGE, {**VALUES, "remove_logo": "on", "action": "preview"}))
    assert "corner_shape=pill&amp;logo=none" in html


def test_the_previews_render_the_real_pages_with_unsaved_values() -> None:
    brand_update(values={"business_name": "Saved Name", "accent_color": "#3d4eac"})
    client = signed_in_client()
    query = "?business_name=Acme+Cloud&brand_color=%230b3d2e&accent_color=%23ffd400&font=serif&corner_shape=pill"

    login = client.get(preview("login") + query)
    assert login.status_code == 200
    html = html_of(login)
    assert "<h1>Manage your billing</h1>" in html
    assert "Enter the email address you use with Acme Cloud." in html
    assert '<span class="brand-name">Acme Cloud</span>' in html
    assert "--brand: #0b3d2e; --brand-text: #ffffff; --accent: #ffd400; --accent-text: #1a1f36;" in html
    assert f"--font: {FONTS['serif'][1]}; --radius: 999px; --radius-card: 16px;" in html
    assert 'class="button button-primary button-block" type="submit">Send code</button>' in html

    portal = html_of(client.get(preview("portal") + query))
    assert '<h1 class="page-title">Billing</h1>' in portal
    assert "Pro plan" in portal and "$29.00 per month" in portal and "Jenny Rosen" in portal
    assert "•••• 4242" in portal and "Invoice history" in portal
    assert "--accent: #ffd400;" in portal
    # Shown as customers see it in live mode: no test-mode notice, and no dashboard message leaks in.
    assert "Test mode" not in portal

    email = html_of(client.get(preview("email") + query))
    assert "<title>Your receipt from Acme Cloud #0F3A9C1D-0003</title>" in email
    assert "Receipt #0F3A9C1D-0003" in email and "Jenny Rosen" in email and "$29.00" in email
    # The yellow accent is darkened until it reads on the email's white body.
    colors = set(re.findall(r"background-color:(#[0-9a-f]{6});padding:20px 32px", email))
    assert len(colors) == 1
    (header,) = colors
    assert header != "#ffd400" and contrast(header, WHITE) >= 4.5

    # Nothing was saved.
    assert (brand_get().business_name, brand_get().accent_color) == ("Saved Name", "#3d4eac")


def test_the_portal_previews_follow_the_portal_configuration() -> None:
    client = signed_in_client()
    # Before the portal was configured: what a new configuration offers (no plan switching).
    overview = html_of(client.get(preview("portal")))
    assert "Payment methods" in overview and "Cancel subscription" in overview
    assert "Update subscription" not in overview and "Return to" not in overview
    portal_configuration_update(
        configuration=portal_configuration_default(livemode=False),
        values={
            "business_profile": {"headline": "Acme partners with Billfold for simplified billing."},
            "default_return_url": "https://acme.example/account",
            "features": {"payment_method_update": {"enabled": False}, "invoice_history": {"enabled": False}},
        },
    )
    for kind in ("login", "portal"):
        html = html_of(client.get(preview(kind) + "?business_name=Acme"))
        assert '<p class="headline">Acme partners with Billfold for simplified billing.</p>' in html, kind
        assert '<a class="return" href="https://acme.example/account">Return to Acme</a>' in html, kind
    overview = html_of(client.get(preview("portal")))
    assert "Payment methods" not in overview and "Invoice history" not in overview
    assert "Billing information" in overview
    # The live mode's portal is not configured: its previews are the defaults again.
    client.post(reverse("dashboard:mode"), {"livemode": "true", "section": "branding"})
    assert "headline" not in html_of(client.get(preview("login")))


def test_a_preview_keeps_the_saved_value_for_anything_invalid() -> None:
    brand_update(values={"brand_color": "#0b3d2e", "font": "mono", "corner_shape": "square"})
    client = signed_in_client()
    html = html_of(client.get(preview("login") + "?brand_color=blue&font=comic&corner_shape=blob&icon=file_nope"))
    assert "--brand: #0b3d2e;" in html and f"--font: {FONTS['mono'][1]};" in html and "--radius: 0px;" in html
    assert "brand-icon" not in html
    assert client.get(reverse("dashboard:branding-preview", args=["invoice"])).status_code == 404


def test_a_very_light_brand_still_gets_readable_text() -> None:
    client = signed_in_client()
    client.post(PAGE, {**VALUES, "brand_color": "#fafafa", "accent_color": "#ffee58"})
    for html in (html_of(client.get(preview("login"))), html_of(client.get(preview("portal")))):
        # Ink, not white, on the light header and buttons; links darkened until they read on white.
        assert "--brand: #fafafa; --brand-text: #1a1f36; --accent: #ffee58; --accent-text: #1a1f36;" in html
        link = re.search(r"--link: (#[0-9a-f]{6});", html)
        assert link is not None and contrast(link.group(1), WHITE) >= 4.5
    assert contrast(INK, "#ffee58") >= 4.5


def test_the_previews_show_an_image_uploaded_but_not_saved() -> None:
    saved_logo = stored("business_logo")
    brand_update(values={"logo": saved_logo})
    client = signed_in_client()
    answer = client.post(reverse("dashboard:branding-image", args=["logo"]), {"logo": image("new.png")})
    assert answer.status_code == 200
    new = StoredFile.objects.get(filename="new.png")
    assert answer.json() == {"id": new.public_id, "filename": "new.png", "url": f"/files/{new.public_id}/new.png"}
    assert new.purpose == "business_logo"

    login = html_of(client.get(f"{preview('login')}?logo={new.public_id}"))
    assert f'<img class="brand-logo" src="/files/{new.public_id}/new.png" alt=' in login
    # Emails carry the logo inside them; the preview points at it instead.
    email = html_of(client.get(f"{preview('email')}?logo={new.public_id}"))
    assert f'src="/files/{new.public_id}/new.png"' in email and "cid:" not in email
    # "none" previews the removal of the saved logo; a logo file is not taken as an icon.
    assert "brand-logo" not in html_of(client.get(f"{preview('login')}?logo=none"))
    assert "brand-icon" not in html_of(client.get(f"{preview('login')}?icon={new.public_id}"))
    assert Brand.objects.get().logo_id == saved_logo.pk


def test_the_image_endpoint_refuses_what_is_not_an_image() -> None:
    client = signed_in_client()
    url = reverse("dashboard:branding-image", args=["icon"])
    refused = client.post(url, {"icon": SimpleUploadedFile("x.png", b"not an image", content_type="image/png")})
    assert refused.status_code == 400
    assert refused.json() == {
        "error": "The file is not a JPEG or PNG image (its content was checked, not its name). Upload a JPEG or "
        "PNG smaller than 2 MB (2097152 bytes)."
    }
    assert client.post(url, {}).json() == {"error": "Choose a JPEG or PNG image to upload."}
    assert client.post(reverse("dashboard:branding-image", args=["banner"]), {"banner": image()}).status_code == 404
    assert client.get(url).status_code == 405
    assert not StoredFile.objects.exists()


def test_previews_may_be_framed_by_the_dashboard_only() -> None:
    client = signed_in_client()
    for kind in ("login", "portal", "email"):
        response = client.get(preview(kind))
        policy = response["Content-Security-Policy"]
        assert "frame-ancestors 'self'" in policy and "sandbox" in policy, kind
        assert "form-action 'none'" in policy and "script-src" not in policy and "default-src 'none'" in policy
        assert response["X-Frame-Options"] == "SAMEORIGIN", kind
        assert response["Cache-Control"] == "private, no-store", kind
    assert "style-src 'unsafe-inline'" in client.get(preview("email"))["Content-Security-Policy"]
    assert "unsafe-inline" not in client.get(preview("login"))["Content-Security-Policy"]


def test_the_page_and_previews_are_for_staff_only(client: Client) -> None:
    paths = [PAGE, preview("login"), preview("portal"), preview("email")]
    for path in paths:
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/dashboard/sign-in?next="), path
    someone = Client()
    someone.force_login(User.objects.create_user(username="someone@example.com", password="irrelevant pass"))
    assert {someone.get(path).status_code for path in paths} == {302}
    # Writes refuse too, and store nothing.
    for visitor in (client, someone):
        assert visitor.post(PAGE, VALUES).status_code == 302
        assert visitor.post(reverse("dashboard:branding-image", args=["logo"]), {"logo": image()}).status_code == 302
    assert not Brand.objects.exists() and not StoredFile.objects.exists()


def test_saving_and_uploading_need_the_csrf_token() -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_user())
    assert client.post(PAGE, VALUES).status_code == 403
    assert client.post(reverse("dashboard:branding-image", args=["logo"]), {"logo": image()}).status_code == 403
    assert not Brand.objects.exists() and not StoredFile.objects.exists()
    # With the token taken from the page, it goes through.
    page = html_of(client.get(PAGE))
    token = input_value(page, "csrfmiddlewaretoken")
    assert client.post(PAGE, {**VALUES, "csrfmiddlewaretoken": token}).status_code == 302
    assert Brand.objects.get().business_name == "Acme Cloud"


def test_the_saved_brand_shows_on_the_real_portal_login_page() -> None:
    client = signed_in_client()
    client.post(PAGE, {**VALUES, "logo": image("wordmark.png")})
    configuration = portal_configuration_update(
        configuration=portal_configuration_default(livemode=False), values={"login_page": {"enabled": True}}
    )
    assert configuration.login_link is not None
    response = Client().get(f"/p/login/{configuration.login_link.token}")
    assert response.status_code == 200
    html = html_of(response)
    logo = StoredFile.objects.get()
    assert "--brand: #0b3d2e; --brand-text: #ffffff; --accent: #ffaa00; --accent-text: #1a1f36;" in html
    assert f"--font: {FONTS['serif'][1]}; --radius: 999px;" in html
    assert f'<img class="brand-logo" src="/files/{logo.public_id}/wordmark.png" alt="Acme Cloud">' in html
    assert "Enter the email address you use with Acme Cloud." in html


def test_each_font_choice_is_drawn_in_its_own_font() -> None:
    css = (Path(settings.BASE_DIR) / "dashboard/static/dashboard/branding.css").read_text()
    for key, (_, stack) in FONTS.items():
        assert f".font-{key} .font-sample {{ font-family: {stack}; }}" in css, key
