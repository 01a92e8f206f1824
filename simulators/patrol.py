"""Simulated guards walking their rounds, with checkpoint readers and an offline patrol wand.

A day is planned from the site configuration (the rounds of `patrol.round_times`, or spread
evenly), each round walked by one of the school's guards past every checkpoint. Most scans
go out as checkpoint readers do (MQTT, spec 2); some rounds are carried on an offline wand
and uploaded late (`POST /api/v1/patrols/uploads`), counting at their scan time; some rounds
are missed; a forged tag now and then. The clock can run fast from a start in the past
(the demo replays today since midnight in minutes), then keeps real time.

`campus-gateway simulate patrol` runs it against a gateway."""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

import httpx

from drivers.mqtt.publisher import MqttPublisher
from gateway.errors import DeviceUnavailable
from gateway.patrol.queries import rounds_of_day
from gateway.patrol.tokens import sign_tag
from gateway.settings import Settings

log = logging.getLogger("simulators.patrol")
HTTP_TIMEOUT_S = 10.0


class Carrier(StrEnum):
    READER = "reader"  # the checkpoint's reader publishes the scan at once
    WAND = "wand"  # an offline patrol wand: uploaded after the round


@dataclass(frozen=True, slots=True)
class PlannedScan:
    at: datetime
    school_id: str
    checkpoint_id: str
    guard_id: str
    tag: str
    carrier: Carrier
    round_at: datetime
    forged: bool = False

    @property
    def message_id(self) -> str:
        return f"sim-{self.school_id}-{self.checkpoint_id}-{self.guard_id}-{self.at:%Y%m%d%H%M%S}"


@dataclass(frozen=True, slots=True)
class PatrolPlanOptions:
    seed: int = 1
    miss_share: float = 0.1  # rounds nobody walks
    wand_share: float = 0.25  # rounds carried on an offline wand
    forged: int = 1  # forged tags per school and day
    walk_s: tuple[float, float] = (60.0, 240.0)  # between two checkpoints
    early_s: float = 600.0  # a round starts up to this long before its time


def forge(tag: str) -> str:
    """The same tag with a signature that is not the key's: what a guard could make up."""
    last = "A" if tag[-1] != "A" else "B"
    return tag[:-1] + last


def plan_day(settings: Settings, day: date, options: PatrolPlanOptions) -> list[PlannedScan]:
    """Every scan of a local day at every school with guards and key checkpoints, in time
    order."""
    rng = random.Random(f"{options.seed}-{day.isoformat()}")
    plan: list[PlannedScan] = []
    rounds = rounds_of_day(settings, day)
    for school in settings.schools:
        if not school.guards or not school.key_checkpoints:
            continue
        walked: list[PlannedScan] = []
        for index, due in enumerate(rounds):
            if rng.random() < options.miss_share:
                continue
            guard = school.guards[index % len(school.guards)]
            carrier = Carrier.WAND if rng.random() < options.wand_share else Carrier.READER
            at = due - timedelta(seconds=rng.uniform(0, options.early_s))
            for checkpoint in school.checkpoints:
                walked.append(
                    PlannedScan(
                        at=at,
                        school_id=school.id,
                        checkpoint_id=checkpoint.id,
                        guard_id=guard.id,
                        tag=sign_tag(settings.patrol, school.id, checkpoint.id),
                        carrier=carrier,
                        round_at=due,
                    )
                )
                at += timedelta(seconds=rng.uniform(*options.walk_s))
        for _ in range(min(options.forged, len(walked))):
            victim = rng.randrange(len(walked))
            scan = walked[victim]
            walked.append(
                replace(
                    scan,
                    at=scan.at + timedelta(seconds=90),
                    tag=forge(scan.tag),
                    carrier=Carrier.READER,
                    forged=True,
                )
            )
        plan.extend(walked)
    return sorted(plan, key=lambda s: (s.at, s.school_id, s.checkpoint_id))


@dataclass(slots=True)
class AcceleratedClock:
    """Simulated time: `speed` times faster than real time from `start`, until it catches up
    with the real clock; from then on, real time."""

    start: datetime
    speed: float = 1.0
    real: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    _began: datetime | None = None

    def now(self) -> datetime:
        real = self.real()
        if self._began is None:
            self._began = real
        simulated = self.start + (real - self._began) * self.speed
        return min(simulated, real)

    async def wait_until(self, at: datetime) -> None:
        while (ahead := (at - self.now()).total_seconds()) > 0:
            caught_up = self.now() >= self.real() - timedelta(seconds=1)
            await asyncio.sleep(min(ahead if caught_up else ahead / self.speed, 5.0))


def scan_topic(prefix: str, school: str, checkpoint: str) -> str:
    return f"{prefix}/{school}/checkpoint/{checkpoint}/scan"


async def publish_scan(publisher: MqttPublisher, prefix: str, scan: PlannedScan) -> None:
    """What a checkpoint reader sends (spec 2): the guard and the tag it read."""
    body = {
        "ts": scan.at.isoformat(timespec="milliseconds"),
        "id": scan.message_id,
        "guard": scan.guard_id,
        "tag": scan.tag,
    }
    await publisher.publish(
        scan_topic(prefix, scan.school_id, scan.checkpoint_id),
        json.dumps(body, ensure_ascii=False),
        qos=1,
    )


@dataclass(frozen=True, slots=True)
class WandAccount:
    base_url: str  # the gateway's HTTP address
    username: str
    password: str


async def upload_wand(
    account: WandAccount, school_id: str, scans: Sequence[PlannedScan], *, device: str = "wand-1"
) -> dict[str, object]:
    """Upload a wand's records as the wand's software does; the gateway's summary back."""
    records = [
        {"guard": s.guard_id, "tag": s.tag, "at": s.at.isoformat(), "id": s.message_id}
        for s in scans
    ]
    try:
        async with httpx.AsyncClient(base_url=account.base_url, timeout=HTTP_TIMEOUT_S) as http:
            login = await http.post(
                "/api/v1/auth/token",
                data={"username": account.username, "password": account.password},
            )
            login.raise_for_status()
            token = login.json()["access_token"]
            response = await http.post(
                "/api/v1/patrols/uploads",
                params={"school": school_id},
                json={"device": device, "records": records},
                headers={"Authorization": f"Bearer {token}"},
            )
            response.raise_for_status()
    except httpx.HTTPError as exc:
        raise DeviceUnavailable(f"the wand upload to {account.base_url} failed: {exc}") from exc
    summary: dict[str, object] = response.json()
    return summary


async def walk_rounds(
    publisher: MqttPublisher,
    settings: Settings,
    plan: Sequence[PlannedScan],
    clock: AcceleratedClock,
    *,
    wand: WandAccount | None = None,
    upload_after: timedelta = timedelta(minutes=40),
) -> int:
    """Send the plan as it happens on `clock`: reader scans at their time, each wand round
    uploaded `upload_after` its last scan (without a wand account, wand rounds go through
    the readers too). Returns the number of scans sent."""
    prefix = settings.mqtt.topic_prefix
    carried: dict[tuple[str, datetime], list[PlannedScan]] = {}
    due: list[tuple[datetime, tuple[str, datetime]]] = []
    sent = 0

    async def flush(until: datetime) -> int:
        count = 0
        while due and due[0][0] <= until:
            upload_at, key = due.pop(0)
            await clock.wait_until(upload_at)
            if wand is not None:
                try:
                    summary = await upload_wand(wand, key[0], carried[key])
                except DeviceUnavailable as exc:
                    # A wand keeps its records until an upload goes through.
                    log.warning("%s; trying again in a minute", exc)
                    due.append((clock.now() + timedelta(minutes=1), key))
                    due.sort()
                    await asyncio.sleep(1.0)
                    continue
                log.info("wand upload for %s: %s accepted", key[0], summary.get("accepted"))
            count += len(carried.pop(key))
        return count

    for scan in plan:
        sent += await flush(scan.at)
        await clock.wait_until(scan.at)
        if scan.carrier is Carrier.WAND and wand is not None:
            key = (scan.school_id, scan.round_at)
            if key not in carried:
                carried[key] = []
                due.append((scan.round_at + upload_after, key))
                due.sort()
            carried[key].append(scan)
            continue
        await publish_scan(publisher, prefix, scan)
        sent += 1
    if due:
        sent += await flush(due[-1][0])
    return sent


async def run_patrol_cli(
    settings: Settings,
    *,
    speed: float,
    since_midnight: bool,
    options: PatrolPlanOptions,
    wand: WandAccount | None,
    mqtt_url: str | None,
    days: int | None = None,
) -> None:
    """`campus-gateway simulate patrol`: today's rounds (from local midnight, fast, when
    asked), then each next day's, until stopped or `days` days are done."""
    zone = settings.gateway.zone
    now = datetime.now(UTC)
    day = now.astimezone(zone).date()
    start = datetime.combine(day, datetime.min.time(), tzinfo=zone) if since_midnight else now
    clock = AcceleratedClock(start=start.astimezone(UTC), speed=speed)
    url = mqtt_url or settings.mqtt.url
    done = 0
    async with MqttPublisher(url, client_id=f"{settings.mqtt.client_id}-sim-patrol") as publisher:
        while days is None or done < days:
            plan = [s for s in plan_day(settings, day, options) if s.at >= start]
            sent = await walk_rounds(publisher, settings, plan, clock, wand=wand)
            print(f"{day}: {sent} patrol scans sent", flush=True)
            day += timedelta(days=1)
            done += 1
