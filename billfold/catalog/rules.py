"""The catalog's rules for a valid product and price, shared by every interface.

Each check raises ``InvalidParam`` naming the Stripe parameter at fault. ``prefix`` places the
name inside a parent hash, so a rule broken inside ``default_price_data`` names
``default_price_data[recurring][interval_count]`` rather than ``recurring[interval_count]``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from billfold.catalog.tax_codes import tax_code_get
from billfold.core.errors import InvalidParam

# Minor units; a twelve-digit amount (about ten billion dollars) is more than any price needs.
MAX_AMOUNT = 999_999_999_999
MAX_IMAGES = 8
MAX_MARKETING_FEATURES = 15
MAX_MARKETING_FEATURE_NAME = 80
MAX_URL_LENGTH = 2048
MAX_UNIT_LABEL = 12
STATEMENT_DESCRIPTOR_MIN = 5
STATEMENT_DESCRIPTOR_MAX = 22
STATEMENT_DESCRIPTOR_FORBIDDEN = "<>\\'\"*"
MAX_TRIAL_PERIOD_DAYS = 730
MAX_PACKAGE_DIMENSION = 1_000_000
# Stripe's longest billing interval is three years, counted in the price's own unit.
MAX_INTERVAL_COUNT = {"day": 1095, "week": 156, "month": 36, "year": 3}
CUSTOM_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")

_url_validator = URLValidator(schemes=["http", "https"])


def param_name(prefix: str, *parts: str | int) -> str:
    """``param_name("default_price_data", "recurring", "interval")`` → ``default_price_data[recurring][interval]``."""
    name = prefix
    for part in parts:
        name = f"{name}[{part}]" if name else str(part)
    return name


def exclusive(values: Mapping[str, Any], *names: str, prefix: str = "") -> None:
    given = [n for n in names if values.get(n) is not None]
    if len(given) > 1:
        shown = ", ".join(param_name(prefix, n) for n in given)
        raise InvalidParam(
            f"You may only specify one of these parameters: {shown}.",
            param=param_name(prefix, given[-1]),
            code="parameters_exclusive",
        )


def missing(param: str, hint: str = "") -> InvalidParam:
    return InvalidParam(
        f"Missing required param: {param}.{' ' + hint if hint else ''}", param=param, code="parameter_missing"
    )


# Products ---------------------------------------------------------------------------------


def url_check(value: str, *, param: str) -> None:
    if len(value) > MAX_URL_LENGTH:
        raise InvalidParam(f"Invalid URL: it is {len(value)} characters long; at most {MAX_URL_LENGTH}.", param=param)
    try:
        _url_validator(value)
    except ValidationError:
        raise InvalidParam(
            f"Invalid URL: {value[:100]}. Give a full http:// or https:// address.", param=param
        ) from None


def images_check(images: Sequence[str], *, prefix: str = "") -> None:
    if len(images) > MAX_IMAGES:
        raise InvalidParam(
            f"A product can have at most {MAX_IMAGES} images; you gave {len(images)}.",
            param=param_name(prefix, "images"),
        )
    for index, image in enumerate(images):
        url_check(image, param=param_name(prefix, "images", index))


def statement_descriptor_check(value: str, *, prefix: str = "") -> None:
    """Stripe's rules: 5 to 22 Latin characters, at least one letter, none of ``< > \\ ' " *``."""
    param = param_name(prefix, "statement_descriptor")
    if len(value) < STATEMENT_DESCRIPTOR_MIN:
        raise InvalidParam(
            f"The statement descriptor must be at least {STATEMENT_DESCRIPTOR_MIN} characters long; "
            f"'{value}' has {len(value)}.",
            param=param,
        )
    if len(value) > STATEMENT_DESCRIPTOR_MAX:
        raise InvalidParam(
            f"The statement descriptor must be at most {STATEMENT_DESCRIPTOR_MAX} characters long; "
            f"'{value[:40]}' has {len(value)}.",
            param=param,
        )
    foreign = sorted({c for c in value if not (" " <= c <= "~")})
    if foreign:
        raise InvalidParam(
            "The statement descriptor can only contain Latin letters, digits, spaces and common punctuation "
            f"(ASCII); remove {' '.join(repr(c) for c in foreign)}.",
            param=param,
        )
    forbidden = sorted({c for c in value if c in STATEMENT_DESCRIPTOR_FORBIDDEN})
    if forbidden:
        raise InvalidParam(
            "The statement descriptor cannot contain any of these characters: < > \\ ' \" * "
            f"(found {' '.join(forbidden)}).",
            param=param,
        )
    if not any(c.isalpha() for c in value):
        raise InvalidParam("The statement descriptor must contain at least one letter.", param=param)


def unit_label_check(value: str, *, prefix: str = "") -> None:
    if len(value) > MAX_UNIT_LABEL:
        raise InvalidParam(
            f"The unit label must be at most {MAX_UNIT_LABEL} characters long; '{value[:40]}' has {len(value)}.",
            param=param_name(prefix, "unit_label"),
        )


def tax_code_check(code: str, *, prefix: str = "") -> None:
    if tax_code_get(code) is None:
        raise InvalidParam(
            f"Invalid tax_code: '{code[:60]}' is not a known tax code. Use an id from Stripe's tax code list, "
            "such as txcd_10000000 (electronically supplied services) or txcd_99999999 (general tangible goods).",
            param=param_name(prefix, "tax_code"),
        )


def marketing_features_check(features: Sequence[Mapping[str, Any]], *, prefix: str = "") -> None:
    if len(features) > MAX_MARKETING_FEATURES:
        raise InvalidParam(
            f"A product can have at most {MAX_MARKETING_FEATURES} marketing features; you gave {len(features)}.",
            param=param_name(prefix, "marketing_features"),
        )
    for index, feature in enumerate(features):
        name = feature.get("name")
        if not name:
            raise missing(param_name(prefix, "marketing_features", index, "name"))
        if len(name) > MAX_MARKETING_FEATURE_NAME:
            raise InvalidParam(
                f"A marketing feature's name must be at most {MAX_MARKETING_FEATURE_NAME} characters long; "
                f"'{name[:40]}...' has {len(name)}.",
                param=param_name(prefix, "marketing_features", index, "name"),
            )


def package_dimensions_check(dimensions: Mapping[str, Any], *, prefix: str = "") -> dict[str, float]:
    """Inches for height, length and width, ounces for weight; positive, at most 2 decimal places."""
    result: dict[str, float] = {}
    for key in ("height", "length", "weight", "width"):
        param = param_name(prefix, "package_dimensions", key)
        if dimensions.get(key) is None:
            raise missing(param)
        value = Decimal(str(dimensions[key]))
        if not value.is_finite() or not 0 < value <= MAX_PACKAGE_DIMENSION:
            raise InvalidParam(
                f"{param} must be a number greater than 0 and at most {MAX_PACKAGE_DIMENSION}.", param=param
            )
        if value != value.quantize(Decimal("0.01")):
            raise InvalidParam(f"{param} can have at most 2 decimal places; got {value}.", param=param)
        result[key] = float(value)
    return result


def custom_id_check(value: str, *, prefix: str = "") -> None:
    if not CUSTOM_ID.fullmatch(value):
        raise InvalidParam(
            f"Invalid id: '{value[:80]}'. A custom product id has 1 to 64 letters, digits, '_' or '-'.",
            param=param_name(prefix, "id"),
        )


# Prices -----------------------------------------------------------------------------------


def decimal_text(value: Decimal) -> str:
    """A decimal as Stripe writes it: no exponent, no trailing zeros (``Decimal("12.50")`` → ``"12.5"``)."""
    text = format(value.normalize(), "f")
    return text if text != "-0" else "0"


def amount_decimal_check(value: Decimal, *, param: str) -> None:
    if value > MAX_AMOUNT:
        raise InvalidParam(f"{value} is too large: amounts can be at most {MAX_AMOUNT} minor units.", param=param)


def whole_amount(value: Decimal) -> int | None:
    """The integer an amount decimal stands for, or None when it has a fractional part."""
    return int(value) if value == value.to_integral_value() else None


def recurring_check(recurring: Mapping[str, Any], *, prefix: str = "") -> None:
    interval = recurring.get("interval")
    if interval is None:
        raise missing(param_name(prefix, "recurring", "interval"))
    if interval not in MAX_INTERVAL_COUNT:
        raise InvalidParam(
            f"Invalid recurring[interval]: must be one of day, week, month or year (got {interval}).",
            param=param_name(prefix, "recurring", "interval"),
        )
    count = recurring.get("interval_count")
    if count is not None:
        limit = MAX_INTERVAL_COUNT[interval]
        if count < 1 or count > limit:
            raise InvalidParam(
                f"Invalid recurring[interval_count]: {count} {interval}s. The longest billing interval is three "
                f"years (3 years, 36 months, 156 weeks or 1095 days), so with interval={interval} give a "
                f"count from 1 to {limit}.",
                param=param_name(prefix, "recurring", "interval_count"),
            )
    trial = recurring.get("trial_period_days")
    if trial is not None and not 0 <= trial <= MAX_TRIAL_PERIOD_DAYS:
        raise InvalidParam(
            f"Invalid recurring[trial_period_days]: a trial can last at most {MAX_TRIAL_PERIOD_DAYS} days.",
            param=param_name(prefix, "recurring", "trial_period_days"),
        )
    if recurring.get("usage_type", "licensed") not in ("licensed", "metered"):
        raise InvalidParam(
            "Invalid recurring[usage_type]: must be licensed or metered.",
            param=param_name(prefix, "recurring", "usage_type"),
        )


def custom_unit_amount_check(custom: Mapping[str, Any], *, prefix: str = "") -> dict[str, int | None]:
    if custom.get("enabled") is not True:
        raise InvalidParam(
            "custom_unit_amount[enabled] must be true; leave custom_unit_amount out for a fixed amount.",
            param=param_name(prefix, "custom_unit_amount", "enabled"),
        )
    minimum, maximum, preset = custom.get("minimum"), custom.get("maximum"), custom.get("preset")
    if minimum is not None and maximum is not None and minimum > maximum:
        raise InvalidParam(
            f"custom_unit_amount[minimum] ({minimum}) must not be greater than custom_unit_amount[maximum] "
            f"({maximum}).",
            param=param_name(prefix, "custom_unit_amount", "minimum"),
        )
    if preset is not None and (
        (minimum is not None and preset < minimum) or (maximum is not None and preset > maximum)
    ):
        raise InvalidParam(
            f"custom_unit_amount[preset] ({preset}) must lie between the minimum and the maximum.",
            param=param_name(prefix, "custom_unit_amount", "preset"),
        )
    return {"maximum": maximum, "minimum": minimum, "preset": preset}


def _tier_amount(
    tier: Mapping[str, Any], name: str, *, prefix: str, index: int, whole: bool
) -> tuple[int | None, str | None]:
    """``(amount, amount_decimal)`` of one of a tier's amounts; ``whole`` refuses fractions."""
    exclusive(tier, name, f"{name}_decimal", prefix=param_name(prefix, "tiers", index))
    if tier.get(name) is not None:
        amount: int = tier[name]
        return amount, str(amount)
    raw = tier.get(f"{name}_decimal")
    if raw is None:
        return None, None
    value = Decimal(raw)
    amount_decimal_check(value, param=param_name(prefix, "tiers", index, f"{name}_decimal"))
    if whole and whole_amount(value) is None:
        raise InvalidParam(
            f"{name}_decimal must be a whole number of minor units (got {raw}).",
            param=param_name(prefix, "tiers", index, f"{name}_decimal"),
        )
    return whole_amount(value), decimal_text(value)


def tiers_clean(tiers: Sequence[Mapping[str, Any]], *, prefix: str = "") -> list[dict[str, Any]]:
    """Check tiers and return them as stored: ascending ``up_to``, the last one unbounded (None)."""
    if not tiers:
        raise missing(param_name(prefix, "tiers"), "A tiered price needs at least one tier.")
    cleaned: list[dict[str, Any]] = []
    previous: int | None = None
    last = len(tiers) - 1
    for index, tier in enumerate(tiers):
        up_to = tier.get("up_to")
        up_to_param = param_name(prefix, "tiers", index, "up_to")
        if up_to is None:
            raise missing(up_to_param)
        if up_to == "inf":
            if index != last:
                raise InvalidParam(
                    f"Only the last tier can have up_to=inf; tier {index} of {last + 1} does.", param=up_to_param
                )
            bound = None
        else:
            bound = int(up_to)
            if index == last:
                raise InvalidParam(
                    "The last tier must have up_to=inf so that every quantity falls in a tier.", param=up_to_param
                )
            if bound < 1 or (previous is not None and bound <= previous):
                raise InvalidParam(
                    f"Tiers must be in ascending order of up_to: tier {index} has up_to={bound}"
                    + (f" after {previous}." if previous is not None else "; it must be at least 1."),
                    param=up_to_param,
                )
            previous = bound
        unit_amount, unit_decimal = _tier_amount(tier, "unit_amount", prefix=prefix, index=index, whole=False)
        flat_amount, flat_decimal = _tier_amount(tier, "flat_amount", prefix=prefix, index=index, whole=True)
        if unit_decimal is None and flat_decimal is None:
            raise InvalidParam(
                f"Tier {index} has no amount: give tiers[{index}][unit_amount] or tiers[{index}][flat_amount] "
                "(or their _decimal forms).",
                param=param_name(prefix, "tiers", index),
            )
        cleaned.append(
            {
                "up_to": bound,
                "unit_amount": unit_amount,
                "unit_amount_decimal": unit_decimal,
                "flat_amount": flat_amount,
                "flat_amount_decimal": flat_decimal,
            }
        )
    return cleaned
