"""The hosted invoice page and its PDF in the customer's language, chosen as Stripe chooses it: the first
of the customer's ``preferred_locales`` Billfold speaks, else English; money and dates follow the tag."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import zlib

import pytest
from django.test import Client

from billfold.billing import invoices
from billfold.billing.invoices.document import invoice_document
from billfold.billing.models import Invoice
from billfold.billing.views import invoice_pdf_bytes
from billfold.core.clock import frozen_at
from tests.billing.test_invoice_pages import MOMENT, finalized_invoice, page_path, text_of

pytestmark = pytest.mark.django_db

CARD = {"name": "Jenny Rosen", "number": "4242 4242 4242 4242", "expiry": "12 / 34", "cvc": "123"}
# What an English invoice says that a translated one must not: every label and sentence of the page.
ENGLISH = (
    "Invoice ACME",
    "Billed to",
    "Issued",
    "Description",
    "Unit price",
    "Subtotal",
    "Total excluding tax",
    "Amount due",
    "Download PDF",
    "Questions about this invoice",
    "per seat",
    "% off",
    "Pay €",
    "by card",
    "Card number",
    "Save this card",
    "Test mode",
)


def german_invoice(locale: str = "de-DE") -> Invoice:
    return finalized_invoice(locale=locale)


def page_text(client: Client, invoice: Invoice) -> tuple[str, str]:
    with frozen_at(MOMENT):
        html = client.get(page_path(invoice)).content.decode()
    return html, text_of(html)


def test_the_page_of_a_german_customer_is_in_german(client: Client) -> None:
    html, text = page_text(client, german_invoice())
    assert '<html lang="de">' in html
    # 4 x 12,50 + 10,00 = 60,00; 10 % Rabatt = 54,00; 19 % VAT = 10,26.
    for expected in (
        "Rechnung ACME-0001",
        "Rechnungsempfänger Jenny Rosen",
        "Rechnungssteller",
        "Rechnungsdatum 1. März 2030",
        "Fälligkeitsdatum 15. März 2030",
        "Fällig am 15. März 2030",
        "Beschreibung Menge Einzelpreis Betrag",
        "Pro seat 1. März 2030 \N{EN DASH} 1. April 2030 12,50 € pro seat 4 12,50 € pro seat 50,00 €",
        "Zwischensumme 60,00 €",
        "Spring (10 % Rabatt) -6,00 €",
        "Gesamtbetrag ohne Steuern 54,00 €",
        "VAT (19 %) 10,26 €",
        "Gesamtbetrag 64,26 €",
        "Fälliger Betrag 64,26 €",
        "PDF herunterladen",
        "64,26 € mit Karte bezahlen",
        "Testmodus: Es wird keine echte Karte belastet.",
        "Name auf der Karte",
        "Kartennummer",
        "Diese Karte für künftige Zahlungen speichern",
        "64,26 € bezahlen",
        "Fragen zu dieser Rechnung? Wenden Sie sich an",
    ):
        assert expected in text, expected
    assert '<span class="badge badge-open">Fällig</span>' in html
    for english in ENGLISH:
        assert english not in text, english


def test_a_paid_german_invoice_says_so_in_german(client: Client) -> None:
    invoice = german_invoice()
    with frozen_at(MOMENT + dt.timedelta(days=2)):
        invoices.invoice_pay(invoice=invoice, paid_out_of_band=True)
    html, text = page_text(client, invoice)
    for expected in ("Bezahlt am 3. März 2030", "Bezahlter Betrag -64,26 €", "Restbetrag 0,00 €"):
        assert expected in text, expected
    assert '<span class="badge badge-paid">Bezahlt</span>' in html
    assert '<dt>Bezahlt am</dt><dd class="date">3. März 2030</dd>' in html
    assert "Amount" not in text and "Paid" not in text


def test_a_declined_card_and_form_errors_read_in_german(client: Client) -> None:
    invoice = german_invoice()
    with frozen_at(MOMENT):
        declined = client.post(f"{page_path(invoice)}/pay", {**CARD, "number": "4000 0000 0000 0002"})
        missing = client.post(f"{page_path(invoice)}/pay", {**CARD, "number": "1234"})
    assert declined.status_code == 402
    assert '<p class="notice notice-error" role="alert">Ihre Karte wurde abgelehnt.</p>' in declined.content.decode()
    assert missing.status_code == 400
    assert "Geben Sie die Kartennummer wie aufgedruckt ein: 12 bis 19 Ziffern." in missing.content.decode()


def test_a_payment_goes_through_in_german(client: Client) -> None:
    invoice = german_invoice()
    with frozen_at(MOMENT):
        paid = client.post(f"{page_path(invoice)}/pay", CARD)
        html = client.get(paid["Location"]).content.decode()
    assert "Vielen Dank: Ihre Zahlung ist eingegangen." in html


def _pdf_objects(pdf: bytes) -> tuple[dict[int, bytes], list[bytes]]:
    """The PDF's streams by object number, uncompressed, and the text its dictionaries are in (the file
    and its compressed object streams)."""
    streams: dict[int, bytes] = {}
    dictionaries = [pdf]
    for number, body in re.findall(rb"(\d+) 0 obj(.*?)endobj", pdf, re.S):
        found = re.search(rb"stream\r?\n(.*?)\r?\nendstream", body, re.S)
        if found is None:
            continue
        try:
            data = zlib.decompress(found.group(1))
        except zlib.error:
            continue
        streams[int(number)] = data
        if b"/Type /ObjStm" in body:
            dictionaries.append(data)
    return streams, dictionaries


def _pdf_text(pdf: bytes) -> str:
    """The PDF's text, one line per run of glyphs: each font's glyph codes read through its ToUnicode map,
    no-break spaces as spaces.

    WeasyPrint writes text as hex glyph codes (``[<0035>0<0048>] TJ``) in subset fonts named by a tag
    (``/KTGASA 32 Tf``), each font's ``/ToUnicode`` stream mapping codes back to characters. Labels
    styled ``text-transform: uppercase`` come out in capitals.
    """
    streams, dictionaries = _pdf_objects(pdf)
    maps: dict[bytes, dict[str, str]] = {}
    for text in dictionaries:
        for tag, to_unicode in re.findall(rb"/BaseFont /(\w+)\+[^/]*/ToUnicode (\d+) 0 R", text):
            cmap = streams[int(to_unicode)].decode()
            pairs = re.findall(r"<([0-9a-f]+)> <([0-9a-f]+)>", cmap.split("beginbfchar", 1)[-1])
            maps[tag] = {code: bytes.fromhex(char).decode("utf-16-be") for code, char in pairs}
    lines = []
    for content in streams.values():
        font: dict[str, str] = {}
        # Letter-spaced text has empty strings between its glyphs (``<0025>-30<>-30.6<002c>``).
        for name, glyphs in re.findall(rb"/(\w+) [\d.]+ Tf|\[((?:<[0-9a-f]*>-?[\d.]*)+)\] TJ", content):
            if name:
                font = maps.get(name, {})
                continue
            codes = re.findall(r"<([0-9a-f]*)>", glyphs.decode())
            lines.append("".join(font.get(code[i : i + 4], "?") for code in codes for i in range(0, len(code), 4)))
    return "\n".join(lines).replace("\N{NO-BREAK SPACE}", " ")


def test_the_pdf_of_a_german_customer_is_in_german() -> None:
    invoice = german_invoice()
    with frozen_at(MOMENT):
        pdf = invoice_pdf_bytes(invoice)
    text = _pdf_text(pdf)
    for expected in (
        "RECHNUNGSEMPFÄNGER",
        "BESCHREIBUNG",
        "EINZELPREIS",
        "Rechnung ACME-0001",
        "Rechnungsdatum",
        "1. März 2030",
        "Fälligkeitsdatum",
        "12,50 € pro seat",
        "Zwischensumme",
        "Spring (10 % Rabatt)",
        "Gesamtbetrag ohne Steuern",
        "Fälliger Betrag",
        "64,26 €",
        "Fällig am 15. März 2030",
    ):
        assert expected in text, expected
    # The page's actions and the payment form are not printed.
    for english in (*ENGLISH, "PDF herunterladen", "Kartennummer"):
        assert english.casefold() not in text.casefold(), english
    # The document's language, for screen readers and search.
    assert any(b"/Lang (de)" in dictionary for dictionary in _pdf_objects(pdf)[1])


def _fonts_drawing(pdf: bytes, characters: str) -> set[str]:
    """The families of the PDF's fonts whose glyphs stand for any of ``characters``."""
    streams, dictionaries = _pdf_objects(pdf)
    families: set[str] = set()
    for text in dictionaries:
        family_of = {
            tag.decode(): family.decode()
            for tag, family in re.findall(rb"/FontName /(\w+)\+[^/]*/FontFamily \(([^)]*)\)", text)
        }
        for tag, to_unicode in re.findall(rb"/BaseFont /(\w+)\+[^/]*/ToUnicode (\d+) 0 R", text):
            cmap = streams[int(to_unicode)].decode()
            drawn = {bytes.fromhex(char).decode("utf-16-be") for char in re.findall(r"<[0-9a-f]+> <([0-9a-f]+)>", cmap)}
            if drawn & set(characters):
                families.add(family_of.get(tag.decode(), tag.decode()))
    return families


def test_a_japanese_pdf_draws_its_characters_in_a_japanese_font() -> None:
    """WeasyPrint draws with the server's fonts: without a Japanese one, a Japanese invoice's PDF would
    show empty boxes (``./run-tests.sh`` installs Debian's fonts-ipafont-gothic)."""
    listed = subprocess.run(["fc-list", ":lang=ja", "family"], capture_output=True, text=True, check=True).stdout
    japanese = {family.strip() for line in listed.splitlines() for family in line.split(",")}
    assert japanese, "No Japanese font here: install one (Debian: apt-get install fonts-ipafont-gothic)."
    with frozen_at(MOMENT):
        pdf = invoice_pdf_bytes(finalized_invoice(locale="ja"))
    assert "請求書" in _pdf_text(pdf)
    drawing = _fonts_drawing(pdf, "請求書")
    assert drawing and drawing <= japanese, drawing


@pytest.mark.parametrize(
    ("locale", "disposition"),
    [
        ("de", 'inline; filename="Rechnung-ACME-0001.pdf"'),
        ("ja", "inline; filename*=utf-8''%E8%AB%8B%E6%B1%82%E6%9B%B8-ACME-0001.pdf"),
        ("en", 'inline; filename="Invoice-ACME-0001.pdf"'),
    ],
)
def test_the_pdf_file_is_named_in_the_customers_language(client: Client, locale: str, disposition: str) -> None:
    response = client.get(f"{page_path(finalized_invoice(locale=locale))}/pdf")
    assert response["Content-Disposition"] == disposition


def test_the_pdf_reader_reads_english_too() -> None:
    """The reader above finds words, so the German test's absences mean something."""
    with frozen_at(MOMENT):
        text = _pdf_text(invoice_pdf_bytes(finalized_invoice()))
    assert "BILLED TO" in text and "Subtotal" in text and "Amount due" in text and "€64.26" in text


@pytest.mark.parametrize(
    ("preferred", "language", "money", "due"),
    [
        # The first language Billfold speaks wins; its region decides how money and dates are written.
        (["de-AT"], "de", "€\N{NO-BREAK SPACE}64,26", "15. März 2030"),
        (["de-CH"], "de", "EUR\N{NO-BREAK SPACE}64.26", "15. März 2030"),
        (["zh-TW", "ja-JP"], "ja", "€64.26", "2030年3月15日"),
        (["pt"], "pt-br", "€\N{NO-BREAK SPACE}64,26", "15 de março de 2030"),
        (["pt-PT"], "pt-br", "64,26\N{NO-BREAK SPACE}€", "15 de março de 2030"),
        (["PT-br"], "pt-br", "€\N{NO-BREAK SPACE}64,26", "15 de março de 2030"),
        (["fr-CA", "de"], "fr", "64,26\N{NO-BREAK SPACE}€", "15 mars 2030"),
        (["nb-NO", "sv-SE"], "sv", "64,26\N{NO-BREAK SPACE}€", "15 mars 2030"),
        # Nothing Billfold speaks: English, as written in English.
        (["zh-CN"], "en", "€64.26", "March 15, 2030"),
        (["en-GB", "de"], "en", "€64.26", "15 March 2030"),
        ([], "en", "€64.26", "March 15, 2030"),
    ],
)
def test_the_language_is_the_first_preferred_locale_billfold_speaks(
    preferred: list[str], language: str, money: str, due: str
) -> None:
    invoice = finalized_invoice(locale="en")
    invoice.customer.preferred_locales = preferred
    document = invoice_document(invoice)
    assert document.language == language
    assert document.totals[-1].amount == money
    assert document.due == due


@pytest.mark.parametrize(
    ("locale", "lang", "title", "amount_due"),
    [
        ("ja", "ja", "請求書 ACME-0001", "お支払い金額 €64.26"),
        ("pt-BR", "pt-BR", "Fatura ACME-0001", "Valor devido € 64,26"),
        ("fr", "fr", "Facture ACME-0001", "Montant dû 64,26 €"),
        ("pl", "pl", "Faktura ACME-0001", "Kwota do zapłaty 64,26 €"),
    ],
)
def test_other_languages_read_their_own(client: Client, locale: str, lang: str, title: str, amount_due: str) -> None:
    html, text = page_text(client, finalized_invoice(locale=locale))
    assert f'<html lang="{lang}">' in html
    assert title in text and amount_due in text
    # "Subtotal" is Spanish and Portuguese too, "Description" French.
    for english in set(ENGLISH) - {"Subtotal", "Description"}:
        assert english not in text, english
