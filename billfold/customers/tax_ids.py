"""A customer's tax IDs: writes (each with its event, in one transaction) and reads (one mode each).

Verification: Stripe checks some types (EU VAT with VIES, GB VAT with HMRC, AU ABN with the ABR)
against the tax authority and reports ``pending`` while it asks, then ``verified`` or
``unverified`` with the authority's answer; every other type is ``unavailable``. Billfold is
self-hosted and may run offline, so it never asks an authority: ``pending`` would never resolve
and ``verified``/``unverified`` would claim an answer nobody gave. Every tax ID is therefore
``unavailable`` — verification is not available — whatever its type.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from django.db import transaction
from django.db.models import QuerySet

from billfold.core.errors import DomainError, NotFound
from billfold.core.ids import new_id
from billfold.customers.models import Customer, TaxId
from billfold.customers.tax_id_formats import ParsedTaxId, parse_tax_id
from billfold.events.rendering import render_object
from billfold.events.services import event_record

# Stripe's limit on tax IDs per customer.
MAX_PER_CUSTOMER = 25
VERIFICATION_STATUS = "unavailable"


def tax_id_parse_many(*, items: Sequence[Mapping[str, str]], livemode: bool, param: str) -> list[ParsedTaxId]:
    """Validate ``[{"type", "value"}, ...]`` (e.g. ``tax_id_data``) before anything is written."""
    return [
        parse_tax_id(
            tax_type=item["type"], value=item["value"], check_digits=livemode, param_prefix=f"{param}[{index}]"
        )
        for index, item in enumerate(items)
    ]


def _refuse_over_limit(customer: Customer, adding: int) -> None:
    existing = TaxId.objects.filter(customer=customer).count()
    if existing + adding > MAX_PER_CUSTOMER:
        raise DomainError(
            f"Customer {customer.public_id} has {existing} tax IDs and cannot have more than {MAX_PER_CUSTOMER}. "
            "Delete one it no longer needs before adding another.",
        )


def _insert(*, customer: Customer, parsed: ParsedTaxId) -> TaxId:
    tax_id = TaxId.objects.create(
        public_id=new_id("txi"),
        livemode=customer.livemode,
        customer=customer,
        type=parsed.type,
        value=parsed.value,
        country=parsed.country,
        verification_status=VERIFICATION_STATUS,
    )
    event_record(type="customer.tax_id.created", obj=tax_id, livemode=customer.livemode)
    return tax_id


@transaction.atomic
def tax_id_create_many(*, customer: Customer, parsed: Sequence[ParsedTaxId]) -> list[TaxId]:
    """Add already validated tax IDs (from :func:`tax_id_parse_many`), one event each."""
    # Lock the customer so two concurrent additions cannot both pass the limit.
    Customer.objects.select_for_update().filter(pk=customer.pk).first()
    _refuse_over_limit(customer, len(parsed))
    return [_insert(customer=customer, parsed=item) for item in parsed]


@transaction.atomic
def tax_id_create(*, customer: Customer, tax_type: str, value: str) -> TaxId:
    """Add a tax ID to ``customer``; check digits are verified for live-mode customers only."""
    parsed = parse_tax_id(tax_type=tax_type, value=value, check_digits=customer.livemode)
    return tax_id_create_many(customer=customer, parsed=[parsed])[0]


@transaction.atomic
def tax_id_delete(*, tax_id: TaxId) -> TaxId:
    """Remove a tax ID; the event carries the object as it was."""
    rendered = render_object(tax_id)
    event_record(type="customer.tax_id.deleted", obj=tax_id, livemode=tax_id.livemode, rendered=rendered)
    tax_id.delete()
    return tax_id


def tax_id_list(*, livemode: bool, customer: Customer | None = None) -> QuerySet[TaxId]:
    """Tax IDs of live customers in this mode, of one customer when given."""
    tax_ids = TaxId.objects.filter(livemode=livemode, customer__deleted=False).select_related("customer")
    if customer is not None:
        tax_ids = tax_ids.filter(customer=customer)
    return tax_ids


def tax_id_get(*, public_id: str, livemode: bool, customer: Customer | None = None) -> TaxId:
    """The tax ID with this id in this mode (and of this customer, when given)."""
    tax_id = tax_id_list(livemode=livemode, customer=customer).filter(public_id=public_id).first()
    if tax_id is None:
        raise NotFound("tax_id", public_id)
    return tax_id
