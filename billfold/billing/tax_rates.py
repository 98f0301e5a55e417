"""Tax rates: writes (each in one transaction with its event) and reads, always within one mode."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import QuerySet

from billfold.billing.models import TaxRate
from billfold.billing.models.tax_rates import TAX_TYPES
from billfold.core import clock
from billfold.core.errors import InvalidParam, NotFound
from billfold.core.ids import new_id
from billfold.core.metadata import merge_metadata
from billfold.events.rendering import render_object
from billfold.events.services import event_record, event_record_update

_COUNTRY = re.compile(r"[A-Za-z]{2}")
_STATE = re.compile(r"[A-Za-z0-9]{1,3}")
# What may change after creation; percentage and inclusive never do.
_UPDATABLE = ("active", "country", "description", "display_name", "jurisdiction", "state", "tax_type")
_UNSETTABLE = ("country", "description", "jurisdiction", "state", "tax_type")


def _percentage_check(value: Decimal) -> None:
    exponent = value.as_tuple().exponent
    if not Decimal(0) <= value <= Decimal(100) or (isinstance(exponent, int) and exponent < -4):
        raise InvalidParam(
            f"Invalid percentage: {value}. Give the tax rate in percent, from 0 to 100, with at most four decimal "
            "places (e.g. 19 or 8.875).",
            param="percentage",
        )


def _fields_clean(values: Mapping[str, Any]) -> dict[str, Any]:
    """The descriptive fields in ``values``, checked and normalised (country upper case)."""
    cleaned: dict[str, Any] = {}
    for name in _UPDATABLE:
        if name not in values:
            continue
        value = values[name]
        if value is None and name not in _UNSETTABLE:
            raise InvalidParam(f"{name} cannot be unset.", param=name, code="parameter_invalid_empty")
        if name == "display_name" and not value.strip():
            raise InvalidParam("display_name cannot be blank: it is what invoices show.", param=name)
        if name == "country" and value is not None:
            if not _COUNTRY.fullmatch(value):
                raise InvalidParam(
                    f"Invalid country: '{value[:20]}'. Give a two-letter ISO 3166-1 code such as DE or US.", param=name
                )
            value = value.upper()
        if name == "state" and value is not None:
            if not _STATE.fullmatch(value):
                raise InvalidParam(
                    f"Invalid state: '{value[:20]}'. Give the ISO 3166-2 subdivision code without the country "
                    "prefix, such as NY.",
                    param=name,
                )
            value = value.upper()
        if name == "tax_type" and value is not None and value not in TAX_TYPES:
            raise InvalidParam(f"Invalid tax_type: must be one of {', '.join(TAX_TYPES)}.", param=name)
        cleaned[name] = value
    return cleaned


@transaction.atomic
def tax_rate_create(
    *,
    livemode: bool,
    display_name: str,
    percentage: Decimal,
    inclusive: bool,
    values: Mapping[str, Any] | None = None,
    metadata: Mapping[str, str | None] | None = None,
) -> TaxRate:
    """Create a tax rate; ``values`` holds the optional descriptive fields (active, country, state,
    jurisdiction, description, tax_type)."""
    _percentage_check(percentage)
    fields = _fields_clean({**(values or {}), "display_name": display_name})
    tax_rate = TaxRate(
        public_id=new_id("txr"),
        livemode=livemode,
        created=clock.now(),
        percentage=percentage,
        inclusive=inclusive,
        metadata=merge_metadata({}, metadata or {}),
        **fields,
    )
    tax_rate.save(force_insert=True)
    event_record(type="tax_rate.created", obj=tax_rate, livemode=livemode)
    return tax_rate


@transaction.atomic
def tax_rate_update(*, tax_rate: TaxRate, values: Mapping[str, Any]) -> TaxRate:
    """Change the descriptive fields, ``active`` and ``metadata``; ``None`` unsets a field."""
    fields = _fields_clean(values)
    tax_rate = TaxRate.objects.select_for_update().get(pk=tax_rate.pk)
    before = render_object(tax_rate)
    for name, value in fields.items():
        setattr(tax_rate, name, value)
    if "metadata" in values:
        tax_rate.metadata = merge_metadata(tax_rate.metadata, values["metadata"])
    tax_rate.save()
    event_record_update(type="tax_rate.updated", obj=tax_rate, livemode=tax_rate.livemode, before=before)
    return tax_rate


def tax_rate_get(*, public_id: str, livemode: bool, param: str = "id") -> TaxRate:
    tax_rate = TaxRate.objects.filter(public_id=public_id, livemode=livemode).first()
    if tax_rate is None:
        raise NotFound("tax_rate", public_id, param=param)
    return tax_rate


def tax_rates_for_use(*, public_ids: Sequence[str], livemode: bool, param: str) -> list[TaxRate]:
    """The tax rates to apply anew, in the order given; refuses unknown, archived and repeated rates.

    ``param`` names the list (``tax_rates``, ``default_tax_rates``); a refusal names the entry.
    """
    found = {rate.public_id: rate for rate in TaxRate.objects.filter(livemode=livemode, public_id__in=public_ids)}
    rates: list[TaxRate] = []
    for index, public_id in enumerate(public_ids):
        entry = f"{param}[{index}]"
        rate = found.get(public_id)
        if rate is None:
            raise NotFound("tax_rate", public_id, param=entry)
        if not rate.active:
            raise InvalidParam(
                f"The tax rate {public_id} is archived (active=false) and cannot be applied to anything new. "
                "Reactivate it or use another rate.",
                param=entry,
            )
        if rate in rates:
            raise InvalidParam(f"The tax rate {public_id} is given twice; each rate applies once.", param=entry)
        rates.append(rate)
    return rates


def tax_rate_list(*, livemode: bool, active: bool | None = None, inclusive: bool | None = None) -> QuerySet[TaxRate]:
    tax_rates = TaxRate.objects.filter(livemode=livemode)
    if active is not None:
        tax_rates = tax_rates.filter(active=active)
    if inclusive is not None:
        tax_rates = tax_rates.filter(inclusive=inclusive)
    return tax_rates
