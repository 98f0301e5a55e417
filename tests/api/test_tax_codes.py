"""/v1/tax_codes through the official stripe SDK against a live server."""

from __future__ import annotations

from types import ModuleType

import pytest

from billfold.catalog.tax_codes import tax_code_list

ALL_IDS = [code.id for code in tax_code_list()]


def test_list_first_page(sdk: ModuleType) -> None:
    page = sdk.TaxCode.list()
    assert page.object == "list"
    assert page.url == "/v1/tax_codes"
    assert page.has_more is True
    assert [code.id for code in page.data] == ALL_IDS[:10]
    assert page.data[0].to_dict() == {
        "id": "txcd_00000000",
        "object": "tax_code",
        "description": "Any nontaxable good or service which can be used to ensure no tax is applied, even for "
        "jurisdictions that impose a tax.",
        "name": "Nontaxable",
    }


def test_auto_paging_forward_visits_every_code_once(sdk: ModuleType) -> None:
    ids = [code.id for code in sdk.TaxCode.list(limit=100).auto_paging_iter()]
    assert ids == ALL_IDS
    assert len(ids) == 635


def test_auto_paging_backward_from_the_last_code(sdk: ModuleType) -> None:
    ids = [code.id for code in sdk.TaxCode.list(limit=100, ending_before=ALL_IDS[-1]).auto_paging_iter()]
    assert ids == ALL_IDS[:-1][::-1]


def test_cursors(sdk: ModuleType) -> None:
    saas = ALL_IDS.index("txcd_10103000")
    after = sdk.TaxCode.list(limit=3, starting_after="txcd_10103000")
    assert [c.id for c in after.data] == ALL_IDS[saas + 1 : saas + 4]
    assert after.has_more is True
    before = sdk.TaxCode.list(limit=3, ending_before="txcd_10103000")
    assert [c.id for c in before.data] == ALL_IDS[saas - 3 : saas]
    assert before.has_more is True

    last_page = sdk.TaxCode.list(limit=5, starting_after=ALL_IDS[-3])
    assert [c.id for c in last_page.data] == ALL_IDS[-2:]
    assert last_page.has_more is False
    first_page = sdk.TaxCode.list(limit=5, ending_before=ALL_IDS[2])
    assert [c.id for c in first_page.data] == ALL_IDS[:2]
    assert first_page.has_more is False
    exact = sdk.TaxCode.list(limit=2, ending_before=ALL_IDS[2])
    assert exact.has_more is False


def test_retrieve(sdk: ModuleType) -> None:
    code = sdk.TaxCode.retrieve("txcd_99999999")
    assert code.to_dict() == {
        "id": "txcd_99999999",
        "object": "tax_code",
        "description": "A physical good that can be moved or touched. Also known as tangible personal property.",
        "name": "General - Tangible Goods",
    }


def test_same_list_in_live_mode(sdk: ModuleType, live_key: str) -> None:
    code = sdk.TaxCode.retrieve("txcd_10103001", api_key=live_key)
    assert code.name == "Software as a service (SaaS) - business use"
    assert [c.id for c in sdk.TaxCode.list(limit=3, api_key=live_key).data] == ALL_IDS[:3]


def test_unknown_id_is_404(sdk: ModuleType) -> None:
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.TaxCode.retrieve("txcd_12345678")
    assert raised.value.http_status == 404
    assert raised.value.code == "resource_missing"
    assert raised.value.param == "id"
    assert raised.value.user_message == "No such tax_code: 'txcd_12345678'"


@pytest.mark.parametrize(
    ("params", "status", "param", "code"),
    [
        ({"starting_after": "txcd_12345678"}, 404, "starting_after", "resource_missing"),
        ({"ending_before": "cus_123"}, 404, "ending_before", "resource_missing"),
        (
            {"starting_after": "txcd_00000000", "ending_before": "txcd_99999999"},
            400,
            "ending_before",
            "parameters_exclusive",
        ),
        ({"limit": 0}, 400, "limit", None),
        ({"limit": 101}, 400, "limit", None),
        ({"type": "physical"}, 400, "type", "parameter_unknown"),
    ],
)
def test_list_refusals(sdk: ModuleType, params: dict[str, object], status: int, param: str, code: str | None) -> None:
    with pytest.raises(sdk.InvalidRequestError) as raised:
        sdk.TaxCode.list(**params)
    assert raised.value.http_status == status
    assert raised.value.param == param
    if code is not None:
        assert raised.value.code == code
