"""The runtime supervisor: MQTT subscribers, ingest pipelines and the police outbox, in one
TaskGroup with named tasks. Every part retries on its own; a crash here is a bug.

Scale-out (`mqtt.shared_group`, docs/scale-out.md): every instance ingests, forwards the
deliveries it holds a lease on (gateway/linkage/lease_keeper.py) and supervises its own
DC-09 links; the jobs that must run once run on the elected leader only (`_single_jobs`)."""

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
from gateway.ingest.pipeline import IngestPipeline
from gateway.ingest.rejections import RejectionLog
from gateway.leadership import LeaderElection
from gateway.linkage.dc09.sender import SiaDc09Sender
from gateway.linkage.escalation import AlarmEscalation
from gateway.linkage.lease_keeper import LeaseKeeper
from gateway.linkage.outbox import PoliceOutbox
from gateway.linkage.senders import AlarmSender, WebhookSender
from gateway.linkage.supervision import PoliceLinkAlerts
from gateway.patrol.watch import PatrolWatch
from gateway.scale_out import ScaleOut, client_id, scale_out, telemetry_filter
from gateway.settings import MqttSection, Settings, WebhookEndpoint
from gateway.staffing.recorded_feed import RecordedGateFeed
from gateway.staffing.watch import GateWatch
from gateway.storage.devices import DeviceRepository
from gateway.storage.leases import LeaseHolder, hold_deliveries

log = logging.getLogger("gateway.runtime")
STARTUP_RETRY_MAX_S = 10.0
TELEMETRY_LINGER_S = 0.02


def make_senders(settings: Settings) -> list[AlarmSender]:
    return [
        WebhookSender(e) if isinstance(e, WebhookEndpoint) else SiaDc09Sender(e)
        for e in settings.police
    ]


def connection(mqtt: MqttSection, role: str, cluster: ScaleOut | None = None) -> MqttConnection:
    return MqttConnection(
        host=mqtt.host,
        port=mqtt.port,
        client_id=client_id(mqtt.client_id, role, cluster),
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
        self.cluster = scale_out(settings)
        self.senders = make_senders(settings)
        self.outbox = PoliceOutbox(
            settings,
            self.senders,
            context.sessions,
            context.writer,
            context.metrics,
            context.health,
            bus=context.bus,
            holder_id=None if self.cluster is None else self.cluster.instance_id,
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
        self.lease_keeper: LeaseKeeper | None = None
        self.election: LeaderElection | None = None
        self.gate_feed: RecordedGateFeed | None = None
        if self.cluster is not None:
            self.lease_holder = LeaseHolder(self.cluster.instance_id, self.cluster.lease_s)
            self.lease_keeper = LeaseKeeper(
                self.outbox, self.lease_holder, context.writer, settings, context.health
            )
            election = LeaderElection(
                context.engine,
                instance_id=self.cluster.instance_id,
                retry_s=self.cluster.leader_retry_s,
                health=context.health,
                metrics=context.metrics,
            )
            self.election = election
            self.gate_feed = RecordedGateFeed(
                self.gate_watch,
                context.sessions,
                context.health,
                is_leader=lambda: election.is_leader,
            )
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
                if self.lease_keeper is None:
                    await self.outbox.resume()
                else:
                    await self.lease_keeper.resume()
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
        release = None
        if self.cluster is not None:
            # Deliveries this instance stores are its own to send (when their lane allows).
            release = hold_deliveries(self.context.engine, self.lease_holder)
        try:
            await self._run()
        finally:
            if release is not None:
                release()

    async def _run(self) -> None:
        await self.prepare()
        # Everything made so far lives as long as the process: keep the collector from
        # walking it again and again (its full passes stalled the loop for ~100 ms).
        gc.freeze()
        rejections = self.rejections
        mqtt = self.context.settings.mqtt
        cluster = self.cluster
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
        # Alarms: a plain subscription on every instance, even among several (see
        # gateway/scale_out.py); the status topic is then shared, and defended.
        alarm_subscriber = MqttSubscriber(
            connection(mqtt, "alarms", cluster),
            [self._alarm_topic],
            will=(self.status_topic, "offline"),
            birth=(self.status_topic, "online"),
            on_state=self._broker_state("broker:alarms"),
            max_batch=100,
            defend_birth=cluster is not None,
        )
        telemetry_subscriber = MqttSubscriber(
            connection(mqtt, "telemetry", cluster),
            [telemetry_filter(mqtt.topic_prefix, cluster)],
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
                # Each instance keeps its own DC-09 links supervised (its deliveries use them);
                # the alerts about them are the leader's.
                for sender, link in self.police_links:
                    name = f"police-link:{sender.endpoint_id}"
                    group.create_task(sender.supervise(link.on_link), name=name)
                if self.election is None:
                    group.create_task(self._single_jobs(), name="single-jobs")
                else:
                    assert self.lease_keeper is not None and self.gate_feed is not None
                    group.create_task(self.lease_keeper.run(), name="outbox-leases")
                    group.create_task(self.gate_feed.run(), name="gate-feed")
                    group.create_task(self.election.run(self._single_jobs), name="leadership")
        finally:
            if self.lease_keeper is not None:
                await self.lease_keeper.release()
            await self.outbox.aclose()

    async def _single_jobs(self) -> None:
        """What must run once however many instances there are: on the leader among
        several. Escalation (each alarm escalated once), the watches and reminders of the
        record (each alert raised once), the sealer (one chain), Modbus polling and cameras
        (each device polled once: two pollers would report every change twice), and the
        alert publisher (the leader raises the alerts)."""
        if self.election is None:
            self.context.metrics.leader.set(1)  # a single gateway leads itself
        async with asyncio.TaskGroup() as group:
            group.create_task(self._publish_alerts(), name="alerts")
            group.create_task(self.escalation.run(), name="escalation")
            group.create_task(self.sealer.run(), name="audit-sealer")
            group.create_task(self.gate_watch.run(self.context.sessions), name="gate-watch")
            group.create_task(self.patrol_watch.run(self.context.sessions), name="patrol-watch")
            group.create_task(
                self.test_reminders.run(self.context.sessions), name="alarm-test-reminders"
            )
            for sender, link in self.police_links:
                group.create_task(link.run(), name=f"police-link:{sender.endpoint_id}:alerts")
            if self.modbus.configured:
                group.create_task(self.modbus.run(), name="modbus")
            if self.cameras.configured:
                group.create_task(self.cameras.run(), name="cameras")

    async def _publish_alerts(self) -> None:
        mqtt = self.context.settings.mqtt
        delay = mqtt.reconnect_initial_s
        while True:
            publisher = MqttPublisher(
                mqtt.url,
                client_id=client_id(mqtt.client_id, "alerts", self.cluster),
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
