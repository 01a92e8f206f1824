"""Benchmark D's records in the shapes the gateway writes them, from the month's happenings
(bench/city_month.py): the MQTT messages a device sends (the live sample), and for the
bulk-loaded days the rows ingest would have stored for those messages (`events`, with
`patrol_scans` checked by the gateway's own `check_scan`, `alarms` with their
`police_deliveries` acknowledged by the centre), the alerts its watches would have raised
for each violation, the hidden-danger tickets those opened (and the steps people took on
them), and the guards' trainings. Ids are given here: the loader copies them as they are."""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from bench.city_month import CityMonth, GateReport, Lapse, Press, Scan, SchoolDay
from gateway.alerts import Alert, AlertKind
from gateway.domain import content_key
from gateway.hazards.tickets import HazardStage, new_ticket_id
from gateway.patrol.reasons import ScanSource
from gateway.patrol.scans import IncomingScan, check_scan
from gateway.settings import Settings
from gateway.storage.writes import button_lane, new_alarm_id

Row = tuple[Any, ...]
Message = tuple[str, bytes]  # MQTT topic, payload

COLUMNS: dict[str, tuple[str, ...]] = {
    "events": (
        "id", "school_id", "device_kind", "device_id", "message_id", "kind", "transport",
        "occurred_at", "received_at", "clock_skew_s", "topic", "raw_payload", "guard_id", "tag",
        "content_key",
    ),
    "patrol_scans": (
        "id", "school_id", "checkpoint_id", "guard_id", "source", "message_id", "tag",
        "key_version", "scanned_at", "received_at", "accepted", "reason", "detail", "event_id",
        "submitted_by",
    ),
    "alarms": (
        "id", "alarm_id", "event_id", "kind", "school_id", "school_name", "device_id",
        "location", "zone", "camera_id", "source_id", "occurred_at", "received_at",
        "acknowledged_at", "escalated_at",
    ),
    "police_deliveries": (
        "id", "alarm_pk", "endpoint_id", "lane", "attempts", "created_at", "next_attempt_at",
        "last_attempt_at", "acknowledged_at", "latency_s", "last_status", "last_response",
    ),
    "alerts": (
        "id", "school_id", "kind", "subject_kind", "subject_id", "raised_at", "payload",
        "published_at",
    ),
    "hazard_tickets": (
        "id", "ticket_id", "school_id", "category", "subject_kind", "subject_id", "summary",
        "stage", "opened_at", "last_seen_at", "occurrences", "assignee", "deadline", "updated_at",
    ),
    "hazard_steps": (
        "id", "ticket_pk", "stage", "username", "at", "note", "assignee", "deadline",
    ),
    "guard_trainings": (
        "id", "school_id", "guard_id", "trained_on", "topic", "hours", "recorded_by",
        "recorded_at",
    ),
}  # fmt: skip
TICKET_KINDS = frozenset(
    {AlertKind.GATE_UNSTAFFED, AlertKind.PATROL_OVERDUE, AlertKind.ALARM_TEST_DUE,
     AlertKind.DEVICE_OFFLINE}
)  # fmt: skip


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


class Encoder:
    """Device messages and table rows of one city's month."""

    def __init__(self, month: CityMonth, police_id: str) -> None:
        self.month = month
        self.settings: Settings = month.settings
        self.zone = month.zone
        self.prefix = self.settings.mqtt.topic_prefix
        self.police_id = police_id
        self.schools = {s.id: s for s in self.settings.schools}

    def _ts(self, at: datetime) -> str:
        return at.astimezone(self.zone).isoformat(timespec="milliseconds")

    def gate_message(self, report: GateReport) -> tuple[str, str, str]:
        """Topic, payload text and message id of a gate post's report."""
        message_id = f"{report.gate_id}-{_ms(report.at)}"
        body = {
            "event": "guard_on" if report.staffed else "guard_off",
            "ts": self._ts(report.at),
            "id": message_id,
            "guard": report.guard_id,
        }
        topic = f"{self.prefix}/{report.school_id}/gate/{report.gate_id}/event"
        return topic, json.dumps(body), message_id

    def scan_message(self, scan: Scan) -> tuple[str, str, str]:
        message_id = f"{scan.checkpoint_id}-{_ms(scan.at)}"
        body = {"guard": scan.guard_id, "tag": scan.tag, "ts": self._ts(scan.at), "id": message_id}
        topic = f"{self.prefix}/{scan.school_id}/checkpoint/{scan.checkpoint_id}/scan"
        return topic, json.dumps(body), message_id

    def press_message(self, press: Press) -> tuple[str, str, str]:
        message_id = f"{press.button_id}-{_ms(press.at)}"
        body = {
            "event": "test" if press.test else "press",
            "ts": self._ts(press.at),
            "id": message_id,
        }
        topic = f"{self.prefix}/{press.school_id}/alarm/{press.button_id}/event"
        return topic, json.dumps(body), message_id

    def messages(self, days: list[SchoolDay]) -> list[Message]:
        """Every message of the days, in device-time order (the live sample)."""
        timed: list[tuple[datetime, str, str]] = []
        for day in days:
            for report in day.gate_reports:
                topic, text, _ = self.gate_message(report)
                timed.append((report.at, topic, text))
            for scan in day.scans:
                topic, text, _ = self.scan_message(scan)
                timed.append((scan.at, topic, text))
            for press in day.presses:
                topic, text, _ = self.press_message(press)
                timed.append((press.at, topic, text))
        timed.sort(key=lambda item: item[0])
        return [(topic, text.encode()) for _, topic, text in timed]


@dataclass(slots=True)
class _Ticket:
    row_id: int
    ticket_id: str
    school_id: str
    kind: AlertKind
    subject_kind: str
    subject_id: str
    summary: str
    opened_at: datetime
    closed_at: datetime | None
    steps: list[Row] = field(default_factory=list)  # without ids: (stage, at, assignee, deadline)
    last_seen_at: datetime | None = None
    occurrences: int = 1


class Ids:
    """The next id of each table, from what is already there."""

    def __init__(self, start: dict[str, int]) -> None:
        self._next = {table: start.get(table, 0) + 1 for table in COLUMNS}

    def take(self, table: str) -> int:
        value = self._next[table]
        self._next[table] = value + 1
        return value

    def last(self, table: str) -> int:
        return self._next[table] - 1


class Rows(Encoder):
    """The bulk-loaded rows: `day_rows` per school-day, then `closing_rows` once (tickets,
    their steps, reminders, camera alerts, trainings)."""

    def __init__(self, month: CityMonth, police_id: str, ids: Ids, *, now: datetime) -> None:
        super().__init__(month, police_id)
        self.ids = ids
        self.now = now
        self.rng = random.Random(f"{month.seed}:rows")
        self._tickets: dict[tuple[str, str, str, str], _Ticket] = {}
        self._done: list[_Ticket] = []
        self._tested: dict[tuple[str, str], datetime] = {}  # first test of each button

    def _event(
        self, kind: str, device: tuple[str, str, str], at: datetime, encoded: tuple[str, str, str],
        guard: str | None, tag: str | None,
    ) -> Row:  # fmt: skip
        school_id, device_kind, device_id = device
        topic, text, message_id = encoded
        received = at + timedelta(seconds=self.rng.uniform(0.03, 0.4))
        return (
            self.ids.take("events"), school_id, device_kind, device_id, message_id, kind,
            "mqtt", at, received, (received - at).total_seconds(), topic, text, guard, tag,
            content_key(kind, at, guard, tag),
        )  # fmt: skip

    def day_rows(self, day: SchoolDay) -> Iterator[tuple[str, Row]]:
        yield from self.gate_rows(day.gate_reports)
        for scan in day.scans:
            yield from self._scan_rows(scan)
        for press in day.presses:
            yield from self._press_rows(press)
        for lapse in day.lapses:
            yield from self._lapse_alerts(lapse)

    def gate_rows(self, reports: Iterable[GateReport]) -> Iterator[tuple[str, Row]]:
        for report in reports:
            kind = "guard_on" if report.staffed else "guard_off"
            device = (report.school_id, "gate", report.gate_id)
            encoded = self.gate_message(report)
            yield "events", self._event(kind, device, report.at, encoded, report.guard_id, None)

    def _scan_rows(self, scan: Scan) -> Iterator[tuple[str, Row]]:
        encoded = self.scan_message(scan)
        device = (scan.school_id, "checkpoint", scan.checkpoint_id)
        event = self._event("scan", device, scan.at, encoded, scan.guard_id, scan.tag)
        yield "events", event
        incoming = IncomingScan(
            school_id=scan.school_id, guard_id=scan.guard_id, tag=scan.tag, scanned_at=scan.at,
            received_at=event[8], source=ScanSource.READER, message_id=encoded[2],
            reader_checkpoint=scan.checkpoint_id, event_id=event[0],
        )  # fmt: skip
        verdict = check_scan(self.settings, incoming)  # the gateway's own check of the tag
        yield "patrol_scans", (
            self.ids.take("patrol_scans"), scan.school_id, verdict.checkpoint_id, scan.guard_id,
            ScanSource.READER.value, encoded[2], scan.tag, verdict.key_version, scan.at,
            event[8], verdict.accepted, None if verdict.reason is None else verdict.reason.value,
            verdict.detail, event[0], None,
        )  # fmt: skip

    def _press_rows(self, press: Press) -> Iterator[tuple[str, Row]]:
        school = self.schools[press.school_id]
        button = school.button(press.button_id)
        assert button is not None
        device = (press.school_id, "alarm", press.button_id)
        kind = "test" if press.test else "press"
        event = self._event(kind, device, press.at, self.press_message(press), None, None)
        yield "events", event
        received: datetime = event[8]
        acknowledged = received + timedelta(seconds=press.ack_after_s)
        after = press.escalated_after_s
        escalated = None if after is None else received + timedelta(seconds=after)
        alarm_pk = self.ids.take("alarms")
        yield "alarms", (
            alarm_pk, new_alarm_id(received), event[0], "test" if press.test else "emergency",
            school.id, school.name, button.id, button.location, button.zone, button.camera,
            event[4], press.at, received, acknowledged, escalated,
        )  # fmt: skip
        attempts = 1 if escalated is None else 1 + int(press.ack_after_s // 10)
        receipt = json.dumps({"receipt_id": f"rcpt-{alarm_pk}", "alarm_id": str(alarm_pk)})
        yield "police_deliveries", (
            self.ids.take("police_deliveries"), alarm_pk, self.police_id,
            button_lane(school.id, button.id), attempts, received, received, acknowledged,
            acknowledged, press.ack_after_s, 200, receipt,
        )  # fmt: skip
        if press.test:
            key = (press.school_id, press.button_id)
            self._tested[key] = min(press.at, self._tested.get(key, press.at))

    def _alert(self, alert: Alert) -> Iterator[tuple[str, Row]]:
        published = alert.raised_at + timedelta(milliseconds=50)
        yield "alerts", (
            self.ids.take("alerts"), alert.school_id, alert.kind.value, alert.subject_kind,
            alert.subject_id, alert.raised_at, alert.payload(self.zone), published,
        )  # fmt: skip
        if alert.kind in TICKET_KINDS:
            self._ticket(alert)

    def _lapse_alerts(self, lapse: Lapse) -> Iterator[tuple[str, Row]]:
        school = self.schools[lapse.school_id]
        if lapse.subject_kind == "gate":
            gate = school.gate(lapse.subject_id)
            name = gate.name if gate else lapse.subject_id
            limit = self.settings.rules.gate_max_unstaffed_s
            raised = lapse.start + timedelta(seconds=limit + self.rng.uniform(0, 1))
            details = {"gate_name": name, "unstaffed_s": limit, "max_unstaffed_s": limit}
            yield from self._alert(
                Alert(school.id, AlertKind.GATE_UNSTAFFED, "gate", lapse.subject_id, raised,
                      f"{name}无人值守已超过10分钟", details)
            )  # fmt: skip
            yield from self._alert(
                Alert(school.id, AlertKind.GATE_STAFFED, "gate", lapse.subject_id, lapse.end,
                      f"{name}已恢复值守", {"gate_name": name, "source": "mqtt"})
            )  # fmt: skip
            return
        checkpoint = school.checkpoint(lapse.subject_id)
        name = checkpoint.name if checkpoint else lapse.subject_id
        due = lapse.start.astimezone(self.zone)
        yield from self._alert(
            Alert(school.id, AlertKind.PATROL_OVERDUE, "checkpoint", lapse.subject_id,
                  lapse.end + timedelta(seconds=self.rng.uniform(0, 60)),
                  f"{school.name}{name}{due:%H:%M}的巡查未完成",
                  {"checkpoint_name": name, "round_due_at": due.isoformat()})
        )  # fmt: skip

    def _ticket(self, alert: Alert) -> None:
        key = (alert.school_id, alert.kind.value, alert.subject_kind, alert.subject_id)
        open_ticket = self._tickets.get(key)
        if open_ticket is not None and (
            open_ticket.closed_at is None or open_ticket.closed_at > alert.raised_at
        ):
            open_ticket.occurrences += 1
            open_ticket.last_seen_at = alert.raised_at
            return
        if open_ticket is not None:
            self._done.append(open_ticket)
        at = alert.raised_at
        ticket = _Ticket(
            self.ids.take("hazard_tickets"), new_ticket_id(at), alert.school_id, alert.kind,
            alert.subject_kind, alert.subject_id, alert.message[:500], at, None,
        )  # fmt: skip
        fate = self.rng.random()
        if fate < 0.9:  # assessed and assigned; most of those controlled and fed back
            assessed = at + timedelta(hours=self.rng.uniform(1, 4))
            assigned = assessed + timedelta(hours=self.rng.uniform(1, 4))
            deadline = assigned + timedelta(days=self.rng.choice((2, 3, 5)))
            ticket.steps += [("assessed", assessed, None, None)]
            ticket.steps += [("assigned", assigned, "校保卫干部", deadline)]
            if fate < 0.65:
                controlled = assigned + timedelta(hours=self.rng.uniform(2, 30))
                fed_back = controlled + timedelta(hours=self.rng.uniform(2, 60))
                ticket.steps += [("controlled", controlled, None, None)]
                ticket.steps += [("fed_back", fed_back, None, None)]
                ticket.closed_at = fed_back
        # Steps still to come at the bench's `now` have not been taken.
        ticket.steps = [step for step in ticket.steps if step[1] < self.now]
        if ticket.closed_at is not None and ticket.closed_at >= self.now:
            ticket.closed_at = None
        self._tickets[key] = ticket

    def closing_rows(self) -> Iterator[tuple[str, Row]]:
        yield from self._reminders()
        yield from self._cameras_offline()
        for ticket in [*self._done, *self._tickets.values()]:
            yield from self._ticket_rows(ticket)
        yield from self._trainings()

    def _reminders(self) -> Iterator[tuple[str, Row]]:
        """`alarm_test_due` for the buttons untested when the reminder days begin."""
        days = self.month.days
        first = days[max(0, len(days) - self.settings.rules.alarm_test_reminder_days)]
        raised = self.month.at(first, 0.5)
        label = f"{self.month.month:%Y-%m}"
        for school in self.settings.schools:
            for button in school.alarm_buttons:
                tested = self._tested.get((school.id, button.id))
                if tested is not None and tested < raised:
                    continue
                message = f"{school.name}{button.location}的一键报警本月尚未完成测试"
                yield from self._alert(
                    Alert(school.id, AlertKind.ALARM_TEST_DUE, "alarm", button.id, raised,
                          message, {"month": label})
                )  # fmt: skip

    def _cameras_offline(self) -> Iterator[tuple[str, Row]]:
        """A few cameras whose link went down in the month's last week and stayed down."""
        last = self.month.days[-1]
        for school in self.settings.schools:
            for camera in school.cameras:
                if self.rng.random() >= 0.005:
                    continue
                raised = self.month.at(last - timedelta(days=self.rng.randint(0, 6)), 10)
                yield from self._alert(
                    Alert(school.id, AlertKind.DEVICE_OFFLINE, "camera", camera.id, raised,
                          f"{school.name}摄像机{camera.id}离线", {"source": "presence"})
                )  # fmt: skip

    def _ticket_rows(self, ticket: _Ticket) -> Iterator[tuple[str, Row]]:
        stage, updated, assignee, deadline = HazardStage.FOUND.value, ticket.opened_at, None, None
        for step_stage, at, step_assignee, step_deadline in ticket.steps:
            yield "hazard_steps", (
                self.ids.take("hazard_steps"), ticket.row_id, step_stage, "inspector", at, None,
                step_assignee, step_deadline,
            )  # fmt: skip
            stage, updated = step_stage, at
            if step_stage == HazardStage.ASSIGNED.value:
                assignee, deadline = step_assignee, step_deadline
        yield "hazard_tickets", (
            ticket.row_id, ticket.ticket_id, ticket.school_id, ticket.kind.value,
            ticket.subject_kind, ticket.subject_id, ticket.summary, stage, ticket.opened_at,
            ticket.last_seen_at or ticket.opened_at, ticket.occurrences, assignee, deadline,
            updated,
        )  # fmt: skip

    def _trainings(self) -> Iterator[tuple[str, Row]]:
        """Most guards trained once in the month's quarter, up to the month's end."""
        month = self.month.month
        quarter_first = date(month.year, 3 * ((month.month - 1) // 3) + 1, 1)
        span = (self.month.days[-1] - quarter_first).days
        for school in self.settings.schools:
            for guard in school.guards:
                if self.rng.random() >= 0.85:
                    continue
                day = quarter_first + timedelta(days=self.rng.randint(0, span))
                recorded = datetime.combine(day, time(18), tzinfo=self.zone).astimezone(UTC)
                yield "guard_trainings", (
                    self.ids.take("guard_trainings"), school.id, guard.id, day, "季度安保培训",
                    2.0, "bureau", recorded,
                )  # fmt: skip
