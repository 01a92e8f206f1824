"""Report cells that a spreadsheet would take for a formula (CSV and formula injection,
OWASP): text from outside the renderers (a school's name or id, a district) that begins with
`=`, `+`, `-`, `@`, a tab or a CR is run by Excel, WPS or LibreOffice as a formula when the
file is opened, or when the cell is edited. Numbers are never text here, so a negative
number stays a number."""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def looks_like_formula(text: str) -> bool:
    return text.startswith(FORMULA_STARTS)


def csv_text(text: str) -> str:
    """`text` as a CSV cell that no spreadsheet evaluates: with a leading `'` (OWASP's
    advice; Excel shows the quote, which tells the reader the cell was made safe)."""
    return f"'{text}" if looks_like_formula(text) else text
