"""The live state of every gate post, and the alerts when a post has been empty too long.

The post's state is the latest report of the judged sources (sensor, Modbus input, the
guard's check-in); the camera's view is kept beside it and shown, never merged. A post whose
state is unknown (no report since the gateway was installed) counts as empty from the
gateway's start. An alert is raised once when the empty time passes `gate_max_unstaffed_s`,
and a clearing alert once the post is staffed again; which alert is active survives a
restart (it is read back from the alerts table)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gateway.alerts import Alert, AlertKind, AlertOutbox, latest_alert_kinds
from gateway.compliance.gate_staffing import (
    JUDGED_SOURCES,
    PostState,
    StaffingReport,
    StaffingSource,
    current_state,
    unstaffed_for_s,
)
from gateway.domain import DeviceEvent, DeviceKind, EventKind
from gateway.health import HealthBoard
from gateway.metrics import GatewayMetrics
from gateway.settings import Settings
from gateway.staffing.queries import GateKey, latest_reports, recent_reports
from gateway.storage.retry import with_database

log = logging.getLogger("gateway.staffing")
CHECK_INTERVAL_S = 1.0
LOAD_PER_GATE = 50
Clock = Callable[[], datetime]


@dataclass(frozen=True, slots=True)
class SourceView:
    source: StaffingSource
    staffed: bool
    since: datetime
    guard_id: str | None


@dataclass(frozen=True, slots=True)
class GateLive:
    school_id: str
    school_name: str
    gate_id: str
    gate_name: str
    state: PostState
    unstaffed_for_s: float  # 0 while staffed
    alert_active: bool
    sources: tuple[SourceView, ...]
    # Sources with a known state say different things now (shown, never merged).
    disagree: bool


@dataclass(slots=True)
class _Post:
    school_id: str
    school_name: str
    gate_id: str
    gate_name: str
    latest: dict[StaffingSource, StaffingReport] = field(default_factory=dict)
    # Judged reports since the one that set the current state: a repeated "empty" must not
    # move the start of an absence, and a late report may still change the state.
    judged: list[StaffingReport] = field(default_factory=list)
    state: PostState = field(default_factory=lambda: PostState(None, None, None))
    alert_active: bool = False

    def take(self, report: StaffingReport) -> None:
        current = self.latest.get(report.source)
        if current is None or (report.occurred_at, report.record_id) > (
            current.occurred_at,
            current.record_id,
        ):
            self.latest[report.source] = report
        if report.source not in JUDGED_SOURCES:
            return
        self.judged.append(report)
        self.state = current_state(self.judged, JUDGED_SOURCES)
        since = self.state.since
        self.judged = [r for r in self.judged if since is None or r.occurred_at >= since]


class GateWatch:
    def __init__(
        self,
        settings: Settings,
        alerts: AlertOutbox,
        metrics: GatewayMetrics,
        health: HealthBoard,
        *,
        clock: Clock = lambda: datetime.now(UTC),
    ) -> None:
        self._settings = settings
        self._health = health
        self._alerts = alerts
        self._metrics = metrics
        self._clock = clock
        self._max_s = settings.rules.gate_max_unstaffed_s
        self._started_at = clock()
        self._posts: dict[GateKey, _Post] = {
            (school.id, gate.id): _Post(school.id, school.name, gate.id, gate.name)
            for school in settings.schools
            for gate in school.gates
        }
        # Live reports have no storage id yet: order them after everything loaded.
        self._sequence = 0
        self._wake = asyncio.Event()
        # Posts with a new report since the last check: a wake-up looks at these only (a
        # shift change at 500 posts would otherwise mean 500 x 500 checks); time-outs are
        # found by the full scan every CHECK_INTERVAL_S.
        self._changed: set[GateKey] = set()

    async def load(self, session: AsyncSession) -> None:
        """The last report of each source per gate, and which unstaffed alerts are active."""
        latest = await latest_reports(session)
        recent = await recent_reports(session, per_gate=LOAD_PER_GATE, sources=JUDGED_SOURCES)
        for key in latest.keys() | recent.keys():
            post = self._posts.get(key)
            if post is None:
                continue  # a gate removed from the configuration
            for report in sorted(
                [*latest.get(key, []), *recent.get(key, [])],
                key=lambda r: (r.occurred_at, r.record_id),
            ):
                post.take(report)
                self._sequence = max(self._sequence, report.record_id)
        for key, kind in (await latest_alert_kinds(session, DeviceKind.GATE.value)).items():
            post = self._posts.get(key)
            if post is not None:
                post.alert_active = kind is AlertKind.GATE_UNSTAFFED

    def take_recorded(
        self,
        reports: Mapping[GateKey, Sequence[StaffingReport]],
        alert_kinds: Mapping[GateKey, AlertKind] | None = None,
    ) -> None:
        """Scale-out (gateway/staffing/recorded_feed.py): reports read back from the record,
        stored by any instance, merged like live ones (one taken twice changes nothing);
        with `alert_kinds`, which alerts the leader has active."""
        for key, items in reports.items():
            post = self._posts.get(key)
            if post is None:
                continue
            for report in sorted(items, key=lambda r: (r.occurred_at, r.record_id)):
                post.take(report)
            self._changed.add(key)
        if reports:
            self._wake.set()
        for key, kind in (alert_kinds or {}).items():
            post = self._posts.get(key)
            if post is not None:
                post.alert_active = kind is AlertKind.GATE_UNSTAFFED

    def observe(self, events: Sequence[DeviceEvent]) -> None:
        """Called with every batch of newly stored events (after commit)."""
        changed = False
        for event in events:
            if event.device.kind is not DeviceKind.GATE or event.kind not in (
                EventKind.GUARD_ON,
                EventKind.GUARD_OFF,
            ):
                continue
            key = (event.device.school_id, event.device.device_id)
            post = self._posts.get(key)
            if post is None:
                continue
            self._changed.add(key)
            self._sequence += 1
            post.take(
                StaffingReport(
                    occurred_at=event.occurred_at,
                    staffed=event.kind is EventKind.GUARD_ON,
                    source=StaffingSource(event.transport.value),
                    record_id=self._sequence,
                    guard_id=event.guard_id,
                )
            )
            changed = True
        if changed:
            self._wake.set()

    def check(self, now: datetime, keys: set[GateKey] | None = None) -> list[Alert]:
        """Alerts due at `now` for the posts `keys` (None: every post); marks them
        active/cleared. Pure but for the posts' flags."""
        alerts: list[Alert] = []
        posts = self._posts.values() if keys is None else [self._posts[k] for k in keys]
        for post in posts:
            state = post.state
            if state.staffed:
                if post.alert_active:
                    post.alert_active = False
                    alerts.append(self._alert(post, AlertKind.GATE_STAFFED, state, now, 0.0))
                continue
            empty_s = unstaffed_for_s(state, now=now, known_since=self._started_at)
            if empty_s > self._max_s and not post.alert_active:
                post.alert_active = True
                alerts.append(self._alert(post, AlertKind.GATE_UNSTAFFED, state, now, empty_s))
        if keys is None:
            self._metrics.gates_unstaffed.set(
                sum(1 for p in self._posts.values() if not p.state.staffed)
            )
        return alerts

    def _alert(
        self, post: _Post, kind: AlertKind, state: PostState, now: datetime, empty_s: float
    ) -> Alert:
        if kind is AlertKind.GATE_UNSTAFFED:
            message = f"{post.gate_name}无人值守已超过{duration_zh(empty_s)}"
            details: dict[str, object] = {
                "unstaffed_since": (state.since or self._started_at)
                .astimezone(self._settings.gateway.zone)
                .isoformat(),
                "unstaffed_s": round(empty_s),
                "max_unstaffed_s": self._max_s,
                "state_known": state.staffed is not None,
            }
        else:
            message = f"{post.gate_name}已恢复值守"
            details = {"source": state.source.value if state.source else None}
        return Alert(
            school_id=post.school_id,
            kind=kind,
            subject_kind=DeviceKind.GATE.value,
            subject_id=post.gate_id,
            raised_at=now,
            message=message,
            details={"gate_name": post.gate_name, **details},
        )

    def view(self, now: datetime) -> list[GateLive]:
        result = []
        for post in self._posts.values():
            state = post.state
            sources = tuple(
                SourceView(r.source, r.staffed, r.occurred_at, r.guard_id)
                for r in sorted(post.latest.values(), key=lambda r: r.source.value)
            )
            result.append(
                GateLive(
                    school_id=post.school_id,
                    school_name=post.school_name,
                    gate_id=post.gate_id,
                    gate_name=post.gate_name,
                    state=state,
                    unstaffed_for_s=0.0
                    if state.staffed
                    else unstaffed_for_s(state, now=now, known_since=self._started_at),
                    alert_active=post.alert_active,
                    sources=sources,
                    disagree=len({s.staffed for s in sources}) > 1,
                )
            )
        return result

    async def run(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        # Loaded here, not before the runtime subscribes: alarms must flow even while the
        # events table cannot be read. Reports observed meanwhile are merged, not lost.
        async def load() -> None:
            async with sessions() as session:
                await self.load(session)

        await with_database(load, self._health)
        loop = asyncio.get_running_loop()
        full_scan_at = loop.time()
        while True:
            if loop.time() >= full_scan_at:
                keys, full_scan_at = None, loop.time() + CHECK_INTERVAL_S
            else:
                keys = set(self._changed)
            self._changed.clear()
            self._wake.clear()
            alerts = self.check(self._clock(), keys)
            if alerts:
                await self._alerts.raise_alerts(alerts)
            # A new report is acted on at once (a clearing alert should not wait a second).
            try:
                async with asyncio.timeout(max(0.0, full_scan_at - loop.time())):
                    await self._wake.wait()
            except TimeoutError:
                pass


def duration_zh(seconds: float) -> str:
    """`95秒`, `12分钟`, `2小时5分钟`: how long, as a guard reads it."""
    if seconds < 120:
        return f"{int(seconds)}秒"
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes}分钟"
    hours, rest = divmod(minutes, 60)
    return f"{hours}小时{rest}分钟" if rest else f"{hours}小时"
