from __future__ import annotations

import pytest

from billfold.branding.theme import INK, WHITE, color_parse, contrast, readable_on, text_on, theme_build


@pytest.mark.parametrize(
    ("raw", "parsed"),
    [
        ("#3D4EAC", "#3d4eac"),
        ("3d4eac", "#3d4eac"),
        ("#fa0", "#ffaa00"),
        (" #FFF ", "#ffffff"),
        ("#12345", None),
        ("blue", None),
        ("#ggg", None),
        ("", None),
    ],
)
def test_colors_are_parsed_to_lowercase_six_digits(raw: str, parsed: str | None) -> None:
    assert color_parse(raw) == parsed


def test_contrast_ratios_match_wcag() -> None:
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#ffffff", "#ffffff") == pytest.approx(1.0)
    # WCAG's own example: #777777 on white just misses AA.
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)


@pytest.mark.parametrize(
    ("background", "text"),
    [("#ffffff", INK), ("#000000", WHITE), ("#3d4eac", WHITE), ("#ffd400", INK), ("#0b3d2e", WHITE), ("#e3f2fd", INK)],
)
def test_text_on_any_background_is_readable(background: str, text: str) -> None:
    assert text_on(background) == text
    assert contrast(text_on(background), background) >= 4.5


def test_a_light_accent_is_darkened_for_links_on_white() -> None:
    link = readable_on("#ffd400", WHITE)
    assert link != "#ffd400"
    assert contrast(link, WHITE) >= 4.5
    # An accent that is already readable is kept as it is.
    assert readable_on("#3d4eac", WHITE) == "#3d4eac"


def test_the_theme_gives_css_variables() -> None:
    theme = theme_build(
        business_name="Acme", brand_color="#0b3d2e", accent_color="#ffd400", font="serif", corner_shape="pill"
    )
    assert theme.brand_text == WHITE
    assert theme.accent_text == INK
    assert theme.radius == 999
    css = theme.css_variables()
    assert "--accent: #ffd400;" in css
    assert "--font: Georgia" in css
    assert f"--link: {theme.link};" in css
