"""The runtime supervisor: MQTT subscribers, ingest pipelines and the police outbox, in one
TaskGroup with named tasks. Every part retries on its own; a crash here is a bug."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Callable

from drivers.mqtt.publisher import MqttPublisher
from drivers.mqtt.subscriber import MqttConnection, MqttSubscriber
from gateway.alarmtests.reminders import AlarmTestReminders
from gateway.alerts import AlertOutbox
from gateway.audit.seal import AuditSealer
from gateway.context import GatewayContext
from gateway.errors import DeviceUnavailable
from gateway.hazards.tickets import open_tickets
from gateway.ingest.camera import CameraIngest
from gateway.ingest.decode import SiteDirectory
from gateway.ingest.modbus import ModbusIngest
from gateway.ingest.pipeline import IngestPipeline, RejectionLog
from gateway.linkage.dc09.sender import SiaDc09Sender
from gateway.linkage.escalation import AlarmEscalation
from gateway.linkage.outbox import PoliceOutbox
from gateway.linkage.senders import AlarmSender, WebhookSender
from gateway.linkage.supervision import PoliceLinkAlerts
from gateway.patrol.watch import PatrolWatch
from gateway.settings import MqttSection, Settings, WebhookEndpoint
from gateway.staffing.watch import GateWatch
from gateway.storage.devices import DeviceRepository

log = logging.getLogger("gateway.runtime")
STARTUP_RETRY_MAX_S = 10.0
TELEMETRY_LINGER_S = 0.02


def make_senders(settings: Settings) -> list[AlarmSender]:
    return [
        WebhookSender(e) if isinstance(e, WebhookEndpoint) else SiaDc09Sender(e)
        for e in settings.police
    ]


def connection(mqtt: MqttSection, role: str) -> MqttConnection:
    return MqttConnection(
        host=mqtt.host,
        port=mqtt.port,
        client_id=f"{mqtt.client_id}-{role}",
        username=mqtt.username,
        password=mqtt.password,
        tls=mqtt.tls,
        ca_file=mqtt.ca_file,
        keepalive_s=mqtt.keepalive_s,
        connect_timeout_s=mqtt.connect_timeout_s,
        reconnect_initial_s=mqtt.reconnect_initial_s,
        reconnect_max_s=mqtt.reconnect_max_s,
    )


class GatewayRuntime:
    """Alarms and telemetry arrive on separate MQTT connections: the broker's in-flight
    window of the alarm connection never fills with telemetry, so ingest load cannot hold
    an alarm back. Telemetry is stored in batches gathered over a few milliseconds (it is not
    urgent, and one transaction per message would take the CPU alarms need); alarms are
    stored as they come."""

    def __init__(self, context: GatewayContext) -> None:
        self.context = context
        settings = context.settings
        self.senders = make_senders(settings)
        self.outbox = PoliceOutbox(
            settings,
            self.senders,
            context.sessions,
            context.writer,
            context.metrics,
            context.health,
            bus=context.bus,
        )
        self.directory = SiteDirectory(settings)
        prefix = settings.mqtt.topic_prefix
        self.alerts = AlertOutbox(
            context.writer,
            context.sessions,
            topic_prefix=prefix,
            zone=settings.gateway.zone,
            metrics=context.metrics,
            health=context.health,
            on_store=open_tickets,  # every violation is a hidden danger to close
        )
        self.police_links = [
            (sender, PoliceLinkAlerts(sender.endpoint_id, settings, self.alerts, context.health))
            for sender in self.senders
            if isinstance(sender, SiaDc09Sender)
        ]
        self.escalation = AlarmEscalation(context, self.outbox, self.alerts)
        self.gate_watch = GateWatch(settings, self.alerts, context.metrics, context.health)
        self.patrol_watch = PatrolWatch(settings, self.alerts, context.health)
        self.test_reminders = AlarmTestReminders(settings, self.alerts, context.health)
        self.rejections = RejectionLog()
        # Modbus, camera and the guards' check-ins: events decoded elsewhere, stored at once.
        self.devices = IngestPipeline(
            context,
            self.directory,
            self.outbox,
            self.rejections,
            listeners=[self.gate_watch.observe],
        )
        self.modbus = ModbusIngest(context, self.devices, self.alerts)
        self.cameras = CameraIngest(context, self.devices, self.alerts)
        self.sealer = AuditSealer(context.writer)
        self.status_topic = f"{prefix}/gateway/status"
        self._alarm_topic = f"{prefix}/+/alarm/+/event"
        health = context.health
        for component in ("database", "broker:alarms", "broker:telemetry"):
            health.expect(component)

    def _is_alarm_event(self, topic: str) -> bool:
        parts = self.directory.split_topic(topic)
        return parts is not None and len(parts) == 4 and parts[1] == "alarm" and parts[3] == "event"

    def _is_own(self, topic: str) -> bool:
        parts = self.directory.split_topic(topic)
        return parts is not None and (parts[:1] == ["gateway"] or parts[1:2] == ["gateway"])

    async def prepare(self) -> None:
        """Register devices and reload the outbox; retried until the database answers."""
        delay = 0.5
        while True:
            try:
                async with self.context.sessions() as session, session.begin():
                    devices = DeviceRepository(session)
                    await devices.sync_from_settings(self.context.settings)
                    await session.flush()
                    self.context.metrics.devices_online.set(await devices.count_online())
                await self.outbox.resume()
            except Exception as exc:  # the database driver's errors, whatever they are
                self.context.health.report(
                    "database", up=False, detail=f"{type(exc).__name__}: {exc}"
                )
                await asyncio.sleep(delay)
                delay = min(STARTUP_RETRY_MAX_S, delay * 2)
                continue
            self.context.health.report("database", up=True, detail="ready")
            return

    async def run(self) -> None:
        await self.prepare()
        # Everything made so far lives as long as the process: keep the collector from
        # walking it again and again (its full passes stalled the loop for ~100 ms).
        gc.freeze()
        rejections = self.rejections
        mqtt = self.context.settings.mqtt
        listeners = [self.gate_watch.observe]
        # Some brokers (amqtt) also hand a connection the retained messages of other
        # connections' filters: the gateway's own topics are skipped on both.
        alarms = IngestPipeline(
            self.context, self.directory, self.outbox, rejections, skip=self._is_own
        )
        telemetry = IngestPipeline(
            self.context,
            self.directory,
            self.outbox,
            rejections,
            skip=lambda topic: self._is_alarm_event(topic) or self._is_own(topic),
            listeners=listeners,
        )
        alarm_subscriber = MqttSubscriber(
            connection(mqtt, "alarms"),
            [self._alarm_topic],
            will=(self.status_topic, "offline"),
            birth=(self.status_topic, "online"),
            on_state=self._broker_state("broker:alarms"),
            max_batch=100,
        )
        telemetry_subscriber = MqttSubscriber(
            connection(mqtt, "telemetry"),
            [f"{mqtt.topic_prefix}/#"],
            on_state=self._broker_state("broker:telemetry"),
            max_batch=500,
            linger_s=TELEMETRY_LINGER_S,
        )
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self.outbox.run(), name="police-outbox")
                group.create_task(self._consume(alarm_subscriber, alarms), name="ingest:alarms")
                group.create_task(
                    self._consume(telemetry_subscriber, telemetry), name="ingest:telemetry"
                )
                group.create_task(self._publish_alerts(), name="alerts")
                group.create_task(self.escalation.run(), name="escalation")
                group.create_task(self.sealer.run(), name="audit-sealer")
                group.create_task(self.gate_watch.run(self.context.sessions), name="gate-watch")
                group.create_task(self.patrol_watch.run(self.context.sessions), name="patrol-watch")
                for sender, link in self.police_links:
                    name = f"police-link:{sender.endpoint_id}"
                    group.create_task(sender.supervise(link.on_link), name=name)
                    group.create_task(link.run(), name=f"{name}:alerts")
                if self.modbus.configured:
                    group.create_task(self.modbus.run(), name="modbus")
                if self.cameras.configured:
                    group.create_task(self.cameras.run(), name="cameras")
        finally:
            await self.outbox.aclose()

    async def _publish_alerts(self) -> None:
        mqtt = self.context.settings.mqtt
        delay = mqtt.reconnect_initial_s
        while True:
            publisher = MqttPublisher(
                mqtt.url,
                client_id=f"{mqtt.client_id}-alerts",
                timeout_s=mqtt.connect_timeout_s,
                ca_file=mqtt.ca_file,
            )
            try:
                async with publisher:
                    delay = mqtt.reconnect_initial_s
                    await self.alerts.run(publisher)
            except DeviceUnavailable as exc:
                self.context.health.report("broker:alerts", up=False, detail=str(exc))
                await asyncio.sleep(delay)
                delay = min(mqtt.reconnect_max_s, delay * 2)

    def _broker_state(self, component: str) -> Callable[[bool, str], None]:
        metrics = self.context.metrics

        def report(up: bool, detail: str) -> None:
            metrics.broker_connected.labels(component.split(":", 1)[1]).set(1 if up else 0)
            self.context.health.report(component, up=up, detail=detail)

        return report

    @staticmethod
    async def _consume(subscriber: MqttSubscriber, pipeline: IngestPipeline) -> None:
        async with subscriber:
            async for batch in subscriber.batches():
                await pipeline.handle(batch, subscriber.ack)
