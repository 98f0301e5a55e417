"""Emails in the customer's language: chosen as Stripe chooses it (the first of ``preferred_locales``
Billfold speaks, else English; a login code in the language of the login page it was asked on), with
every text translated and money and dates written the way that locale writes them."""

from __future__ import annotations

import datetime as dt
import html as html_lib
import re
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any

import pytest

from billfold.core import clock
from billfold.core.clock import frozen_at
from billfold.customers.models import Customer
from billfold.customers.services import customer_create
from billfold.emails import kinds
from billfold.emails.content import Rendered, email_language, email_render
from billfold.emails.models import Email
from billfold.emails.services import email_passcode_send, locale_of
from billfold.events.models import Event
from billfold.portal import login
from billfold.portal.configurations import portal_configuration_create
from tests.emails.conftest import BUSINESS, Mailbox, send_all

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2030, 3, 1, 12, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)
LATER = clock.to_unix(dt.datetime(2030, 3, 15, 12, tzinfo=dt.UTC))
NBSP = "\N{NO-BREAK SPACE}"
SITE = "https://billing.acme.example"
INVOICE_URL = f"{SITE}/i/tok_123"
LANGUAGES = ("de", "fr", "es", "it", "nl", "pt-BR", "ja", "sv", "pl")


@pytest.fixture(autouse=True)
def _business(settings: Any) -> None:
    settings.BILLFOLD_BUSINESS_NAME = BUSINESS
    settings.SITE_URL = SITE


def _lines(more: bool) -> dict[str, Any]:
    data = [{"description": "Consulting", "amount": 2000}, {"description": "Support plan", "amount": 550}]
    return {"object": "list", "data": data, "has_more": more}


def _email(kind: str, locale: str, obj: dict[str, Any] | None = None, **context: Any) -> Email:
    """An email as the queue holds it: its kind, its event's object and the facts of that moment."""
    event = Event(public_id="evt_123", type="invoice.paid", data={"object": obj}) if obj is not None else None
    return Email(
        public_id="eml_123",
        kind=kind,
        livemode=False,
        to_email="jenny@example.com",
        event=event,
        context={"locale": locale, "customer_name": "Jenny Rosen", **context},
    )


def receipt(locale: str, *, full: bool = True) -> Email:
    obj = {
        "number": "ACME-0001",
        "currency": "usd",
        "amount_paid": 2550,
        # Credit paid part of it: the email shows the invoice's total as well.
        "total": 3000 if full else 2550,
        "status_transitions": {"paid_at": LATER if full else None},
        "hosted_invoice_url": INVOICE_URL,
        "invoice_pdf": f"{INVOICE_URL}/pdf",
        "lines": _lines(more=full),
    }
    return _email(kinds.RECEIPT, locale, obj, card={"brand": "visa", "last4": "4242"} if full else None)


def payment_failed(locale: str, *, full: bool = True) -> Email:
    obj = {
        "number": "ACME-0002",
        "currency": "usd",
        "amount_remaining": 2550,
        "hosted_invoice_url": INVOICE_URL,
        "next_payment_attempt": LATER if full else None,
    }
    card = {"brand": "visa", "last4": "0341"} if full else None
    return _email(
        kinds.PAYMENT_FAILED,
        locale,
        obj,
        card=card,
        reason="Your card has insufficient funds." if full else "",
        decline_code="insufficient_funds" if full else None,
    )


def upcoming_renewal(locale: str, *, full: bool = True) -> Email:
    obj = {"currency": "usd", "amount_due": 2550, "period_end": LATER, "lines": _lines(more=full)}
    return _email(kinds.UPCOMING_RENEWAL, locale, obj)


def trial_ending(locale: str, *, full: bool = True) -> Email:
    quarterly = {"interval": "month", "interval_count": 3}
    items = [
        {
            "quantity": 2,
            "price": {"product": "prod_pro", "unit_amount": 1000, "currency": "usd", "recurring": quarterly},
        },
        {"quantity": 1, "price": {"product": "prod_gone", "unit_amount": 9900, "currency": "usd", "recurring": None}},
    ]
    obj = {"id": "sub_123", "trial_end": LATER, "items": {"data": items}}
    return _email(kinds.TRIAL_ENDING, locale, obj, products={"prod_pro": "Pro"}, has_payment_method=full)


def passcode(locale: str, *, full: bool = True) -> Email:
    minutes = 10 if full else 1
    return _email(kinds.PASSCODE, locale, code="482913", expires_at=clock.to_unix(T0) + 60 * minutes)


BUILDERS: dict[str, Callable[..., Email]] = {
    kinds.RECEIPT: receipt,
    kinds.PAYMENT_FAILED: payment_failed,
    kinds.UPCOMING_RENEWAL: upcoming_renewal,
    kinds.TRIAL_ENDING: trial_ending,
    kinds.PASSCODE: passcode,
}


def render(kind: str, locale: str, *, full: bool = True) -> Rendered:
    return email_render(BUILDERS[kind](locale, full=full), now=T0)


def visible(html: str) -> str:
    """The words of an HTML body as a reader sees them, white space squeezed (no-break spaces too)."""
    return re.sub(r"\s+", " ", html_lib.unescape(re.sub(r"<[^>]+>", " ", html)))


# What each email says in German, Japanese and Brazilian Portuguese: the subject, then sentences of the
# plain-text body (the HTML says the same). Amounts are $25.50, $10.00 and $30.00; dates March 15, 2030.
EXPECTED: dict[str, dict[str, tuple[str, list[str]]]] = {
    kinds.RECEIPT: {
        "de": (
            f"Ihr Beleg von {BUSINESS} Nr. ACME-0001",
            [
                "Beleg Nr. ACME-0001",
                "Hallo Jenny Rosen,",
                f"Vielen Dank für Ihre Zahlung von 25,50{NBSP}$ an {BUSINESS} am 15. März 2030.",
                "Bezahlt mit Visa \N{BULLET}\N{BULLET}\N{BULLET}\N{BULLET} 4242.",
                f"  Consulting: 20,00{NBSP}$",
                "  Weitere Positionen finden Sie auf der Rechnung.",
                f"  Rechnungsbetrag: 30,00{NBSP}$",
                f"  Bezahlter Betrag: 25,50{NBSP}$",
                f"Rechnung anzeigen: {INVOICE_URL}",
                f"PDF herunterladen: {INVOICE_URL}/pdf",
            ],
        ),
        "ja": (
            f"{BUSINESS}からの領収書 #ACME-0001",
            [
                "領収書 #ACME-0001",
                "Jenny Rosen 様",
                f"2030年3月15日に{BUSINESS}へ$25.50をお支払いいただき、ありがとうございます。",
                "  その他の明細は請求書でご確認ください。",
                "  支払い済み金額: $25.50",
                f"請求書を表示: {INVOICE_URL}",
            ],
        ),
        "pt-BR": (
            f"Seu recibo de {BUSINESS} nº ACME-0001",
            [
                "Recibo nº ACME-0001",
                "Olá, Jenny Rosen,",
                f"Obrigado pelo seu pagamento de US${NBSP}25,50 para {BUSINESS} em 15 de março de 2030.",
                "Pago com Visa \N{BULLET}\N{BULLET}\N{BULLET}\N{BULLET} 4242.",
                f"  Valor pago: US${NBSP}25,50",
                f"Baixar o PDF: {INVOICE_URL}/pdf",
            ],
        ),
    },
    kinds.PAYMENT_FAILED: {
        "de": (
            f"Ihre Zahlung an {BUSINESS} ist fehlgeschlagen",
            [
                "Ihre Zahlung ist fehlgeschlagen",
                f"Wir konnten 25,50{NBSP}$ für die Rechnung ACME-0002 nicht von Ihrer Karte Visa "
                "\N{BULLET}\N{BULLET}\N{BULLET}\N{BULLET} 0341 einziehen.",
                "Angegebener Grund: Ihre Karte ist nicht ausreichend gedeckt.",
                "Wir versuchen es am 15. März 2030 erneut. Um eine Unterbrechung zu vermeiden, bezahlen Sie die "
                f"Rechnung jetzt oder verwenden Sie eine andere Karte:\n{INVOICE_URL}",
            ],
        ),
        "ja": (
            f"{BUSINESS}へのお支払いに失敗しました",
            [
                "お支払いに失敗しました",
                "理由: カードの残高が不足しています。",
                "2030年3月15日に再度お支払いを試みます。",
            ],
        ),
        "pt-BR": (
            f"Seu pagamento para {BUSINESS} não foi concluído",
            [
                f"Não conseguimos cobrar US${NBSP}25,50 referente à fatura ACME-0002 no seu cartão Visa "
                "\N{BULLET}\N{BULLET}\N{BULLET}\N{BULLET} 0341.",
                "Motivo informado: Seu cartão não tem saldo suficiente.",
                "Tentaremos novamente em 15 de março de 2030.",
            ],
        ),
    },
    kinds.UPCOMING_RENEWAL: {
        "de": (
            f"Ihr Abonnement bei {BUSINESS} verlängert sich am 15. März 2030",
            [
                "Ihr Abonnement verlängert sich bald",
                f"Ihr Abonnement bei {BUSINESS} verlängert sich am 15. März 2030; dann werden 25,50{NBSP}$ abgebucht.",
                "  Weitere Positionen werden auf der Rechnung aufgeführt.",
                f"  Fälliger Betrag: 25,50{NBSP}$",
                f"Wenn das Ihren Erwartungen entspricht, müssen Sie nichts tun. Um Ihr Abonnement vorher zu ändern "
                f"oder zu kündigen, wenden Sie sich an {BUSINESS}.",
            ],
        ),
        "ja": (
            f"{BUSINESS}のサブスクリプションは2030年3月15日に更新されます",
            [f"{BUSINESS}のサブスクリプションは2030年3月15日に更新され、その際に$25.50が請求されます。"],
        ),
        "pt-BR": (
            f"Sua assinatura de {BUSINESS} será renovada em 15 de março de 2030",
            [
                "Sua assinatura será renovada em breve",
                f"Sua assinatura de {BUSINESS} será renovada em 15 de março de 2030, e US${NBSP}25,50 serão "
                "cobrados nessa data.",
            ],
        ),
    },
    kinds.TRIAL_ENDING: {
        "de": (
            f"Ihre Testphase bei {BUSINESS} endet am 15. März 2030",
            [
                "Ihre Testphase endet bald",
                f"Ihre kostenlose Testphase bei {BUSINESS} endet am 15. März 2030. Danach läuft Ihr Abonnement weiter:",
                f"  Pro x 2: 10,00{NBSP}$ alle 3 Monate",
                f"  Abonnement: 99,00{NBSP}$",
                "Die hinterlegte Karte wird am Ende der Testphase belastet. Wenn Sie stattdessen kündigen möchten, "
                f"wenden Sie sich vor dem 15. März 2030 an {BUSINESS}.",
            ],
        ),
        "ja": (
            f"{BUSINESS}のトライアルは2030年3月15日に終了します",
            ["トライアルがまもなく終了します", "  Pro x 2: $10.00 3か月ごと", "  サブスクリプション: $99.00"],
        ),
        "pt-BR": (
            f"Seu período de teste de {BUSINESS} termina em 15 de março de 2030",
            [f"  Pro x 2: US${NBSP}10,00 a cada 3 meses", "O cartão cadastrado será cobrado"],
        ),
    },
    kinds.PASSCODE: {
        "de": (
            f"Ihr Anmeldecode für {BUSINESS}",
            [
                "Ihr Anmeldecode\n\n482913",
                f"Geben Sie diesen Code ein, um sich bei {BUSINESS} in Ihrem Abrechnungskonto anzumelden. Er läuft "
                "in 10 Minuten ab und kann nur einmal verwendet werden.",
                "Wenn Sie diesen Code nicht angefordert haben, ignorieren Sie diese E-Mail",
            ],
        ),
        "ja": (
            f"{BUSINESS}のログインコード",
            ["ログインコード\n\n482913", "有効期限は10分で、1回のみ使用できます。"],
        ),
        "pt-BR": (
            f"Seu código de acesso para {BUSINESS}",
            ["Ele expira em 10 minutos e só pode ser usado uma vez."],
        ),
    },
}
FRAME = {
    "de": (
        "[Testmodus: Diese E-Mail betrifft Testdaten. Es wurde kein echtes Geld bewegt.]",
        f"--\nDiese E-Mail wurde Ihnen von {BUSINESS} zu Ihrem Konto gesendet.\n",
    ),
    "ja": (
        "[テストモード: このメールはテストデータに関するものです。実際のお金は動いていません。]",
        f"--\nこのメールは、お客様のアカウントに関して{BUSINESS}から送信されました。\n",
    ),
    "pt-BR": (
        "[Modo de teste: este e-mail se refere a dados de teste. Nenhum dinheiro real foi movimentado.]",
        f"--\nEste e-mail foi enviado por {BUSINESS} sobre a sua conta.\n",
    ),
}


@pytest.mark.parametrize("language", ["de", "ja", "pt-BR"])
@pytest.mark.parametrize("kind", kinds.KINDS)
def test_every_email_speaks_german_japanese_and_portuguese(kind: str, language: str) -> None:
    rendered = render(kind, language)
    subject, sentences = EXPECTED[kind][language]
    assert rendered.subject == subject
    assert rendered.language == language
    notice, footer = FRAME[language]
    assert rendered.text.startswith(f"{BUSINESS}\n\n{notice}\n\n") and rendered.text.endswith(footer)
    for sentence in sentences:
        assert sentence in rendered.text, sentence
    # The HTML part says the same in the same language, its sentences whole (its lines and totals are
    # table cells, its links buttons, and a sentence leading to a link in the text ends with a colon there).
    words = visible(rendered.html)
    assert f'<html lang="{language}">' in rendered.html
    assert f"<title>{html_lib.escape(subject)}</title>" in rendered.html
    for sentence in sentences:
        for line in sentence.split("\n") if not sentence.startswith("  ") else []:
            if not line.endswith(":") and "https://" not in line:
                assert line.replace(NBSP, " ") in words, line
    assert notice.strip("[]") in words and footer.removeprefix("--\n").strip() in words


def _fragments(rendered: Rendered, data: list[str]) -> set[str]:
    """The English wording of an email: its texts with the data (names, amounts, links...) taken out, in
    pieces of two words or more."""
    pieces: set[str] = set()
    for text in (rendered.subject, rendered.text, visible(rendered.html)):
        for value in sorted(data, key=len, reverse=True):
            text = text.replace(value, "\x00")
        for piece in re.split(r"[\x00\n]|(?<=[.:!?])\s", text):
            piece = piece.strip(" .,:;#[]()-")
            if len(re.findall(r"[A-Za-z]{2,}", piece)) >= 2:
                pieces.add(piece)
    return pieces


DATA = [
    BUSINESS,
    "Jenny Rosen",
    "Consulting",
    "Support plan",
    "Visa \N{BULLET}\N{BULLET}\N{BULLET}\N{BULLET} 4242",
    "Visa \N{BULLET}\N{BULLET}\N{BULLET}\N{BULLET} 0341",
    "Pro &times; 2",
    "Pro \N{MULTIPLICATION SIGN} 2",
    "Pro x 2",
    "ACME-0001",
    "ACME-0002",
    "482913",
    "March 15, 2030",
    "$25.50",
    "$20.00",
    "$5.50",
    "$30.00",
    "$10.00",
    "$99.00",
    f"{INVOICE_URL}/pdf",
    INVOICE_URL,
]


@pytest.mark.parametrize("full", [True, False], ids=["with-every-part", "with-the-other-branches"])
@pytest.mark.parametrize("kind", kinds.KINDS)
def test_no_english_is_left_in_any_language(kind: str, full: bool) -> None:
    """Every sentence an English email has is translated in all nine languages (both sides of every
    condition in the templates): a text missing from a catalog shows up here."""
    english = _fragments(render(kind, "en", full=full), DATA)
    assert len(english) >= 5
    for language in LANGUAGES:
        rendered = render(kind, language, full=full)
        words = "\n".join((rendered.subject, rendered.text, visible(rendered.html)))
        left = sorted(piece for piece in english if piece in words)
        assert left == [], f"{language}: {left}"


@pytest.mark.parametrize(
    ("preferred", "locale", "language"),
    [
        (["de-CH"], "de_CH", "de"),
        (["de"], "de", "de"),
        (["pt"], "pt", "pt-BR"),
        (["pt-PT"], "pt_PT", "pt-BR"),
        (["pt-BR"], "pt_BR", "pt-BR"),
        (["ja-JP"], "ja_JP", "ja"),
        (["zh-CN", "fr-CA"], "fr_CA", "fr"),
        (["nb", "sv-FI", "de"], "sv_FI", "sv"),
        (["en-GB", "de"], "en_GB", "en"),
        (["zh-Hant-TW"], "en", "en"),
        ([], "en", "en"),
    ],
)
def test_the_language_is_the_first_preferred_locale_billfold_speaks(
    preferred: list[str], locale: str, language: str
) -> None:
    customer = Customer(preferred_locales=preferred)
    assert locale_of(customer) == locale
    assert email_language(_email(kinds.PASSCODE, locale_of(customer))).tag == language


def test_a_regional_locale_writes_german_with_swiss_amounts() -> None:
    rendered = render(kinds.RECEIPT, "de_CH")
    assert rendered.language == "de"
    assert f"Vielen Dank für Ihre Zahlung von ${NBSP}25.50 an {BUSINESS} am 15. März 2030." in rendered.text


def test_a_row_queued_in_a_locale_billfold_does_not_speak_is_sent_in_english() -> None:
    rendered = render(kinds.RECEIPT, "zh_Hans_CN")
    assert rendered.language == "en"
    assert rendered.subject == f"Your receipt from {BUSINESS} #ACME-0001"
    assert "Thank you for your payment of $25.50" in rendered.text


def test_a_reason_without_a_customer_facing_code_is_shown_as_given() -> None:
    email = payment_failed("de")
    email.context.update(reason="Your card was declined. Use a test card.", decline_code="test_mode_live_card")
    text = email_render(email, now=T0).text
    assert "Angegebener Grund: Your card was declined. Use a test card." in text


def _customer(**values: Any) -> Customer:
    with frozen_at(T0):
        return customer_create(livemode=False, values={"email": "jenny@example.com", "name": "Jenny Rosen", **values})


def test_a_login_code_speaks_the_login_pages_language_first() -> None:
    jenny = _customer(preferred_locales=["de-DE"])
    with frozen_at(T0):
        from_page = email_passcode_send(customer=jenny, code="482913", expires_at=T0 + 10 * MINUTE, locale="ja")
        from_profile = email_passcode_send(customer=jenny, code="482914", expires_at=T0 + 10 * MINUTE)
    assert from_page is not None and from_profile is not None
    assert email_render(from_page, now=T0).subject == f"{BUSINESS}のログインコード"
    assert email_render(from_profile, now=T0).subject == f"Ihr Anmeldecode für {BUSINESS}"


def test_the_login_page_passes_its_language_to_the_code() -> None:
    _customer()
    with frozen_at(T0):
        configuration = portal_configuration_create(livemode=False, values={"login_page": {"enabled": True}})
        assert configuration.login_link is not None
        login.login_code_request(
            link_token=configuration.login_link.token,
            email="jenny@example.com",
            client_address="203.0.113.7",
            locale="pt-BR",
        )
    row = Email.objects.get(kind=kinds.PASSCODE)
    assert row.context["locale"] == "pt_BR"
    rendered = email_render(row, now=T0)
    assert rendered.subject == f"Seu código de acesso para {BUSINESS}"
    assert "Ele expira em 10 minutos e só pode ser usado uma vez." in rendered.text


def _only(mailbox: Mailbox) -> EmailMessage:
    return mailbox.only().message


def test_a_queued_email_goes_out_in_its_language_with_content_language(mailbox: Mailbox) -> None:
    jenny = _customer(preferred_locales=["fr-BE", "de"])
    with frozen_at(T0):
        email_passcode_send(customer=jenny, code="482913", expires_at=T0 + 10 * MINUTE)
    with frozen_at(T0):
        send_all()
    message = _only(mailbox)
    assert message["Content-Language"] == "fr"
    assert message["Subject"] == f"Votre code de connexion {BUSINESS}"
    assert "Il expire dans 10 minutes et ne peut être utilisé qu'une seule fois." in mailbox.only().text
    assert '<html lang="fr">' in mailbox.only().html
