from __future__ import annotations

from collections.abc import Iterator

import pytest

from billfold.core.errors import DomainError, InvalidParam
from billfold.customers import services
from billfold.customers.models import Customer
from billfold.events.models import Event

pytestmark = pytest.mark.django_db


def draws(*values: str) -> Iterator[str]:
    yield from values


def test_a_taken_generated_prefix_is_drawn_again(monkeypatch: pytest.MonkeyPatch) -> None:
    services.customer_create(livemode=False, values={"invoice_prefix": "TAKEN001"})
    sequence = draws("TAKEN001", "TAKEN001", "FREE0001")
    monkeypatch.setattr(services, "_random_prefix", lambda: next(sequence))
    customer = services.customer_create(livemode=False, values={"email": "b@example.com"})
    assert customer.invoice_prefix == "FREE0001"
    assert Customer.objects.get(pk=customer.pk).invoice_prefix == "FREE0001"


def test_the_same_prefix_is_free_in_the_other_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    services.customer_create(livemode=True, values={"invoice_prefix": "BOTHMODE"})
    monkeypatch.setattr(services, "_random_prefix", lambda: "BOTHMODE")
    assert services.customer_create(livemode=False, values={}).invoice_prefix == "BOTHMODE"


def test_giving_up_after_five_taken_draws_writes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    services.customer_create(livemode=False, values={"invoice_prefix": "TAKEN001"})
    monkeypatch.setattr(services, "_random_prefix", lambda: "TAKEN001")
    before = (Customer.objects.count(), Event.objects.count())
    with pytest.raises(DomainError, match="Could not allocate an invoice prefix"):
        services.customer_create(livemode=False, values={"email": "c@example.com"})
    assert (Customer.objects.count(), Event.objects.count()) == before


def test_a_given_prefix_that_is_taken_is_refused() -> None:
    services.customer_create(livemode=False, values={"invoice_prefix": "ACME"})
    with pytest.raises(InvalidParam, match="already used"):
        services.customer_create(livemode=False, values={"invoice_prefix": "ACME"})
    assert Customer.objects.filter(invoice_prefix="ACME").count() == 1
