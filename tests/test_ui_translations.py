"""Every string the supervisor web shows is translated into Finnish and Swedish (English
is the source), and every translation keeps the placeholders of its original."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir

from server.ui import i18n

UI = Path(__file__).resolve().parents[1] / "server" / "ui"
METHODS = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
OPTIONS = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}}
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def marked() -> set[str]:
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(UI), METHODS, keywords=KEYWORDS, options_map=OPTIONS
    ):
        found.add(message if isinstance(message, str) else message[0])  # plurals by singular
    return found


def translated(catalogue, msgid: str) -> bool:
    """A translation for the message, every plural form included."""
    message = catalogue.get(msgid)
    if message is None:
        return False
    forms = message.string if isinstance(message.string, tuple | list) else [message.string]
    return bool(forms) and all(forms)


def test_the_pages_mark_their_strings():
    strings = marked()
    assert {"Log in", "Skip to content", "Overview", "Devices"} <= strings


@pytest.mark.parametrize("language", ["fi", "sv"])
def test_every_marked_string_is_translated(language):
    catalogue = i18n.catalogue(language)
    missing = sorted(m for m in marked() if not translated(catalogue, m))
    assert not missing, f"{len(missing)} strings without a {language} translation: {missing[:20]}"


@pytest.mark.parametrize("language", ["fi", "sv"])
def test_translations_keep_their_placeholders(language):
    for message in i18n.catalogue(language):
        if message.id and message.string:
            original = message.id if isinstance(message.id, str) else message.id[0]
            text = message.string if isinstance(message.string, str) else message.string[0]
            assert set(PLACEHOLDER.findall(original)) == set(PLACEHOLDER.findall(text)), original
