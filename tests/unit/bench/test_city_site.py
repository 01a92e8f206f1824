"""Benchmark D's city (bench/city_site.py): the gateway's own loader takes it, it is the same
for a seed, and at full size it is the issue's city (1,000 schools, about 20,000 devices)."""

from __future__ import annotations

from pathlib import Path

import yaml

from bench.city_site import CityShape, city_schools, city_tree, device_counts
from gateway.settings import load_settings


def tree(schools: int, seed: int = 7) -> dict[str, object]:
    return city_tree(
        city_schools(CityShape(schools, seed)),
        mqtt_url="mqtt://127.0.0.1:1883",
        database_url="postgresql+asyncpg://postgres@127.0.0.1:5432/test",
        database_schema="bench_city",
        police_id="bench-110",
        police_url="http://127.0.0.1:9/alarms",
        police_secret="test-police-secret",
        http_port=8080,
        client_id="bench-city",
    )


def test_the_gateway_loads_a_small_city(tmp_path: Path) -> None:
    path = tmp_path / "city.yaml"
    path.write_text(yaml.safe_dump(tree(5), allow_unicode=True), encoding="utf-8")
    settings = load_settings(path)
    assert [s.id for s in settings.schools] == ["s0001", "s0002", "s0003", "s0004", "s0005"]
    for school in settings.schools:
        assert school.district and school.police_station
        assert school.alarm_buttons and school.gates and school.key_checkpoints
        assert school.guards and school.cameras
        watched = {b.camera for b in school.alarm_buttons if b.camera}
        assert watched <= {c.id for c in school.cameras}
    assert settings.patrol.keys and [p.id for p in settings.police] == ["bench-110"]


def test_a_city_is_the_same_for_its_seed_and_another_for_another() -> None:
    assert city_schools(CityShape(20, 1)) == city_schools(CityShape(20, 1))
    assert city_schools(CityShape(20, 1)) != city_schools(CityShape(20, 2))
    # The first schools do not depend on how many follow.
    assert city_schools(CityShape(20, 1))[:5] == city_schools(CityShape(5, 1))


def test_the_full_city_is_a_thousand_schools_and_about_twenty_thousand_devices() -> None:
    schools = city_schools(CityShape())
    counts = device_counts(schools)
    assert len(schools) == 1000
    assert 18_000 <= counts["devices"] <= 22_000
    assert counts["devices"] == sum(
        counts[kind] for kind in ("alarm buttons", "gates", "checkpoints", "cameras")
    )
    assert len({s["district"] for s in schools}) == 12
    assert len({s["police_station"] for s in schools}) > 80
