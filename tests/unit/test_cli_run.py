"""`campus-gateway run` refuses, with one clear message and a non-zero exit, what it cannot
run: a database it cannot open."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from typer.testing import CliRunner

from gateway.cli import app

SITE: dict[str, Any] = {
    "gateway": {"http_host": "127.0.0.1", "http_port": 18998},
    "schools": [{"id": "s1", "name": "东关中学"}],
    "police": [
        {"id": "web", "kind": "webhook", "url": "http://127.0.0.1:9/x", "secret": "12345678"}
    ],
}


def write(tmp_path: Path, tree: dict[str, Any]) -> Path:
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(tree, allow_unicode=True), encoding="utf-8")
    return path


def test_a_database_that_cannot_be_opened_is_named(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/missing-folder/campus.db"
    tree = {**SITE, "gateway": {**SITE["gateway"], "database_url": url}}
    result = CliRunner().invoke(app, ["run", "--config", str(write(tmp_path, tree))])
    assert result.exit_code == 1
    assert "cannot open the database" in result.output
    assert "gateway.database_url" in result.output
