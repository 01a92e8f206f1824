"""Real services for tests: a Mosquitto the test owns (so it can restart it) and a
PostgreSQL schema per test. Missing services skip with what to install, unless
CAMPUS_REQUIRE_SERVICES=1 (CI), where a missing service fails the test."""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.processes import stop_process

REQUIRE = os.environ.get("CAMPUS_REQUIRE_SERVICES") == "1"
POSTGRES_URL = os.environ.get(
    "CAMPUS_TEST_POSTGRES", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)


def missing(what: str, install: str) -> None:
    message = f"{what} is not available: {install}"
    if REQUIRE:
        pytest.fail(message + " (CAMPUS_REQUIRE_SERVICES=1 forbids skipping)")
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(host: str, port: int, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout_s}s")


def mosquitto_binary() -> str:
    found = shutil.which("mosquitto") or (
        "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
    )
    if found is None:
        missing("mosquitto", "install it with `apt-get install mosquitto`")
    assert found is not None
    return found


@dataclass
class MosquittoBroker:
    """A private Mosquitto with persistence, on a free port, that a test may stop and restart.
    `persistence=False` for a test that queues many messages (the saved database is rewritten
    after every change, slower and slower as a queue grows)."""

    directory: Path
    port: int = field(default_factory=free_port)
    host: str = "127.0.0.1"
    process: subprocess.Popen[bytes] | None = None
    persistence: bool = True

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    def write_config(self) -> Path:
        conf = self.directory / "mosquitto.conf"
        conf.write_text(
            "\n".join(
                [
                    f"listener {self.port} 127.0.0.1",
                    # Started as root, mosquitto drops to user `mosquitto`, which cannot write
                    # the test's folder: persistence would silently be lost.
                    f"user {getpass.getuser()}",
                    "allow_anonymous true",
                    *(
                        [
                            "persistence true",
                            f"persistence_location {self.directory}/",
                            "autosave_interval 1",
                            "autosave_on_changes true",
                        ]
                        if self.persistence
                        else ["persistence false"]
                    ),
                    "max_queued_messages 0",
                    "max_inflight_messages 0",
                    f"log_dest file {self.directory}/mosquitto.log",
                    "",
                ]
            )
        )
        return conf

    def start(self) -> None:
        binary = mosquitto_binary()
        conf = self.write_config()
        self.process = subprocess.Popen(
            [binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_for_port(self.host, self.port)

    def stop(self) -> None:
        stop_process(self.process)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()
