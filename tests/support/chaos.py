"""Fault tests' bookkeeping: a burst of button presses and what became of each press (stored,
delivered, in order?), counted the same way for every fault and written as JSON for
docs/reliability.md when CHAOS_REPORT_DIR is set.

The counts follow the contract (spec 2 and 4): a press the broker acknowledged to the button
must be stored once and delivered to the police once, in the order pressed per button. A
press the broker never acknowledged (a publish that failed while the broker was away) is the
button's to send again; it may or may not have reached the broker, so it may be stored, but
at most once and in its place."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from drivers.mqtt.publisher import MqttPublisher
from gateway.errors import DeviceUnavailable
from gateway.storage.database import create_engine
from gateway.storage.models import Alarm, Event, PoliceDelivery
from simulators.button import press_button
from simulators.police import Receipt
from tests.support.gateway_process import BUTTONS, PREFIX

Button = tuple[str, str]  # (school, button)


def env_float(name: str, default: float) -> float:
    """A duration or count from the environment (`make chaos` lengthens them)."""
    raw = os.environ.get(name)
    return default if raw in (None, "") else float(raw)


def env_int(name: str, default: int) -> int:
    return int(env_float(name, default))


def chaos_seed() -> int:
    """CHAOS_SEED, or a fresh one: printed, so that a failing run can be replayed."""
    raw = os.environ.get("CHAOS_SEED")
    seed = int(raw) if raw else random.SystemRandom().randrange(1, 2**31)
    print(f"chaos seed: {seed} (replay with CHAOS_SEED={seed})")
    return seed


@dataclass
class Ledger:
    """Every press the test made, in order per button, and what the broker said to it."""

    pressed: dict[Button, list[str]] = field(default_factory=lambda: defaultdict(list))
    acked: set[str] = field(default_factory=set)
    unacked: set[str] = field(default_factory=set)

    @property
    def sent(self) -> int:
        return len(self.acked) + len(self.unacked)

    async def press(self, publisher: MqttPublisher, prefix: str, button: Button) -> bool:
        """One press; True if the broker acknowledged it."""
        school, device = button
        message_id = uuid.uuid4().hex
        # Recorded before publishing: the order pressed is the order the button sent them.
        self.pressed[button].append(message_id)
        try:
            await press_button(
                publisher, prefix=prefix, school=school, button=device, message_id=message_id
            )
        except DeviceUnavailable:
            self.unacked.add(message_id)
            return False
        self.acked.add(message_id)
        return True


async def press_burst(
    ledger: Ledger,
    publisher: MqttPublisher,
    *,
    prefix: str,
    buttons: Sequence[Button],
    interval_s: float,
    stop: asyncio.Event,
    count: int | None = None,
) -> None:
    """Press the buttons in turn every `interval_s` until `stop` is set (or `count` presses).
    A publish the broker does not acknowledge is counted, not retried: see the module doc."""
    index = 0
    while not stop.is_set() and (count is None or index < count):
        started = time.monotonic()
        await ledger.press(publisher, prefix, buttons[index % len(buttons)])
        index += 1
        # A failed publish to a stopped broker returns at once; pace it like a success.
        await asyncio.sleep(max(0.0, interval_s - (time.monotonic() - started)))


class Burst:
    def __init__(self, task: asyncio.Task[None], stop: asyncio.Event) -> None:
        self._task = task
        self._stop = stop

    async def finish(self) -> None:
        """Stop pressing; a publishing error of the burst comes out here."""
        self._stop.set()
        await self._task


@asynccontextmanager
async def bursting(
    ledger: Ledger,
    publisher: MqttPublisher,
    *,
    interval_s: float,
    buttons: Sequence[Button] = BUTTONS,
    prefix: str = PREFIX,
) -> AsyncIterator[Burst]:
    """Presses in the background while inside; a test that fails midway leaves none behind."""
    stop = asyncio.Event()
    task = asyncio.create_task(
        press_burst(
            ledger, publisher, prefix=prefix, buttons=buttons, interval_s=interval_s, stop=stop
        ),
        name="chaos-burst",
    )
    try:
        yield Burst(task, stop)
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


@dataclass(frozen=True)
class StoredAlarm:
    alarm_id: str
    source_id: str
    school_id: str
    device_id: str
    acknowledged: bool  # a delivery acknowledged on record


async def read_store(database: tuple[str, str | None]) -> tuple[list[StoredAlarm], Counter[str]]:
    """The alarms on record (with whether their delivery is acknowledged there) and how many
    event rows each message id has (a press recorded twice would show here first)."""
    url, schema = database
    engine = create_engine(url, schema=schema)
    try:
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(
                        Alarm.alarm_id,
                        Alarm.source_id,
                        Alarm.school_id,
                        Alarm.device_id,
                        PoliceDelivery.acknowledged_at,
                    )
                    .join(PoliceDelivery, PoliceDelivery.alarm_pk == Alarm.id)
                    .order_by(Alarm.id)
                )
            ).all()
            events = (
                await conn.execute(select(Event.message_id).where(Event.device_kind == "alarm"))
            ).all()
    finally:
        await engine.dispose()
    alarms = [
        StoredAlarm(
            r.alarm_id, r.source_id, r.school_id, r.device_id, r.acknowledged_at is not None
        )
        for r in rows
    ]
    return alarms, Counter(message_id for (message_id,) in events)


@dataclass
class Outcome:
    """What the test reports; the four problem counts must all be zero."""

    sent: int
    acked_by_broker: int
    not_acked_by_broker: int
    stored: int
    delivered: int
    lost: int  # acknowledged by the broker, yet not stored or not delivered
    duplicates: int  # a press stored as two events or alarms, or received as two receipts
    order_violations: int  # a receipt of a button that came before one pressed earlier
    unknown: int  # stored or delivered, but never pressed by this test
    resent_same_key: int  # repeats the centre recognised by Idempotency-Key (allowed)
    unacked_but_stored: int  # not acknowledged to the button, yet it reached the gateway
    recover_s: float | None = None  # from the end of the fault to the last delivery
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def problems(self) -> int:
        return self.lost + self.duplicates + self.order_violations + self.unknown

    def describe(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in asdict(self).items() if k != "extra")


def judge(
    ledger: Ledger,
    alarms: Sequence[StoredAlarm],
    event_rows: Counter[str],
    receipts: Sequence[Receipt],
) -> Outcome:
    pressed_ids = {m for ids in ledger.pressed.values() for m in ids}
    position = {m: i for ids in ledger.pressed.values() for i, m in enumerate(ids)}
    stored_sources = Counter(a.source_id for a in alarms)
    received_sources = Counter(r.source_id for r in receipts)
    receipt_ids = Counter(r.alarm_id for r in receipts)
    duplicates = (
        sum(n - 1 for m, n in event_rows.items() if m in pressed_ids and n > 1)
        + sum(n - 1 for n in stored_sources.values() if n > 1)
        + sum(n - 1 for n in received_sources.values() if n > 1)
        + sum(n - 1 for n in receipt_ids.values() if n > 1)
    )
    delivered_on_record = {a.source_id for a in alarms if a.acknowledged}
    lost = sum(
        1
        for m in ledger.acked
        if m not in stored_sources or m not in received_sources or m not in delivered_on_record
    )
    unknown = sum(1 for m in stored_sources if m not in pressed_ids) + sum(
        1 for m in received_sources if m not in pressed_ids
    )
    # Order: per button, the receipts' press positions must only go up.
    order_violations = 0
    last: dict[Button, int] = {}
    for receipt in receipts:
        button = (receipt.school_id, receipt.device_id)
        at = position.get(receipt.source_id)
        if at is None:
            continue
        if at < last.get(button, -1):
            order_violations += 1
        last[button] = max(at, last.get(button, -1))
    return Outcome(
        sent=ledger.sent,
        acked_by_broker=len(ledger.acked),
        not_acked_by_broker=len(ledger.unacked),
        stored=len(stored_sources),
        delivered=len(received_sources),
        lost=lost,
        duplicates=duplicates,
        order_violations=order_violations,
        unknown=unknown,
        resent_same_key=sum(r.duplicates for r in receipts),
        unacked_but_stored=sum(1 for m in ledger.unacked if m in stored_sources),
    )


def delivered_all(ledger: Ledger, receipts: Sequence[Receipt]) -> bool:
    """Every acknowledged press has a receipt (what the tests wait for after a fault)."""
    return ledger.acked <= {r.source_id for r in receipts}


def record(name: str, outcome: Outcome, durations: dict[str, float | int]) -> None:
    """Write the outcome for tests/chaos/report.py when CHAOS_REPORT_DIR is set."""
    print(f"{name}: {outcome.describe()} {outcome.extra}")
    directory = os.environ.get("CHAOS_REPORT_DIR")
    if not directory:
        return
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    body = {
        "test": name,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "durations": durations,
        **asdict(outcome),
    }
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in name)
    (path / f"{safe}.json").write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")


def assert_no_problem(outcome: Outcome, log: Path | None = None) -> None:
    tail = "" if log is None else "\ngateway log (end):\n" + log.read_text()[-4000:]
    assert outcome.problems == 0, f"alarms lost, duplicated or reordered: {outcome.describe()}" + (
        tail
    )


async def settle(
    ledger: Ledger,
    database: tuple[str, str | None],
    receipts: list[Receipt],
    *,
    timeout_s: float,
    quiet_s: float = 1.0,
) -> Outcome:
    """Wait until every acknowledged press is delivered and its delivery is acknowledged on
    record, then `quiet_s` more (a late duplicate would arrive then); judge what is there.
    A timeout is not an error here: what is missing is counted as lost."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if delivered_all(ledger, receipts):
            alarms, _ = await read_store(database)
            if ledger.acked <= {a.source_id for a in alarms if a.acknowledged}:
                break
        await asyncio.sleep(0.2)
    await asyncio.sleep(quiet_s)
    alarms, event_rows = await read_store(database)
    return judge(ledger, alarms, event_rows, receipts)


async def wait_recovered(ledger: Ledger, receipts: list[Receipt], timeout_s: float) -> float:
    """Seconds from now (the end of a fault) until every press acknowledged so far has a
    receipt and so has one acknowledged after now: the backlog is through and new presses
    flow again. The burst must still be running. After `timeout_s` the final count shows
    what is missing."""
    backlog = set(ledger.acked)
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        delivered = {r.source_id for r in receipts}
        if backlog <= delivered and (ledger.acked - backlog) & delivered:
            break
        await asyncio.sleep(0.05)
    return round(time.monotonic() - started, 2)
