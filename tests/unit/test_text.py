"""The one rule for text from outside: which characters are refused, and what is said."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.errors import UnsafeText
from gateway.text import require_safe_text


@pytest.mark.parametrize(
    ("value", "free_text", "said"),
    [
        ("\ud800", False, "lone UTF-16 surrogate (U+D800) at position 0"),
        ("btn\udfff", False, "lone UTF-16 surrogate (U+DFFF) at position 3"),
        ("a\x00b", False, "NUL character (U+0000) at position 1"),
        ("a\x00b", True, "NUL character (U+0000) at position 1"),
        ("line\nbreak", False, "control character U+000A at position 4"),
        ("tab\there", False, "control character U+0009 at position 3"),
        ("esc\x1b[31m", True, "control character U+001B at position 3"),
        ("del\x7f", False, "control character U+007F at position 3"),
        ("c1\x85", False, "control character U+0085 at position 2"),
        ("\ud83d", True, "lone UTF-16 surrogate (U+D83D) at position 0"),
    ],
)
def test_refused_text_names_the_character(value: str, free_text: bool, said: str) -> None:
    with pytest.raises(UnsafeText, match=re.escape(said)):
        require_safe_text(value, free_text=free_text)


@pytest.mark.parametrize(
    ("value", "free_text"),
    [
        ("btn-north", False),
        ("北门警务室", False),
        ("guard 李 😀", False),
        ("a note\nover two lines\twith a tab\r\n", True),
        ("", False),
    ],
)
def test_ordinary_text_is_kept_as_it_is(value: str, free_text: bool) -> None:
    assert require_safe_text(value, free_text=free_text) is value


@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cc", "Cs"))))
def test_printable_utf8_text_always_passes(value: str) -> None:
    assert require_safe_text(value) == value


@given(st.text(), st.sampled_from(["\x00", "\ud800", "\x01", "\x9f"]), st.text())
def test_a_refused_character_anywhere_is_found(before: str, bad: str, after: str) -> None:
    with pytest.raises(UnsafeText):
        require_safe_text(before + bad + after, free_text=True)
