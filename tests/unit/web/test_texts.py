"""Every word the pages show exists in both languages, and every text the templates and
scripts name exists: a missing key would show as an empty label or "undefined"."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gateway.web.texts import LANGUAGES, TEXTS

WEB = Path(__file__).resolve().parents[3] / "gateway" / "web"
TEMPLATE_KEY = re.compile(r"\bt\.([a-z][a-z0-9_]*)|\bt\['([a-z][a-z0-9_]*)'\]")
SCRIPT_KEY = re.compile(r"\bT\.([a-z][a-z0-9_]*)")


def test_both_languages_have_the_same_words() -> None:
    zh, en = (set(TEXTS[language]) for language in LANGUAGES)
    assert zh - en == set() and en - zh == set()
    for language in LANGUAGES:
        assert all(TEXTS[language].values()), f"an empty text in {language}"


@pytest.mark.parametrize("template", sorted((WEB / "templates").glob("*.html")), ids=str)
def test_every_text_a_template_names_exists(template: Path) -> None:
    named = {a or b for a, b in TEMPLATE_KEY.findall(template.read_text())}
    assert named - set(TEXTS["zh"]) == set()


@pytest.mark.parametrize("script", sorted((WEB / "static").glob("*.js")), ids=str)
def test_every_text_a_script_names_exists(script: Path) -> None:
    named = set(SCRIPT_KEY.findall(script.read_text()))
    assert named - set(TEXTS["zh"]) == set()
