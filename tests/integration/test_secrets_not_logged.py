"""No secret ever shows: the webhook HMAC secret, the DC-09 AES key, the MQTT and database
passwords, `gateway.secret_key`, the patrol key and a user's password appear nowhere in the
logs (everything at DEBUG, tracebacks included), in what the simulators print, in /readyz,
/metrics or any HTTP answer, in configuration errors or in the reprs of what holds them.

The gateway runs in-process against a Mosquitto that checks passwords (so the MQTT password
is really used), PostgreSQL reached with a password in its URL, a webhook centre checking
the signature and an encrypted DC-09 receiver; a press goes through to both."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import traceback
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from asgi_lifespan import LifespanManager
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from drivers.mqtt.publisher import MqttPublisher, parse_broker_url
from drivers.mqtt.subscriber import MqttConnection
from gateway.app import create_app
from gateway.cli import app as cli_app
from gateway.commands.users import add_user
from gateway.context import open_context
from gateway.domain import Role
from gateway.errors import ConfigError, GatewayError
from gateway.runtime import connection
from gateway.settings import Settings, parse_settings
from simulators.button import press_button
from simulators.dc09_receiver import Dc09Receiver, Dc09ReceiverOptions
from simulators.police import PoliceCentre, PoliceOptions, serve_police
from tests.support.dc09 import serving
from tests.support.gateway import running
from tests.support.police import eventually
from tests.support.services import MosquittoBroker, free_port
from tests.support.site import site_tree

pytestmark = [pytest.mark.mosquitto, pytest.mark.postgres]

# Distinctive values: none can turn up in a log by chance.
WEBHOOK_SECRET = "whk-Qz7Lp2Vx9Rm4"
DC09_KEY = "9F3A1C7E5B2D8F04"  # AES-128, the characters are the key bytes
MQTT_USER = "campus-gw"
MQTT_PASSWORD = "mqP-Hx4Wt8Kd1Zs"
DB_PASSWORD = "dbP-Ny6Fq3Jc5Tb"
TOKEN_KEY = "tok-Rv2Gm7Ls9Dw4Ye8"
PATROL_KEY = "pat-Ub5Kx1Mz6Hq3Cv0"
USER_PASSWORD = "usr-Ej8Pa4Wn2Xt7"
WRONG_PASSWORD = "bad-Ti3Oy9Bf5Gr1"
CAMERA_PASSWORD = "cam-Vd4Hs8Lq6Oe2"
SECRETS = (
    WEBHOOK_SECRET,
    DC09_KEY,
    MQTT_PASSWORD,
    DB_PASSWORD,
    TOKEN_KEY,
    PATROL_KEY,
    USER_PASSWORD,
    WRONG_PASSWORD,
    CAMERA_PASSWORD,
)
ACCOUNT = "1A2B"


def leaked(text: str, secrets: tuple[str, ...] = SECRETS) -> list[str]:
    # Case-insensitive: a hex key printed in lower case is still the key.
    return [secret for secret in secrets if secret.lower() in text.lower()]


class PasswordBroker(MosquittoBroker):
    """Mosquitto that checks passwords: anonymous clients (the test's buttons) may connect,
    a client that gives a username must give its password."""

    def write_config(self) -> Path:
        conf = super().write_config()
        passwords = self.directory / "passwords"
        passwords.touch(mode=0o600)
        subprocess.run(
            ["mosquitto_passwd", "-b", str(passwords), MQTT_USER, MQTT_PASSWORD],
            check=True,
            capture_output=True,
        )
        conf.write_text(conf.read_text() + f"password_file {passwords}\n")
        return conf

    def url_with_login(self, password: str = MQTT_PASSWORD) -> str:
        return f"mqtt://{MQTT_USER}:{password}@{self.host}:{self.port}"


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[PasswordBroker]:
    if subprocess.run(["which", "mosquitto_passwd"], capture_output=True).returncode != 0:
        pytest.skip("mosquitto_passwd is not installed (apt-get install mosquitto)")
    broker = PasswordBroker(directory=tmp_path / "mosquitto", persistence=False)
    broker.directory.mkdir()
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture
def all_logs() -> Iterator[list[str]]:
    """Every log record of every logger at DEBUG, formatted with its traceback."""
    lines: list[str] = []
    formatter = logging.Formatter("%(levelname)s %(name)s: %(message)s")

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(formatter.format(record))

    handler = Keep(level=logging.DEBUG)
    root = logging.getLogger()
    levels: dict[logging.Logger, int] = {root: root.level}
    for logger in logging.root.manager.loggerDict.values():
        if isinstance(logger, logging.Logger):
            levels[logger] = logger.level
    for logger in levels:
        logger.setLevel(logging.DEBUG)
    # SQLAlchemy would log every statement and row: the database is not where secrets go, and
    # its volume would slow the alarm path past the test's patience.
    logging.getLogger("sqlalchemy").setLevel(logging.WARNING)
    root.addHandler(handler)
    try:
        yield lines
    finally:
        root.removeHandler(handler)
        for logger, level in levels.items():
            logger.setLevel(level)


def db_url_with_password(url: str) -> str:
    # The test server trusts local connections, so any password is accepted: what matters
    # is that the gateway holds one.
    return make_url(url).set(password=DB_PASSWORD).render_as_string(hide_password=False)


def settings_for(
    broker: PasswordBroker,
    database: tuple[str, str | None],
    webhook_url: str,
    dc09_port: int,
) -> Settings:
    url, schema = database
    tree = site_tree(
        mqtt_url=broker.url_with_login(),
        database_url=db_url_with_password(url),
        database_schema=schema,
        police_urls={"110": webhook_url},
    )
    tree["gateway"]["secret_key"] = "${TOKEN_KEY}"
    tree["patrol"] = {"keys": {1: "${PATROL_KEY}"}}
    tree["police"][0]["secret"] = "${WEBHOOK_SECRET}"
    # The camera beside btn-north does not answer: its failure is logged, its password not.
    camera = tree["schools"][0]["cameras"][0]
    camera["url"] = f"http://admin:${{CAMERA_PASSWORD}}@127.0.0.1:{free_port()}/snapshot.jpg"
    tree["police"].append(
        {
            "id": "110-dc09",
            "kind": "sia-dc09",
            "host": "127.0.0.1",
            "port": dc09_port,
            "account": ACCOUNT,
            "key": "${DC09_KEY}",
            "supervision_s": 0.5,
            "timeout_s": 0.5,
            "retry": {"initial_s": 0.1, "max_s": 0.5},
        }
    )
    environ = {"TOKEN_KEY": TOKEN_KEY, "PATROL_KEY": PATROL_KEY}
    environ |= {"WEBHOOK_SECRET": WEBHOOK_SECRET, "DC09_KEY": DC09_KEY}
    environ["CAMERA_PASSWORD"] = CAMERA_PASSWORD
    return parse_settings(tree, environ)


@asynccontextmanager
async def webhook_centre() -> AsyncIterator[tuple[PoliceCentre, str]]:
    centre = PoliceCentre(PoliceOptions(secret=WEBHOOK_SECRET))
    port = free_port()
    ready = asyncio.Event()
    task = asyncio.create_task(
        serve_police(centre.options, host="127.0.0.1", port=port, ready=ready, centre=centre),
        name="test-police",
    )
    try:
        await asyncio.wait_for(ready.wait(), 10)
        yield centre, f"http://127.0.0.1:{port}/alarms"
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task


async def test_a_press_through_to_both_centres_leaks_no_secret(
    broker: PasswordBroker,
    postgres_database: tuple[str, str | None],
    all_logs: list[str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    answers: list[str] = []
    dc09 = Dc09Receiver(Dc09ReceiverOptions(port=0, key=DC09_KEY, accounts=frozenset({ACCOUNT})))
    async with webhook_centre() as (centre, webhook_url), serving(dc09) as receiver:
        settings = settings_for(broker, postgres_database, webhook_url, receiver.port)
        async with running(settings) as app:
            await eventually(lambda: receiver.nulls > 0, what="a supervision NULL")
            async with MqttPublisher(broker.url, client_id="btn") as publisher:
                for button in ("btn-office", "btn-north"):
                    await press_button(
                        publisher, prefix="campus", school="fy-dongguan-ms", button=button
                    )
            await eventually(lambda: len(centre.receipts) == 2, what="the webhook receipts")
            await eventually(lambda: len(receiver.events) == 2, what="the DC-09 events")
            assert all(e.encrypted for e in receiver.events)  # the key was used

            await add_user(
                settings,
                role=Role.ADMIN,
                username="admin-wang",
                password=USER_PASSWORD,
                school_id=None,
            )
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://gw") as http:
                refused = await http.post(
                    "/api/v1/auth/token",
                    data={"username": "admin-wang", "password": WRONG_PASSWORD},
                )
                assert refused.status_code == 401
                malformed = await http.post("/api/v1/auth/token", data={"password": WRONG_PASSWORD})
                assert malformed.status_code == 422
                signed_in = await http.post(
                    "/api/v1/auth/token",
                    data={"username": "admin-wang", "password": USER_PASSWORD},
                )
                assert signed_in.status_code == 200
                token = signed_in.json()["access_token"]
                bearer = {"Authorization": f"Bearer {token}"}
                ready = await http.get("/readyz")
                assert ready.status_code == 200, ready.text
                metrics = await http.get("/metrics")
                assert "campus_alarms_forwarded_total" in metrics.text
                answers += [refused.text, malformed.text, signed_in.text, ready.text, metrics.text]
                for path in ("/api/v1/auth/me", "/api/v1/alarms"):
                    answer = await http.get(path, headers=bearer)
                    assert answer.status_code == 200, answer.text
                    answers.append(answer.text)
            context = app.state.context
            shown = [
                repr(context.settings),
                str(context.settings),
                repr(connection(settings.mqtt, "alarms")),
                repr(parse_broker_url(settings.mqtt.url)),
                repr(context.engine.url),
                str(context.engine.url),
                repr(context.engine),
            ]
    printed = capsys.readouterr()
    assert any("signed in" in line for line in all_logs), "the logs were not captured"
    assert any("cam-north" in line for line in all_logs), "the camera's failure not logged"
    assert not leaked("\n".join(all_logs)), "a secret in the logs"
    assert not leaked(printed.out + printed.err), "a secret printed"
    assert not leaked("\n".join(answers)), "a secret in an HTTP answer"
    # The settings' own repr is pydantic's and holds every secret (settings.py keeps them as
    # plain str): only what the gateway itself makes is checked here.
    assert not leaked("\n".join(shown[2:])), "a secret in a repr"


async def test_a_refused_broker_login_and_an_unreachable_database_leak_no_password(
    broker: PasswordBroker,
    postgres_database: tuple[str, str | None],
    all_logs: list[str],
) -> None:
    wrong = "mqW-Fz5Rd0Ak7Np"
    url, schema = postgres_database
    tree = site_tree(
        mqtt_url=broker.url_with_login(wrong),
        database_url=db_url_with_password(url),
        database_schema=schema,
        police_urls={},
    )
    settings = parse_settings(tree)
    app = create_app(settings)
    async with LifespanManager(app, startup_timeout=30, shutdown_timeout=30):
        health = app.state.context.health
        await eventually(
            lambda: any(
                not state.up and state.detail != "starting"
                for name, state in health.snapshot().items()
                if name.startswith("broker")
            ),
            what="the broker to refuse the login",
        )
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as http:
            ready = await http.get("/readyz")
        assert ready.status_code == 503
        assert not leaked(ready.text, (wrong, DB_PASSWORD))

    # A database that does not answer: the error names it, without its password.
    closed = make_url(db_url_with_password(url)).set(port=free_port())
    unreachable = settings.model_copy(
        update={
            "gateway": settings.gateway.model_copy(
                update={"database_url": closed.render_as_string(hide_password=False)}
            )
        }
    )
    with pytest.raises(GatewayError) as caught:
        await open_context(unreachable)
    assert "gateway.database_url" in str(caught.value)
    assert not leaked(str(caught.value), (DB_PASSWORD,))
    assert any("broker" in line for line in all_logs), "the logs were not captured"
    assert not leaked("\n".join(all_logs), (wrong, DB_PASSWORD))


BAD_SECRETS = {
    "mqtt": "mqB-Lk4Sv8Qp2Wd",
    "database": "dbB-Hy3Nc7Rx1Mf",
    "token": "tokB-Zr5",  # too short
    "webhook": "whB-Q9x",  # too short
    "dc09": "9F3A1C7E5B2D8F0",  # 15 characters
    "dc09_not_hex": "ZZ3A1C7E5B2D8F04",
    "patrol": "patB-Jv2",  # too short
}


def bad_tree() -> dict[str, Any]:
    tree = site_tree(
        mqtt_url=f"mqtt://gw:{BAD_SECRETS['mqtt']}@127.0.0.1:notaport",
        database_url=f"mysql://root:{BAD_SECRETS['database']}@127.0.0.1/campus",
        database_schema=None,
        police_urls={"110": "https://110.example/alarms"},
    )
    tree["gateway"]["secret_key"] = "${TOKEN_KEY}"
    tree["patrol"] = {"keys": {1: BAD_SECRETS["patrol"]}}
    tree["police"][0]["secret"] = "${WEBHOOK_SECRET}"
    tree["police"] += [
        {"id": f"dc09-{n}", "kind": "sia-dc09", "host": "127.0.0.1", "port": 7000,
         "account": ACCOUNT, "key": key}
        for n, key in enumerate((BAD_SECRETS["dc09"], BAD_SECRETS["dc09_not_hex"]))
    ]  # fmt: skip
    return tree


def test_configuration_errors_name_the_key_never_the_secret(tmp_path: Path) -> None:
    environ = {"TOKEN_KEY": BAD_SECRETS["token"], "WEBHOOK_SECRET": BAD_SECRETS["webhook"]}
    secrets = tuple(BAD_SECRETS.values())
    with pytest.raises(ConfigError) as caught:
        parse_settings(bad_tree(), environ)
    problems = "\n".join(caught.value.problems)
    for key in (
        "mqtt.url",
        "gateway.database_url",
        "gateway.secret_key",
        "police[0].secret",
        "police[1].key",
        "police[2].key",
        "patrol.keys",
    ):
        assert key in problems, f"{key} not named in:\n{problems}"
    assert not leaked(problems + str(caught.value), secrets), problems

    # A password inside an otherwise bad MQTT URL, as the publisher reports it.
    with pytest.raises(ConfigError) as bad_url:
        parse_broker_url(f"tcp://gw:{BAD_SECRETS['mqtt']}@127.0.0.1:1883")
    assert not leaked(str(bad_url.value), secrets)

    # And as an operator sees them: `campus-gateway check-config`.
    config = tmp_path / "site.yaml"
    config.write_text(yaml.safe_dump(bad_tree(), allow_unicode=True), encoding="utf-8")
    result = CliRunner().invoke(
        cli_app, ["check-config", "--config", str(config)], env=environ, catch_exceptions=False
    )
    assert result.exit_code == 2
    shown = result.output
    assert "police[1].key" in shown
    assert not leaked(shown, secrets), shown


def test_what_the_gateway_builds_from_the_settings_does_not_show_passwords() -> None:
    secret = "mqR-Cw6Yb9Eh2Lu"
    address = parse_broker_url(f"mqtts://gw:{secret}@broker.example:8883")
    assert address.password == secret  # still there to be used...
    assert secret not in repr(address)  # ...but never shown
    assert secret not in address.display
    with_login = MqttConnection(host="h", port=1, client_id="c", username="u", password=secret)
    assert secret not in repr(with_login)
    assert secret not in str(with_login)


def test_the_settings_and_a_configuration_errors_traceback_hold_no_secret() -> None:
    environ = {"TOKEN_KEY": BAD_SECRETS["token"], "WEBHOOK_SECRET": BAD_SECRETS["webhook"]}
    with pytest.raises(ConfigError) as caught:
        parse_settings(bad_tree(), environ)
    shown = "".join(traceback.format_exception(caught.value))
    tree = site_tree(
        mqtt_url=f"mqtt://gw:{MQTT_PASSWORD}@127.0.0.1:1883",
        database_url="sqlite+aiosqlite:///campus.db",
        database_schema=None,
        police_urls={"110": "https://110.example/alarms"},
    )
    tree["police"][0]["secret"] = WEBHOOK_SECRET
    shown += repr(parse_settings(tree))
    assert not leaked(shown, (*BAD_SECRETS.values(), MQTT_PASSWORD, WEBHOOK_SECRET))
