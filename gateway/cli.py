"""The `campus-gateway` command (spec section 6). Every command takes `--config PATH`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from gateway.domain import Role
from gateway.errors import ConfigError, GatewayError
from gateway.settings import Settings, load_settings

if TYPE_CHECKING:
    from gateway.commands.accounts import Changed

app = typer.Typer(
    no_args_is_help=True, add_completion=False, help="Campus security gateway (护校安园)"
)
db_app = typer.Typer(no_args_is_help=True, help="Database maintenance")
user_app = typer.Typer(no_args_is_help=True, help="Accounts")
simulate_app = typer.Typer(no_args_is_help=True, help="Simulated devices and police centre")
checkpoints_app = typer.Typer(no_args_is_help=True, help="Patrol checkpoints: QR posters")
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")
app.add_typer(simulate_app, name="simulate")
app.add_typer(checkpoints_app, name="checkpoints")
audit_app = typer.Typer(no_args_is_help=True, help="The tamper-evident log")
app.add_typer(audit_app, name="audit")

report_app = typer.Typer(no_args_is_help=True, help="Reports: the monthly statistics")
app.add_typer(report_app, name="report")

ConfigOption = Annotated[
    Path, typer.Option("--config", "-c", help="Site configuration (YAML)", show_default=False)
]


def _setup_logging(verbose: bool = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
    )
    # One line per HTTP request to the police is noise; the outbox logs each acknowledgement.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)


def _load(config: Path) -> Settings:
    try:
        return load_settings(config)
    except ConfigError as exc:
        typer.echo(f"{config}: invalid configuration", err=True)
        for problem in exc.problems:
            typer.echo(f"  {problem}", err=True)
        raise typer.Exit(2) from exc


def _fail(exc: GatewayError) -> typer.Exit:
    typer.echo(f"error: {exc}", err=True)
    return typer.Exit(1)


@app.command("check-config")
def check_config(config: ConfigOption) -> None:
    """Validate a site configuration; print every problem with its key."""
    settings = _load(config)
    buttons = sum(len(s.alarm_buttons) for s in settings.schools)
    gates = sum(len(s.gates) for s in settings.schools)
    checkpoints = sum(len(s.checkpoints) for s in settings.schools)
    counts = [
        _count(len(settings.schools), "school"),
        _count(buttons, "alarm button"),
        _count(gates, "gate"),
        _count(checkpoints, "checkpoint"),
        _count(len(settings.police), "police endpoint"),
        _count(len(settings.modbus.devices), "modbus device"),
    ]
    typer.echo(f"{config}: OK — {', '.join(counts)}")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


@app.command("run")
def run(
    config: ConfigOption,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Run the gateway service."""
    from gateway.server import serve

    settings = _load(config)
    _setup_logging(verbose)
    try:
        asyncio.run(serve(settings))
    except ConfigError as exc:
        typer.echo(f"{config}: the gateway cannot run this configuration", err=True)
        for problem in exc.problems:
            typer.echo(f"  {problem}", err=True)
        raise typer.Exit(2) from exc
    except GatewayError as exc:
        raise _fail(exc) from exc
    except KeyboardInterrupt:
        pass


@app.command("demo")
def demo(
    directory: Annotated[Path, typer.Option("--dir", help="Where the demo keeps its data")] = Path(
        "demo-data"
    ),
    port: Annotated[int, typer.Option(help="HTTP port of the gateway")] = 8080,
    press_every_s: Annotated[float, typer.Option(help="Seconds between simulated presses")] = 5.0,
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="Demo configuration (default: built in)")
    ] = None,
) -> None:
    """Everything on one machine: embedded broker, SQLite, simulated buttons and police."""
    from gateway.demo.runner import run_demo

    _setup_logging()
    try:
        asyncio.run(run_demo(directory, port=port, press_every_s=press_every_s, config=config))
    except GatewayError as exc:
        raise _fail(exc) from exc
    except KeyboardInterrupt:
        pass


@db_app.command("upgrade")
def db_upgrade(config: ConfigOption) -> None:
    """Apply the database migrations."""
    from gateway.storage.database import create_engine
    from gateway.storage.migrate import upgrade_database

    settings = _load(config)

    async def upgrade() -> None:
        engine = create_engine(
            settings.gateway.database_url, schema=settings.gateway.database_schema
        )
        try:
            await upgrade_database(engine)
        finally:
            await engine.dispose()

    asyncio.run(upgrade())
    typer.echo("database is up to date")


@user_app.command("add")
def user_add(
    config: ConfigOption,
    role: Annotated[Role, typer.Option(help="guard, police, inspector or admin")],
    username: Annotated[str, typer.Option()],
    password: Annotated[str, typer.Option()],
    school: Annotated[str | None, typer.Option(help="The school a guard belongs to")] = None,
    station: Annotated[
        str | None,
        typer.Option(
            help="Police only: see the schools of this station (schools[].police_station)"
        ),
    ] = None,
    district: Annotated[
        str | None,
        typer.Option(help="Inspectors only: see the schools of this district (schools[].district)"),
    ] = None,
) -> None:
    """Create an account (or reset its password, role and scope). Police and inspectors
    without --station or --district see every school."""
    from gateway.commands.users import InvalidAccount, add_user

    settings = _load(config)
    try:
        created = asyncio.run(
            add_user(
                settings,
                role=role,
                username=username,
                password=password,
                school_id=school,
                station=station,
                district=district,
            )
        )
    except InvalidAccount as exc:
        typer.echo("the account was not saved:", err=True)
        for problem in exc.problems:
            typer.echo(f"  {problem}", err=True)
        raise typer.Exit(2) from exc
    except GatewayError as exc:
        raise _fail(exc) from exc
    typer.echo(f"{'created' if created else 'updated'} {role} {username}")


UsernameOption = Annotated[str, typer.Option(help="The account")]


@user_app.command("list")
def user_list(config: ConfigOption) -> None:
    """Every account: its role, what it sees, whether it may sign in, when it was made and
    last changed. No password or token is shown."""
    from gateway.commands.accounts import describe_accounts, list_accounts

    settings = _load(config)
    try:
        accounts = asyncio.run(list_accounts(settings))
    except GatewayError as exc:
        raise _fail(exc) from exc
    for line in describe_accounts(accounts, settings.gateway.zone):
        typer.echo(line)


@user_app.command("disable")
def user_disable(config: ConfigOption, username: UsernameOption) -> None:
    """Stop an account signing in: its tokens and web sessions end at once. `user enable`
    lets it sign in again (with the same password); `user add` resets it."""
    from gateway.commands.accounts import set_enabled

    _change_account(config, lambda settings: set_enabled(settings, username, enabled=False))


@user_app.command("enable")
def user_enable(config: ConfigOption, username: UsernameOption) -> None:
    """Let a disabled account sign in again (tokens from before stay ended)."""
    from gateway.commands.accounts import set_enabled

    _change_account(config, lambda settings: set_enabled(settings, username, enabled=True))


@user_app.command("remove")
def user_remove(config: ConfigOption, username: UsernameOption) -> None:
    """Delete an account: its tokens and web sessions end at once. The records it made keep
    its name; `user add` may use the name again, for a new account."""
    from gateway.commands.accounts import remove_account

    _change_account(config, lambda settings: remove_account(settings, username))


def _change_account(
    config: Path, change: Callable[[Settings], Coroutine[Any, Any, Changed]]
) -> None:
    settings = _load(config)
    try:
        changed = asyncio.run(change(settings))
    except GatewayError as exc:
        raise _fail(exc) from exc
    account = changed.account
    if changed.unchanged:
        typer.echo(f"{account.role} {account.username} was already {changed.change}")
        return
    ended = changed.sessions_ended
    sessions = f", {ended} web session(s) ended" if ended else ""
    typer.echo(f"{changed.change} {account.role} {account.username}{sessions}")


@audit_app.command("verify")
def audit_verify(
    config: ConfigOption,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON")] = False,
    anchor: Annotated[
        list[str] | None,
        typer.Option(
            help="SEQ:HASH of a head noted earlier (on a monthly report): must still hold"
        ),
    ] = None,
) -> None:
    """Check that no record was edited or deleted behind the gateway's back: exit 0 when the
    log is intact, 3 (with the first broken link) when it is not, 1 when it cannot be read."""
    from gateway.api.audit_schemas import AuditVerifyOut
    from gateway.audit.chain import parse_anchor
    from gateway.commands.audit import describe, verify_log

    settings = _load(config)
    try:
        anchors = [parse_anchor(text) for text in anchor or []]
    except GatewayError as exc:
        typer.echo(f"--anchor: {exc}", err=True)
        raise typer.Exit(2) from exc
    try:
        result = asyncio.run(verify_log(settings, anchors))
    except GatewayError as exc:
        raise _fail(exc) from exc
    if as_json:
        typer.echo(AuditVerifyOut.of(result, settings.gateway.zone).model_dump_json(indent=2))
    else:
        for line in describe(result):
            typer.echo(line)
    if not result.ok:
        raise typer.Exit(3)


@report_app.command("monthly")
def report_monthly(
    config: ConfigOption,
    month: Annotated[str, typer.Option(help="Local month YYYY-MM", show_default=False)],
    report_format: Annotated[
        str, typer.Option("--format", help="all, json, csv, xlsx or pdf")
    ] = "all",
    out: Annotated[Path, typer.Option(help="Folder for the files")] = Path("."),
) -> None:
    """The monthly report (per school, district and site; the "4个100%") as files named
    campus-report-YYYY-MM.<ext>; each export is recorded in the audit log."""
    from gateway.commands.reports import BadOption, export_monthly_report

    settings = _load(config)
    now = datetime.now(UTC)
    try:
        written = asyncio.run(
            export_monthly_report(
                settings, month=month, format_text=report_format, directory=out, now=now
            )
        )
    except BadOption as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    except GatewayError as exc:
        raise _fail(exc) from exc
    for path in written:
        typer.echo(str(path))


@simulate_app.command("button")
def simulate_button(
    config: ConfigOption,
    school: Annotated[str, typer.Option(help="School id")],
    button: Annotated[str, typer.Option(help="Alarm button id")],
    event: Annotated[str, typer.Option(help="press, test, restore, fault or tamper")] = "press",
    count: Annotated[int, typer.Option(help="How many events")] = 1,
    interval_s: Annotated[float, typer.Option(help="Seconds between events")] = 1.0,
    mqtt_url: Annotated[str | None, typer.Option(help="Broker (default: the config's)")] = None,
) -> None:
    """Press an alarm button (once, or a series) over MQTT."""
    from simulators.button import run_button_cli

    settings = _load(config)
    try:
        asyncio.run(
            run_button_cli(
                settings,
                school=school,
                button=button,
                event=event,
                count=count,
                interval_s=interval_s,
                mqtt_url=mqtt_url,
            )
        )
    except GatewayError as exc:
        raise _fail(exc) from exc


@simulate_app.command("patrol")
def simulate_patrol(
    config: ConfigOption,
    speed: Annotated[
        float, typer.Option(help="Simulated seconds per real second until it reaches now")
    ] = 600.0,
    since_midnight: Annotated[
        bool, typer.Option(help="Replay today from local midnight (fast), then go on live")
    ] = True,
    seed: Annotated[int, typer.Option(help="Seed of the guards' days")] = 1,
    miss_share: Annotated[float, typer.Option(help="Share of rounds nobody walks")] = 0.1,
    wand_share: Annotated[float, typer.Option(help="Share of rounds on an offline wand")] = 0.25,
    forged: Annotated[int, typer.Option(help="Forged tags per school and day")] = 1,
    days: Annotated[int | None, typer.Option(help="Stop after N days (default: never)")] = None,
    gateway_url: Annotated[
        str | None, typer.Option(help="Gateway HTTP address for wand uploads (else MQTT)")
    ] = None,
    username: Annotated[str | None, typer.Option(help="Account for wand uploads")] = None,
    password: Annotated[
        str | None, typer.Option(help="Its password", envvar="CAMPUS_PASSWORD")
    ] = None,
    mqtt_url: Annotated[str | None, typer.Option(help="Broker (default: the config's)")] = None,
) -> None:
    """Guards walking their rounds past the checkpoint readers (MQTT), some rounds on an
    offline wand uploaded late, a few missed, a forged tag now and then."""
    from simulators.patrol import PatrolPlanOptions, WandAccount, run_patrol_cli

    _setup_logging()
    settings = _load(config)
    wand = None
    if gateway_url is not None:
        if username is None or password is None:
            raise _fail(ConfigError(["--username and --password are needed for wand uploads"]))
        wand = WandAccount(gateway_url, username, password)
    options = PatrolPlanOptions(
        seed=seed, miss_share=miss_share, wand_share=wand_share, forged=forged
    )
    _serve(
        lambda: run_patrol_cli(
            settings,
            speed=speed,
            since_midnight=since_midnight,
            options=options,
            wand=wand,
            mqtt_url=mqtt_url,
            days=days,
        )
    )


@checkpoints_app.command("print")
def checkpoints_print(
    config: ConfigOption,
    school: Annotated[str, typer.Option(help="School id")],
    output: Annotated[
        Path | None,
        typer.Option(help="A .pdf or .png file (default: checkpoints-SCHOOL.pdf)"),
    ] = None,
    key_version: Annotated[
        int | None, typer.Option(help="Sign with this key version (default: patrol.current_key)")
    ] = None,
    all_checkpoints: Annotated[
        bool, typer.Option("--all", help="Every checkpoint, not only the key areas")
    ] = False,
) -> None:
    """A printable sheet of signed QR posters for a school's checkpoints, names in Chinese."""
    from gateway.commands.checkpoints import print_checkpoint_sheet

    settings = _load(config)
    target = output or Path(f"checkpoints-{school}.pdf")
    try:
        written = print_checkpoint_sheet(
            settings, school, target, key_version=key_version, include_all=all_checkpoints
        )
    except GatewayError as exc:
        raise _fail(exc) from exc
    if written != target:
        typer.echo(f"wrote {written} and the pages after it ({target.stem}-2{target.suffix}, …)")
    else:
        typer.echo(f"wrote {written}")


@simulate_app.command("police")
def simulate_police(
    secret: Annotated[str, typer.Option(help="Shared webhook secret", envvar="POLICE_SECRET")],
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 9110,
    fail_first: Annotated[int, typer.Option(help="Answer 503 to the first N requests")] = 0,
    fail_rate: Annotated[float, typer.Option(help="Answer 503 to this share of requests")] = 0.0,
    delay_s: Annotated[float, typer.Option(help="Wait this long before answering")] = 0.0,
    receipts: Annotated[
        Path | None, typer.Option(help="Append receipts to this JSONL file")
    ] = None,
) -> None:
    """A police alarm receiving centre: checks signatures, prints and keeps receipts."""
    from simulators.police import PoliceOptions, serve_police

    _setup_logging()
    options = PoliceOptions(
        secret=secret,
        fail_first=fail_first,
        fail_rate=fail_rate,
        delay_s=delay_s,
        receipts_path=receipts,
    )
    _serve(lambda: serve_police(options, host=host, port=port))


@simulate_app.command("gate-panel")
def simulate_gate_panel(
    host: Annotated[str, typer.Option(help="Address to serve Modbus TCP on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Modbus TCP port")] = 5020,
    unit: Annotated[int, typer.Option(help="Modbus unit id")] = 1,
    speed: Annotated[
        float, typer.Option(help="Simulated seconds per real second (60: a day in 24 min)")
    ] = 60.0,
    seed: Annotated[int, typer.Option(help="Seed of the guard's day")] = 1,
    press_every_min: Annotated[
        float | None,
        typer.Option(help="Press the alarm button every N simulated minutes (default never)"),
    ] = None,
) -> None:
    """A gate-post panel over Modbus TCP with a scripted guard: discrete input 0 = post
    occupied, discrete input 1 = gate open, coil 3 = the alarm button."""
    from simulators.gate_panel import GatePanelOptions, serve_gate_panel

    _setup_logging()
    options = GatePanelOptions(
        host=host,
        port=port,
        unit=unit,
        speed=speed,
        seed=seed,
        press_every_min=press_every_min,
    )
    _serve(lambda: serve_gate_panel(options))


@simulate_app.command("camera")
def simulate_camera(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8554,
    present: Annotated[bool, typer.Option(help="A guard at the post at the start")] = False,
    seed: Annotated[int, typer.Option(help="Seed of the drawn scene")] = 7,
    video: Annotated[
        Path | None,
        typer.Option(help="Write a generated video (MJPG .avi) here instead of serving"),
    ] = None,
    seconds: Annotated[float, typer.Option(help="Length of the --video")] = 10.0,
) -> None:
    """A camera at a gate post: GET /snapshot.jpg, GET /reference.jpg (the empty post),
    PUT /presence {"present": true|false}, PUT /lights {"gain": 1.6}. With --video, writes a
    generated video instead: a camera `url` may name the file (OpenCV reads it)."""
    from simulators.camera import CameraOptions, serve_camera, write_camera_video

    _setup_logging()
    options = CameraOptions(host=host, port=port, present=present, seed=seed)
    if video is None:
        _serve(lambda: serve_camera(options))
        return
    try:
        frames = write_camera_video(video, options, seconds=seconds)
    except GatewayError as exc:
        raise _fail(exc) from exc
    typer.echo(f"wrote {frames} frames to {video}")


@simulate_app.command("dc09-receiver")
def simulate_dc09_receiver(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP and UDP port")] = 7000,
    key: Annotated[
        str | None,
        typer.Option(help="AES key: 16, 24 or 32 characters, as configured", envvar="DC09_KEY"),
    ] = None,
    account: Annotated[
        list[str] | None, typer.Option(help="Accept only this account (repeatable)")
    ] = None,
    max_skew_s: Annotated[float, typer.Option(help="Accept timestamps this far ahead")] = 20.0,
    max_age_s: Annotated[float, typer.Option(help="Accept timestamps this old")] = 40.0,
    nak_first: Annotated[int, typer.Option(help="Answer NAK to the first N events")] = 0,
    silent: Annotated[bool, typer.Option(help="Never answer (tests supervision)")] = False,
) -> None:
    """A SIA DC-09 alarm receiving centre on TCP and UDP: checks CRC, length, encryption and
    timestamp, answers ACK or NAK, prints each event."""
    from simulators.dc09_receiver import Dc09ReceiverOptions, serve_dc09_receiver

    _setup_logging()
    _serve(
        lambda: serve_dc09_receiver(
            Dc09ReceiverOptions(
                host=host,
                port=port,
                key=key,
                accounts=frozenset(a.upper() for a in account) if account else None,
                max_skew_s=max_skew_s,
                max_age_s=max_age_s,
                nak_first=nak_first,
                silent=silent,
            )
        )
    )


def _serve(server: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run a simulator until Ctrl-C; an error of ours is one line and a non-zero exit.
    `server` is called inside, so that invalid options are reported the same way."""
    try:
        asyncio.run(server())
    except GatewayError as exc:
        raise _fail(exc) from exc
    except KeyboardInterrupt:
        pass


def main() -> None:
    app()
