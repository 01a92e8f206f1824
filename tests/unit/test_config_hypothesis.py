"""Whatever tree a YAML file parses to, `parse_settings` either returns Settings or raises
ConfigError with readable problems: never a KeyError, TypeError or a pydantic error."""

from __future__ import annotations

import copy
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.errors import ConfigError
from gateway.settings import Settings, load_settings, parse_settings

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "site.example.yaml"
ENVIRON = {
    "SET": "value-of-set",
    "POLICE_SECRET": "police-secret-for-tests",
    "DC09_KEY": "0123456789abcdef0123456789abcdef",
    "PATROL_KEY": "patrol-key-for-tests-0123",
}

# Words the models know, so generated trees get past the first check now and then.
KEYS = [
    "gateway", "mqtt", "police", "schools", "modbus", "rules", "devices", "signals", "id",
    "name", "kind", "url", "secret", "host", "port", "account", "key", "timezone",
    "database_url", "http_port", "topic_prefix", "alarm_buttons", "gates", "checkpoints",
    "cameras", "camera", "location", "zone", "key_area", "gb28181_id", "serial", "device",
    "table", "address", "bit", "school", "target", "on", "off", "retry", "transport",
    "patrol", "keys", "round_times", "guards",
]  # fmt: skip
WORDS = [
    "webhook", "sia-dc09", "coil", "discrete_input", "holding_register", "input_register",
    "alarm/btn-north", "gate/gate-north", "checkpoint/cp-dorm", "press", "guard_on", "scan",
    "fy-dongguan-ms", "panel-1", "btn-north", "1A2B", "https://110.example/", "mqtt://h:1",
    "Asia/Shanghai", "Asia", "${SET}", "${UNSET}", "mqtt://[::1", "http://[", "", "0" * 32,
]  # fmt: skip

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=24),
    st.sampled_from(WORDS),
)
keys = st.one_of(st.sampled_from(KEYS), st.text(max_size=10), st.integers(), st.booleans())
junk = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=5)
    ),
    max_leaves=30,
)


def _outcome(tree: Any) -> Settings | None:
    try:
        return parse_settings(tree, ENVIRON)
    except ConfigError as exc:
        assert exc.problems
        assert all(isinstance(p, str) and ": " in p for p in exc.problems), exc.problems
        return None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(junk)
def test_junk_trees_raise_only_config_error(tree: Any) -> None:
    _outcome(tree)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(KEYS), junk, max_size=6))
def test_junk_sections_raise_only_config_error(tree: dict[str, Any]) -> None:
    _outcome(tree)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if prefix:
        yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*prefix, index))


# The example site uses every section (police kinds, cameras, Modbus TCP and RTU, signals).
EXAMPLE_TREE: dict[str, Any] = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
PATHS = list(_paths(EXAMPLE_TREE))


def test_the_example_tree_is_valid() -> None:
    assert isinstance(parse_settings(EXAMPLE_TREE, ENVIRON), Settings)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(PATHS), junk, st.booleans()), min_size=1, max_size=4))
def test_damaged_valid_trees_raise_only_config_error(
    damage: list[tuple[tuple[Any, ...], Any, bool]],
) -> None:
    """A valid configuration with values replaced by junk (or keys deleted) deep inside, so
    the field validators and cross-checks see odd input, not just the top-level check."""
    tree = copy.deepcopy(EXAMPLE_TREE)
    for path, value, delete in damage:
        node: Any = tree
        try:
            for part in path[:-1]:
                node = node[part]
            if delete and isinstance(node, dict):
                node.pop(path[-1], None)
            else:
                node[path[-1]] = copy.deepcopy(value)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier change removed this place
    _outcome(tree)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=200))
def test_any_text_file_raises_only_config_error(text: str) -> None:
    # A directory per example: a function-scoped tmp_path would be shared by all of them.
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "site.yaml"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        try:
            load_settings(path, environ=ENVIRON)
        except ConfigError as exc:
            assert exc.problems


@pytest.mark.parametrize("depth", [1000])
def test_deeply_nested_file_is_a_config_error(tmp_path: Path, depth: int) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text("schools: " + "[" * depth + "]" * depth + "\n", encoding="utf-8")
    with pytest.raises(ConfigError):
        load_settings(path, environ={})
