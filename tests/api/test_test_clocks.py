"""/v1/test_helpers/test_clocks and customers on a test clock, through the official stripe SDK."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator
from types import ModuleType

import pytest

from billfold.clocks import advance
from billfold.clocks import models as clock_models
from billfold.clocks import selectors as clock_selectors
from billfold.core import clock
from billfold.customers import services as customer_services
from billfold.customers.models import Customer
from billfold.events.models import Event

# The server's real time in these tests, and the simulated start of the clocks.
REAL_NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)
START = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


def unix(moment: dt.datetime) -> int:
    return clock.to_unix(moment)


@pytest.fixture(autouse=True)
def real_now() -> Iterator[None]:
    with clock.frozen_at(REAL_NOW):
        yield


def counts() -> tuple[int, int, int]:
    return clock_models.TestClock.objects.count(), Customer.objects.count(), Event.objects.count()


def events_of(object_id: str) -> list[tuple[str, dt.datetime]]:
    return list(Event.objects.filter(object_id=object_id).order_by("pk").values_list("type", "created"))


class RenewalsRecorder:
    """An advance hook standing in for billing: one piece of work per customer, each at its own time.

    The n-th customer of the clock (by creation) is due n days after its own creation; its work is
    to stamp ``metadata[renewed_at]``, which is also how a rerun knows the work is done.
    """

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    def __call__(self, *, clock: clock_models.TestClock, until: dt.datetime) -> None:
        self.calls.append((clock.public_id, unix(until)))
        for index, customer in enumerate(clock_selectors.test_clock_customers(test_clock=clock).order_by("pk")):
            due = customer.created + (index + 1) * DAY
            if due > until or "renewed_at" in customer.metadata:
                continue
            advance.clock_move_to(clock=clock, moment=due)
            customer_services.customer_update(customer=customer, values={"metadata": {"renewed_at": str(unix(due))}})


@pytest.fixture
def renewals() -> Iterator[RenewalsRecorder]:
    recorder = RenewalsRecorder()
    with advance.advance_hook_registered(recorder):
        yield recorder


def test_create_retrieve_list_delete(sdk: ModuleType) -> None:
    created = sdk.test_helpers.TestClock.create(frozen_time=unix(START), name="Annual plan renewal")
    assert created.id.startswith("clock_")
    assert created.to_dict() == {
        "id": created.id,
        "object": "test_helpers.test_clock",
        "created": unix(REAL_NOW),
        "deletes_after": unix(REAL_NOW + 30 * DAY),
        "frozen_time": unix(START),
        "livemode": False,
        "name": "Annual plan renewal",
        "status": "ready",
        "status_details": {},
    }
    assert sdk.test_helpers.TestClock.retrieve(created.id).to_dict() == created.to_dict()
    unnamed = sdk.test_helpers.TestClock.create(frozen_time=unix(START))
    assert unnamed.name is None

    page = sdk.test_helpers.TestClock.list(limit=1)
    assert page.url == "/v1/test_helpers/test_clocks"
    assert [c.id for c in page.data] == [unnamed.id]
    assert page.has_more is True
    assert [c.id for c in sdk.test_helpers.TestClock.list().auto_paging_iter()] == [unnamed.id, created.id]

    deleted = sdk.test_helpers.TestClock.delete(created.id)
    assert deleted.to_dict() == {"id": created.id, "object": "test_helpers.test_clock", "deleted": True}
    assert sdk.test_helpers.TestClock.retrieve(created.id).to_dict() == deleted.to_dict()
    assert [c.id for c in sdk.test_helpers.TestClock.list().data] == [unnamed.id]
    assert events_of(created.id) == [
        ("test_helpers.test_clock.created", REAL_NOW),
        ("test_helpers.test_clock.deleted", REAL_NOW),
    ]
    deleted_event = Event.objects.get(object_id=created.id, type="test_helpers.test_clock.deleted")
    assert deleted_event.data["object"]["name"] == "Annual plan renewal"


def test_customer_lives_on_its_clock(sdk: ModuleType) -> None:
    test_clock = sdk.test_helpers.TestClock.create(frozen_time=unix(START))
    on_clock = sdk.Customer.create(email="clocked@example.com", test_clock=test_clock.id)
    plain = sdk.Customer.create(email="plain@example.com")

    assert on_clock.test_clock == test_clock.id
    assert on_clock.created == unix(START)
    assert plain.test_clock is None
    assert plain.created == unix(REAL_NOW)
    assert events_of(on_clock.id) == [("customer.created", START)]
    assert clock_selectors.customer_now(Customer.objects.get(public_id=on_clock.id)) == START
    assert clock_selectors.customer_now(Customer.objects.get(public_id=plain.id)) == REAL_NOW

    expanded = sdk.Customer.retrieve(on_clock.id, expand=["test_clock"])
    assert expanded.test_clock.to_dict() == test_clock.to_dict()
    # Stripe's customer list leaves out customers on test clocks unless their clock is asked for.
    assert [c.id for c in sdk.Customer.list().data] == [plain.id]
    listed = sdk.Customer.list(test_clock=test_clock.id, expand=["data.test_clock"])
    assert [(c.id, c.test_clock.id) for c in listed.data] == [(on_clock.id, test_clock.id)]

    sdk.test_helpers.TestClock.advance(test_clock.id, frozen_time=unix(START + 40 * DAY))
    assert clock_selectors.customer_now(Customer.objects.get(public_id=on_clock.id)) == START + 40 * DAY
    sdk.Customer.modify(on_clock.id, name="Jenny")
    assert events_of(on_clock.id)[-1] == ("customer.updated", START + 40 * DAY)


def test_customer_cannot_move_to_a_clock_after_creation(sdk: ModuleType) -> None:
    test_clock = sdk.test_helpers.TestClock.create(frozen_time=unix(START))
    customer = sdk.Customer.create()
    before = counts()
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.Customer.modify(customer.id, test_clock=test_clock.id)
    assert (raised.value.param, raised.value.code) == ("test_clock", "parameter_unknown")
    assert counts() == before
    assert sdk.Customer.retrieve(customer.id).test_clock is None


def test_customer_on_unknown_or_deleted_clock_is_refused(sdk: ModuleType) -> None:
    gone = sdk.test_helpers.TestClock.create(frozen_time=unix(START))
    sdk.test_helpers.TestClock.delete(gone.id)
    before = counts()
    for clock_id in ("clock_nothere", gone.id):
        with pytest.raises(sdk.InvalidRequestError) as raised:
            sdk.Customer.create(test_clock=clock_id)
        assert raised.value.http_status == 404
        assert (raised.value.param, raised.value.code) == ("test_clock", "resource_missing")
        assert raised.value.user_message == f"No such test_clock: '{clock_id}'"
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.Customer.list(test_clock="clock_nothere")
    assert (raised.value.param, raised.value.code) == ("test_clock", "resource_missing")
    assert counts() == before


def test_deleting_a_clock_deletes_its_customers(sdk: ModuleType) -> None:
    test_clock = sdk.test_helpers.TestClock.create(frozen_time=unix(START))
    first = sdk.Customer.create(test_clock=test_clock.id)
    second = sdk.Customer.create(test_clock=test_clock.id)
    elsewhere = sdk.Customer.create()

    sdk.test_helpers.TestClock.delete(test_clock.id)

    for customer in (first, second):
        assert sdk.Customer.retrieve(customer.id).to_dict() == {
            "id": customer.id,
            "object": "customer",
            "deleted": True,
        }
        assert events_of(customer.id) == [("customer.created", START), ("customer.deleted", START)]
    assert "deleted" not in sdk.Customer.retrieve(elsewhere.id).to_dict()
    types = list(Event.objects.order_by("pk").values_list("type", flat=True))
    assert types[-3:] == ["customer.deleted", "customer.deleted", "test_helpers.test_clock.deleted"]


def test_advance_runs_hooks_step_by_step_on_the_clocks_time(sdk: ModuleType, renewals: RenewalsRecorder) -> None:
    test_clock = sdk.test_helpers.TestClock.create(frozen_time=unix(START))
    other_clock = sdk.test_helpers.TestClock.create(frozen_time=unix(START))
    first = sdk.Customer.create(test_clock=test_clock.id)
    second = sdk.Customer.create(test_clock=test_clock.id)
    untouched = sdk.Customer.create(test_clock=other_clock.id)
    until = START + 10 * DAY

    advanced = sdk.test_helpers.TestClock.advance(test_clock.id, frozen_time=unix(until))

    assert (advanced.status, advanced.frozen_time, advanced.status_details.to_dict()) == ("ready", unix(until), {})
    assert renewals.calls == [(test_clock.id, unix(until))]
    # Each customer's work ran with the clock at that work's due moment.
    assert events_of(first.id)[-1] == ("customer.updated", START + DAY)
    assert events_of(second.id)[-1] == ("customer.updated", START + 2 * DAY)
    assert sdk.Customer.retrieve(second.id).metadata.to_dict() == {"renewed_at": str(unix(START + 2 * DAY))}
    assert events_of(untouched.id) == [("customer.created", START)]
    advancing = Event.objects.get(object_id=test_clock.id, type="test_helpers.test_clock.advancing")
    assert advancing.data["object"]["status"] == "advancing"
    assert advancing.data["object"]["status_details"] == {"advancing": {"target_frozen_time": unix(until)}}
    assert advancing.data["object"]["frozen_time"] == unix(START)
    assert events_of(test_clock.id) == [
        ("test_helpers.test_clock.created", REAL_NOW),
        ("test_helpers.test_clock.advancing", REAL_NOW),
        ("test_helpers.test_clock.ready", REAL_NOW),
    ]

    # The next advance finds the renewals done and does not repeat them.
    sdk.test_helpers.TestClock.advance(test_clock.id, frozen_time=unix(until + DAY))
    assert [type_ for type_, _ in events_of(first.id)] == ["customer.created", "customer.updated"]
    assert renewals.calls[-1] == (test_clock.id, unix(until + DAY))


def test_failing_hook_leaves_the_clock_in_internal_failure_and_usable(
    sdk: ModuleType, renewals: RenewalsRecorder, caplog: pytest.LogCaptureFixture
) -> None:
    test_clock = sdk.test_helpers.TestClock.create(frozen_time=unix(START))
    customer = sdk.Customer.create(test_clock=test_clock.id)
    until = START + 5 * DAY

    def broken_dunning(*, clock: clock_models.TestClock, until: dt.datetime) -> None:
        advance.clock_move_to(clock=clock, moment=START + 3 * DAY)
        customer_services.customer_update(
            customer=Customer.objects.get(public_id=customer.id), values={"name": "half done"}
        )
        raise RuntimeError("retry schedule is empty")

    with caplog.at_level(logging.ERROR, logger="billfold.clocks"), advance.advance_hook_registered(broken_dunning):
        failed = sdk.test_helpers.TestClock.advance(test_clock.id, frozen_time=unix(until))

    assert failed.status == "internal_failure"
    # The renewals hook ran first and keeps its work; the failing hook's writes and move are undone.
    assert failed.frozen_time == unix(START + DAY)
    assert failed.status_details.to_dict() == {
        "internal_failure": {
            "target_frozen_time": unix(until),
            "failed_step": f"{__name__}.test_failing_hook_leaves_the_clock_in_internal_failure_and_usable."
            "<locals>.broken_dunning",
            "message": "RuntimeError: retry schedule is empty",
        }
    }
    assert "retry schedule is empty" in caplog.text
    assert sdk.Customer.retrieve(customer.id).name is None
    assert [type_ for type_, _ in events_of(test_clock.id)][-2:] == [
        "test_helpers.test_clock.advancing",
        "test_helpers.test_clock.internal_failure",
    ]
    assert sdk.test_helpers.TestClock.retrieve(test_clock.id).status == "internal_failure"

    # Once the cause is gone, advancing again completes; the done renewal is not repeated.
    resumed = sdk.test_helpers.TestClock.advance(test_clock.id, frozen_time=unix(until))
    assert (resumed.status, resumed.frozen_time) == ("ready", unix(until))
    assert [type_ for type_, _ in events_of(customer.id)] == ["customer.created", "customer.updated"]


def test_hook_moving_the_clock_past_the_target_fails_the_advance(sdk: ModuleType) -> None:
    test_clock = sdk.test_helpers.TestClock.create(frozen_time=unix(START))

    def overshoot(*, clock: clock_models.TestClock, until: dt.datetime) -> None:
        advance.clock_move_to(clock=clock, moment=until + DAY)

    with advance.advance_hook_registered(overshoot):
        failed = sdk.test_helpers.TestClock.advance(test_clock.id, frozen_time=unix(START + DAY))
    assert (failed.status, failed.frozen_time) == ("internal_failure", unix(START))
    assert failed.status_details.internal_failure.message.startswith("ValueError: Cannot move test clock")


@pytest.mark.parametrize(
    ("frozen_time", "message_part"),
    [
        (START, "must be after the test clock's current frozen time, 2024-01-01T00:00:00Z (1704067200)"),
        (START - DAY, "must be after the test clock's current frozen time"),
        (dt.datetime(2026, 1, 1, 0, 0, 1, tzinfo=dt.UTC), "can reach 2026-01-01T00:00:00Z (1767225600) at most"),
    ],
)
def test_advance_refusals_write_nothing(sdk: ModuleType, frozen_time: dt.datetime, message_part: str) -> None:
    test_clock = sdk.test_helpers.TestClock.create(frozen_time=unix(START))
    before = counts()
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.test_helpers.TestClock.advance(test_clock.id, frozen_time=unix(frozen_time))
    assert (raised.value.http_status, raised.value.param) == (400, "frozen_time")
    assert message_part in raised.value.user_message
    assert counts() == before
    assert sdk.test_helpers.TestClock.retrieve(test_clock.id).to_dict() == test_clock.to_dict()


def test_advance_by_exactly_two_years_is_allowed(sdk: ModuleType) -> None:
    test_clock = sdk.test_helpers.TestClock.create(frozen_time=unix(START))
    advanced = sdk.test_helpers.TestClock.advance(test_clock.id, frozen_time=unix(START.replace(year=2026)))
    assert (advanced.status, advanced.frozen_time) == ("ready", unix(START.replace(year=2026)))


@pytest.mark.parametrize(
    ("params", "param", "code"),
    [
        ({}, "frozen_time", "parameter_missing"),
        ({"frozen_time": "soon"}, "frozen_time", "parameter_invalid_integer"),
        ({"frozen_time": unix(START), "name": "x" * 301}, "name", None),
        ({"frozen_time": unix(START), "metadata": {"a": "b"}}, "metadata", "parameter_unknown"),
    ],
)
def test_create_refusals_write_nothing(
    sdk: ModuleType, params: dict[str, object], param: str, code: str | None
) -> None:
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.test_helpers.TestClock.create(**params)
    assert (raised.value.param, raised.value.code) == (param, code)
    assert counts() == (0, 0, 0)


def test_unknown_clock_is_resource_missing(sdk: ModuleType) -> None:
    calls: list[Callable[[], object]] = [
        lambda: sdk.test_helpers.TestClock.retrieve("clock_nothere"),
        lambda: sdk.test_helpers.TestClock.delete("clock_nothere"),
        lambda: sdk.test_helpers.TestClock.advance("clock_nothere", frozen_time=unix(START)),
    ]
    for call in calls:
        with pytest.raises(sdk.InvalidRequestError) as raised:
            call()
        assert (raised.value.http_status, raised.value.code) == (404, "resource_missing")
    assert counts() == (0, 0, 0)


def test_live_mode_is_refused(sdk: ModuleType, live_key: str) -> None:
    test_clock = sdk.test_helpers.TestClock.create(frozen_time=unix(START))
    before = counts()
    calls: list[Callable[[], object]] = [
        lambda: sdk.test_helpers.TestClock.create(frozen_time=unix(START), api_key=live_key),
        lambda: sdk.test_helpers.TestClock.list(api_key=live_key),
        lambda: sdk.test_helpers.TestClock.retrieve(test_clock.id, api_key=live_key),
        lambda: sdk.test_helpers.TestClock.advance(test_clock.id, frozen_time=unix(START + DAY), api_key=live_key),
        lambda: sdk.test_helpers.TestClock.delete(test_clock.id, api_key=live_key),
    ]
    for call in calls:
        with pytest.raises(sdk.InvalidRequestError) as raised:
            call()
        assert raised.value.http_status == 400
        assert raised.value.user_message.startswith("Test clocks exist in test mode only.")
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.Customer.create(test_clock=test_clock.id, api_key=live_key)
    assert raised.value.param == "test_clock"
    assert raised.value.user_message.startswith("Test clocks exist in test mode only")
    assert counts() == before
    assert sdk.test_helpers.TestClock.retrieve(test_clock.id).to_dict() == test_clock.to_dict()
