"""PresenceSettings refuses what cannot work, naming every problem at once."""

from __future__ import annotations

from typing import Any

import pytest

from drivers.camera import PresenceSettings
from gateway.errors import ConfigError


def test_defaults_are_valid() -> None:
    settings = PresenceSettings()
    assert (settings.interval_s, settings.timeout_s, settings.threshold) == (2.0, 5.0, 0.02)
    assert (settings.confirm_frames, settings.offline_after_failures) == (2, 3)
    assert settings.reference_path is None and settings.region is None


@pytest.mark.parametrize(
    ("changes", "problems"),
    [
        ({"interval_s": 0}, ["interval_s"]),
        ({"interval_s": float("inf")}, ["interval_s"]),
        ({"timeout_s": -1}, ["timeout_s"]),
        ({"threshold": 0}, ["threshold"]),
        ({"threshold": 1.5}, ["threshold"]),
        ({"confirm_frames": 0}, ["confirm_frames"]),
        ({"offline_after_failures": 0}, ["offline_after_failures"]),
        ({"region": (0.5, 0.0, 0.6, 1.0)}, ["region"]),
        ({"region": (0.0, 0.0, 1.0)}, ["region"]),
        ({"threshold": 2, "confirm_frames": 0}, ["threshold", "confirm_frames"]),
    ],
)
def test_invalid_settings_name_each_problem(changes: dict[str, Any], problems: list[str]) -> None:
    with pytest.raises(ConfigError) as caught:
        PresenceSettings(**changes)
    assert [p.split(":")[0] for p in caught.value.problems] == problems


def test_a_region_adding_up_to_one_with_rounding_is_accepted() -> None:
    assert PresenceSettings(region=(0.7, 0.1, 0.3, 0.9)).region == (0.7, 0.1, 0.3, 0.9)
