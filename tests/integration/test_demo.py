"""`campus-gateway demo` as a user runs it: it comes up, forwards presses to its police centre,
and stops on Ctrl-C (SIGINT), also when it was started with SIGINT ignored, as a background
job of a script is. The demo's ports are moved to free ones so that it cannot collide with a
demo the developer is running."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.support.services import free_port

ROOT = Path(__file__).resolve().parents[2]
# The built-in demo's own ports (config/demo.yaml): broker, police centre, DC-09 receiver,
# camera, gate panel.
DEMO_PORTS = ("18830", "9110", "17000", "18554", "15020")


def demo_config(tmp_path: Path) -> tuple[Path, int]:
    """config/demo.yaml on free ports; with the police centre's port."""
    text = (ROOT / "config" / "demo.yaml").read_text()
    ports = {}
    for port in DEMO_PORTS:
        ports[port] = free_port()
        moved = re.sub(rf"(?<=[: ]){port}\b", str(ports[port]), text)
        assert moved != text, f"port {port} is no longer in config/demo.yaml"
        text = moved
    path = tmp_path / "demo.yaml"
    path.write_text(text)
    return path, ports["9110"]


def wait_for(url: str, timeout_s: float, good: Callable[[httpx.Response], bool]) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if good(httpx.get(url, timeout=5)):
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"{url} not as expected within {timeout_s} s"
        time.sleep(0.5)


@pytest.mark.parametrize("sigint", [signal.SIG_DFL, signal.SIG_IGN], ids=["default", "ignored"])
def test_the_demo_forwards_presses_and_stops_on_ctrl_c(
    tmp_path: Path, sigint: signal.Handlers
) -> None:
    config, police_port = demo_config(tmp_path)
    port = free_port()
    log = tmp_path / "demo.log"
    command = [
        sys.executable,
        "-m",
        "gateway",
        "demo",
        "--config",
        str(config),
        "--dir",
        str(tmp_path / "data"),
        "--port",
        str(port),
        "--press-every-s",
        "1",
    ]
    with log.open("wb") as output:
        process = subprocess.Popen(
            command,
            cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=output,
            stderr=subprocess.STDOUT,
            # What the shell gives a background job (`make demo &` in a script): ignored.
            preexec_fn=lambda: signal.signal(signal.SIGINT, sigint),
        )
        try:
            wait_for(f"http://127.0.0.1:{port}/readyz", 60, lambda r: r.status_code == 200)
            wait_for(
                f"http://127.0.0.1:{police_port}/receipts",
                30,
                lambda r: r.status_code == 200 and "alarm" in r.text,
            )
            process.send_signal(signal.SIGINT)
            assert process.wait(30) == 0
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(10)
    printed = log.read_text(errors="replace")
    assert "Traceback" not in printed, printed[-3000:]
