"""The site configuration (spec section 7): example files, `${ENV}` secrets, and a clear
problem naming the key for every kind of invalid configuration."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from gateway.cli import app
from gateway.domain import DeviceKind, EventKind
from gateway.errors import ConfigError
from gateway.settings import Settings, WebhookEndpoint, load_settings, parse_settings

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_FILES = [*sorted((ROOT / "config").glob("*.yaml")), ROOT / "deploy" / "site.compose.yaml"]
# What the example files take from the environment (their secrets).
ONLY_SECONDARY = {
    "id": "p",
    "kind": "webhook",
    "url": "https://x.example/a",
    "secret": "12345678",
    "secondary": True,
}
EXAMPLE_ENV = {
    "POLICE_SECRET": "police-secret-for-tests",
    "DC09_KEY": "0123456789ABCDEF0123456789ABCDEF",
    "POLICE_WEBHOOK_URL": "https://110.example/api/campus/alarms",
    "CAMPUS_SECRET_KEY": "signing-key-for-tests-0123456789",
    "PATROL_KEY": "patrol-key-for-tests-0123456789",
    "POSTGRES_PASSWORD": "db-password-for-tests-0123",
}


def valid_tree() -> dict[str, Any]:
    """A small configuration that uses every section, as parsed from YAML."""
    return {
        "gateway": {"timezone": "Asia/Shanghai", "database_url": "sqlite+aiosqlite:///x.db"},
        "mqtt": {"url": "mqtt://127.0.0.1:1883", "topic_prefix": "campus"},
        "patrol": {"keys": {1: "patrol-key-0123456789"}},
        "police": [
            {
                "id": "city-110",
                "kind": "webhook",
                "url": "https://110.example/alarms",
                "secret": "12345678",
            },
            {
                "id": "city-110-dc09",
                "kind": "sia-dc09",
                "host": "10.0.0.5",
                "port": 7000,
                "account": "1A2B",
                "key": "0123456789abcdef",
            },
        ],
        "schools": [
            {
                "id": "fy-dongguan-ms",
                "name": "汾阳市东关中学",
                "alarm_buttons": [
                    {"id": "btn-north", "location": "北门警务室", "zone": 1, "camera": "cam-north"},
                    {"id": "btn-dorm", "location": "宿舍楼", "zone": 2},
                ],
                "cameras": [
                    {"id": "cam-north", "url": "rtsp://cam", "gb28181_id": "14118200001320000001"}
                ],
                "gates": [{"id": "gate-north", "name": "北门"}],
                "checkpoints": [{"id": "cp-dorm", "name": "宿舍楼", "key_area": True}],
            },
            {
                "id": "fy-shiyan-kg",
                "name": "汾阳市实验幼儿园",
                "alarm_buttons": [{"id": "btn-gate", "location": "传达室", "zone": 1}],
            },
        ],
        "modbus": {
            "devices": [
                {"id": "panel-1", "host": "192.168.1.20"},
                {"id": "rtu-1", "serial": {"port": "/dev/ttyUSB0"}},
            ],
            "signals": [
                {
                    "device": "panel-1",
                    "table": "discrete_input",
                    "address": 0,
                    "school": "fy-dongguan-ms",
                    "target": "gate/gate-north",
                    "on": "guard_on",
                    "off": "guard_off",
                },
                {
                    "device": "rtu-1",
                    "table": "holding_register",
                    "address": 3,
                    "bit": 2,
                    "school": "fy-dongguan-ms",
                    "target": "alarm/btn-north",
                    "on": "press",
                    "off": "restore",
                },
            ],
        },
        "rules": {"patrols_per_day": 5},
    }


def webhook_secret(settings: Settings) -> str:
    endpoint = settings.police[0]
    assert isinstance(endpoint, WebhookEndpoint)
    return endpoint.secret


def problems_of(tree: Any, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_settings(tree, environ or {})
    assert caught.value.problems, "a ConfigError must list at least one problem"
    return caught.value.problems


# --- the example files -------------------------------------------------------------------------


def test_the_example_files_exist() -> None:
    names = {path.name for path in EXAMPLE_FILES if path.exists()}
    assert {"site.example.yaml", "demo.yaml", "site.compose.yaml"} <= names


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_example_file_loads(path: Path) -> None:
    settings = load_settings(path, environ=EXAMPLE_ENV)
    assert settings.schools
    for school in settings.schools:
        assert school.alarm_buttons, f"{school.id} has no alarm buttons"
        for button in school.alarm_buttons:
            if button.camera is not None:
                assert school.camera(button.camera) is not None, f"{button.id}: unknown camera"


def test_site_example_shows_every_feature() -> None:
    settings = load_settings(ROOT / "config" / "site.example.yaml", environ=EXAMPLE_ENV)
    assert [s.id for s in settings.schools] == ["fy-dongguan-ms", "fy-shiyan-kg"]
    assert [p.kind for p in settings.police] == ["webhook", "sia-dc09"]
    assert settings.police[0].secret == EXAMPLE_ENV["POLICE_SECRET"]
    assert {d.host is not None for d in settings.modbus.devices} == {True, False}
    assert any(s.bit is not None for s in settings.modbus.signals)
    for school in settings.schools:
        assert any(c.key_area for c in school.checkpoints)
        assert any(not c.key_area for c in school.checkpoints)
        assert [b.zone for b in school.alarm_buttons] == list(
            range(1, len(school.alarm_buttons) + 1)
        )
        assert all(c.gb28181_id for c in school.cameras)


def test_demo_config_matches_the_demo() -> None:
    settings = load_settings(ROOT / "config" / "demo.yaml", environ={})
    assert settings.mqtt.host == "127.0.0.1"
    assert settings.mqtt.port == 18830
    assert settings.gateway.database_url == "sqlite+aiosqlite:///demo-data/campus.db"
    assert [p.kind for p in settings.police] == ["webhook", "sia-dc09"]
    # The gate panel the demo starts (simulators/gate_panel.py: DI0 post, DI1 gate, coil 3).
    assert [(d.host, d.port, d.unit) for d in settings.modbus.devices] == [("127.0.0.1", 15020, 1)]
    assert {(s.table, s.address, s.target) for s in settings.modbus.signals} == {
        ("discrete_input", 0, "gate/gate-north"),
        ("discrete_input", 1, "gate/gate-north"),
        ("coil", 3, "alarm/btn-north"),
    }
    assert [len(s.alarm_buttons) for s in settings.schools] == [3, 3]


def test_example_needs_its_secrets() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(ROOT / "config" / "site.example.yaml", environ={})
    assert caught.value.problems == [
        "police[0].secret: environment variable POLICE_SECRET is not set",
        "police[1].key: environment variable DC09_KEY is not set",
        "patrol.keys.1: environment variable PATROL_KEY is not set",
    ]


def test_valid_tree_is_valid() -> None:
    settings = parse_settings(valid_tree(), {})
    assert isinstance(settings, Settings)


def test_defaults() -> None:
    settings = parse_settings({"schools": [{"id": "s", "name": "学校"}]}, {})
    assert settings.gateway.http_port == 8080
    assert settings.gateway.database_url == "sqlite+aiosqlite:///campus.db"
    assert settings.gateway.timezone == "Asia/Shanghai"
    assert settings.mqtt.url == "mqtt://127.0.0.1:1883"
    assert settings.mqtt.topic_prefix == "campus"
    assert settings.police == []
    assert settings.rules.alarm_tests_per_month == 1
    assert settings.rules.gate_max_unstaffed_s == 600
    assert settings.rules.patrols_per_day == 5
    assert settings.rules.patrol_min_spacing_s == 3600


# --- ${ENV} secrets ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "environ", "expected"),
    [
        ("${POLICE_SECRET}", {"POLICE_SECRET": "s3cret-value"}, "s3cret-value"),
        ("pre-${A}-${B}-post", {"A": "one", "B": "two"}, "pre-one-two-post"),
        ("${A}${A}", {"A": "abcd"}, "abcdabcd"),
        ("no-variables-here", {}, "no-variables-here"),
        ("$NOT_BRACED_123", {}, "$NOT_BRACED_123"),
        # A value is not substituted again: a secret may contain `${...}` literally.
        ("${A}", {"A": "${B}-literal"}, "${B}-literal"),
    ],
)
def test_env_substitution(value: str, environ: dict[str, str], expected: str) -> None:
    tree = valid_tree()
    tree["police"][0]["secret"] = value
    settings = parse_settings(tree, environ)
    assert webhook_secret(settings) == expected


def test_env_substitution_reaches_numbers_given_as_strings() -> None:
    tree = valid_tree()
    tree["gateway"]["http_port"] = "${HTTP_PORT}"
    assert parse_settings(tree, {"HTTP_PORT": "9090"}).gateway.http_port == 9090


def test_env_substitution_leaves_keys_and_non_strings_alone() -> None:
    tree = valid_tree()
    tree["rules"]["patrols_per_day"] = 7
    settings = parse_settings(tree, {})
    assert settings.rules.patrols_per_day == 7


@pytest.mark.parametrize(
    ("place", "expected_path"),
    [
        (lambda t: t["police"][0], "police[0].secret"),
        (lambda t: t["schools"][1]["alarm_buttons"][0], "schools[1].alarm_buttons[0].location"),
    ],
)
def test_missing_variable_names_the_key(
    place: Callable[[dict[str, Any]], dict[str, Any]], expected_path: str
) -> None:
    tree = valid_tree()
    key = expected_path.rsplit(".", 1)[1]
    place(tree)[key] = "${CAMPUS_UNSET_VARIABLE}"
    assert problems_of(tree, {}) == [
        f"{expected_path}: environment variable CAMPUS_UNSET_VARIABLE is not set"
    ]


def test_every_missing_variable_is_reported() -> None:
    tree = valid_tree()
    tree["police"][0]["secret"] = "${ONE}"
    tree["police"][1]["key"] = "${TWO}"
    assert problems_of(tree, {}) == [
        "police[0].secret: environment variable ONE is not set",
        "police[1].key: environment variable TWO is not set",
    ]


def test_environ_defaults_to_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAMPUS_TEST_SECRET", "from-the-environment")
    tree = valid_tree()
    tree["police"][0]["secret"] = "${CAMPUS_TEST_SECRET}"
    assert webhook_secret(parse_settings(tree)) == "from-the-environment"


def test_a_bad_secret_is_not_echoed_in_the_problem() -> None:
    tree = valid_tree()
    tree["police"][0]["secret"] = "${SECRET}"
    problems = problems_of(tree, {"SECRET": "short"})
    assert problems == ["police[0].secret: String should have at least 8 characters"]
    assert "short" not in " ".join(problems)


# --- invalid configurations ---------------------------------------------------------------------

Mutation = Callable[[dict[str, Any]], None]


def _set(path: str, value: Any) -> Mutation:
    """A mutation that sets the value at a dotted path (`schools.0.name`)."""

    def mutate(tree: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = tree
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        if last.isdigit():
            node[int(last)] = value
        else:
            node[last] = value

    return mutate


def _delete(path: str) -> Mutation:
    def mutate(tree: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = tree
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        del node[last]

    return mutate


def _append(path: str, value: Any) -> Mutation:
    def mutate(tree: dict[str, Any]) -> None:
        node: Any = tree
        for part in path.split("."):
            node = node[int(part)] if part.isdigit() else node[part]
        node.append(copy.deepcopy(value))

    return mutate


def _both(*mutations: Mutation) -> Mutation:
    def mutate(tree: dict[str, Any]) -> None:
        for mutation in mutations:
            mutation(tree)

    return mutate


SIGNAL = "modbus.signals.0"


def case(name: str, mutation: Mutation, path: str, fragment: str, *, bug: str | None = None) -> Any:
    """One invalid configuration: the problem must start with `path: ` and contain `fragment`.
    `bug` marks a known defect of gateway/settings.py (strict xfail: fixing it fails the test
    until the mark is removed)."""
    marks = [pytest.mark.xfail(strict=True, reason=bug)] if bug else []
    return pytest.param(mutation, path, fragment, id=name, marks=marks)


INVALID = [
    case("unknown top-level key", _set("gatway", {}), "gatway", "Extra inputs"),
    case(
        "unknown nested key",
        _set("schools.0.alarm_buttons.0.locaton", "x"),
        "schools[0].alarm_buttons[0].locaton",
        "Extra inputs",
    ),
    case("unknown webhook key", _set("police.0.secrte", "x"), "police[0].secrte", "Extra inputs"),
    case("unknown dc09 key", _set("police.1.acount", "1"), "police[1].acount", "Extra inputs"),
    case(
        "unknown rules key",
        _set("rules.patrols_per_week", 3),
        "rules.patrols_per_week",
        "Extra inputs",
    ),
    case(
        "bad timezone",
        _set("gateway.timezone", "Asia/Fenyang"),
        "gateway.timezone",
        "unknown time zone 'Asia/Fenyang'",
    ),
    case(
        "timezone is a directory",
        _set("gateway.timezone", "Asia"),
        "gateway.timezone",
        "unknown time zone",
    ),
    case(
        "bad database url",
        _set("gateway.database_url", "mysql://x/campus"),
        "gateway.database_url",
        "sqlite+aiosqlite",
    ),
    case("http port out of range", _set("gateway.http_port", 70000), "gateway.http_port", "65535"),
    case("mqtt url scheme", _set("mqtt.url", "tcp://127.0.0.1:1883"), "mqtt.url", "mqtt://"),
    case("mqtt url without host", _set("mqtt.url", "mqtt://"), "mqtt.url", "no host"),
    case("mqtt url bad port", _set("mqtt.url", "mqtt://broker:99999"), "mqtt.url", "port"),
    case(
        "mqtt topic prefix with wildcard",
        _set("mqtt.topic_prefix", "campus/#"),
        "mqtt.topic_prefix",
        "pattern",
    ),
    case("no schools", _delete("schools"), "schools", "required"),
    case("empty schools", _set("schools", []), "schools", "at least 1"),
    case("schools not a list", _set("schools", {"id": "x"}), "schools", "valid list"),
    case(
        "duplicate school id",
        _set("schools.1.id", "fy-dongguan-ms"),
        "schools",
        "duplicate id 'fy-dongguan-ms'",
    ),
    case(
        "duplicate zone",
        _set("schools.0.alarm_buttons.1.zone", 1),
        "schools[0].alarm_buttons",
        "duplicate zone '1'",
    ),
    case(
        "duplicate button id",
        _set("schools.0.alarm_buttons.1.id", "btn-north"),
        "schools[0].alarm_buttons",
        "duplicate id 'btn-north'",
    ),
    case(
        "duplicate gate id",
        _append("schools.0.gates", {"id": "gate-north", "name": "北门2"}),
        "schools[0].gates",
        "duplicate id 'gate-north'",
    ),
    case(
        "zone 0",
        _set("schools.0.alarm_buttons.0.zone", 0),
        "schools[0].alarm_buttons[0].zone",
        "greater than or equal to 1",
    ),
    case(
        "id with a space",
        _set("schools.0.alarm_buttons.0.id", "btn north"),
        "schools[0].alarm_buttons[0].id",
        "pattern",
    ),
    case("empty school name", _set("schools.0.name", ""), "schools[0].name", "at least 1"),
    case(
        "gb28181 id of 19 digits",
        _set("schools.0.cameras.0.gb28181_id", "1" * 19),
        "schools[0].cameras[0].gb28181_id",
        "pattern",
    ),
    case(
        "key_area not a boolean",
        _set("schools.0.checkpoints.0.key_area", "maybe"),
        "schools[0].checkpoints[0].key_area",
        "boolean",
    ),
    case(
        "duplicate police id",
        _set("police.1.id", "city-110"),
        "police",
        "duplicate id 'city-110'",
    ),
    case("unknown police kind", _set("police.0.kind", "sms"), "police[0]", "'webhook', 'sia-dc09'"),
    case(
        "webhook url not http",
        _set("police.0.url", "ftp://110.example/"),
        "police[0].url",
        "http://",
    ),
    case(
        "webhook secret too short",
        _set("police.0.secret", "1234567"),
        "police[0].secret",
        "at least 8",
    ),
    case("webhook without secret", _delete("police.0.secret"), "police[0].secret", "required"),
    case(
        "dc09 account not hex",
        _set("police.1.account", "1A2G"),
        "police[1].account",
        "3 to 16 hexadecimal",
    ),
    case(
        "dc09 account too short",
        _set("police.1.account", "1A"),
        "police[1].account",
        "3 to 16 hexadecimal",
    ),
    case(
        "dc09 account too long",
        _set("police.1.account", "1" * 17),
        "police[1].account",
        "3 to 16 hexadecimal",
    ),
    case(
        "dc09 key of 20 characters",
        _set("police.1.key", "0123456789abcdef0123"),
        "police[1].key",
        "16, 24 or 32",
    ),
    case(
        "dc09 key of 33 characters", _set("police.1.key", "0" * 33), "police[1].key", "16, 24 or 32"
    ),
    case(
        "dc09 key not hex",
        _set("police.1.key", "0123456789abcdeg"),
        "police[1].key",
        "16, 24 or 32",
    ),
    case("dc09 bad transport", _set("police.1.transport", "sctp"), "police[1].transport", "'tcp'"),
    case("dc09 bad receiver", _set("police.1.receiver", "X1"), "police[1].receiver", "pattern"),
    case(
        "signal to an unknown device",
        _set(f"{SIGNAL}.device", "panel-9"),
        "modbus.signals[0].device",
        "no modbus device 'panel-9'",
    ),
    case(
        "signal to an unknown school",
        _set(f"{SIGNAL}.school", "fy-nowhere"),
        "modbus.signals[0].school",
        "no school 'fy-nowhere'",
    ),
    case(
        "signal to an unknown target",
        _set(f"{SIGNAL}.target", "gate/gate-west"),
        "modbus.signals[0].target",
        "has no gate 'gate-west'",
    ),
    case(
        "signal to a gate of another school",
        _set(f"{SIGNAL}.school", "fy-shiyan-kg"),
        "modbus.signals[0].target",
        "has no gate 'gate-north'",
    ),
    case(
        "signal target of no kind",
        _set(f"{SIGNAL}.target", "door/d1"),
        "modbus.signals[0].target",
        "pattern",
    ),
    case(
        "signal bad table", _set(f"{SIGNAL}.table", "register"), "modbus.signals[0].table", "'coil'"
    ),
    case(
        "bit on a coil",
        _both(_set(f"{SIGNAL}.table", "coil"), _set(f"{SIGNAL}.bit", 0)),
        "modbus.signals[0]",
        "bit applies only to holding_register and input_register",
    ),
    case(
        "bit on a discrete input", _set(f"{SIGNAL}.bit", 1), "modbus.signals[0]", "bit applies only"
    ),
    case(
        "bit out of range",
        _set("modbus.signals.1.bit", 16),
        "modbus.signals[1].bit",
        "less than or equal to 15",
    ),
    case(
        "address out of range",
        _set(f"{SIGNAL}.address", 65536),
        "modbus.signals[0].address",
        "65535",
    ),
    case(
        "alarm event on a gate",
        _set(f"{SIGNAL}.on", "press"),
        "modbus.signals[0]",
        "event press does not belong",
    ),
    case(
        "gate event on an alarm",
        _set("modbus.signals.1.off", "guard_off"),
        "modbus.signals[1]",
        "event guard_off does not belong",
    ),
    case("unknown event", _set(f"{SIGNAL}.on", "explode"), "modbus.signals[0].on", "'press'"),
    case("signal without on", _delete(f"{SIGNAL}.on"), "modbus.signals[0].on", "required"),
    case(
        "modbus device with host and serial",
        _set("modbus.devices.0.serial", {"port": "/dev/ttyUSB1"}),
        "modbus.devices[0]",
        "not both",
    ),
    case(
        "modbus device with neither",
        _delete("modbus.devices.0.host"),
        "modbus.devices[0]",
        "either host",
    ),
    case(
        "duplicate modbus device",
        _set("modbus.devices.1.id", "panel-1"),
        "modbus.devices",
        "duplicate id 'panel-1'",
    ),
    case(
        "modbus unit out of range",
        _set("modbus.devices.0.unit", 248),
        "modbus.devices[0].unit",
        "247",
    ),
    case(
        "serial bad parity",
        _set("modbus.devices.1.serial.parity", "X"),
        "modbus.devices[1].serial.parity",
        "'N'",
    ),
    case(
        "poll interval zero",
        _set("modbus.devices.0.poll_interval_s", 0),
        "modbus.devices[0].poll_interval_s",
        "greater than 0",
    ),
    case(
        "one serial line at two speeds",
        _append(
            "modbus.devices",
            {"id": "rtu-2", "unit": 2, "serial": {"port": "/dev/ttyUSB0", "baudrate": 19200}},
        ),
        "modbus.devices[2].serial",
        "different line settings",
    ),
    case(
        "gate camera not described",
        _set("schools.0.gates.0.camera", "cam-nowhere"),
        "schools[0].gates[0].camera",
        "camera 'cam-nowhere' is not described",
    ),
    case(
        "presence region outside the frame",
        _set("schools.0.gates.0.presence", {"region": [0.5, 0.5, 0.6, 0.2]}),
        "schools[0].gates[0].presence.region",
        "inside it",
    ),
    case(
        "only secondary police endpoints",
        _set("police", [ONLY_SECONDARY]),
        "police",
        "every endpoint is secondary",
    ),
    case(
        "escalation not positive",
        _set("linkage", {"escalation_s": 0}),
        "linkage.escalation_s",
        "greater than 0",
    ),
    case("modbus not a mapping", _set("modbus", ["panel-1"]), "modbus", "dictionary"),
    case(
        "rules patrols zero",
        _set("rules.patrols_per_day", 0),
        "rules.patrols_per_day",
        "greater than or equal to 1",
    ),
    # A typo'd key is named even when it is spelt like a police kind.
    case(
        "unknown key named like a police kind",
        _set("schools.0.webhook", "x"),
        "schools[0].webhook",
        "Extra inputs",
    ),
    # A typo in a button's camera must not silently leave the police without video.
    case(
        "button camera not in the cameras list",
        _set("schools.0.alarm_buttons.0.camera", "cam-nowhere"),
        "schools[0].alarm_buttons[0].camera",
        "cam-nowhere",
    ),
]


@pytest.mark.parametrize(("mutation", "expected_path", "fragment"), INVALID)
def test_invalid_configuration_names_the_key(
    mutation: Mutation, expected_path: str, fragment: str
) -> None:
    tree = valid_tree()
    mutation(tree)
    problems = problems_of(tree)
    matching = [p for p in problems if p.startswith(f"{expected_path}: ")]
    assert matching, f"no problem starts with {expected_path!r}: {problems}"
    assert any(fragment in p for p in matching), f"{fragment!r} not in {matching}"


@pytest.mark.parametrize(
    ("mutation", "expected_path"),
    [
        pytest.param(_set("schools.1.id", "fy-dongguan-ms"), "schools", id="duplicate school"),
        pytest.param(_set("police.1.id", "city-110"), "police", id="duplicate police"),
        pytest.param(
            _set(f"{SIGNAL}.device", "panel-9"), "modbus.signals[0].device", id="unknown device"
        ),
        pytest.param(
            _set(f"{SIGNAL}.school", "fy-nowhere"), "modbus.signals[0].school", id="unknown school"
        ),
        pytest.param(
            _set(f"{SIGNAL}.target", "gate/gate-west"),
            "modbus.signals[0].target",
            id="unknown target",
        ),
    ],
)
def test_cross_reference_problems_mention_the_key(mutation: Mutation, expected_path: str) -> None:
    """Weaker than the table above (which expects the path first): the key is in the text."""
    tree = valid_tree()
    mutation(tree)
    problems = problems_of(tree)
    assert any(f"{expected_path}: " in p for p in problems), problems


def test_every_problem_is_reported_at_once() -> None:
    tree = valid_tree()
    tree["gateway"]["timezone"] = "Nowhere/Town"
    tree["mqtt"]["url"] = "http://broker"
    tree["police"][1]["account"] = "ZZ"
    problems = problems_of(tree)
    assert [p.split(":", 1)[0] for p in problems] == [
        "gateway.timezone",
        "mqtt.url",
        "police[1].account",
    ]


@pytest.mark.parametrize("tree", [None, [], ["schools"], "schools: []", 42, 3.5, True], ids=repr)
def test_non_mapping_tree(tree: Any) -> None:
    assert problems_of(tree) == ["(top level): the configuration must be a YAML mapping"]


# --- files ---------------------------------------------------------------------------------------


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "site.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _load_problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={})
    return caught.value.problems


MINIMAL_YAML = """\
schools:
  - id: fy-dongguan-ms
    name: 汾阳市东关中学
"""


def test_minimal_file_loads(tmp_path: Path) -> None:
    settings = load_settings(_write(tmp_path, MINIMAL_YAML), environ={})
    assert settings.schools[0].name == "汾阳市东关中学"


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("schools:\n  - id: a\n    name: [unclosed\n", 4),
        ("gateway:\n  http_port: 8080\n timezone: Asia/Shanghai\n", 3),
        ("schools:\n  - id: a\n\tname: tab\n", 3),
        ('schools:\n  - {id: a, name: "unterminated}\n', 3),
    ],
    ids=["unclosed flow", "bad indentation", "tab", "unterminated quote"],
)
def test_yaml_syntax_error_gives_the_line(tmp_path: Path, text: str, line: int) -> None:
    path = _write(tmp_path, text)
    problems = _load_problems(path)
    assert len(problems) == 1
    assert problems[0].startswith(f"{path}: not valid YAML at line {line}, column ")


@pytest.mark.parametrize(
    "text",
    ["", "# only a comment\n", "- a\n- b\n", "just a string\n", "42\n", "~\n"],
    ids=["empty", "comment", "list", "string", "number", "null"],
)
def test_file_that_is_not_a_mapping(tmp_path: Path, text: str) -> None:
    problems = _load_problems(_write(tmp_path, text))
    assert problems == ["(top level): the configuration must be a YAML mapping"]


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"
    problems = _load_problems(path)
    assert problems == [f"{path}: cannot read the file (No such file or directory)"]


def test_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "gbk.yaml"
    path.write_bytes(MINIMAL_YAML.encode("gbk"))
    assert _load_problems(path) == [f"{path}: not UTF-8 text"]


def test_unhashable_yaml_key_is_a_yaml_error(tmp_path: Path) -> None:
    problems = _load_problems(_write(tmp_path, "? [a, b]\n: 1\n"))
    assert "not valid YAML" in problems[0]


# --- YAML 1.1 booleans: `on:` and `off:` ---------------------------------------------------------

SIGNAL_YAML = """\
schools:
  - id: fy-dongguan-ms
    name: 汾阳市东关中学
    alarm_buttons: [{{id: btn-north, location: 北门警务室, zone: 1}}]
    gates: [{{id: gate-north, name: 北门}}]
modbus:
  devices: [{{id: panel-1, host: 192.168.1.20}}]
  signals:
{signals}
"""


@pytest.mark.parametrize(
    ("signal", "on", "off"),
    [
        (
            "    - {device: panel-1, table: coil, address: 3, school: fy-dongguan-ms,\n"
            "       target: alarm/btn-north, on: press, off: restore}",
            EventKind.PRESS,
            EventKind.RESTORE,
        ),
        (
            "    - device: panel-1\n      table: discrete_input\n      address: 0\n"
            "      school: fy-dongguan-ms\n      target: gate/gate-north\n"
            "      on: guard_on\n      off: guard_off",
            EventKind.GUARD_ON,
            EventKind.GUARD_OFF,
        ),
        (
            "    - {device: panel-1, table: coil, address: 3, school: fy-dongguan-ms,\n"
            '       target: alarm/btn-north, "on": test, "off": restore}',
            EventKind.TEST,
            EventKind.RESTORE,
        ),
        (
            "    - {device: panel-1, table: input_register, address: 7, bit: 15,\n"
            "       school: fy-dongguan-ms, target: alarm/btn-north, on: tamper}",
            EventKind.TAMPER,
            None,
        ),
    ],
    ids=["flow", "block", "quoted", "no off"],
)
def test_yaml_on_off_keys(
    tmp_path: Path, signal: str, on: EventKind, off: EventKind | None
) -> None:
    path = _write(tmp_path, SIGNAL_YAML.format(signals=signal))
    settings = load_settings(path, environ={})
    (parsed,) = settings.modbus.signals
    assert parsed.on == on
    assert parsed.off == off
    assert parsed.target_kind in (DeviceKind.ALARM, DeviceKind.GATE)


def test_yaml_on_with_a_wrong_event_names_the_signal(tmp_path: Path) -> None:
    signal = (
        "    - {device: panel-1, table: coil, address: 3, school: fy-dongguan-ms,\n"
        "       target: gate/gate-north, on: press}"
    )
    problems = _load_problems(_write(tmp_path, SIGNAL_YAML.format(signals=signal)))
    assert problems == ["modbus.signals[0]: event press does not belong to a gate device"]


# --- the command line ----------------------------------------------------------------------------


def test_check_config_ok() -> None:
    result = CliRunner().invoke(
        app,
        ["check-config", "--config", str(ROOT / "config" / "site.example.yaml")],
        env=EXAMPLE_ENV,
    )
    assert result.exit_code == 0, result.output
    assert "OK — 2 schools, 8 alarm buttons" in result.output
    assert "2 police endpoints, 2 modbus devices" in result.output


def test_check_config_lists_every_problem(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "gateway:\n  timezone: Mars/Olympus\n  colour: red\n"
        "mqtt:\n  url: amqp://broker\n"
        "schools:\n  - {id: a, name: A}\n  - {id: b, name: B, alarm_buttons: "
        "[{id: x, location: L, zone: 0}]}\n",
    )
    result = CliRunner().invoke(app, ["check-config", "--config", str(path)])
    assert result.exit_code == 2, result.output
    assert f"{path}: invalid configuration" in result.output
    for problem in (
        "gateway.timezone: unknown time zone 'Mars/Olympus'",
        "gateway.colour: Extra inputs are not permitted",
        "mqtt.url: must be mqtt://host:port or mqtts://host:port",
        "schools[1].alarm_buttons[0].zone: Input should be greater than or equal to 1",
    ):
        assert f"  {problem}" in result.output


def test_check_config_names_a_missing_variable(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["check-config", "--config", str(ROOT / "config" / "site.example.yaml")],
        env={"POLICE_SECRET": None, "DC09_KEY": None},
    )
    assert result.exit_code == 2
    assert "police[0].secret: environment variable POLICE_SECRET is not set" in result.output


def test_check_config_missing_file(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["check-config", "--config", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2
    assert "cannot read the file" in result.output
