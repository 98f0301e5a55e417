"""``Idempotency-Key``: a POST runs once and its response is replayed for 24 hours."""

from __future__ import annotations

import datetime as dt
import http.client
import json
import threading
from collections.abc import Callable
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import pytest

from billfold.api import idempotency
from billfold.api.models import IdempotencyRecord
from billfold.core.clock import frozen_at
from billfold.customers import services as customer_services
from billfold.customers.models import Customer
from billfold.events.models import Event

T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


def post(api_url: str, key: str, path: str, body: str, idempotency_key: str) -> tuple[int, dict[str, str], Any]:
    url = urlsplit(api_url)
    connection = http.client.HTTPConnection(url.hostname or "", url.port, timeout=60)
    try:
        connection.request(
            "POST",
            f"{url.path}{path}",
            body=body,
            headers={
                "Authorization": f"Bearer {key}",
                "Content-Type": "application/x-www-form-urlencoded",
                "Idempotency-Key": idempotency_key,
            },
        )
        response = connection.getresponse()
        headers = {k.lower(): v for k, v in response.getheaders()}
        return response.status, headers, json.loads(response.read())
    finally:
        connection.close()


def test_retry_replays_the_same_body(sdk: ModuleType) -> None:
    first = sdk.Customer.create(email="j@example.com", metadata={"a": "1"}, idempotency_key="create-jenny")
    assert "Idempotent-Replayed" not in first.last_response.headers
    again = sdk.Customer.create(email="j@example.com", metadata={"a": "1"}, idempotency_key="create-jenny")
    assert again.to_dict() == first.to_dict()
    assert again.last_response.headers["Idempotent-Replayed"] == "true"
    assert again.last_response.headers["Idempotency-Key"] == "create-jenny"
    assert again.last_response.body == first.last_response.body
    assert Customer.objects.count() == 1
    assert Event.objects.count() == 1
    assert Event.objects.get().idempotency_key == "create-jenny"


def test_same_key_other_params_is_refused(sdk: ModuleType) -> None:
    customer = sdk.Customer.create(email="j@example.com", idempotency_key="k1")
    for params in ({"email": "other@example.com"}, {"email": "j@example.com", "name": "Jenny"}, {}):
        with pytest.raises(sdk.IdempotencyError) as raised:
            sdk.Customer.create(**params, idempotency_key="k1")
        assert raised.value.http_status == 400
        assert raised.value.user_message.startswith(
            "Keys for idempotent requests can only be used with the same parameters they were first used with."
        )
    # The same key on another endpoint is another request too.
    with pytest.raises(sdk.IdempotencyError):
        sdk.Customer.modify(customer.id, email="j@example.com", idempotency_key="k1")
    assert Customer.objects.count() == 1


def test_expand_is_part_of_the_parameters(sdk: ModuleType) -> None:
    sdk.Customer.create(email="j@example.com", idempotency_key="k1")
    with pytest.raises(sdk.IdempotencyError):
        sdk.Customer.create(email="j@example.com", expand=["test_clock"], idempotency_key="k1")


def test_key_is_scoped_per_mode(sdk: ModuleType, live_key: str) -> None:
    test = sdk.Customer.create(email="j@example.com", idempotency_key="shared")
    live = sdk.Customer.create(email="j@example.com", idempotency_key="shared", api_key=live_key)
    assert (test.livemode, live.livemode) == (False, True)
    assert test.id != live.id
    assert "Idempotent-Replayed" not in live.last_response.headers
    # Other parameters in the other mode are not a reuse either.
    sdk.Customer.create(email="other@example.com", idempotency_key="k-test")
    sdk.Customer.create(email="different@example.com", idempotency_key="k-test", api_key=live_key)
    assert Customer.objects.count() == 4


def test_parameter_validation_failure_stores_nothing(sdk: ModuleType) -> None:
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.Customer.create(balance="ten", idempotency_key="fix-me")
    assert raised.value.code == "parameter_invalid_integer"
    assert IdempotencyRecord.objects.count() == 0
    fixed = sdk.Customer.create(balance=10, idempotency_key="fix-me")
    assert fixed.balance == 10
    assert "Idempotent-Replayed" not in fixed.last_response.headers


def test_domain_refusal_is_stored_and_replayed(sdk: ModuleType) -> None:
    holder = sdk.Customer.create(invoice_prefix="ACME")
    with pytest.raises(sdk.InvalidRequestError) as first:
        sdk.Customer.create(invoice_prefix="ACME", idempotency_key="dup")
    assert first.value.param == "invoice_prefix"
    # Even once the refusal's reason is gone, the key answers what it answered.
    sdk.Customer.modify(holder.id, invoice_prefix="OTHER")
    with pytest.raises(sdk.InvalidRequestError) as replayed:
        sdk.Customer.create(invoice_prefix="ACME", idempotency_key="dup")
    assert replayed.value.headers["Idempotent-Replayed"] == "true"
    assert replayed.value.json_body == first.value.json_body
    assert Customer.objects.count() == 1
    # A new key runs the request afresh.
    assert sdk.Customer.create(invoice_prefix="ACME", idempotency_key="dup-2").invoice_prefix == "ACME"


def test_server_error_is_not_stored(sdk: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    real_create = customer_services.customer_create

    def explode(**kwargs: Any) -> Customer:
        raise RuntimeError("boom")

    monkeypatch.setattr(customer_services, "customer_create", explode)
    with pytest.raises(sdk.APIError):
        sdk.Customer.create(email="j@example.com", idempotency_key="crash")
    monkeypatch.setattr(customer_services, "customer_create", real_create)
    assert sdk.Customer.create(email="j@example.com", idempotency_key="crash").email == "j@example.com"
    assert Customer.objects.count() == 1


def _hold_first_claim(monkeypatch: pytest.MonkeyPatch) -> tuple[threading.Event, threading.Event]:
    """Make the first request stop right after claiming its key, until released."""
    claimed, release = threading.Event(), threading.Event()
    real_claim: Callable[..., IdempotencyRecord] = idempotency.claim

    def claim(**kwargs: Any) -> IdempotencyRecord:
        record = real_claim(**kwargs)
        if not claimed.is_set():
            claimed.set()
            assert release.wait(timeout=30)
        return record

    monkeypatch.setattr(idempotency, "claim", claim)
    return claimed, release


def test_concurrent_request_with_the_key_in_use_is_409(
    api_url: str, test_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    claimed, release = _hold_first_claim(monkeypatch)
    results: list[tuple[int, dict[str, str], Any]] = []
    first = threading.Thread(
        target=lambda: results.append(post(api_url, test_key, "/customers", "email=j%40example.com", "race"))
    )
    first.start()
    try:
        assert claimed.wait(timeout=30)
        status, _, body = post(api_url, test_key, "/customers", "email=j%40example.com", "race")
    finally:
        release.set()
        first.join(timeout=30)
    assert status == 409
    assert body["error"]["type"] == "idempotency_error"
    assert body["error"]["code"] == "idempotency_key_in_use"
    [(first_status, _, first_body)] = results
    assert (first_status, first_body["email"]) == (200, "j@example.com")
    assert Customer.objects.count() == 1
    # Once finished, the same key replays.
    status, headers, body = post(api_url, test_key, "/customers", "email=j%40example.com", "race")
    assert (status, headers["idempotent-replayed"], body) == (200, "true", first_body)


def test_racing_requests_never_create_twice(api_url: str, test_key: str) -> None:
    threads = 4
    for round_number in range(5):
        start = threading.Barrier(threads)
        results: list[tuple[int, dict[str, str], Any]] = []
        lock = threading.Lock()

        def fire(
            key: str = f"round-{round_number}",
            barrier: threading.Barrier = start,
            into: list[tuple[int, dict[str, str], Any]] = results,
            lock: threading.Lock = lock,
        ) -> None:
            barrier.wait(timeout=30)
            result = post(api_url, test_key, "/customers", "name=Racer", key)
            with lock:
                into.append(result)

        workers = [threading.Thread(target=fire) for _ in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=60)
        assert len(results) == threads
        created = [body for status, _, body in results if status == 200]
        conflicts = [body for status, _, body in results if status == 409]
        assert len(created) + len(conflicts) == threads
        assert len({body["id"] for body in created}) == 1
        assert all(body["error"]["type"] == "idempotency_error" for body in conflicts)
        assert sum(1 for _, headers, _ in results if "idempotent-replayed" not in headers) - len(conflicts) == 1
    assert Customer.objects.count() == 5
    assert Event.objects.count() == 5


def test_records_expire_after_24_hours(sdk: ModuleType) -> None:
    with frozen_at(T0):
        first = sdk.Customer.create(email="j@example.com", idempotency_key="daily")
    with frozen_at(T0 + dt.timedelta(hours=24)):
        assert sdk.Customer.create(email="j@example.com", idempotency_key="daily").id == first.id
    with frozen_at(T0 + dt.timedelta(hours=24, seconds=1)):
        second = sdk.Customer.create(email="other@example.com", idempotency_key="daily")
    assert second.id != first.id
    assert "Idempotent-Replayed" not in second.last_response.headers
    assert Customer.objects.count() == 2
    assert IdempotencyRecord.objects.count() == 1


def test_purge_expired_deletes_only_old_records(sdk: ModuleType) -> None:
    with frozen_at(T0):
        sdk.Customer.create(idempotency_key="old")
    with frozen_at(T0 + dt.timedelta(hours=12)):
        sdk.Customer.create(idempotency_key="new")
    with frozen_at(T0 + dt.timedelta(hours=24, seconds=1)):
        assert idempotency.purge_expired() == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]


def test_stale_in_progress_record_is_taken_over(sdk: ModuleType) -> None:
    # What a process that died mid-request leaves behind: a claimed key with no response.
    with frozen_at(T0):
        idempotency.claim(
            livemode=False, key="crashed", method="POST", path="/v1/customers", params={"name": "Jo", "expand": []}
        )
    with frozen_at(T0 + idempotency.STALE_AFTER - dt.timedelta(seconds=1)):
        # stripe-python raises a 409 as APIError (and would retry it, were retries on).
        with pytest.raises(sdk.APIError) as raised:
            sdk.Customer.create(name="Jo", idempotency_key="crashed")
        assert raised.value.http_status == 409
        assert raised.value.json_body["error"]["type"] == "idempotency_error"
        assert raised.value.json_body["error"]["code"] == "idempotency_key_in_use"
        assert Customer.objects.count() == 0
    with frozen_at(T0 + idempotency.STALE_AFTER + dt.timedelta(seconds=1)):
        customer = sdk.Customer.create(name="Jo", idempotency_key="crashed")
        assert customer.name == "Jo"
        assert (
            sdk.Customer.create(name="Jo", idempotency_key="crashed").last_response.headers["Idempotent-Replayed"]
            == "true"
        )
    assert Customer.objects.count() == 1
    record = IdempotencyRecord.objects.get()
    assert (record.response_status, json.loads(record.response_body or "")["id"]) == (200, customer.id)


def test_overlong_key_is_refused(sdk: ModuleType) -> None:
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.Customer.create(idempotency_key="k" * 256)
    assert raised.value.user_message == "Idempotency-Key must be at most 255 characters."
    assert Customer.objects.count() == 0
    assert sdk.Customer.create(idempotency_key="k" * 255).object == "customer"
