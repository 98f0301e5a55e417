"""Writes for customers: one function per operation, each in one transaction with its event."""

from __future__ import annotations

import re
import secrets
import string
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction

from billfold.clocks import selectors as clock_selectors
from billfold.clocks.models import TestClock
from billfold.clocks.selectors import customer_now
from billfold.core.errors import DomainError, InvalidParam
from billfold.core.ids import new_id
from billfold.core.metadata import merge_metadata
from billfold.core.rows import row_get, row_insert
from billfold.customers.models import Customer
from billfold.customers.tax_ids import tax_id_create_many, tax_id_parse_many
from billfold.events.rendering import render_object
from billfold.events.services import event_record, event_record_update
from billfold.payments import selectors as payment_selectors
from billfold.payments import services as payment_services

if TYPE_CHECKING:
    from billfold.payments.models import PaymentMethod

_INVOICE_PREFIX = re.compile(r"[A-Z0-9]{3,12}")
_LOCALE = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})*")
_PREFIX_ALPHABET = string.ascii_uppercase + string.digits

# Columns a create or update may set directly, after validation.
_SIMPLE_FIELDS = (
    "email",
    "name",
    "phone",
    "description",
    "address",
    "shipping",
    "balance",
    "preferred_locales",
    "invoice_prefix",
    "next_invoice_sequence",
    "tax_exempt",
)


def _check_email(email: str | None) -> None:
    if email is None:
        return
    try:
        validate_email(email)
    except ValidationError:
        raise InvalidParam(f"Invalid email address: {email}", param="email", code="email_invalid") from None


def _check_invoice_prefix(prefix: str) -> None:
    if not _INVOICE_PREFIX.fullmatch(prefix):
        raise InvalidParam(
            f"Invalid invoice_prefix: '{prefix}'. It must be 3 to 12 uppercase letters or digits.",
            param="invoice_prefix",
        )


def _check_locales(locales: list[str]) -> None:
    for index, locale in enumerate(locales):
        if not _LOCALE.fullmatch(locale):
            raise InvalidParam(
                f"Invalid locale: '{locale}'. Use an IETF language tag such as 'en', 'de' or 'pt-BR'.",
                param=f"preferred_locales[{index}]",
            )


def _check(values: Mapping[str, Any]) -> None:
    if "email" in values:
        _check_email(values["email"])
    if values.get("invoice_prefix") is not None:
        _check_invoice_prefix(values["invoice_prefix"])
    if values.get("preferred_locales"):
        _check_locales(values["preferred_locales"])
    shipping = values.get("shipping")
    if shipping is not None and not shipping.get("name"):
        raise InvalidParam("Missing required param: shipping[name].", param="shipping[name]", code="parameter_missing")
    if shipping is not None and not shipping.get("address"):
        raise InvalidParam(
            "Missing required param: shipping[address].", param="shipping[address]", code="parameter_missing"
        )


def _save_unique_prefix(customer: Customer, *, generated: bool) -> None:
    """Insert or update, drawing another generated invoice prefix while the drawn one is taken.

    A prefix given by the caller that is taken is refused (the error rolls the change back).
    A generated one is checked before the insert: with 36^8 prefixes a second draw is rare, and
    two requests drawing the same one between check and insert would need to collide at 1 in 10^12.
    """
    if generated:
        for _ in range(5):
            if row_get(Customer, livemode=customer.livemode, invoice_prefix=customer.invoice_prefix) is None:
                break
            customer.invoice_prefix = _random_prefix()
        else:
            raise DomainError("Could not allocate an invoice prefix; please retry.")
    try:
        if customer._state.adding:
            row_insert(customer)
        else:
            customer.save()
    except IntegrityError:
        raise InvalidParam(
            f"The invoice prefix '{customer.invoice_prefix}' is already used by another customer.",
            param="invoice_prefix",
        ) from None


def _random_prefix() -> str:
    return "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(8))


def _payment_method_for_new_customer(customer: Customer, values: Mapping[str, Any]) -> PaymentMethod | None:
    """The payment method ``payment_method`` names, to attach once the customer exists.

    A new customer has no other payment method, so a default must name this one; a magic test
    id (``pm_card_visa``) given for both becomes the id of the payment method made for it.
    """
    requested = values.get("payment_method")
    payment_method = (
        payment_services.payment_method_resolve(public_id=requested, livemode=customer.livemode, param="payment_method")
        if requested is not None
        else None
    )
    default = customer.invoice_settings.get("default_payment_method")
    if default is not None:
        if payment_method is None or default != requested:
            raise InvalidParam(
                f"The customer does not have a payment method with the ID {default}. The payment method must be "
                "attached to the customer: pass the same id as payment_method to attach it while creating.",
                param="invoice_settings[default_payment_method]",
                code="resource_missing",
            )
        customer.invoice_settings["default_payment_method"] = payment_method.public_id
    return payment_method


def _test_clock_for_new_customer(public_id: str, *, livemode: bool) -> TestClock:
    if livemode:
        raise InvalidParam(
            "Test clocks exist in test mode only: create this customer with a test-mode key (sk_test_...) "
            "to attach it to a test clock.",
            param="test_clock",
        )
    test_clock = clock_selectors.test_clock_get(public_id=public_id, livemode=livemode, param="test_clock")
    if test_clock.status == TestClock.ADVANCING:
        raise InvalidParam(
            f"Test clock {public_id} is advancing; attach new customers to it once its status is ready.",
            param="test_clock",
        )
    return test_clock


@transaction.atomic
def customer_create(*, livemode: bool, values: Mapping[str, Any]) -> Customer:
    """Create a customer from validated API/dashboard values (keys of ``_SIMPLE_FIELDS``).

    ``tax_id_data`` (``[{"type", "value"}, ...]``) adds tax IDs in the same transaction. A customer
    made on a ``test_clock`` (a clock id) lives on that clock's time from its creation on.
    """
    _check(values)
    tax_id_data = tax_id_parse_many(items=values.get("tax_id_data") or [], livemode=livemode, param="tax_id_data")
    test_clock = (
        _test_clock_for_new_customer(values["test_clock"], livemode=livemode)
        if values.get("test_clock") is not None
        else None
    )
    customer = Customer(public_id=new_id("cus", 14), livemode=livemode, test_clock=test_clock)
    if test_clock is not None:
        customer.created = test_clock.frozen_time
    for name in _SIMPLE_FIELDS:
        if name in values and values[name] is not None:
            setattr(customer, name, values[name])
    if "invoice_settings" in values and values["invoice_settings"] is not None:
        customer.invoice_settings = dict(values["invoice_settings"])
    payment_method = _payment_method_for_new_customer(customer, values)
    customer.metadata = merge_metadata({}, values.get("metadata", {}))
    generated = not values.get("invoice_prefix")
    if generated:
        customer.invoice_prefix = _random_prefix()
    _save_unique_prefix(customer, generated=generated)
    event_record(type="customer.created", obj=customer, livemode=livemode, created=customer_now(customer))
    if payment_method is not None:
        payment_services.payment_method_attach(payment_method=payment_method, customer=customer)
    if tax_id_data:
        tax_id_create_many(customer=customer, parsed=tax_id_data)
    return customer


@transaction.atomic
def customer_update(*, customer: Customer, values: Mapping[str, Any]) -> Customer:
    """Apply validated changes; ``None`` unsets a field. Writes ``customer.updated`` if anything changed."""
    _check(values)
    # Work on the row as it is now, locked: the caller's object may be stale (an invoice number
    # taken since it was read), and saving it whole would write the old values back.
    customer = Customer.objects.select_for_update(of=("self",)).select_related("test_clock").get(pk=customer.pk)
    before = render_object(customer)
    for name in _SIMPLE_FIELDS:
        if name not in values:
            continue
        value = values[name]
        if value is None:
            default = {"balance": 0, "preferred_locales": [], "tax_exempt": "none"}
            if name in ("invoice_prefix", "next_invoice_sequence"):
                raise InvalidParam(f"{name} cannot be unset.", param=name, code="parameter_invalid_empty")
            value = default.get(name)
        setattr(customer, name, value)
    if "invoice_settings" in values:
        settings_change = values["invoice_settings"] or {}
        if settings_change.get("default_payment_method") is not None:
            payment_selectors.payment_method_of_customer(
                public_id=settings_change["default_payment_method"],
                customer=customer,
                param="invoice_settings[default_payment_method]",
            )
        merged = {**customer.invoice_settings}
        for key, value in settings_change.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
        customer.invoice_settings = merged
    if "metadata" in values:
        customer.metadata = merge_metadata(customer.metadata, values["metadata"])
    _save_unique_prefix(customer, generated=False)
    event_record_update(
        type="customer.updated", obj=customer, livemode=customer.livemode, before=before, created=customer_now(customer)
    )
    return customer


@transaction.atomic
def customer_delete(*, customer: Customer) -> Customer:
    """Delete a customer: it disappears from lists and can no longer be changed or billed."""
    rendered = render_object(customer)
    customer.deleted = True
    customer.save(update_fields=["deleted"])
    event_record(
        type="customer.deleted",
        obj=customer,
        livemode=customer.livemode,
        rendered=rendered,
        created=customer_now(customer),
    )
    return customer
