"""Prometheus metrics (spec section 5). One registry per gateway instance, made at start-up."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

FORWARD_BUCKETS = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1,
    2.5,
    5,
    10,
    30,
    60,
    300,
)


class GatewayMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.events_ingested = Counter(
            "campus_events_ingested_total",
            "Events accepted and stored",
            ["kind", "transport"],
            registry=self.registry,
        )
        self.events_rejected = Counter(
            "campus_events_rejected_total",
            "Inbound messages refused, by reason",
            ["reason"],
            registry=self.registry,
        )
        self.events_duplicate = Counter(
            "campus_events_duplicate_total",
            "Messages dropped as copies of a stored one (the same device, id and content)",
            ["transport"],
            registry=self.registry,
        )
        self.events_id_reused = Counter(
            "campus_events_id_reused_total",
            "Messages stored under an id their device had used for another message",
            ["transport"],
            registry=self.registry,
        )
        self.alarms_forwarded = Counter(
            "campus_alarms_forwarded_total",
            "Alarms acknowledged by a police endpoint",
            ["endpoint", "kind"],
            registry=self.registry,
        )
        self.alarm_forward_seconds = Histogram(
            "campus_alarm_forward_seconds",
            "From the gateway receiving a press to the police endpoint acknowledging it",
            ["endpoint"],
            buckets=FORWARD_BUCKETS,
            registry=self.registry,
        )
        self.forward_attempts_failed = Counter(
            "campus_alarm_forward_failures_total",
            "Delivery attempts that were not acknowledged (they are retried)",
            ["endpoint"],
            registry=self.registry,
        )
        self.outbox_pending = Gauge(
            "campus_police_outbox_pending",
            "Alarms stored but not yet acknowledged, per endpoint",
            ["endpoint"],
            registry=self.registry,
        )
        self.devices_online = Gauge(
            "campus_devices_online",
            "Devices whose last status was online",
            registry=self.registry,
        )
        self.broker_connected = Gauge(
            "campus_broker_connected",
            "1 while the MQTT connection is up",
            ["client"],
            registry=self.registry,
        )
        self.leader = Gauge(
            "campus_leader",
            "1 while this instance runs the single-instance jobs (a single gateway always does;"
            " among several, exactly one should)",
            registry=self.registry,
        )

        self.alerts_raised = Counter(
            "campus_alerts_raised_total",
            "Alerts raised on {prefix}/{school}/gateway/alert, by kind",
            ["kind"],
            registry=self.registry,
        )
        self.patrol_scans = Counter(
            "campus_patrol_scans_total",
            "Patrol scans recorded, by source and verdict (accepted, or the refusal reason)",
            ["source", "verdict"],
            registry=self.registry,
        )
        self.gates_unstaffed = Gauge(
            "campus_gates_unstaffed",
            "Gate posts that are unstaffed (or of unknown state) now",
            registry=self.registry,
        )
        self.modbus_device_online = Gauge(
            "campus_modbus_device_online",
            "1 while a Modbus device answers its polls, 0 once it is offline",
            ["device"],
            registry=self.registry,
        )
        self.modbus_poll_failures = Counter(
            "campus_modbus_poll_failures_total",
            "Modbus polls that failed (timeout, exception response, bad frame, no connection)",
            ["device"],
            registry=self.registry,
        )
        self.camera_online = Gauge(
            "campus_camera_online",
            "1 while a post camera gives pictures, 0 once it is offline",
            ["camera"],
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
