"""/v1/promotion_codes through the official stripe SDK, and the checks made when a code is redeemed."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from types import ModuleType
from typing import Any

import pytest

from billfold.billing import coupons
from billfold.billing.coupons import PromotionCodeRefused
from billfold.billing.models import Coupon, PromotionCode
from billfold.core import clock
from billfold.core.errors import NotFound
from billfold.customers.models import Customer
from billfold.customers.services import customer_create
from billfold.events.models import Event
from tests.api.test_shapes import RESOURCES, shape_differences

NOW = dt.datetime(2027, 3, 1, tzinfo=dt.UTC)


def body(obj: Any) -> dict[str, Any]:
    sent: dict[str, Any] = json.loads(obj.last_response.body)
    return sent


@pytest.fixture
def coupon(sdk: ModuleType) -> Any:
    return sdk.Coupon.create(id="FALL", percent_off=20, duration="once")


def test_create_retrieve_update(sdk: ModuleType, coupon: Any) -> None:
    customer = sdk.Customer.create(email="jenny@example.com")
    expires_at = clock.to_unix(clock.now()) + 86400
    code = sdk.PromotionCode.create(
        promotion={"type": "coupon", "coupon": "FALL"},
        code="Fall20",
        customer=customer.id,
        expires_at=expires_at,
        max_redemptions=5,
        restrictions={"first_time_transaction": True, "minimum_amount": 5000, "minimum_amount_currency": "USD"},
        metadata={"channel": "newsletter"},
    )
    assert code.id.startswith("promo_")
    assert body(code) == {
        "id": code.id,
        "object": "promotion_code",
        "active": True,
        "code": "Fall20",
        "created": body(code)["created"],
        "customer": customer.id,
        "customer_account": None,
        "expires_at": expires_at,
        "livemode": False,
        "max_redemptions": 5,
        "metadata": {"channel": "newsletter"},
        "promotion": {"coupon": "FALL", "type": "coupon"},
        "restrictions": {"first_time_transaction": True, "minimum_amount": 5000, "minimum_amount_currency": "usd"},
        "times_redeemed": 0,
    }
    assert shape_differences(body(code), RESOURCES["promotion_code"], "promotion_code") == []
    assert sdk.PromotionCode.retrieve(code.id).to_dict() == code.to_dict()

    expanded = sdk.PromotionCode.retrieve(code.id, expand=["promotion.coupon", "customer"])
    assert (expanded.promotion.coupon.id, expanded.promotion.coupon.percent_off) == ("FALL", 20.0)
    assert expanded.customer.email == "jenny@example.com"

    updated = sdk.PromotionCode.modify(
        code.id,
        active=False,
        metadata={"channel": ""},
        restrictions={"currency_options": {"eur": {"minimum_amount": 4500}}},
    )
    assert (updated.active, updated.metadata.to_dict()) == (False, {})
    with_options = sdk.PromotionCode.retrieve(code.id, expand=["restrictions.currency_options"])
    assert body(with_options)["restrictions"]["currency_options"] == {
        "usd": {"minimum_amount": 5000},
        "eur": {"minimum_amount": 4500},
    }
    events = list(Event.objects.filter(object_id=code.id).order_by("pk"))
    assert [e.type for e in events] == ["promotion_code.created", "promotion_code.updated"]
    assert events[1].data["previous_attributes"] == {"active": True, "metadata": {"channel": "newsletter"}}


def test_legacy_coupon_param_and_generated_code(sdk: ModuleType, coupon: Any) -> None:
    code = sdk.PromotionCode.create(coupon="FALL")
    assert code.promotion.to_dict() == {"coupon": "FALL", "type": "coupon"}
    assert len(code.code) == 8
    assert code.code.isalnum() and code.code.upper() == code.code
    assert code.restrictions.to_dict() == {
        "first_time_transaction": False,
        "minimum_amount": None,
        "minimum_amount_currency": None,
    }


def test_codes_are_unique_among_active_codes_regardless_of_case(sdk: ModuleType, coupon: Any) -> None:
    first = sdk.PromotionCode.create(promotion={"type": "coupon", "coupon": "FALL"}, code="AUTUMN-20")
    before = (PromotionCode.objects.count(), Event.objects.count())
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.PromotionCode.create(promotion={"type": "coupon", "coupon": "FALL"}, code="autumn-20")
    assert (raised.value.param, raised.value.code) == ("code", "resource_already_exists")
    assert (PromotionCode.objects.count(), Event.objects.count()) == before

    # An inactive code frees its text; switching the old one back on is then refused.
    inactive = sdk.PromotionCode.create(promotion={"type": "coupon", "coupon": "FALL"}, code="AUTUMN-20", active=False)
    sdk.PromotionCode.modify(first.id, active=False)
    sdk.PromotionCode.modify(inactive.id, active=True)
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.PromotionCode.modify(first.id, active=True)
    assert raised.value.param == "active"
    assert sdk.PromotionCode.retrieve(first.id).active is False


def test_customer_codes_clash_only_with_codes_that_customer_could_use(sdk: ModuleType, coupon: Any) -> None:
    ana, ben = sdk.Customer.create(), sdk.Customer.create()
    promotion = {"type": "coupon", "coupon": "FALL"}
    sdk.PromotionCode.create(promotion=promotion, code="VIP", customer=ana.id)
    sdk.PromotionCode.create(promotion=promotion, code="vip", customer=ben.id)
    for customer in (ana.id, None):
        with pytest.raises(sdk.InvalidRequestError) as raised:
            sdk.PromotionCode.create(promotion=promotion, code="Vip", **({"customer": customer} if customer else {}))
        assert raised.value.param == "code"
    assert PromotionCode.objects.count() == 2


def test_list_filters(sdk: ModuleType, coupon: Any) -> None:
    other = sdk.Coupon.create(percent_off=5)
    customer = sdk.Customer.create()
    a = sdk.PromotionCode.create(promotion={"type": "coupon", "coupon": "FALL"}, code="ALPHA")
    b = sdk.PromotionCode.create(promotion={"type": "coupon", "coupon": other.id}, code="BETA", customer=customer.id)
    c = sdk.PromotionCode.create(promotion={"type": "coupon", "coupon": "FALL"}, code="GAMMA", active=False)

    def ids(**filters: Any) -> list[str]:
        return [p.id for p in sdk.PromotionCode.list(**filters).data]

    assert ids() == [c.id, b.id, a.id]
    assert ids(active=True) == [b.id, a.id]
    assert ids(active=False) == [c.id]
    assert ids(code="alpha") == [a.id]
    assert ids(coupon="FALL") == [c.id, a.id]
    assert ids(customer=customer.id) == [b.id]
    assert ids(limit=1, starting_after=b.id) == [a.id]
    assert sdk.PromotionCode.list().url == "/v1/promotion_codes"


@pytest.mark.parametrize(
    ("params", "param", "code"),
    [
        ({}, "promotion", "parameter_missing"),
        ({"promotion": {"type": "coupon"}}, "promotion[coupon]", "parameter_missing"),
        ({"promotion": {"type": "discount", "coupon": "FALL"}}, "promotion[type]", None),
        (
            {"coupon": "FALL", "promotion": {"type": "coupon", "coupon": "FALL"}},
            "promotion[coupon]",
            "parameters_exclusive",
        ),
        ({"promotion": {"type": "coupon", "coupon": "NOPE"}}, "promotion[coupon]", "resource_missing"),
        ({"coupon": "NOPE"}, "coupon", "resource_missing"),
        ({"coupon": "FALL", "customer": "cus_missing"}, "customer", "resource_missing"),
        ({"coupon": "FALL", "code": "FALL 20"}, "code", "parameter_invalid"),
        ({"coupon": "FALL", "code": "ÉTÉ"}, "code", "parameter_invalid"),
        ({"coupon": "FALL", "expires_at": 1_000_000}, "expires_at", "parameter_invalid"),
        ({"coupon": "FALL", "max_redemptions": 0}, "max_redemptions", None),
        (
            {"coupon": "FALL", "restrictions": {"minimum_amount": 100}},
            "restrictions[minimum_amount_currency]",
            "parameter_missing",
        ),
        (
            {"coupon": "FALL", "restrictions": {"minimum_amount_currency": "usd"}},
            "restrictions[minimum_amount]",
            "parameter_missing",
        ),
        (
            {"coupon": "FALL", "restrictions": {"minimum_amount": 100, "minimum_amount_currency": "usx"}},
            "restrictions[minimum_amount_currency]",
            "parameter_invalid",
        ),
        (
            {"coupon": "FALL", "restrictions": {"currency_options": {"eur": {"minimum_amount": 100}}}},
            "restrictions[currency_options]",
            "parameter_invalid",
        ),
        (
            {
                "coupon": "FALL",
                "restrictions": {
                    "minimum_amount": 100,
                    "minimum_amount_currency": "usd",
                    "currency_options": {"usd": {"minimum_amount": 90}},
                },
            },
            "restrictions[currency_options][usd]",
            "parameter_invalid",
        ),
        ({"coupon": "FALL", "restrictions": {"first_time": True}}, "restrictions[first_time]", "parameter_unknown"),
    ],
)
def test_create_refusals_name_the_param(
    sdk: ModuleType, coupon: Any, params: dict[str, Any], param: str, code: str | None
) -> None:
    events = Event.objects.count()
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.PromotionCode.create(**params)
    assert raised.value.http_status == (404 if code == "resource_missing" else 400)
    assert (raised.value.param, raised.value.code) == (param, code)
    assert PromotionCode.objects.count() == 0
    assert Event.objects.count() == events


def test_limits_cannot_outgrow_the_coupons(sdk: ModuleType) -> None:
    redeem_by = clock.to_unix(clock.now()) + 3600
    sdk.Coupon.create(id="LIMITED", percent_off=10, max_redemptions=3, redeem_by=redeem_by)
    for params, param in (({"max_redemptions": 4}, "max_redemptions"), ({"expires_at": redeem_by + 1}, "expires_at")):
        with pytest.raises(sdk.InvalidRequestError) as raised:
            sdk.PromotionCode.create(coupon="LIMITED", **params)
        assert raised.value.param == param
    code = sdk.PromotionCode.create(coupon="LIMITED", max_redemptions=3, expires_at=redeem_by)
    assert (code.max_redemptions, code.expires_at) == (3, redeem_by)


def test_no_code_for_a_coupon_that_can_no_longer_be_redeemed(sdk: ModuleType) -> None:
    with clock.frozen_at(NOW):
        sdk.Coupon.create(id="SOON", percent_off=10, redeem_by=clock.to_unix(NOW) + 60)
    with clock.frozen_at(NOW + dt.timedelta(minutes=2)), pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.PromotionCode.create(promotion={"type": "coupon", "coupon": "SOON"})
    assert raised.value.param == "promotion[coupon]"
    assert PromotionCode.objects.count() == 0


# Redeeming ---------------------------------------------------------------------------------


def _customer(email: str = "jenny@example.com") -> Customer:
    return customer_create(livemode=False, values={"email": email})


def _refusal(code: PromotionCode, **purchase: Any) -> str | None:
    arguments: dict[str, Any] = {"customer": None, "amount": 10000, "currency": "usd", "first_time": True, **purchase}
    try:
        coupons.promotion_code_check(code=code, **arguments)
    except PromotionCodeRefused as refused:
        assert refused.param == "promotion_code"
        return refused.restriction
    return None


def test_check_names_the_restriction_that_fails(db: None) -> None:
    with clock.frozen_at(NOW):
        percent = coupons.coupon_create(livemode=False, percent_off=Decimal(10), max_redemptions=10)
        amount = coupons.coupon_create(livemode=False, amount_off=500, currency="usd")
        ana, ben = _customer(), _customer("ben@example.com")
        plain = coupons.promotion_code_create(livemode=False, coupon=percent, code="PLAIN")
        inactive = coupons.promotion_code_create(livemode=False, coupon=percent, code="OFF", active=False)
        expiring = coupons.promotion_code_create(
            livemode=False, coupon=percent, code="SOON", expires_at=NOW + dt.timedelta(days=1)
        )
        once = coupons.promotion_code_create(livemode=False, coupon=percent, code="ONCE", max_redemptions=1)
        anas = coupons.promotion_code_create(livemode=False, coupon=percent, code="ANA", customer=ana)
        first = coupons.promotion_code_create(livemode=False, coupon=percent, code="FIRST", first_time_transaction=True)
        minimum = coupons.promotion_code_create(
            livemode=False,
            coupon=percent,
            code="BIG",
            minimum_amount=5000,
            minimum_amount_currency="usd",
            currency_options={"eur": 4500},
        )
        dollars = coupons.promotion_code_create(livemode=False, coupon=amount, code="DOLLARS")
        once = coupons.promotion_code_redeem(promotion_code=once)

        assert _refusal(plain) is None
        assert _refusal(inactive) == "inactive"
        assert _refusal(once) == "max_redemptions"
        assert _refusal(anas, customer=ana) is None
        assert _refusal(anas, customer=ben) == "customer"
        assert _refusal(anas) == "customer"
        assert _refusal(first, first_time=True) is None
        assert _refusal(first, first_time=False) == "first_time_transaction"
        assert _refusal(minimum, amount=5000) is None
        assert _refusal(minimum, amount=4999) == "minimum_amount"
        assert _refusal(minimum, amount=4500, currency="eur") is None
        assert _refusal(minimum, amount=4499, currency="eur") == "minimum_amount"
        assert _refusal(minimum, amount=10**9, currency="gbp") == "minimum_amount"
        assert _refusal(dollars, currency="usd") is None
        assert _refusal(dollars, currency="eur") == "currency"
        assert _refusal(expiring) is None
    with clock.frozen_at(NOW + dt.timedelta(days=1)):
        assert _refusal(expiring) == "expired"
        coupons.coupon_delete(coupon=percent)
        assert _refusal(coupons.promotion_code_get(public_id=plain.public_id, livemode=False)) == "coupon"
    with pytest.raises(PromotionCodeRefused, match=r"at least 45\.00 EUR; this one comes to 44\.99 EUR"):
        coupons.promotion_code_check(
            code=minimum,
            customer=None,
            amount=4499,
            currency="eur",
            first_time=True,
            param="discounts[0][promotion_code]",
        )


def test_redeem_counts_the_code_and_its_coupon_up_to_the_limit(db: None) -> None:
    coupon = coupons.coupon_create(livemode=False, percent_off=Decimal(10))
    code = coupons.promotion_code_create(livemode=False, coupon=coupon, code="TWICE", max_redemptions=2)
    coupons.promotion_code_redeem(promotion_code=code)
    coupons.promotion_code_redeem(promotion_code=code)
    with pytest.raises(PromotionCodeRefused) as raised:
        coupons.promotion_code_redeem(promotion_code=code)
    assert raised.value.restriction == "max_redemptions"
    assert PromotionCode.objects.get(pk=code.pk).times_redeemed == 2
    assert Coupon.objects.get(pk=coupon.pk).times_redeemed == 2


def test_find_ignores_case_and_other_customers_codes(db: None) -> None:
    coupon = coupons.coupon_create(livemode=False, percent_off=Decimal(10))
    ana, ben = _customer(), _customer("ben@example.com")
    everyone = coupons.promotion_code_create(livemode=False, coupon=coupon, code="WELCOME")
    coupons.promotion_code_update(promotion_code=everyone, values={"active": False})
    anas = coupons.promotion_code_create(livemode=False, coupon=coupon, code="WELCOME", customer=ana)
    assert coupons.promotion_code_find(livemode=False, code="welcome", customer=ana) == anas
    with pytest.raises(NotFound) as raised:
        coupons.promotion_code_find(livemode=False, code="welcome", customer=ben)
    assert raised.value.param == "promotion_code"
    coupons.promotion_code_update(promotion_code=anas, values={"active": False})
    coupons.promotion_code_update(promotion_code=everyone, values={"active": True})
    assert coupons.promotion_code_find(livemode=False, code="WELCOME", customer=ben) == everyone
    assert coupons.promotion_code_find(livemode=False, code="Welcome", customer=None) == everyone
    with pytest.raises(NotFound):
        coupons.promotion_code_find(livemode=True, code="WELCOME", customer=None)
