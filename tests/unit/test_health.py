"""The health board logs a fault once when it starts and once at recovery, including a
component that fails before it was ever up (a broker unreachable at start-up)."""

from __future__ import annotations

import logging

import pytest

from gateway.health import HealthBoard


def messages(caplog: pytest.LogCaptureFixture) -> list[tuple[int, str]]:
    return [(record.levelno, record.getMessage()) for record in caplog.records]


def test_a_component_down_from_the_start_is_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    board = HealthBoard(logging.getLogger("test.health"))
    board.expect("broker:telemetry")
    with caplog.at_level(logging.INFO, logger="test.health"):
        board.report("broker:telemetry", up=False, detail="127.0.0.1:1883: refused")
        board.report("broker:telemetry", up=False, detail="127.0.0.1:1883: timed out")
        board.report("broker:telemetry", up=False, detail="127.0.0.1:1883: refused")
        board.report("broker:telemetry", up=True, detail="127.0.0.1:1883 as gw")
    assert messages(caplog) == [
        (logging.ERROR, "broker:telemetry down: 127.0.0.1:1883: refused"),
        (logging.WARNING, "broker:telemetry recovered: 127.0.0.1:1883 as gw"),
    ]
    assert board.snapshot()["broker:telemetry"].up


def test_a_fault_after_being_up_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    board = HealthBoard(logging.getLogger("test.health"))
    board.expect("database")
    with caplog.at_level(logging.INFO, logger="test.health"):
        board.report("database", up=True, detail="ready")
        board.report("database", up=False, detail="connection refused")
        board.report("database", up=False, detail="timed out")
        board.report("database", up=True, detail="ready")
    assert messages(caplog) == [
        (logging.INFO, "database up: ready"),
        (logging.ERROR, "database down: connection refused"),
        (logging.WARNING, "database recovered: ready"),
    ]
