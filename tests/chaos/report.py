"""`python -m tests.chaos.report [DIR]`: the fault tests' counts (JSON files written when
CHAOS_REPORT_DIR is set, see tests/support/chaos.py) as a table in docs/reliability.md,
between `<!-- chaos:start -->` and `<!-- chaos:end -->`; the text outside is kept."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "reliability.md"
START, END = "<!-- chaos:start -->", "<!-- chaos:end -->"
DEFAULT_DIR = ROOT / "test-artifacts" / "chaos"
COLUMNS = [
    ("fault", "test"),
    ("presses sent", "sent"),
    ("acked by broker", "acked_by_broker"),
    ("not acked (not covered)", "not_acked_by_broker"),
    ("of those stored", "unacked_but_stored"),
    ("stored", "stored"),
    ("delivered", "delivered"),
    ("lost", "lost"),
    ("duplicates", "duplicates"),
    ("order violations", "order_violations"),
    ("resent, same key", "resent_same_key"),
    ("recovery (s)", "recover_s"),
]


def commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True
    ).stdout.strip()
    # Measured on a working tree with changes: say so, the commit alone would not rebuild it.
    return out.stdout.decode().strip() + (" (with uncommitted changes)" if dirty else "")


def cell(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def table(results: list[dict[str, Any]]) -> str:
    lines = [
        "| " + " | ".join(title for title, _ in COLUMNS) + " |",
        "|" + "|".join(" --- " for _ in COLUMNS) + "|",
    ]
    for result in results:
        lines.append("| " + " | ".join(cell(result.get(key)) for _, key in COLUMNS) + " |")
    return "\n".join(lines)


def durations(results: list[dict[str, Any]]) -> str:
    lines = []
    for result in results:
        used = ", ".join(f"{k}={v}" for k, v in sorted(result.get("durations", {}).items()))
        extra = ", ".join(
            f"{k}={v}" for k, v in result.get("extra", {}).items() if not isinstance(v, list)
        )
        lines.append(f"- `{result['test']}`: {used}" + (f"; {extra}" if extra else ""))
    return "\n".join(lines)


def generated(results: list[dict[str, Any]]) -> str:
    # When the tests ran (the last one's end), not when this table was drawn.
    ran = max((datetime.fromisoformat(r["at"]) for r in results), default=datetime.now(UTC))
    now = ran.strftime("%Y-%m-%d %H:%M %Z")
    settings = " ".join(
        f"{k}={os.environ[k]}"
        for k in sorted(os.environ)
        if k.startswith("CHAOS_") and k != "CHAOS_REPORT_DIR"
    )
    failing = [
        r["test"]
        for r in results
        if r["lost"] or r["duplicates"] or r["order_violations"] or r["unknown"]
    ]
    verdict = (
        "**Problems found in: " + ", ".join(failing) + "**"
        if failing
        else "No alarm lost, none duplicated as a record or a receipt, none out of order."
    )
    return "\n".join(
        [
            START,
            f"Measured {now} on commit {commit()} by `make chaos`"
            + (f" ({settings})" if settings else "")
            + ".",
            "",
            table(results),
            "",
            verdict,
            "",
            "Durations and details per test:",
            "",
            durations(results),
            END,
        ]
    )


def rewrite(document: str, block: str) -> str:
    if START in document and END in document:
        before = document[: document.index(START)]
        after = document[document.index(END) + len(END) :]
        return before + block + after
    return document.rstrip("\n") + "\n\n" + block + "\n"


def main(argv: list[str]) -> int:
    directory = Path(argv[0]) if argv else Path(os.environ.get("CHAOS_REPORT_DIR", DEFAULT_DIR))
    files = sorted(directory.glob("*.json"))
    if not files:
        print(f"no chaos results in {directory}", file=sys.stderr)
        return 1
    results = [json.loads(f.read_text(encoding="utf-8")) for f in files]
    DOC.write_text(rewrite(DOC.read_text(encoding="utf-8"), generated(results)), encoding="utf-8")
    print(f"{DOC.relative_to(ROOT)}: {len(results)} results from {directory}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
