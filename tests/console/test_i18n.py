"""Every consumer-facing words in the console's templates have their Hindi: a page a
consumer reads in Hindi must not fall back to English for a new line of text."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sandbox.console import i18n

TEMPLATES = Path(i18n.__file__).parent / "templates"
LITERAL = re.compile(r"""_\(\s*"([^"]+)"\s*\)""")
TRANSLATED = sorted(p for p in TEMPLATES.glob("*.html") if LITERAL.search(p.read_text("utf-8")))


def test_the_consumer_pages_are_the_translated_ones() -> None:
    names = {p.name for p in TRANSLATED}
    assert {"consumer_der.html", "consumer_consent.html", "consumer_trades.html"} <= names


@pytest.mark.parametrize("template", TRANSLATED, ids=lambda p: p.name)
def test_every_literal_has_its_hindi(template: Path) -> None:
    words = set(LITERAL.findall(template.read_text("utf-8")))
    assert words
    assert sorted(w for w in words if w not in i18n.HINDI) == []


def test_a_word_without_hindi_falls_back_to_english_not_to_nothing() -> None:
    assert i18n.translator("hi")("Approve and share") == "स्वीकार करें और साझा करें"
    assert i18n.translator("hi")("a line nobody translated") == "a line nobody translated"
    assert i18n.translator("en")("DECLINED") == "declined"
