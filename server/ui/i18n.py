"""Finnish, Swedish and English for the supervisor web, through gettext catalogues.

Strings are marked with `_()` in Python and `{{ _("…") }}` in templates, in English
(the msgid). Each language's text is in `translations/<lang>/LC_MESSAGES/*.po`: one
file per page or area (`common.po`, `queue.po`, …), merged into one catalogue, so
pages are translated side by side without touching each other's files. The catalogues
are read from the `.po` files when first needed (compiled in memory): there is no
build step and no compiled file to forget. `tests/test_ui_translations.py` checks that
every marked string is translated into Finnish and Swedish.

The language of a request: the person's own choice (stored on the account), else the
`sopu_lang` cookie, else the browser's Accept-Language (its first language we speak,
by the main tag: `sv-FI` is Swedish), else Finnish.
"""

from __future__ import annotations

import functools
import gettext as gettext_module
import io
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import g, has_request_context, request

LANGUAGES = ("fi", "sv", "en")
DEFAULT = "fi"
NAMES = {"fi": "Suomi", "sv": "Svenska", "en": "English"}
COOKIE = "sopu_lang"
CATALOGUES = Path(__file__).parent / "translations"


@functools.cache
def translations(language: str) -> gettext_module.NullTranslations:
    """The compiled catalogue of `language` (English is the msgids themselves)."""
    catalog = catalogue(language)
    if not len(catalog):
        return gettext_module.NullTranslations()
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext_module.GNUTranslations(compiled)


def catalogue(language: str) -> Catalog:
    """Every `.po` file of `language`, merged (a msgid in two files: the first wins)."""
    merged = Catalog(locale=language)
    for path in sorted((CATALOGUES / language / "LC_MESSAGES").glob("*.po")):
        with path.open("rb") as handle:
            for message in read_po(handle, locale=language):
                if message.id and message.id not in merged:
                    merged[message.id] = message
    return merged


def current() -> str:
    """This request's language."""
    if has_request_context() and "ui_language" in g:
        return g.ui_language
    return DEFAULT


def choose(account: dict | None) -> str:
    """The language for this request (see the module docstring); remembered in `g`."""
    chosen = (account or {}).get("language") or request.cookies.get(COOKIE)
    if chosen not in LANGUAGES:
        chosen = _browser_language()
    g.ui_language = chosen
    return chosen


def _browser_language() -> str:
    """The browser's first language we speak, by its main tag: a Finland-Swedish
    browser says `sv-FI,en;q=0.5`, and means Swedish, not English."""
    for value, quality in request.accept_languages:  # the most wanted first
        primary = value.replace("_", "-").split("-")[0].lower()
        if quality > 0 and primary in LANGUAGES:
            return primary
    return DEFAULT


def gettext(message: str, **variables) -> str:
    text = translations(current()).gettext(message)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, n: int, **variables) -> str:
    text = translations(current()).ngettext(singular, plural, n)
    return text % {"num": n, **variables}


_ = gettext


def N_(message: str) -> str:  # gettext's name for "translate later"
    """Mark a string for translation where it is defined; `gettext` it where shown."""
    return message
