"""Shared pieces of the benchmarks: a private Mosquitto, the gateway and the bench's own helper
programs as child processes, a database per benchmark, the machine's description and a few
statistics. Everything listens on 127.0.0.1 only, every wait is bounded."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import math
import os
import platform
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import aiomqtt
import httpx
import yaml
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from gateway.storage.database import create_engine
from gateway.storage.models import Event
from tests.support.processes import stop_process
from tests.support.site import SECRET, site_tree

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
PREFIX = "campus"
POLICE_SECRET = SECRET
POLICE_ENDPOINT = "bench-110"
# (school, button) and (school, gate) of tests/support/site.py's site.
BUTTONS = [
    ("fy-dongguan-ms", "btn-north"),
    ("fy-dongguan-ms", "btn-office"),
    ("fy-shiyan-kg", "btn-gate"),
]
GATES = [("fy-dongguan-ms", "gate-north"), ("fy-shiyan-kg", "gate-main")]
DEFAULT_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


class BenchError(Exception):
    """The benchmark could not be run (a service missing, a process that died)."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


async def wait_for_port(port: int, timeout_s: float = 15.0, what: str = "a server") -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            _, writer = await asyncio.open_connection(HOST, port)
        except OSError:
            if time.monotonic() > deadline:
                raise BenchError(
                    f"{what} does not listen on {HOST}:{port} after {timeout_s:g}s"
                ) from None
            await asyncio.sleep(0.05)
            continue
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads) so far, from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return math.nan
    ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return ticks / os.sysconf("SC_CLK_TCK")


# --- Mosquitto -------------------------------------------------------------------------------


def mosquitto_binary() -> str:
    found = shutil.which("mosquitto") or (
        "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
    )
    if found is None:
        raise BenchError("mosquitto is not installed (apt-get install mosquitto)")
    return found


def mosquitto_version() -> str:
    try:
        out = subprocess.run(
            [mosquitto_binary(), "-h"], capture_output=True, text=True, timeout=5, check=False
        ).stdout
    except (OSError, subprocess.TimeoutExpired, BenchError):
        return "unknown"
    first = out.splitlines()[0] if out else ""
    return first.replace("mosquitto version", "").strip() or "unknown"


@dataclass
class Broker:
    """A private Mosquitto on a free port. Queue and in-flight limits are off, as in
    deploy/mosquitto/mosquitto.conf. Persistence is off unless `persistence` is set (then it is
    the deploy file's: the database written after every change); see docs/benchmarks.md."""

    directory: Path
    persistence: bool = False
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://{HOST}:{self.port}"

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        # Mosquitto started as root drops to the user `mosquitto`, who must write here.
        self.directory.chmod(0o777)
        lines = [
            f"listener {self.port} {HOST}",
            "allow_anonymous true",
            "max_queued_messages 0",
            "max_queued_bytes 0",
            "max_inflight_messages 0",
            f"log_dest file {self.directory}/mosquitto.log",
        ]
        if self.persistence:
            lines += [
                "persistence true",
                f"persistence_location {self.directory}/",
                "autosave_on_changes true",
                "autosave_interval 1",
            ]
        else:
            lines.append("persistence false")
        conf = self.directory / "mosquitto.conf"
        conf.write_text("\n".join(lines) + "\n")
        self.process = subprocess.Popen(
            [mosquitto_binary(), "-c", str(conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    async def started(self) -> None:
        await wait_for_port(self.port, what="mosquitto")

    def stop(self) -> None:
        stop_process(self.process)
        self.process = None

    @property
    def pid(self) -> int:
        if self.process is None:
            raise BenchError("mosquitto is not running")
        return self.process.pid


# --- Child processes -------------------------------------------------------------------------


class Child:
    """One of the bench's own programs (`python -m bench.X ...`) in its own process, so that it
    gets a core of its own like the gateway. It reports on stdout, one JSON object a line:
    `{"ready": true}` once it is ready, `{"result": {...}}` at the end; stderr goes to a log."""

    def __init__(
        self, name: str, module: str, args: list[str], log_dir: Path, *, reports: bool = True
    ) -> None:
        self.name = name
        self.module = module
        self.args = args
        self.log = log_dir / f"{name}.log"
        self.reports = reports  # False: a server whose stdout is only a log
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        with self.log.open("ab") as err:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                self.module,
                *self.args,
                cwd=ROOT,
                stdout=asyncio.subprocess.PIPE if self.reports else err,
                stderr=err,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )

    @property
    def pid(self) -> int:
        if self.process is None:
            raise BenchError(f"{self.name} is not running")
        return self.process.pid

    async def message(self, timeout_s: float) -> dict[str, Any]:
        if self.process is None or self.process.stdout is None:
            raise BenchError(f"{self.name} is not running")
        try:
            line = await asyncio.wait_for(self.process.stdout.readline(), timeout_s)
        except TimeoutError:
            raise BenchError(
                f"{self.name}: no report within {timeout_s:g}s ({self.tail()})"
            ) from None
        if not line:
            raise BenchError(f"{self.name} exited ({self.tail()})")
        report: dict[str, Any] = json.loads(line)
        return report

    async def ready(self, timeout_s: float = 20.0) -> None:
        report = await self.message(timeout_s)
        if not report.get("ready"):
            raise BenchError(f"{self.name}: expected ready, got {report}")

    async def result(self, timeout_s: float) -> dict[str, Any]:
        while True:
            report = await self.message(timeout_s)
            if "result" in report:
                result: dict[str, Any] = report["result"]
                return result

    async def stop(self, timeout_s: float = 10.0) -> dict[str, Any] | None:
        """SIGTERM; the result it reports while stopping, if any."""
        if self.process is None or self.process.returncode is not None:
            return None
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGTERM)
        if not self.reports:
            await self.close()
            return None
        try:
            return await self.result(timeout_s)
        except BenchError:
            return None
        finally:
            await self.close()

    async def close(self) -> None:
        process = self.process
        if process is None:
            return
        if process.returncode is None:
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()
        self.process = None

    def tail(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-1500:].strip() or "no output"
        except OSError:
            return "no log"


def emit(report: dict[str, Any]) -> None:
    """A child's report to the bench (see `Child`)."""
    sys.stdout.write(json.dumps(report) + "\n")
    sys.stdout.flush()


# --- Databases -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DatabaseTarget:
    url: str
    schema: str | None
    label: str

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")


def database_label(url: str) -> str:
    if url == "sqlite" or url.startswith("sqlite"):
        return f"SQLite {sqlite3.sqlite_version}"
    return "PostgreSQL"


async def make_database(spec: str, directory: Path, name: str) -> DatabaseTarget:
    """`sqlite` (a fresh file in `directory`) or a PostgreSQL URL (a fresh schema in it)."""
    if spec == "sqlite":
        path = directory / f"{name}.db"
        return DatabaseTarget(f"sqlite+aiosqlite:///{path}", None, database_label(spec))
    if not spec.startswith("postgresql+asyncpg://"):
        raise BenchError(f"--database-url: use `sqlite` or postgresql+asyncpg://..., not {spec!r}")
    schema = f"bench_{name}_{uuid.uuid4().hex[:8]}"
    admin = create_async_engine(spec)
    try:
        async with admin.begin() as conn:
            version = str((await conn.execute(text("SHOW server_version"))).scalar_one())
            await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except (OSError, ConnectionError) as exc:
        raise BenchError(f"PostgreSQL at {spec}: cannot connect ({exc})") from exc
    finally:
        await admin.dispose()
    return DatabaseTarget(spec, schema, f"PostgreSQL {version.split()[0]}")


async def drop_database(target: DatabaseTarget) -> None:
    if target.schema is None:
        return
    admin = create_async_engine(target.url)
    try:
        async with admin.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA IF EXISTS "{target.schema}" CASCADE'))
    finally:
        await admin.dispose()


class EventTable:
    """Reads the gateway's `events` table while it runs (a separate connection)."""

    def __init__(self, target: DatabaseTarget) -> None:
        self.engine: AsyncEngine = create_engine(target.url, schema=target.schema)

    async def max_id(self) -> int:
        async with self.engine.connect() as conn:
            return int((await conn.execute(select(func.max(Event.id)))).scalar_one() or 0)

    async def count(self) -> int:
        async with self.engine.connect() as conn:
            return int((await conn.execute(select(func.count()).select_from(Event))).scalar_one())

    async def received_span(self) -> tuple[datetime, datetime]:
        """The first and last `received_at` (the gateway's receive times)."""
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(select(func.min(Event.received_at), func.max(Event.received_at)))
            ).one()
        return _aware(row[0]), _aware(row[1])

    async def dispose(self) -> None:
        await self.engine.dispose()


def _aware(value: Any) -> datetime:
    if isinstance(value, str):  # SQLite hands back text to an aggregate
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        raise BenchError(f"unexpected received_at {value!r}")
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


# --- The gateway -----------------------------------------------------------------------------


class GatewayProcess:
    """`python -m gateway run --config FILE`, with the config written to `directory`; with
    `trace`, under bench/trace.py, which writes its timestamps there when it stops."""

    def __init__(
        self,
        directory: Path,
        *,
        broker: Broker,
        database: DatabaseTarget,
        police_url: str,
        client_id: str,
        trace: Path | None = None,
    ) -> None:
        self.directory = directory
        self.trace = trace
        self.port = free_port()
        self.log = directory / "gateway.log"
        self.config = directory / "site.yaml"
        tree = site_tree(
            mqtt_url=broker.url,
            database_url=database.url,
            database_schema=database.schema,
            police_urls={POLICE_ENDPOINT: police_url},
            http_port=self.port,
            client_id=client_id,
        )
        # The bench measures forwarding: no camera picture to wait for (the site's camera
        # URL is a placeholder that answers nothing).
        for school in tree["schools"]:
            for button in school["alarm_buttons"]:
                button.pop("camera", None)
        directory.mkdir(parents=True, exist_ok=True)
        self.config.write_text(yaml.safe_dump(tree, allow_unicode=True), encoding="utf-8")
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        if self.process is None:
            raise BenchError("the gateway is not running")
        return self.process.pid

    def start(self) -> None:
        with self.log.open("ab") as out:
            wrapper = ["bench.trace", "--output", str(self.trace)] if self.trace else ["gateway"]
            self.process = subprocess.Popen(
                [sys.executable, "-m", *wrapper, "run", "--config", str(self.config)],
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )

    async def connected(self, timeout_s: float = 60.0) -> None:
        """Until /readyz says the database and both broker connections are up."""
        deadline = time.monotonic() + timeout_s
        async with httpx.AsyncClient(timeout=2) as client:
            while True:
                if self.process is None or self.process.poll() is not None:
                    raise BenchError(f"the gateway exited: {self.tail()}")
                try:
                    body = (await client.get(f"http://{HOST}:{self.port}/readyz")).json()
                    checks = body["checks"]
                    wanted = ("database", "broker:alarms", "broker:telemetry")
                    if all(checks.get(name, {}).get("up") for name in wanted):
                        return
                except (httpx.HTTPError, ValueError, KeyError):
                    pass
                if time.monotonic() > deadline:
                    raise BenchError(
                        f"the gateway did not connect within {timeout_s:g}s: {self.tail()}"
                    )
                await asyncio.sleep(0.1)

    async def metrics(self) -> str:
        async with httpx.AsyncClient(timeout=5) as client:
            return (await client.get(f"http://{HOST}:{self.port}/metrics")).text

    def stop(self) -> None:
        stop_process(self.process, timeout_s=20)
        self.process = None

    def tail(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-2000:].strip()
        except OSError:
            return "no log"


def metric_value(metrics: str, name: str, **labels: str) -> float:
    """Sum of the samples of `name` whose labels include `labels` (Prometheus text format)."""
    total = 0.0
    for line in metrics.splitlines():
        if not line.startswith(name) or line.startswith("#"):
            continue
        series, _, value = line.rpartition(" ")
        metric, _, label_text = series.partition("{")
        if metric != name:
            continue
        if all(f'{key}="{wanted}"' in label_text for key, wanted in labels.items()):
            total += float(value)
    return total


async def forget_session(port: int, client_id: str) -> None:
    """Drop a persistent session (and what is queued for it): connect with a clean session."""
    quiet = logging.getLogger("bench.mqtt")
    quiet.setLevel(logging.ERROR)
    async with aiomqtt.Client(HOST, port, identifier=client_id, clean_session=True, logger=quiet):
        pass


# --- py-spy (optional) -----------------------------------------------------------------------


class Profiler:
    """`py-spy record` of a process for the measured window, as collapsed stacks (--profile)."""

    def __init__(self, output: Path | None) -> None:
        self.output = output
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, pid: int, *, settle: bool = True) -> None:
        if self.output is None:
            return
        binary = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
        if not Path(binary).exists():
            raise BenchError("--profile needs py-spy (pip install py-spy)")
        self.output.parent.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                binary,
                "record",
                "--pid",
                str(pid),
                "--rate",
                "250",
                "--format",
                "raw",
                "--nonblocking",
                "--threads",
                "--output",
                str(self.output),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if settle:
            time.sleep(0.3)  # attached before the measured window starts

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None


# --- The machine -----------------------------------------------------------------------------


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def fsync_ms(directory: Path, rounds: int = 50) -> float:
    """Median time of a 4 KiB write + fsync in `directory`: what a synchronous commit costs."""
    times = []
    fd, name = tempfile.mkstemp(dir=directory)
    try:
        for _ in range(rounds):
            os.write(fd, b"x" * 4096)
            start = time.perf_counter()
            os.fsync(fd)
            times.append((time.perf_counter() - start) * 1000)
    finally:
        os.close(fd)
        os.unlink(name)
    return percentile(times, 0.5)


def source_fingerprint() -> str:
    """What was measured: a digest of the gateway's sources (gateway/, drivers/)."""
    digest = hashlib.sha256()
    for path in sorted([*ROOT.glob("gateway/**/*.py"), *ROOT.glob("drivers/**/*.py")]):
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        head = ""
    dirty = ""
    if head:
        status = subprocess.run(
            ["git", "status", "--porcelain", "--", "gateway", "drivers"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        ).stdout
        dirty = " + uncommitted changes" if status.strip() else ""
    commit = f"commit {head}{dirty}, " if head else "no commit yet, "
    return f"{commit}sources sha256 {digest.hexdigest()[:12]}"


def machine(directory: Path) -> dict[str, str]:
    def version(package: str) -> str:
        try:
            return metadata.version(package)
        except metadata.PackageNotFoundError:
            return "-"

    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "gateway measured": source_fingerprint(),
        "cores (nproc)": str(os.cpu_count()),
        "CPU": cpu_model(),
        "kernel": platform.release(),
        "Python": f"{platform.python_version()} ({platform.python_implementation()})",
        "mosquitto": mosquitto_version(),
        "SQLite": sqlite3.sqlite_version,
        "fsync of 4 KiB (temp dir, median)": f"{fsync_ms(directory):.2f} ms",
        "packages": ", ".join(
            f"{name} {version(name)}"
            for name in ("aiomqtt", "paho-mqtt", "httpx", "SQLAlchemy", "aiosqlite", "asyncpg")
        ),
    }


# --- Statistics ------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..1) of a non-empty list."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[rank - 1]
