"""`python -m bench` (`make bench`): run the benchmarks, each beside its bare baseline, and
rewrite the generated parts of docs/benchmarks.md: A and B between the `bench:start`/
`bench:end` markers, C (Modbus) between `bench:modbus:start`/`bench:modbus:end`, D (city
scale, only with `--only city`: it takes several minutes and PostgreSQL) between
`bench:city:start`/`bench:city:end`; a run rewrites only the sections it ran, and notes
written by hand below them are kept.

Exit status: 0 when every target is met, 1 when one is missed, 2 when a benchmark could not
run (a service missing, a process that died).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from bench import alarm_latency, city, city_report, ingest_rate, modbus_poll, report
from bench.common import DEFAULT_POSTGRES, ROOT, BenchError, machine, source_fingerprint


@dataclass(slots=True)
class Results:
    machine: dict[str, str]
    latency: list[alarm_latency.LatencyResult] = field(default_factory=list)
    ingest: list[ingest_rate.IngestResult] = field(default_factory=list)
    modbus: list[modbus_poll.ModbusResult] = field(default_factory=list)
    city: list[city.CityResult] = field(default_factory=list)


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--only",
        choices=["latency", "ingest", "modbus", "city"],
        help="run one benchmark (city: only this way)",
    )
    parser.add_argument("--presses", type=int, default=500, help="A: measured presses per phase")
    parser.add_argument(
        "--seconds",
        type=float,
        default=25.0,
        help="A: the presses are spread over this many seconds per phase",
    )
    parser.add_argument("--rate", type=int, default=1000, help="A: background telemetry, msg/s")
    parser.add_argument("--warmup", type=int, default=20, help="A: presses left out first")
    parser.add_argument("--messages", type=int, default=100_000, help="B: messages to drain")
    parser.add_argument("--devices", type=int, default=500, help="C: Modbus devices")
    parser.add_argument(
        "--edge-rate", type=float, default=30.0, help="C: input edges per second, whole field"
    )
    parser.add_argument(
        "--modbus-seconds", type=float, default=60.0, help="C: the measured window, seconds"
    )
    parser.add_argument(
        "--modbus-warmup", type=float, default=10.0, help="C: seconds polled before the window"
    )
    parser.add_argument("--schools", type=int, default=1000, help="D: schools in the city")
    parser.add_argument("--city-seed", type=int, default=20261130, help="D: the city's draw")
    parser.add_argument(
        "--city-bulk-only",
        action="store_true",
        help="D: the whole month bulk-loaded, no A or B at city scale (the report alone)",
    )
    parser.add_argument(
        "--database-url",
        action="append",
        dest="databases",
        metavar="URL",
        help="`sqlite` (default: a fresh file in a temp dir), `postgresql` "
        f"({DEFAULT_POSTGRES}) or a postgresql+asyncpg:// URL; a fresh schema each; repeatable",
    )
    parser.add_argument(
        "--centre",
        choices=["lean", "simulator"],
        default="lean",
        help="A: the police centre (bench/centre.py)",
    )
    parser.add_argument(
        "--broker-persistence",
        action="store_true",
        help="Mosquitto persistence as deployed (saved after every change); it slows the "
        "broker to a few hundred msg/s once messages queue: use --messages 5000 or fewer",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="py-spy the gateway in each measured window (implies --no-write)",
    )
    parser.add_argument(
        "--trace",
        action="store_true",
        help="A: time each stage of a press in the gateway (implies --no-write)",
    )
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--no-write", action="store_true", help="print, do not touch the docs")
    parser.add_argument(
        "--keep", action="store_true", help="keep the temp dir (logs, configs; D: its database)"
    )
    args = parser.parse_args(argv)
    if args.presses < 1 or args.messages < 1 or args.rate < 1 or args.seconds <= 0:
        parser.error("--presses, --messages, --rate and --seconds must be positive")
    if args.devices < 1 or args.edge_rate <= 0 or args.modbus_seconds <= 0:
        parser.error("--devices, --edge-rate and --modbus-seconds must be positive")
    if args.edge_rate * 5.0 > args.devices:
        parser.error("--edge-rate: at most --devices / 5 (a device flips at most once in 5 s)")
    if args.presses * 0.0005 > args.seconds:
        parser.error("--seconds is too short for --presses (at least 0.5 ms between presses)")
    if args.schools < 1:
        parser.error("--schools must be positive")
    default = ["postgresql"] if args.only == "city" else ["sqlite"]
    args.databases = [
        DEFAULT_POSTGRES if spec in ("postgresql", "postgres") else spec
        for spec in (args.databases or default)
    ]
    if args.only == "city" and "sqlite" in args.databases:
        parser.error("--only city runs on PostgreSQL (--database-url postgresql)")
    return args


async def run(args: argparse.Namespace, workdir: Path) -> Results:
    results = Results(machine(workdir))
    for index, database in enumerate(args.databases):
        if args.only in (None, "latency"):
            options = alarm_latency.LatencyOptions(
                presses=args.presses,
                seconds=args.seconds,
                rate=args.rate,
                warmup=args.warmup,
                database=database,
                centre=args.centre,
                broker_persistence=args.broker_persistence,
                profile=args.profile / f"db{index}" if args.profile else None,
                trace=args.trace,
            )
            print(f"A: alarm latency ({database.split('://')[0]}) ...", flush=True)
            latency = await alarm_latency.run(options, workdir / f"latency-{index}")
            results.latency.append(latency)
            print(report.latency_line(latency), flush=True)
            for line in latency.gateway.breakdown:
                print(f"    {line}", flush=True)
        if args.only in (None, "ingest"):
            ingest_options = ingest_rate.IngestOptions(
                messages=args.messages,
                database=database,
                broker_persistence=args.broker_persistence,
                profile=args.profile / f"db{index}" if args.profile else None,
            )
            print(f"B: ingest rate ({database.split('://')[0]}) ...", flush=True)
            ingest = await ingest_rate.run(ingest_options, workdir / f"ingest-{index}")
            results.ingest.append(ingest)
            print(report.ingest_line(ingest), flush=True)
        if args.only in (None, "modbus"):
            modbus_options = modbus_poll.ModbusOptions(
                devices=args.devices,
                edge_rate=args.edge_rate,
                warmup_s=args.modbus_warmup,
                seconds=args.modbus_seconds,
                database=database,
                profile=args.profile / f"db{index}" if args.profile else None,
            )
            print(f"C: Modbus polling ({database.split('://')[0]}) ...", flush=True)
            modbus = await modbus_poll.run(modbus_options, workdir / f"modbus-{index}")
            results.modbus.append(modbus)
            print(report.modbus_line(modbus), flush=True)
        if args.only == "city":
            city_options = city.CityOptions(
                schools=args.schools,
                seed=args.city_seed,
                database=database,
                presses=args.presses,
                seconds=args.seconds,
                rate=args.rate,
                warmup=args.warmup,
                live=not args.city_bulk_only,
                profile=args.profile / f"db{index}" if args.profile else None,
                keep_database=args.keep,
            )
            print(f"D: city scale, {args.schools:,} schools ...", flush=True)
            result = await city.run(city_options, workdir / f"city-{index}")
            results.city.append(result)
            print(city_report.city_line(result), flush=True)
    return results


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    workdir = Path(tempfile.mkdtemp(prefix="campus-bench-"))
    workdir.chmod(0o755)  # Mosquitto started as root runs as `mosquitto` and writes below it
    try:
        results = asyncio.run(run(args, workdir))
    except BenchError as exc:
        print(f"bench: {exc}\nbench: logs and configs kept in {workdir}", file=sys.stderr)
        return 2
    measured = results.machine["gateway measured"]
    now = source_fingerprint()
    if now != measured:  # someone edited the gateway while it was being measured
        results.machine["gateway measured"] = f"{measured}; CHANGED during the run to {now}"
    if args.keep:
        print(f"bench: kept {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    # (text, its markers): a run rewrites only the sections of the benchmarks it ran.
    sections: list[tuple[str, str, str]] = []
    if args.only in (None, "latency", "ingest"):
        text = report.section(results.machine, results.latency, results.ingest, args)
        sections.append((text, report.START, report.END))
    if args.only in (None, "modbus"):
        text = report.modbus_section(results.machine, results.modbus)
        sections.append((text, report.MODBUS_START, report.MODBUS_END))
    if args.only == "city":
        one, five, fifteen = os.getloadavg()
        machine = {
            **results.machine,
            "load average at the end (1, 5, 15 min)": (f"{one:.2f}, {five:.2f}, {fifteen:.2f}"),
        }
        text = city_report.city_section(machine, results.city)
        sections.append((text, city_report.CITY_START, city_report.CITY_END))
    if args.no_write or args.profile or args.trace:
        print("\n".join(text for text, _, _ in sections))
    else:
        for text, start, end in sections:
            report.write_report(args.output, text, start, end)
        print(f"bench: results written to {args.output}")
    passed = (
        all(r.passed for r in results.latency)
        and all(r.passed for r in results.ingest)
        and all(r.passed for r in results.modbus)
        and all(r.passed for r in results.city)
    )
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
