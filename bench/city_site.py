"""Benchmark D's city: `schools` schools (kindergartens, primary and middle schools) in a few
districts and police stations, with alarm buttons, gates, checkpoints (key areas among them),
cameras and guards, about 20 devices a school. Deterministic for a seed: the month's records
(bench/city_month.py) are drawn from it, and the tests check it at a small scale.

`city_tree` wraps the schools in a whole site configuration (broker, database, police centre)
for `python -m gateway run --config FILE`; the gateway's own loader validates it."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date
from typing import Any

PATROL_KEY = "bench-city-patrol-key-0123456789"
TOKEN_KEY = "bench-city-token-key-0123456789"
# No camera answers: a press of a button with a camera is refused at once, not held up.
CAMERA_URL = "http://127.0.0.1:9/snapshot.jpg"
DISTRICTS = 12
STATIONS_PER_DISTRICT = 8


@dataclass(frozen=True, slots=True)
class Profile:
    """Device counts of one kind of school, each an inclusive range."""

    kind: str
    share: float
    buttons: tuple[int, int]
    gates: tuple[int, int]
    key_checkpoints: tuple[int, int]
    other_checkpoints: tuple[int, int]
    cameras: tuple[int, int]
    guards: tuple[int, int]
    pupils: tuple[int, int]


PROFILES = (
    Profile("幼儿园", 0.35, (4, 7), (1, 2), (2, 3), (1, 2), (2, 3), (2, 3), (60, 400)),
    Profile("小学", 0.40, (7, 12), (2, 3), (3, 5), (1, 3), (2, 5), (3, 5), (300, 2000)),
    Profile("中学", 0.25, (9, 15), (2, 4), (4, 6), (2, 3), (3, 6), (4, 7), (800, 3000)),
)


@dataclass(frozen=True, slots=True)
class CityShape:
    schools: int = 1000
    seed: int = 20261130

    def __post_init__(self) -> None:
        if self.schools < 1:
            raise ValueError("a city has at least one school")


def _pick(rng: random.Random, span: tuple[int, int]) -> int:
    return rng.randint(span[0], span[1])


def _profile(rng: random.Random) -> Profile:
    draw = rng.random()
    for profile in PROFILES:
        if draw < profile.share:
            return profile
        draw -= profile.share
    return PROFILES[-1]


def _guards(rng: random.Random, school_id: str, count: int, *, old: bool) -> list[dict[str, Any]]:
    guards = []
    for index in range(count):
        guard: dict[str, Any] = {"id": f"{school_id}-g{index + 1}", "name": f"保安{index + 1}"}
        if old and index == 0:
            guard["birth_date"] = date(rng.randint(1958, 1964), rng.randint(1, 12), 1)
        elif rng.random() > 0.01:  # a few guards' ages are not on the roster
            guard["birth_date"] = date(rng.randint(1966, 1998), rng.randint(1, 12), 15)
        if rng.random() < 0.04:
            guard["full_time"] = False
        guards.append(guard)
    return guards


def city_school(rng: random.Random, number: int) -> dict[str, Any]:
    """One school of the city (number from 1)."""
    profile = _profile(rng)
    school_id = f"s{number:04d}"
    district = rng.randrange(DISTRICTS)
    station = rng.randrange(STATIONS_PER_DISTRICT)
    cameras = [
        {"id": f"cam{i + 1}", "url": CAMERA_URL, "gb28181_id": f"3402{number:08d}13{i + 1:06d}"}
        for i in range(_pick(rng, profile.cameras))
    ]
    buttons = _pick(rng, profile.buttons)
    # Every camera watches a button (its picture goes to the police with an alarm), except
    # in a few schools: one camera is wired to nothing (video indicator not met).
    watched = cameras if rng.random() > 0.05 else cameras[1:]
    alarm_buttons = []
    for i in range(buttons):
        button: dict[str, Any] = {"id": f"btn{i + 1}", "location": f"报警点{i + 1}", "zone": i + 1}
        if i < len(watched):
            button["camera"] = watched[i]["id"]
        alarm_buttons.append(button)
    keys = _pick(rng, profile.key_checkpoints)
    others = _pick(rng, profile.other_checkpoints)
    checkpoints = [
        {"id": f"cp{i + 1}", "name": f"重点部位{i + 1}", "key_area": True} for i in range(keys)
    ] + [{"id": f"cp{keys + i + 1}", "name": f"巡查点{keys + i + 1}"} for i in range(others)]
    school: dict[str, Any] = {
        "id": school_id,
        "name": f"第{number}{profile.kind}",
        "district": f"第{district + 1:02d}区",
        "police_station": f"第{district + 1:02d}区第{station + 1}派出所",
        "alarm_buttons": alarm_buttons,
        "gates": [
            {"id": f"gate{i + 1}", "name": f"{i + 1}号门"} for i in range(_pick(rng, profile.gates))
        ],
        "checkpoints": checkpoints,
        "cameras": cameras,
        "guards": _guards(rng, school_id, _pick(rng, profile.guards), old=rng.random() < 0.05),
    }
    if rng.random() > 0.01:  # a few schools have not reported their pupils
        school["day_pupils"] = _pick(rng, profile.pupils)
    return school


def city_schools(shape: CityShape) -> list[dict[str, Any]]:
    rng = random.Random(shape.seed)
    return [city_school(rng, number) for number in range(1, shape.schools + 1)]


def device_counts(schools: list[dict[str, Any]]) -> dict[str, int]:
    """Configured devices by kind (key checkpoints counted among checkpoints too)."""
    counts = {
        "alarm buttons": sum(len(s["alarm_buttons"]) for s in schools),
        "gates": sum(len(s["gates"]) for s in schools),
        "checkpoints": sum(len(s["checkpoints"]) for s in schools),
        "cameras": sum(len(s["cameras"]) for s in schools),
    }
    counts["devices"] = sum(counts.values())
    counts["key checkpoints"] = sum(
        1 for s in schools for c in s["checkpoints"] if c.get("key_area")
    )
    counts["guards"] = sum(len(s["guards"]) for s in schools)
    return counts


def city_tree(
    schools: list[dict[str, Any]],
    *,
    mqtt_url: str,
    database_url: str,
    database_schema: str | None,
    police_id: str,
    police_url: str,
    police_secret: str,
    http_port: int,
    client_id: str,
) -> dict[str, Any]:
    """The whole site configuration around the city's schools; rules at their defaults."""
    gateway: dict[str, Any] = {
        "http_host": "127.0.0.1",
        "http_port": http_port,
        "database_url": database_url,
        "timezone": "Asia/Shanghai",
        "secret_key": TOKEN_KEY,
    }
    if database_schema is not None:
        gateway["database_schema"] = database_schema
    return {
        "gateway": gateway,
        "mqtt": {
            "url": mqtt_url,
            "client_id": client_id,
            "reconnect_initial_s": 0.1,
            "reconnect_max_s": 0.5,
            "connect_timeout_s": 3,
        },
        "patrol": {"keys": {1: PATROL_KEY}},
        "police": [
            {
                "id": police_id,
                "kind": "webhook",
                "url": police_url,
                "secret": police_secret,
                "timeout_s": 2,
                "retry": {"initial_s": 0.1, "max_s": 0.5},
            }
        ],
        "schools": schools,
    }
