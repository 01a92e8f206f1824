"""Hostile inbound messages for the hostile-input suite (issue 17): what an attacker or a
broken device sends over MQTT, drawn by hypothesis. Text includes lone surrogates, NUL and
control characters; values come in wrong types, huge, deeply nested, at absurd times."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

PREFIX = "campus"
DEVICE_TOPICS = [
    f"{PREFIX}/fy-dongguan-ms/alarm/btn-north/event",
    f"{PREFIX}/fy-dongguan-ms/alarm/btn-office/event",
    f"{PREFIX}/fy-shiyan-kg/alarm/btn-gate/event",
    f"{PREFIX}/fy-dongguan-ms/gate/gate-north/event",
    f"{PREFIX}/fy-dongguan-ms/checkpoint/cp-dorm/scan",
    f"{PREFIX}/fy-dongguan-ms/alarm/btn-north/status",
    f"{PREFIX}/fy-shiyan-kg/gate/gate-main/status",
]

# Every code point, surrogates and controls included (hypothesis leaves out "Cs" by default).
any_character = st.characters(exclude_categories=())
hostile_text = st.one_of(
    st.text(any_character, max_size=40),
    st.sampled_from(["\ud800", "\udfff", "a\x00b", "\x1b[31m", "\x7f", "\x85", "\u2028", ""]),
    st.text(any_character, min_size=100, max_size=600),  # past the columns' lengths
)
absurd_time = st.one_of(
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(
        [
            "0001-01-01T00:00:00Z",
            "1970-01-01T00:00:00Z",
            "1999-12-31T23:59:59+08:00",
            "2099-12-31T23:59:59+14:00",
            "9999-12-31T23:59:59-12:00",
            "2026-02-30T25:61:00+08:00",
            "2026-11-23T12:00:00",  # no offset
            "now",
        ]
    ),
    hostile_text,
)
scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    hostile_text,
)
value = st.recursive(
    scalar,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(hostile_text, inner, max_size=4),
    max_leaves=10,
)
event_name = st.one_of(
    st.sampled_from(["press", "test", "restore", "fault", "tamper", "guard_on", "scan"]),
    value,
)


@st.composite
def device_body(draw: st.DrawFn) -> bytes:
    """A JSON object shaped like a device's, every field possibly hostile."""
    body: dict[str, Any] = {}
    for key, strategy in (
        ("event", event_name),
        ("ts", absurd_time),
        ("id", st.one_of(hostile_text, value)),
        ("guard", st.one_of(hostile_text, value)),
        ("tag", st.one_of(hostile_text, value)),
    ):
        if draw(st.booleans()):
            body[key] = draw(strategy)
    body.update(draw(st.dictionaries(hostile_text, value, max_size=3)))
    # ensure_ascii: a lone surrogate travels as the JSON escape "\ud800", valid UTF-8.
    return json.dumps(body, ensure_ascii=draw(st.booleans()) or _has_surrogate(body)).encode(
        "utf-8", "surrogatepass"
    )


@st.composite
def nearly_valid_body(draw: st.DrawFn) -> bytes:
    """A correct event or scan with one field hostile: what passes every other check and
    reaches the text checks (and, before them, the database)."""
    from datetime import UTC, datetime

    body: dict[str, Any] = {
        "event": draw(st.sampled_from(["press", "restore", "guard_on", "open"])),
        "ts": datetime.now(UTC).isoformat(),
        "id": draw(st.text(max_size=20)) or "id",
        "guard": "guard-li",
        "tag": "tag",
    }
    body[draw(st.sampled_from(["id", "guard", "tag"]))] = draw(hostile_text)
    return json.dumps(body).encode()


def _has_surrogate(tree: Any) -> bool:
    return "\\ud" in json.dumps(tree)


payload = st.one_of(
    nearly_valid_body(),
    device_body(),
    value.map(lambda tree: json.dumps(tree).encode()),
    st.binary(max_size=200),
    st.integers(min_value=1000, max_value=120_000).map(lambda n: b"[" * n + b"]" * n),
    st.integers(min_value=60_000, max_value=200_000).map(
        lambda n: b'{"event": "press", "id": "' + b"x" * n + b'"}'
    ),
    st.sampled_from([b"online", b"OFFLINE\n", b"\x00", b"\xed\xa0\x80", b"{}", b"null", b""]),
)
topic = st.one_of(
    st.sampled_from(DEVICE_TOPICS),
    st.sampled_from(DEVICE_TOPICS).map(lambda t: t + "/extra"),
    st.sampled_from(DEVICE_TOPICS).map(lambda t: t.replace("btn-north", "btn-ghost")),
    # Mosquitto disconnects a client whose topic holds control characters: those never
    # reach the gateway, and are left out here.
    st.text(
        st.characters(exclude_categories=("Cs", "Cc"), exclude_characters="+#"),
        min_size=1,
        max_size=60,
    ).filter(lambda t: not t.startswith("$")),
).filter(lambda t: t != f"{PREFIX}/gateway/status" and not t.startswith(f"{PREFIX}/gateway/"))

Message = tuple[str, bytes]


def draw_batches(examples: int, seed_value: int) -> list[list[Message]]:
    """`examples` batches of hostile messages, the same for the same seed. Drawn up front:
    they go to one running gateway, whose state no shrinking could rewind; a failing seed
    is replayed with CAMPUS_HOSTILE_SEED."""
    batches: list[list[Message]] = []

    @seed(seed_value)
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.generate],
    )
    @given(st.lists(st.tuples(topic, payload), min_size=1, max_size=6))
    def collect(batch: list[Message]) -> None:
        batches.append(batch)

    collect()
    return batches


# An HTTP request: (method, path with its parameters filled in, JSON body text).
Request = tuple[str, str, str]


def draw_requests(
    examples: int,
    seed_value: int,
    writes: list[tuple[str, str]],
    well_formed: Any,
) -> list[list[Request]]:
    """`examples` batches of hostile JSON requests to the API's write routes: a hostile tree,
    or the route's own body shape (`well_formed(route, text)`) with hostile text in every
    string, or that shape with one member replaced by a hostile tree; hostile text in the
    path parameters too."""
    from urllib.parse import quote

    batches: list[list[Request]] = []
    route = st.sampled_from(writes)
    url_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=20)

    @st.composite
    def request(draw: st.DrawFn) -> Request:
        template = draw(route)
        method, path = template
        while "{" in path:
            start, end = path.index("{"), path.index("}")
            filler = draw(st.one_of(st.just("x"), url_text)) or "x"
            path = path[:start] + quote(filler, safe="") + path[end + 1 :]
        shape = draw(st.integers(0, 2))
        if shape == 0:
            body: Any = draw(value)
        else:
            body = well_formed(template, draw(hostile_text))
            if shape == 2 and isinstance(body, dict) and body:
                body[draw(st.sampled_from(sorted(body)))] = draw(value)
        return method, path, json.dumps(body)

    @seed(seed_value)
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.generate],
    )
    @given(st.lists(request(), min_size=1, max_size=4))
    def collect(batch: list[Request]) -> None:
        batches.append(batch)

    collect()
    return batches
