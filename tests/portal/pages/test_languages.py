"""The portal speaks the customer's language: complete catalogs, money and dates by locale."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from django.test import Client

from billfold.core.clock import frozen_at
from billfold.customers.services import customer_update
from tests.portal.pages.world import T0, World, session_for, session_path, world_build

LANGUAGES = ("de", "fr", "es", "it", "nl", "pt_BR", "ja", "sv", "pl")
APPS = Path(__file__).resolve().parents[3] / "billfold"


@pytest.mark.parametrize("app", ["portal", "payments"])
@pytest.mark.parametrize("language", LANGUAGES)
def test_catalogs_are_complete_and_compiled(app: str, language: str) -> None:
    folder = APPS / app / "locale" / language / "LC_MESSAGES"
    with (folder / "django.po").open("rb") as source:
        catalog = read_po(source)
    with (folder / "django.mo").open("rb") as compiled_file:
        compiled = read_mo(compiled_file)
    messages = [message for message in catalog if message.id]
    assert messages
    for message in messages:
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(strings), f"{language}: untranslated {message.id!r}"
        assert not message.fuzzy, f"{language}: fuzzy {message.id!r}"
        # The compiled catalog is the one Django reads: it must say the same.
        found = compiled[message.id].string
        found = tuple(found) if isinstance(found, list) else found
        assert found == message.string, f"{language}: .mo is stale for {message.id!r}"


@pytest.fixture
def world(db: None) -> World:
    return world_build()


def test_session_locale_sets_language_money_and_dates(world: World) -> None:
    client = Client()
    with frozen_at(T0):
        client.get(session_path(session_for(world.jenny, locale="fr")))
        html = client.get("/p/").content.decode()
    assert '<html lang="fr">' in html
    assert "Abonnement en cours" in html and "Prochain paiement" in html
    assert "20,00\xa0$US le 1 juin 2031" in html
    assert "10,00\xa0$US par seat par mois" in html


def test_auto_locale_uses_the_customers_preference_then_the_browser(world: World) -> None:
    with frozen_at(T0):
        customer_update(customer=world.jenny, values={"preferred_locales": ["pt-BR"]})
        client = Client()
        client.get(session_path(session_for(world.jenny, locale="auto")))
        html = client.get("/p/", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "Assinatura atual" in html and "US$\xa020,00 em 1 de junho de 2031" in html
    login = Client().get(f"/p/login/{world.link_token}", HTTP_ACCEPT_LANGUAGE="ja,en;q=0.5").content.decode()
    assert '<html lang="ja">' in login and "コードを送信" in login


def test_card_form_is_translated_too(world: World) -> None:
    client = Client()
    with frozen_at(T0):
        client.get(session_path(session_for(world.jenny, locale="pl")))
        html = client.get("/p/payment-methods/new").content.decode()
    assert "Numer karty" in html and "Dodaj kartę" in html
