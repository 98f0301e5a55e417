"""The hosted invoice page and its PDF, served at the URLs an invoice gives."""

from __future__ import annotations

import datetime as dt
import re
import zlib
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from billfold.billing import invoices
from billfold.billing.coupons import coupon_create
from billfold.billing.models import Invoice
from billfold.billing.tax_rates import tax_rate_create
from billfold.catalog.services import price_create
from billfold.core.clock import frozen_at
from billfold.customers.services import customer_create

MOMENT = dt.datetime(2030, 3, 1, 9, 30, tzinfo=dt.UTC)


def finalized_invoice(*, locale: str = "en", **values: Any) -> Invoice:
    with frozen_at(MOMENT):
        buyer = customer_create(
            livemode=False,
            values={
                "email": "jenny@example.com",
                "name": "Jenny Rosen",
                "invoice_prefix": "ACME",
                "preferred_locales": [locale],
                "address": {"line1": "1 Main St", "city": "Springfield", "postal_code": "12345", "country": "US"},
                **values,
            },
        )
        seat = price_create(
            livemode=False,
            values={"product_data": {"name": "Pro seat", "unit_label": "seat"}, "currency": "eur", "unit_amount": 1250},
        )
        invoices.invoiceitem_create(
            customer=buyer,
            livemode=False,
            price=seat,
            quantity=4,
            period_start=MOMENT,
            period_end=dt.datetime(2030, 4, 1, tzinfo=dt.UTC),
        )
        invoices.invoiceitem_create(
            customer=buyer, livemode=False, amount=1000, currency="eur", description="Onboarding <session>"
        )
        coupon = coupon_create(livemode=False, name="Spring", percent_off=Decimal("10"))
        vat = tax_rate_create(livemode=False, display_name="VAT", percentage=Decimal("19"), inclusive=False)
        draft = invoices.invoice_create(
            customer=buyer,
            livemode=False,
            currency="eur",
            collection_method="send_invoice",
            days_until_due=14,
            pending_invoice_items_behavior="include",
            discounts=[{"coupon": coupon.public_id}],
            default_tax_rates=[vat.public_id],
            footer="ACME GmbH, Berlin",
        )
        return invoices.invoice_finalize(invoice=draft)


def page_path(invoice: Invoice) -> str:
    return f"/i/{invoice.hosted_token}"


def text_of(html: str) -> str:
    """The page's words, tags dropped and white space squeezed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def test_the_page_shows_the_invoice(db: None, client: Client) -> None:
    invoice = finalized_invoice()
    response = client.get(page_path(invoice))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/html; charset=utf-8"
    html = response.content.decode()
    text = text_of(html)
    # 4 x 12.50 + 10.00 = 60.00; 10 % off = 54.00; 19 % VAT = 10.26.
    for expected in (
        "Invoice ACME-0001",
        "Jenny Rosen",
        "1 Main St",
        "12345 Springfield",
        "jenny@example.com",
        # The unit price is written twice: under the description for phones, in its column otherwise.
        "Pro seat March 1, 2030 \N{EN DASH} April 1, 2030 €12.50 per seat 4 €12.50 per seat €50.00",
        "Onboarding &lt;session&gt; €10.00 1 €10.00 €10.00",
        "Subtotal €60.00",
        "Spring (10% off) -€6.00",
        "Total excluding tax €54.00",
        "VAT (19%) €10.26",
        "Total €64.26",
        "Amount due €64.26",
        "Due March 15, 2030",
        "Issued March 1, 2030",
        "ACME GmbH, Berlin",
        "Download PDF",
    ):
        assert expected in text, expected
    assert 'lang="en"' in html
    assert f'href="/i/{invoice.hosted_token}/pdf"' in html
    assert "<script" not in html


def test_the_page_is_private_and_locked_down(db: None, client: Client) -> None:
    invoice = finalized_invoice()
    response = client.get(page_path(invoice))
    policy = response["Content-Security-Policy"]
    nonce = re.search(r"'nonce-([^']+)'", policy)
    assert nonce is not None
    assert policy.startswith("default-src 'none'; style-src 'nonce-")
    assert "frame-ancestors 'none'" in policy
    html = response.content.decode()
    assert html.count(f'nonce="{nonce.group(1)}"') == 2
    assert (response["Referrer-Policy"], response["X-Robots-Tag"]) == ("same-origin", "noindex, nofollow")
    assert response["Cache-Control"] == "private, no-store"
    assert client.get(page_path(invoice)).headers["Content-Security-Policy"] != policy


def test_money_and_dates_follow_the_customers_language(db: None, client: Client) -> None:
    invoice = finalized_invoice(locale="de")
    text = text_of(client.get(page_path(invoice)).content.decode())
    assert "64,26 €" in text
    assert "15. März 2030" in text
    assert "12,50 € pro seat 4 12,50 € pro seat 50,00 €" in text


def test_paid_and_void_invoices_say_so(db: None, client: Client) -> None:
    invoice = finalized_invoice()
    with frozen_at(MOMENT + dt.timedelta(days=2)):
        invoices.invoice_pay(invoice=invoice, paid_out_of_band=True)
    paid = text_of(client.get(page_path(invoice)).content.decode())
    assert "Paid March 3, 2030" in paid
    assert "Amount paid -€64.26" in paid
    assert "Amount remaining €0.00" in paid

    other = finalized_invoice(invoice_prefix="OTHER", email="other@example.com")
    invoices.invoice_void(invoice=other)
    void = text_of(client.get(page_path(other)).content.decode())
    assert "This invoice has been voided; nothing is due." in void


@pytest.mark.parametrize("suffix", ["", "/pdf"])
def test_unknown_tokens_drafts_and_deleted_invoices_are_not_found(db: None, client: Client, suffix: str) -> None:
    buyer = customer_create(livemode=False, values={})
    draft = invoices.invoice_create(customer=buyer, livemode=False)
    assert client.get(f"/i/{draft.hosted_token}{suffix}").status_code == 404
    invoices.invoice_delete(invoice=draft)
    assert client.get(f"/i/{draft.hosted_token}{suffix}").status_code == 404
    assert client.get(f"/i/not-a-token{suffix}").status_code == 404


def test_only_reading_is_allowed(db: None, client: Client) -> None:
    invoice = finalized_invoice()
    assert client.post(page_path(invoice)).status_code == 405


def _pdf_strings(pdf: bytes) -> bytes:
    """The PDF's uncompressed streams (its document title and outline live in compressed objects)."""
    parts = [pdf]
    for match in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            parts.append(zlib.decompress(match.group(1)))
        except zlib.error:
            continue
    return b"\n".join(parts)


def test_the_pdf_is_rendered_from_the_same_template(db: None, client: Client) -> None:
    invoice = finalized_invoice()
    response = client.get(f"{page_path(invoice)}/pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'inline; filename="Invoice-ACME-0001.pdf"'
    assert response["Referrer-Policy"] == "same-origin"
    pdf = response.content
    assert pdf.startswith(b"%PDF-")
    assert pdf.rstrip().endswith(b"%%EOF")
    content = _pdf_strings(pdf)
    assert b"/Title (Invoice ACME-0001" in content
    assert b"/Count 1" in content  # one page


def test_the_invoice_urls_lead_to_the_page_and_pdf(db: None, client: Client) -> None:
    invoice = finalized_invoice()
    from billfold.api.representations.invoice import render_invoice

    rendered = render_invoice(invoice)
    assert rendered["hosted_invoice_url"] == f"{settings.SITE_URL}/i/{invoice.hosted_token}"
    for url in (rendered["hosted_invoice_url"], rendered["invoice_pdf"]):
        assert client.get(url.removeprefix(settings.SITE_URL)).status_code == 200
