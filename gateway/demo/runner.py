"""`campus-gateway demo`: the whole system on one machine, nothing installed beyond the package.

An embedded MQTT broker (amqtt), SQLite in a demo folder, the gateway, a simulated police
receiving centre, and simulated buttons pressing every few seconds."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import SplitResult, urlsplit

import uvicorn
from fastapi import FastAPI

from drivers.camera.snapshots import encode_jpeg
from drivers.mqtt.publisher import MqttPublisher
from gateway.app import create_app
from gateway.commands.users import add_user
from gateway.context import GatewayContext
from gateway.demo.broker import EmbeddedBroker
from gateway.domain import Role
from gateway.errors import ConfigError
from gateway.settings import Settings, SiaDc09Endpoint, WebhookEndpoint, load_settings
from simulators.button import press_forever
from simulators.camera import CameraOptions, render, serve_camera
from simulators.dc09_receiver import Dc09ReceiverOptions, serve_dc09_receiver
from simulators.gate_panel import GatePanelOptions, panel_state, serve_gate_panel
from simulators.patrol import PatrolPlanOptions, WandAccount, run_patrol_cli
from simulators.police import PoliceCentre, PoliceOptions, serve_police

log = logging.getLogger("gateway.demo")
PANEL_SEED = 1
PANEL_SPEED = 60.0  # a simulated day in 24 minutes
PATROL_SPEED = 600.0  # today's rounds since midnight replayed in a minute or two
BUILT_IN = Path(__file__).with_name("demo.yaml")
DEMO_USERS = (
    (Role.ADMIN, "admin", "demo-admin-pass"),
    (Role.POLICE, "police", "demo-police-pass"),
    (Role.INSPECTOR, "inspector", "demo-inspector-pass"),
    (Role.GUARD, "guard-li", "demo-guard-pass"),  # a guard of the first school (its guards:)
)


def demo_settings(config: Path | None, directory: Path, port: int) -> Settings:
    settings = load_settings(config or BUILT_IN)
    database = f"sqlite+aiosqlite:///{(directory / 'campus.db').resolve()}"
    gateway = settings.gateway.model_copy(update={"database_url": database, "http_port": port})
    return settings.model_copy(update={"gateway": gateway})


def shared_value(values: list[str | None]) -> str | None:
    """The one value every school has (a police station, a district), else None: a demo
    account scoped to it sees every demo school, as a city-level one would."""
    distinct = set(values)
    return values[0] if len(distinct) == 1 else None


def police_webhook(settings: Settings) -> WebhookEndpoint:
    for endpoint in settings.police:
        if isinstance(endpoint, WebhookEndpoint):
            return endpoint
    raise ConfigError(["police: the demo needs a webhook endpoint for its simulated centre"])


async def run_demo(
    directory: Path, *, port: int, press_every_s: float, config: Path | None = None
) -> None:
    await asyncio.to_thread(directory.mkdir, parents=True, exist_ok=True)
    settings = demo_settings(config, directory, port)
    settings = await asyncio.to_thread(_with_camera_references, settings, directory)
    endpoint = police_webhook(settings)
    police_url = urlsplit(endpoint.url)
    guard_school = settings.schools[0].id
    station = shared_value([s.police_station for s in settings.schools])
    district = shared_value([s.district for s in settings.schools])
    for role, username, password in DEMO_USERS:
        await add_user(
            settings,
            role=role,
            username=username,
            password=password,
            school_id=guard_school if role is Role.GUARD else None,
            # Scoped like real accounts, but only as far as still seeing every demo school.
            station=station if role is Role.POLICE else None,
            district=district if role is Role.INSPECTOR else None,
        )
    centre = PoliceCentre(
        PoliceOptions(secret=endpoint.secret, receipts_path=directory / "police-receipts.jsonl")
    )
    police_ready = asyncio.Event()
    stop = asyncio.Event()
    buttons = [(s.id, b.id) for s in settings.schools for b in s.alarm_buttons]
    async with EmbeddedBroker(settings.mqtt.host, settings.mqtt.port) as broker:
        app = create_app(settings)
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
        )
        async with asyncio.TaskGroup() as group:
            police_task = group.create_task(
                serve_police(
                    centre.options,
                    host=police_url.hostname or "127.0.0.1",
                    port=police_url.port or 80,
                    ready=police_ready,
                    centre=centre,
                ),
                name="demo:police",
            )
            panel = GatePanelOptions(port=_panel_port(settings), seed=PANEL_SEED, speed=PANEL_SPEED)
            simulators = [police_task]
            simulators.append(group.create_task(serve_gate_panel(panel), name="demo:gate-panel"))
            camera_url = _camera_url(settings)
            if camera_url is not None:
                camera = CameraOptions(
                    host=camera_url.hostname or "127.0.0.1",
                    port=camera_url.port or 80,
                    presence_at=_guard_follows_panel(panel),
                )
                simulators.append(group.create_task(serve_camera(camera), name="demo:camera"))
            for dc09 in settings.police:
                if isinstance(dc09, SiaDc09Endpoint):
                    receiver = Dc09ReceiverOptions(
                        host=dc09.host, port=dc09.port, key=dc09.key, accounts=None
                    )
                    simulators.append(
                        group.create_task(serve_dc09_receiver(receiver), name=f"demo:{dc09.id}")
                    )
            gateway_task = group.create_task(server.serve(), name="demo:gateway")
            await police_ready.wait()
            # uvicorn offers no event for "started"; a short poll is enough here.
            while not server.started and not gateway_task.done():  # noqa: ASYNC110
                await asyncio.sleep(0.1)
            if server.started:
                await _connected(app)
                _print_welcome(settings, port, endpoint.url, broker.url, directory)
                async with MqttPublisher(broker.url, client_id="demo-buttons") as publisher:
                    await _staff_other_gates(publisher, settings)
                    presses = group.create_task(
                        press_forever(
                            publisher,
                            prefix=settings.mqtt.topic_prefix,
                            buttons=buttons,
                            every_s=press_every_s,
                            stop=stop,
                        ),
                        name="demo:buttons",
                    )
                    admin = next(u for u in DEMO_USERS if u[0] is Role.ADMIN)
                    patrols = group.create_task(
                        run_patrol_cli(
                            settings,
                            speed=PATROL_SPEED,
                            since_midnight=True,
                            options=PatrolPlanOptions(),
                            wand=WandAccount(f"http://127.0.0.1:{port}", admin[1], admin[2]),
                            mqtt_url=broker.url,
                        ),
                        name="demo:patrols",
                    )
                    try:
                        await gateway_task
                    finally:
                        stop.set()
                        patrols.cancel()
                        await presses
            # The gateway has stopped (Ctrl-C, or a fault): so does everything around it. The
            # simulators are not left to the signal: each uvicorn server in the process takes
            # SIGINT over and hands it back when it ends, and where the demo was started with
            # SIGINT ignored (a background job of a script) the last one hands back "ignore".
            for task in simulators:
                task.cancel()


def _with_camera_references(settings: Settings, directory: Path) -> Settings:
    """Give each simulated post camera a picture of its empty post, as an installer would
    take one on site (otherwise the first frame is taken as empty, and the demo's guard is
    at his post when it starts)."""
    schools = []
    for school in settings.schools:
        gates = []
        for gate in school.gates:
            if gate.camera is not None and gate.presence.reference is None:
                path = directory / f"{gate.camera}-empty-post.jpg"
                empty = render(CameraOptions(), present=False)
                path.write_bytes(encode_jpeg(empty, quality=90))
                presence = gate.presence.model_copy(update={"reference": str(path)})
                gate = gate.model_copy(update={"presence": presence})
            gates.append(gate)
        schools.append(school.model_copy(update={"gates": gates}))
    return settings.model_copy(update={"schools": schools})


async def _connected(app: FastAPI) -> None:
    """Until the gateway's MQTT subscriptions are up (a message published before that would
    find no subscriber on a fresh broker), for at most 30 s."""
    context: GatewayContext = app.state.context
    for _ in range(300):
        states = context.health.snapshot()
        if all(states.get(c) and states[c].up for c in ("broker:alarms", "broker:telemetry")):
            return
        await asyncio.sleep(0.1)


def _panel_port(settings: Settings) -> int:
    devices = settings.modbus.devices
    return devices[0].port if devices else 15020


def _camera_url(settings: Settings) -> SplitResult | None:
    for school in settings.schools:
        for gate in school.gates:
            if gate.camera is not None and (camera := school.camera(gate.camera)) is not None:
                return urlsplit(camera.url)
    return None


def _guard_follows_panel(panel: GatePanelOptions) -> Callable[[float], bool]:
    """The camera sees what the panel's occupancy input says, on the same simulated clock."""
    start = datetime.combine(date.today(), panel.start_at)
    seed = panel.seed if panel.seed is not None else PANEL_SEED

    def present(elapsed_s: float) -> bool:
        at = start + timedelta(seconds=elapsed_s * panel.speed)
        return panel_state(at, seed=seed).guard_present

    return present


async def _staff_other_gates(publisher: MqttPublisher, settings: Settings) -> None:
    """Gates without a panel get a guard who reports for duty over MQTT, so that the demo's
    only unstaffed alerts are the panel guard's long absence."""
    paneled = {(s.school, s.target_id) for s in settings.modbus.signals if s.target_kind == "gate"}
    now = datetime.now(UTC).isoformat()
    for school in settings.schools:
        for gate in school.gates:
            if (school.id, gate.id) in paneled:
                continue
            body = {"event": "guard_on", "ts": now, "id": f"demo-duty-{now}", "guard": "demo"}
            await publisher.publish(
                f"{settings.mqtt.topic_prefix}/{school.id}/gate/{gate.id}/event",
                json.dumps(body),
                qos=1,
            )


def _print_welcome(
    settings: Settings, port: int, police_url: str, broker_url: str, directory: Path
) -> None:
    base = f"http://127.0.0.1:{port}"
    police = urlsplit(police_url)
    lines = [
        "",
        "Campus security gateway demo (护校安园) is running. Ctrl-C stops it.",
        f"  Sign in             {base}/   (each account lands on its own home page)",
        f"  API documentation   {base}/docs",
        f"  Police console      {base}/police   (sign in as police)",
        f"  Inspector's pages   {base}/inspector   (sign in as inspector: calendar, test logs,",
        "    monthly report XLSX/PDF/CSV, ratings, log verification)",
        f"  Alarms (API)        {base}/api/v1/alarms   (log in first: POST /api/v1/auth/token)",
        f"  Readiness           {base}/readyz",
        f"  Metrics             {base}/metrics",
        f"  Police centre       {police.scheme}://{police.netloc}/receipts   (what 110 received)",
        *[
            f"  DC-09 centre        {e.host}:{e.port} {e.transport} (its events print below)"
            for e in settings.police
            if isinstance(e, SiaDc09Endpoint)
        ],
        f"  MQTT broker         {broker_url}   (prefix {settings.mqtt.topic_prefix})",
        f"  Data                {directory.resolve()}",
        "  Logins (demo only):",
        *[f"    {role.value:<10} {user} / {password}" for role, user, password in DEMO_USERS],
        f"  Buttons pressing every few seconds at {len(settings.schools)} schools.",
        f"  Guard's phone page  {base}/guard   (sign in as guard-li)",
        "  Guards replay today's rounds since midnight in two minutes, then walk live (the",
        "    replayed scans arrive late, like a wand's upload: the first patrol_overdue alerts",
        "    are for rounds that are then recorded late); one forged tag per school;",
        f"    patrols {base}/api/v1/compliance/patrols, QR posters: campus-gateway "
        "checkpoints print --config config/demo.yaml --school fy-dongguan-ms",
        f"  Gate panel (Modbus TCP) 127.0.0.1:{_panel_port(settings)}: a guard's day in 24 min;",
        f"    live posts {base}/api/v1/gates, today's record "
        f"{base}/api/v1/compliance/gate-staffing",
        "",
    ]
    print("\n".join(lines), flush=True)
