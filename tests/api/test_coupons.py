"""/v1/coupons through the official stripe SDK, and redeeming coupons into discounts."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from types import ModuleType
from typing import Any

import pytest

from billfold.api.expand import expand_result
from billfold.api.representations.discount import render_discount
from billfold.billing import coupons
from billfold.billing.models import Coupon, Discount
from billfold.core import clock
from billfold.core.errors import DomainError
from billfold.customers.models import Customer
from billfold.customers.services import customer_create
from billfold.events.models import Event
from tests.api.test_shapes import RESOURCES, shape_differences

NOW = dt.datetime(2027, 1, 31, 12, 0, tzinfo=dt.UTC)
LATER = dt.datetime(2027, 6, 1, tzinfo=dt.UTC)


def body(obj: Any) -> dict[str, Any]:
    sent: dict[str, Any] = json.loads(obj.last_response.body)
    return sent


def event_types(object_id: str) -> list[str]:
    return list(Event.objects.filter(object_id=object_id).order_by("pk").values_list("type", flat=True))


def test_create_retrieve_update_delete(sdk: ModuleType) -> None:
    redeem_by = clock.to_unix(clock.now()) + 86400
    coupon = sdk.Coupon.create(
        id="SUMMER25",
        name="Summer sale",
        percent_off=25.5,
        duration="repeating",
        duration_in_months=3,
        max_redemptions=100,
        redeem_by=redeem_by,
        metadata={"campaign": "summer"},
    )
    assert body(coupon) == {
        "id": "SUMMER25",
        "object": "coupon",
        "amount_off": None,
        "created": body(coupon)["created"],
        "currency": None,
        "duration": "repeating",
        "duration_in_months": 3,
        "livemode": False,
        "max_redemptions": 100,
        "metadata": {"campaign": "summer"},
        "name": "Summer sale",
        "percent_off": 25.5,
        "redeem_by": redeem_by,
        "times_redeemed": 0,
        "valid": True,
    }
    assert shape_differences(body(coupon), RESOURCES["coupon"], "coupon") == []
    assert sdk.Coupon.retrieve("SUMMER25").to_dict() == coupon.to_dict()

    updated = sdk.Coupon.modify("SUMMER25", name="", metadata={"campaign": "", "owner": "ana"})
    assert updated.name is None
    assert updated.metadata.to_dict() == {"owner": "ana"}
    assert updated.percent_off == 25.5

    assert sdk.Coupon.delete("SUMMER25").to_dict() == {"id": "SUMMER25", "object": "coupon", "deleted": True}
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.Coupon.retrieve("SUMMER25")
    assert (raised.value.http_status, raised.value.code) == (404, "resource_missing")
    assert [c.id for c in sdk.Coupon.list().data] == []

    assert event_types("SUMMER25") == ["coupon.created", "coupon.updated", "coupon.deleted"]
    update = Event.objects.get(object_id="SUMMER25", type="coupon.updated")
    assert update.data["previous_attributes"] == {
        "name": "Summer sale",
        "metadata": {"campaign": "summer", "owner": None},
    }
    deleted = Event.objects.get(object_id="SUMMER25", type="coupon.deleted")
    assert (deleted.data["object"]["object"], deleted.data["object"]["valid"]) == ("coupon", False)


def test_a_deleted_coupons_id_can_be_given_again(sdk: ModuleType) -> None:
    sdk.Coupon.create(id="AGAIN", percent_off=10)
    sdk.Coupon.delete("AGAIN")
    again = sdk.Coupon.create(id="AGAIN", amount_off=500, currency="usd")
    assert (again.amount_off, again.percent_off) == (500, None)
    assert sdk.Coupon.retrieve("AGAIN").amount_off == 500
    assert Coupon.objects.filter(public_id="AGAIN").count() == 2


def test_generated_id_and_defaults(sdk: ModuleType) -> None:
    coupon = sdk.Coupon.create(amount_off=1000, currency="JPY")
    assert len(coupon.id) == 8
    assert coupon.id.isalnum()
    assert (coupon.amount_off, coupon.currency, coupon.duration, coupon.duration_in_months) == (
        1000,
        "jpy",
        "once",
        None,
    )
    assert coupon.valid is True


def test_currency_options_and_applies_to_are_included_on_request(sdk: ModuleType) -> None:
    shirt = sdk.Product.create(name="Shirt")
    mug = sdk.Product.create(name="Mug")
    coupon = sdk.Coupon.create(
        amount_off=500,
        currency="usd",
        currency_options={"eur": {"amount_off": 450}},
        applies_to={"products": [shirt.id, mug.id]},
        duration="forever",
    )
    assert "currency_options" not in coupon
    assert "applies_to" not in coupon
    full = sdk.Coupon.retrieve(coupon.id, expand=["currency_options", "applies_to"])
    assert full.currency_options.to_dict() == {"usd": {"amount_off": 500}, "eur": {"amount_off": 450}}
    assert full.applies_to.to_dict() == {"products": [shirt.id, mug.id]}

    sdk.Coupon.modify(coupon.id, currency_options={"gbp": {"amount_off": 400}})
    listed = sdk.Coupon.list(expand=["data.currency_options"]).data[0]
    assert listed.currency_options.to_dict() == {
        "usd": {"amount_off": 500},
        "eur": {"amount_off": 450},
        "gbp": {"amount_off": 400},
    }
    plain = sdk.Coupon.create(percent_off=10)
    expanded = sdk.Coupon.retrieve(plain.id, expand=["applies_to", "currency_options"])
    assert (expanded.applies_to, expanded.currency_options) == (None, None)


def test_list_pagination_and_created_filter(sdk: ModuleType) -> None:
    made = []
    for offset in range(5):
        with clock.frozen_at(NOW + dt.timedelta(days=offset)):
            made.append(sdk.Coupon.create(percent_off=10 + offset).id)
    page = sdk.Coupon.list(limit=2)
    assert page.url == "/v1/coupons"
    assert ([c.id for c in page.data], page.has_more) == (made[::-1][:2], True)
    assert [c.id for c in sdk.Coupon.list(limit=2).auto_paging_iter()] == made[::-1]
    since = clock.to_unix(NOW + dt.timedelta(days=3))
    assert [c.id for c in sdk.Coupon.list(created={"gte": since}).data] == [made[4], made[3]]


@pytest.mark.parametrize(
    ("params", "param", "code"),
    [
        ({"percent_off": 10, "amount_off": 100, "currency": "usd"}, "percent_off", "parameters_exclusive"),
        ({"duration": "once"}, "percent_off", "parameter_missing"),
        ({"percent_off": 0}, "percent_off", "parameter_invalid"),
        ({"percent_off": 100.5}, "percent_off", "parameter_invalid"),
        ({"percent_off": "12.345"}, "percent_off", "parameter_invalid"),
        ({"percent_off": "-5"}, "percent_off", None),
        ({"amount_off": 0, "currency": "usd"}, "amount_off", None),
        ({"amount_off": 100}, "currency", "parameter_missing"),
        ({"amount_off": 100, "currency": "xyz"}, "currency", "parameter_invalid"),
        ({"percent_off": 10, "duration": "repeating"}, "duration_in_months", "parameter_missing"),
        ({"percent_off": 10, "duration": "once", "duration_in_months": 3}, "duration_in_months", "parameter_invalid"),
        (
            {"percent_off": 10, "duration": "repeating", "duration_in_months": 1201},
            "duration_in_months",
            "parameter_invalid",
        ),
        ({"percent_off": 10, "duration": "weekly"}, "duration", None),
        ({"percent_off": 10, "redeem_by": 1_000_000}, "redeem_by", "parameter_invalid"),
        ({"percent_off": 10, "max_redemptions": 0}, "max_redemptions", None),
        (
            {"percent_off": 10, "applies_to": {"products": ["prod_missing"]}},
            "applies_to[products][0]",
            "resource_missing",
        ),
        ({"percent_off": 10, "id": "has space"}, "id", "parameter_invalid"),
        ({"percent_off": 10, "name": "n" * 41}, "name", None),
        (
            {"percent_off": 10, "currency_options": {"eur": {"amount_off": 100}}},
            "currency_options",
            "parameter_invalid",
        ),
        (
            {"amount_off": 100, "currency": "usd", "currency_options": {"usd": {"amount_off": 90}}},
            "currency_options[usd]",
            "parameter_invalid",
        ),
        (
            {"amount_off": 100, "currency": "usd", "currency_options": {"zzz": {"amount_off": 90}}},
            "currency_options[zzz]",
            "parameter_invalid",
        ),
        (
            {"amount_off": 100, "currency": "usd", "currency_options": {"eur": {"amount_off": 0}}},
            "currency_options[eur][amount_off]",
            None,
        ),
        ({"percent_off": 10, "valid": "true"}, "valid", "parameter_unknown"),
    ],
)
def test_create_refusals_name_the_param(sdk: ModuleType, params: dict[str, Any], param: str, code: str | None) -> None:
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.Coupon.create(**params)
    assert raised.value.http_status == (404 if code == "resource_missing" else 400)
    assert (raised.value.param, raised.value.code) == (param, code)
    assert Coupon.objects.count() == 0
    assert Event.objects.count() == 0


def test_duplicate_id_refused_and_nothing_written(sdk: ModuleType) -> None:
    sdk.Coupon.create(id="ONLY", percent_off=10)
    before = (Coupon.objects.count(), Event.objects.count())
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.Coupon.create(id="ONLY", percent_off=20)
    assert (raised.value.param, raised.value.code) == ("id", "resource_already_exists")
    assert (Coupon.objects.count(), Event.objects.count()) == before


def test_update_changes_only_name_metadata_and_currency_options(sdk: ModuleType) -> None:
    coupon = sdk.Coupon.create(percent_off=10, name="Ten")
    for params, param in (({"percent_off": 20}, "percent_off"), ({"duration": "forever"}, "duration")):
        with pytest.raises(sdk.InvalidRequestError) as raised:
            sdk.Coupon.modify(coupon.id, **params)
        assert (raised.value.param, raised.value.code) == (param, "parameter_unknown")
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.Coupon.modify(coupon.id, name="Nine", currency_options={"eur": {"amount_off": 5}})
    assert raised.value.param == "currency_options"
    assert sdk.Coupon.retrieve(coupon.id).name == "Ten"
    assert event_types(coupon.id) == ["coupon.created"]


def test_live_and_test_coupons_are_apart(sdk: ModuleType, live_key: str) -> None:
    sdk.Coupon.create(id="SHARED", percent_off=10)
    live = sdk.Coupon.create(id="SHARED", percent_off=20, api_key=live_key)
    assert (live.livemode, sdk.Coupon.retrieve("SHARED").percent_off) == (True, 10)
    assert sdk.Coupon.retrieve("SHARED", api_key=live_key).percent_off == 20


def test_valid_follows_redemptions_and_redeem_by(sdk: ModuleType) -> None:
    with clock.frozen_at(NOW):
        coupon = sdk.Coupon.create(percent_off=10, max_redemptions=2, redeem_by=clock.to_unix(NOW) + 3600)
        row = Coupon.objects.get(public_id=coupon.id)
        coupons.coupon_redeem(coupon=row)
        coupons.coupon_redeem(coupon=row)
        with pytest.raises(DomainError) as raised:
            coupons.coupon_redeem(coupon=row)
        assert (raised.value.code, raised.value.param) == ("coupon_expired", "coupon")
        used_up = sdk.Coupon.retrieve(coupon.id)
        assert (used_up.times_redeemed, used_up.valid) == (2, False)
        timed = sdk.Coupon.create(percent_off=10, redeem_by=clock.to_unix(NOW) + 3600)
        assert sdk.Coupon.retrieve(timed.id).valid is True
    with clock.frozen_at(NOW + dt.timedelta(hours=2)):
        assert sdk.Coupon.retrieve(timed.id).valid is False
        with pytest.raises(DomainError, match="expired"):
            coupons.coupon_redeem(coupon=Coupon.objects.get(public_id=timed.id))
    assert Coupon.objects.get(public_id=timed.id).times_redeemed == 0


def _customer() -> Customer:
    return customer_create(livemode=False, values={"email": "jenny@example.com"})


@pytest.mark.parametrize(
    ("duration", "months", "end"),
    [
        ("once", None, None),
        ("forever", None, None),
        ("repeating", 1, dt.datetime(2027, 2, 28, 12, 0, tzinfo=dt.UTC)),  # Jan 31 + 1 month: the month's last day
        ("repeating", 3, dt.datetime(2027, 4, 30, 12, 0, tzinfo=dt.UTC)),
        ("repeating", 13, dt.datetime(2028, 2, 29, 12, 0, tzinfo=dt.UTC)),  # a leap year
        ("repeating", 12, dt.datetime(2028, 1, 31, 12, 0, tzinfo=dt.UTC)),
    ],
)
def test_discount_end_follows_the_duration(
    db: None, duration: str, months: int | None, end: dt.datetime | None
) -> None:
    with clock.frozen_at(NOW):
        coupon = coupons.coupon_create(
            livemode=False, amount_off=100, currency="usd", duration=duration, duration_in_months=months
        )
        customer = _customer()
        discount = coupons.discount_create(coupon=coupon, customer=customer, subscription_id="sub_123")
    assert (discount.start, discount.end) == (NOW, end)
    assert Coupon.objects.get(pk=coupon.pk).times_redeemed == 1


def test_discount_rendering_and_expansion(db: None) -> None:
    with clock.frozen_at(NOW):
        coupon = coupons.coupon_create(livemode=False, public_id="WELCOME", amount_off=500, currency="usd")
        customer = _customer()
        code = coupons.promotion_code_create(livemode=False, coupon=coupon, code="HELLO")
        discount = coupons.discount_create(promotion_code=code, customer=customer, invoice_id="in_123")
    rendered = render_discount(discount)
    assert rendered == {
        "id": discount.public_id,
        "object": "discount",
        "checkout_session": None,
        "customer": customer.public_id,
        "customer_account": None,
        "end": None,
        "invoice": "in_123",
        "invoice_item": None,
        "promotion_code": code.public_id,
        "source": {"coupon": "WELCOME", "type": "coupon"},
        "start": clock.to_unix(NOW),
        "subscription": None,
        "subscription_item": None,
    }
    assert shape_differences(rendered, RESOURCES["discount"], "discount") == []
    assert discount.public_id.startswith("di_")
    # A deleted coupon still shows on the discounts made from it, no longer valid.
    coupons.coupon_delete(coupon=coupon)
    expanded = expand_result(rendered, ["source.coupon", "promotion_code", "customer"], False)
    assert (expanded["source"]["coupon"]["id"], expanded["source"]["coupon"]["valid"]) == ("WELCOME", False)
    assert expanded["promotion_code"]["times_redeemed"] == 1
    assert expanded["customer"]["id"] == customer.public_id
    assert Discount.objects.get().coupon.times_redeemed == 1


def test_discount_create_refuses_a_used_up_coupon_and_writes_nothing(db: None) -> None:
    coupon = coupons.coupon_create(livemode=False, amount_off=100, currency="usd", max_redemptions=1)
    customer = _customer()
    coupons.discount_create(coupon=coupon, customer=customer)
    with pytest.raises(DomainError) as raised:
        coupons.discount_create(coupon=coupon, customer=customer)
    assert raised.value.code == "coupon_expired"
    assert Discount.objects.count() == 1
    assert Coupon.objects.get(pk=coupon.pk).times_redeemed == 1


def test_redeemable_check_refuses_an_amount_coupon_in_another_currency(db: None) -> None:
    coupon = coupons.coupon_create(livemode=False, amount_off=500, currency="usd", currency_options={"eur": 450})
    coupons.coupon_redeemable_check(coupon=coupon, currency="usd")
    coupons.coupon_redeemable_check(coupon=coupon, currency="eur")
    with pytest.raises(DomainError, match="takes an amount off in usd only") as raised:
        coupons.coupon_redeemable_check(coupon=coupon, currency="gbp", param="discounts[0][coupon]")
    assert raised.value.param == "discounts[0][coupon]"
    percentage = coupons.coupon_create(livemode=False, percent_off=Decimal("10"))
    coupons.coupon_redeemable_check(coupon=percentage, currency="gbp")
    with clock.frozen_at(LATER):
        coupons.coupon_redeemable_check(coupon=percentage, currency="gbp")
