"""Benchmark D: city scale (issue 8, point 3). A city of `schools` schools (bench/city_site.py,
about 20 devices each) and a simulated month of their records (bench/city_month.py) on
PostgreSQL, on the schema the gateway's own migrations make:

1. the month's last local day goes through a running gateway, live: every message of it
   published over MQTT and drained (benchmark B's method, beside its bare consumer);
2. the month's other days are bulk-loaded (bench/city_bulk.py);
3. benchmark A on that database: presses to the police under 1,000 gate events a second of
   the city's gates, beside the bare relay;
4. the month's compliance (`GET /api/v1/compliance/calendar`, the three rules per school and
   day) and the monthly report (`GET /api/v1/reports/monthly`, each format) from a gateway
   started on the month, as an inspector asks them; then `campus-gateway report monthly`.

Each gateway's peak resident set (VmHWM) is read when it stops. Targets (the issue): the
month's compliance and report in at most 10 s together, at most 500 MB for a gateway."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

from bench.alarm_latency import LatencyOptions, LatencyResult
from bench.city_bulk import BulkLoad, bulk_load
from bench.city_feed import write_messages
from bench.city_live import CityGateway, CityIngest, CityIngestOptions, CityLatency, settle
from bench.city_month import CityMonth, simulated_month
from bench.city_rows import Encoder
from bench.city_site import CityShape, city_schools, city_tree, device_counts
from bench.common import (
    DEFAULT_POSTGRES,
    HOST,
    POLICE_ENDPOINT,
    POLICE_SECRET,
    ROOT,
    BenchError,
    Broker,
    DatabaseTarget,
    Profiler,
    drop_database,
    free_port,
    make_database,
)
from bench.ingest_rate import IngestResult
from gateway.settings import Settings, parse_settings
from gateway.storage.database import create_engine
from gateway.storage.migrate import upgrade_database

TARGET_S = 10.0  # the month's compliance and report together
TARGET_RSS_MB = 500.0  # per gateway
FORMATS = ("json", "csv", "xlsx", "pdf")
INSPECTOR = ("bench-inspector", "bench-inspector-password-1")
REQUEST_TIMEOUT_S = 600.0


@dataclass(frozen=True, slots=True)
class CityOptions:
    schools: int = 1000
    seed: int = 20261130
    database: str = DEFAULT_POSTGRES
    presses: int = 500  # A's, as in the foundation's run
    seconds: float = 25.0
    rate: int = 1000
    warmup: int = 20
    live: bool = True  # False: the whole month bulk-loaded, no A or B (a quick look)
    profile: Path | None = None
    keep_database: bool = False  # for a look at the month afterwards


@dataclass(frozen=True, slots=True)
class Timed:
    what: str  # calendar, report json, ...
    how: str  # API or CLI
    seconds: float
    size: int  # bytes answered or written
    peak_rss_mb: float = float("nan")  # the CLI process's


@dataclass(slots=True)
class CityResult:
    options: CityOptions
    database: str
    devices: dict[str, int]
    month: str
    live_day: date | None
    bulk: BulkLoad
    live: dict[str, int]  # the live sample's messages by kind
    ingest: IngestResult | None = None
    latency: LatencyResult | None = None
    timings: list[Timed] = field(default_factory=list)
    rss_mb: dict[str, float] = field(default_factory=dict)  # each gateway's peak
    notes: dict[str, float] = field(default_factory=dict)
    total: dict[str, Any] = field(default_factory=dict)  # the report's site total (JSON)

    def timing(self, what: str, how: str = "API") -> float:
        return next((t.seconds for t in self.timings if (t.what, t.how) == (what, how)), 1e9)

    @property
    def report_s(self) -> float:
        """The month's compliance (the calendar) and its report (JSON), as asked of the API."""
        return self.timing("compliance calendar") + self.timing("report json")

    @property
    def peak_mb(self) -> float:
        return max(self.rss_mb.values(), default=float("nan"))

    @property
    def time_passed(self) -> bool:
        return self.report_s <= TARGET_S

    @property
    def rss_passed(self) -> bool:
        return self.peak_mb <= TARGET_RSS_MB

    @property
    def passed(self) -> bool:
        return self.time_passed and self.rss_passed


def city_settings(schools: list[dict[str, Any]], database: DatabaseTarget) -> Settings:
    """The city as the gateway reads it (the broker and police URLs do not matter here)."""
    tree = city_tree(
        schools,
        mqtt_url="mqtt://127.0.0.1:1883",
        database_url=database.url,
        database_schema=database.schema,
        police_id=POLICE_ENDPOINT,
        police_url="http://127.0.0.1:9/alarms",
        police_secret=POLICE_SECRET,
        http_port=8080,
        client_id="bench-city",
    )
    return parse_settings(tree)


def live_kinds(messages: list[tuple[str, bytes]]) -> dict[str, int]:
    kinds: Counter[str] = Counter()
    for topic, payload in messages:
        kind = topic.split("/")[2]
        if kind == "alarm":
            kind = "alarm test" if b'"test"' in payload else "alarm press"
        kinds[kind] += 1
    return dict(kinds)


async def migrate(database: DatabaseTarget) -> None:
    engine = create_engine(database.url, schema=database.schema)
    try:
        await upgrade_database(engine)
    finally:
        await engine.dispose()


async def count_alerts(database: DatabaseTarget) -> dict[str, float]:
    """Alerts on record by kind: those the live part raised, before the bulk load."""
    engine = create_engine(database.url, schema=database.schema)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                text("SELECT kind, count(*) FROM alerts GROUP BY kind ORDER BY kind")
            )
            return {str(kind): float(count) for kind, count in rows}
    finally:
        await engine.dispose()


async def unacknowledged(database: DatabaseTarget) -> float:
    """Police deliveries still waiting for an acknowledgement (the live day's tests are
    acknowledged by benchmark A's centre, when its gateway resumes its outbox)."""
    engine = create_engine(database.url, schema=database.schema)
    try:
        async with engine.connect() as connection:
            found = await connection.execute(
                text("SELECT count(*) FROM police_deliveries WHERE acknowledged_at IS NULL")
            )
            return float(found.scalar_one())
    finally:
        await engine.dispose()


def run_cli(args: list[str], log: Path) -> tuple[float, float]:
    """`python -m gateway ARGS` to its end: (wall seconds, peak RSS in MB)."""
    began = time.perf_counter()
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "gateway", *args], cwd=ROOT, stdout=out, stderr=out
        )
        _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise BenchError(f"gateway {args[:2]} exited with {process.returncode} (see {log})")
    return time.perf_counter() - began, usage.ru_maxrss / 1024  # ru_maxrss: KiB on Linux


class CityBench:
    def __init__(self, options: CityOptions, workdir: Path) -> None:
        self.options = options
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.schools = city_schools(CityShape(options.schools, options.seed))
        self._ingest_peak = float("nan")

    async def run(self) -> CityResult:
        options = self.options
        database = await make_database(options.database, self.workdir, "city")
        if database.schema is None:
            raise BenchError("benchmark D runs on PostgreSQL: --database-url postgresql")
        try:
            await migrate(database)
            settings = city_settings(self.schools, database)
            now = datetime.now(UTC)
            month = CityMonth(settings, simulated_month(now, settings.gateway.zone), options.seed)
            live_day = month.days[-1] if options.live else None
            messages = []
            if live_day is not None:
                encoder = Encoder(month, POLICE_ENDPOINT)
                messages = encoder.messages([month.day(s, live_day) for s in settings.schools])
            sample = self.workdir / "live-day.tsv"
            write_messages(sample, messages)
            ingest = None
            if live_day is not None:
                print(f"D: live day {live_day}: {len(messages):,} messages ...", flush=True)
                ingest = await self._ingest(database, sample, len(messages))
                live_alerts = await count_alerts(database)
            print("D: bulk-loading the month's other days ...", flush=True)
            skip = [] if live_day is None else [live_day]
            bulk = await bulk_load(
                database, month, police_id=POLICE_ENDPOINT, skip=skip, now=datetime.now(UTC)
            )
            result = CityResult(
                options=options,
                database=database.label,
                devices=device_counts(self.schools),
                month=f"{month.month:%Y-%m}",
                live_day=live_day,
                bulk=bulk,
                live=live_kinds(messages),
                ingest=ingest,
            )
            if ingest is not None:
                result.rss_mb["B: draining the live day"] = self._ingest_peak
                for kind, count in live_alerts.items():
                    result.notes[f"alerts raised live, {kind}"] = count
            if live_day is not None:
                print("D: alarm latency on the month's database ...", flush=True)
                result.latency = await self._latency(database, result)
            print("D: the month's compliance and report ...", flush=True)
            result.notes["deliveries unacknowledged"] = await unacknowledged(database)
            await self._reports(database, result)
        finally:
            if self.options.keep_database:
                print(f"D: kept the schema {database.schema} of {database.url}", flush=True)
            else:
                await drop_database(database)
        return result

    async def _ingest(self, database: DatabaseTarget, sample: Path, count: int) -> IngestResult:
        bench = CityIngest(
            CityIngestOptions(
                messages=count, database=self.options.database, profile=self.options.profile
            ),
            self.workdir / "ingest",
            database=database,
            schools=self.schools,
            messages=sample,
        )
        result = await bench.run()
        self._ingest_peak = bench.processes[-1].peaks_mb[-1]
        result.gateway.notes["first start to idle s"] = bench.settle_s
        return result

    async def _latency(self, database: DatabaseTarget, result: CityResult) -> LatencyResult:
        options = self.options
        bench = CityLatency(
            LatencyOptions(
                presses=options.presses,
                seconds=options.seconds,
                rate=options.rate,
                warmup=options.warmup,
                database=options.database,
                profile=options.profile,
            ),
            self.workdir / "latency",
            database=database,
            schools=self.schools,
        )
        latency = await bench.run()
        if bench.process is not None and bench.process.peaks_mb:
            result.rss_mb["A: presses under the city's telemetry"] = bench.process.peaks_mb[-1]
        return latency

    async def _reports(self, database: DatabaseTarget, result: CityResult) -> None:
        broker = Broker(self.workdir / "report-broker")
        broker.start()
        directory = self.workdir / "report"
        gateway = CityGateway(
            directory,
            broker=broker,
            database=database,
            police_url=f"http://{HOST}:{free_port()}/alarms",  # nothing is left to send
            client_id="bench-gw-city-report",
            schools=self.schools,
        )
        config = str(gateway.config)
        log = directory / "cli.log"
        username, password = INSPECTOR
        account = ["--role", "inspector", "--username", username, "--password", password]
        run_cli(["user", "add", "--config", config, *account], log)
        profile = self.options.profile
        profiler = Profiler(profile / "report-gateway.txt" if profile else None)
        try:
            await broker.started()
            gateway.start()
            result.notes["report gateway: start to idle s"] = await settle(gateway)
            profiler.start(gateway.pid)
            await self._ask(gateway.port, result)
            profiler.stop()
        finally:
            profiler.stop()
            gateway.stop()
            broker.stop()
        result.rss_mb["report: serving the month's compliance and report"] = gateway.peaks_mb[-1]
        for what, formats in (("report json", "json"), ("report, all four files", "all")):
            out = directory / f"cli-{formats}"
            asked = ["--month", result.month, "--format", formats, "--out", str(out)]
            seconds, peak = run_cli(["report", "monthly", "--config", config, *asked], log)
            size = sum(p.stat().st_size for p in out.iterdir())
            result.timings.append(Timed(what, "CLI", seconds, size, peak))

    async def _ask(self, port: int, result: CityResult) -> None:
        base = f"http://{HOST}:{port}/api/v1"
        async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT_S) as client:
            answer = await client.post(
                f"{base}/auth/token", data={"username": INSPECTOR[0], "password": INSPECTOR[1]}
            )
            answer.raise_for_status()
            client.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"
            asked = [("compliance calendar", "/compliance/calendar", {"month": result.month})]
            asked += [
                (f"report {f}", "/reports/monthly", {"month": result.month, "format": f})
                for f in FORMATS
            ]
            for what, path, params in asked:
                began = time.perf_counter()
                answer = await client.get(f"{base}{path}", params=params)
                seconds = time.perf_counter() - began
                if answer.status_code != 200:
                    raise BenchError(f"{path} {params}: {answer.status_code} {answer.text[:300]}")
                result.timings.append(Timed(what, "API", seconds, len(answer.content)))
                if what == "report json":
                    result.total = answer.json()["total"]


async def run(options: CityOptions, workdir: Path) -> CityResult:
    if options.database.startswith("sqlite"):
        raise BenchError("benchmark D runs on PostgreSQL: --database-url postgresql")
    return await CityBench(options, workdir).run()
