"""The portal speaks the customer's language: complete catalogs, money and dates by locale.

The catalogs of every app (the portal's pages, the card form of ``payments``, the emails, the hosted
invoice page and PDF of ``billing``) are checked here together."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.catalog import Message
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from django.test import Client

from billfold.core.clock import frozen_at
from billfold.customers.services import customer_update
from tests.portal.pages.world import T0, World, session_for, session_path, world_build

LANGUAGES = ("de", "fr", "es", "it", "nl", "pt_BR", "ja", "sv", "pl")
APPS = Path(__file__).resolve().parents[3] / "billfold"
# Every app with texts for customers has a catalog; Django reads them in INSTALLED_APPS order.
CATALOG_APPS = ("payments", "billing", "emails", "portal")


def test_every_app_with_a_catalog_is_checked() -> None:
    assert sorted(path.parent.name for path in APPS.glob("*/locale")) == sorted(CATALOG_APPS)


def _key(message: Message) -> str:
    """A message's English text (the singular of a plural one)."""
    return message.id if isinstance(message.id, str) else str(message.id[0])


def _messages(app: str, language: str) -> list[Message]:
    with (APPS / app / "locale" / language / "LC_MESSAGES" / "django.po").open("rb") as source:
        return [message for message in read_po(source) if message.id]


@pytest.mark.parametrize("app", CATALOG_APPS)
@pytest.mark.parametrize("language", LANGUAGES)
def test_catalogs_are_complete_and_compiled(app: str, language: str) -> None:
    with (APPS / app / "locale" / language / "LC_MESSAGES" / "django.mo").open("rb") as compiled_file:
        # Babel reads a compiled message's context as bytes.
        compiled = {
            (
                message.context.decode() if isinstance(message.context, bytes) else message.context,
                _key(message),
            ): message
            for message in read_mo(compiled_file)
        }
    messages = _messages(app, language)
    assert messages
    for message in messages:
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(strings), f"{language}: untranslated {message.id!r}"
        assert not message.fuzzy, f"{language}: fuzzy {message.id!r}"
        # The compiled catalog is the one Django reads: it must say the same.
        found = compiled.get((message.context, _key(message)))
        assert found is not None, f"{language}: {message.id!r} is not compiled"
        string = tuple(found.string) if isinstance(found.string, list) else found.string
        assert string == message.string, f"{language}: .mo is stale for {message.id!r}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_text_in_several_catalogs_reads_the_same_in_each(language: str) -> None:
    """Django merges the apps' catalogs into one, the app listed first winning a text they share: the
    same English text translated differently in two apps would silently change the other's wording."""
    seen: dict[tuple[str | None, str], tuple[str, object]] = {}
    for app in CATALOG_APPS:
        for message in _messages(app, language):
            key = (message.context, _key(message))
            first = seen.setdefault(key, (app, message.string))
            assert first[1] == message.string, (
                f"{language}: {key[1]!r} reads {first[1]!r} in {first[0]}, {message.string!r} in {app}"
            )


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
