"""Signed checkpoint tags and the check of what a scan proves (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.errors import ConfigError, PayloadRejected
from gateway.patrol.reasons import REASON_TEXT, ScanReason, ScanSource
from gateway.patrol.scans import IncomingScan, check_scan, check_scan_time
from gateway.patrol.tokens import TagRejected, sign_tag, verify_tag
from gateway.settings import Settings, parse_settings

NOW = datetime(2026, 11, 30, 4, 0, tzinfo=UTC)


def site(**patrol: Any) -> Settings:
    return parse_settings(
        {
            "patrol": {"keys": {1: "key-one-0123456789", 2: "key-two-0123456789"}, **patrol},
            "schools": [
                {
                    "id": "dg",
                    "name": "东关中学",
                    "checkpoints": [
                        {"id": "cp-dorm", "name": "宿舍楼", "key_area": True},
                        {"id": "cp-yard", "name": "操场"},
                    ],
                    "guards": [{"id": "guard-li", "name": "李师傅"}],
                },
                {
                    "id": "sy",
                    "name": "实验幼儿园",
                    "checkpoints": [{"id": "cp-dorm", "name": "午休室", "key_area": True}],
                },
            ],
        }
    )


SITE = site()


def scan(
    tag: str, *, school: str = "dg", guard: str = "guard-li", reader: str | None = None
) -> IncomingScan:
    return IncomingScan(
        school, guard, tag, NOW, NOW, ScanSource.READER, "m-1", reader_checkpoint=reader
    )


def test_a_tag_names_its_school_checkpoint_and_key_version() -> None:
    tag = sign_tag(SITE.patrol, "dg", "cp-dorm")
    school, checkpoint, version, signature = tag.split(":")[1:]
    assert (school, checkpoint, version, len(signature)) == ("dg", "cp-dorm", "2", 22)
    assert verify_tag(SITE, tag).key_version == 2  # the highest version signs by default
    assert verify_tag(SITE, sign_tag(SITE.patrol, "dg", "cp-dorm", 1)).key_version == 1
    assert sign_tag(site(current_key=1).patrol, "dg", "cp-dorm").split(":")[3] == "1"
    # Same input, same tag: a poster can be reprinted.
    assert sign_tag(SITE.patrol, "dg", "cp-dorm") == tag
    assert sign_tag(SITE.patrol, "sy", "cp-dorm") != tag


def test_signing_with_a_version_that_is_not_configured_is_refused() -> None:
    with pytest.raises(TagRejected) as caught:
        sign_tag(SITE.patrol, "dg", "cp-dorm", 3)
    assert caught.value.reason is ScanReason.REVOKED_KEY


GOOD = sign_tag(SITE.patrol, "dg", "cp-dorm")
OTHER_KEY = sign_tag(
    parse_settings(
        {"patrol": {"keys": {2: "somebody-elses-key-0"}}, "schools": [{"id": "dg", "name": "x"}]}
    ).patrol,
    "dg",
    "cp-dorm",
)


@pytest.mark.parametrize(
    ("tag", "reason", "claimed"),
    [
        pytest.param(
            GOOD[:-1] + ("x" if GOOD[-1] != "x" else "y"),
            ScanReason.FORGED_TAG,
            "cp-dorm",
            id="altered-signature",
        ),
        pytest.param(OTHER_KEY, ScanReason.FORGED_TAG, "cp-dorm", id="signed-with-another-key"),
        pytest.param(
            GOOD.replace("cp-dorm", "cp-yard"),
            ScanReason.FORGED_TAG,
            "cp-yard",
            id="checkpoint-swapped",
        ),
        pytest.param(
            GOOD.replace(":2:", ":9:"),
            ScanReason.REVOKED_KEY,
            "cp-dorm",
            id="key-version-not-configured",
        ),
        pytest.param(
            sign_tag(SITE.patrol, "dg", "cp-gone"),
            ScanReason.UNKNOWN_TAG,
            None,
            id="unconfigured-checkpoint",
        ),
        pytest.param("https://weixin.qq.com/x", ScanReason.UNKNOWN_TAG, None, id="another-qr"),
        pytest.param("", ScanReason.UNKNOWN_TAG, None, id="empty"),
        pytest.param(GOOD + "A", ScanReason.UNKNOWN_TAG, None, id="too-long-signature"),
        pytest.param(GOOD.upper(), ScanReason.UNKNOWN_TAG, None, id="upper-cased"),
    ],
)
def test_tags_that_prove_nothing(tag: str, reason: ScanReason, claimed: str | None) -> None:
    verdict = check_scan(SITE, scan(tag))
    assert verdict.reason is reason
    assert verdict.accepted is False
    assert verdict.checkpoint_id == claimed
    assert verdict.message == REASON_TEXT[reason]
    assert verdict.detail


@pytest.mark.parametrize(
    ("kwargs", "reason", "checkpoint"),
    [
        pytest.param({}, None, "cp-dorm", id="good"),
        pytest.param({"reader": "cp-dorm"}, None, "cp-dorm", id="at-its-reader"),
        pytest.param(
            {"reader": "cp-yard"},
            ScanReason.WRONG_CHECKPOINT,
            "cp-yard",
            id="moved-to-another-reader",
        ),
        pytest.param({"school": "sy"}, ScanReason.WRONG_SCHOOL, "cp-dorm", id="another-school"),
        pytest.param(
            {"guard": "zhang-san"}, ScanReason.UNKNOWN_GUARD, "cp-dorm", id="unknown-guard"
        ),
    ],
)
def test_what_a_scan_with_a_good_tag_proves(
    kwargs: dict[str, str], reason: ScanReason | None, checkpoint: str
) -> None:
    verdict = check_scan(SITE, scan(GOOD, **kwargs))
    assert verdict.reason is reason
    assert verdict.checkpoint_id == checkpoint
    assert verdict.key_version == 2


def test_a_removed_key_version_revokes_its_tags() -> None:
    old = sign_tag(SITE.patrol, "dg", "cp-dorm", 1)
    rotated = site(keys={2: "key-two-0123456789"})
    assert check_scan(SITE, scan(old)).accepted
    assert check_scan(rotated, scan(old)).reason is ScanReason.REVOKED_KEY
    assert check_scan(rotated, scan(sign_tag(rotated.patrol, "dg", "cp-dorm"))).accepted


@given(st.text(max_size=600))
def test_no_text_is_accepted_unless_signed(text: str) -> None:
    verdict = check_scan(SITE, scan(text))
    assert verdict.accepted is (text.strip() == GOOD)


@pytest.mark.parametrize(
    ("offset", "problem"),
    [
        (timedelta(0), None),
        (timedelta(minutes=4), None),  # within max_clock_skew_s (300 s)
        (timedelta(minutes=6), "in the future"),
        (-timedelta(days=6, hours=23), None),
        (-timedelta(days=7, seconds=1), "older than 7 days"),
    ],
)
def test_scan_times(offset: timedelta, problem: str | None) -> None:
    if problem is None:
        check_scan_time(SITE, NOW + offset, NOW)
        return
    with pytest.raises(PayloadRejected, match=problem):
        check_scan_time(SITE, NOW + offset, NOW)


@pytest.mark.parametrize(
    ("patrol", "message"),
    [
        ({"keys": {1: "short"}}, "patrol.keys: key 1 must be at least 16 characters"),
        ({"keys": {0: "long-enough-key-0123"}}, "from 1 to 9999"),
        ({"keys": {1: "long-enough-key-0123"}, "current_key": 2}, "current_key: no key version 2"),
        (
            {"keys": {1: "long-enough-key-0123"}, "round_times": ["8:00"]},
            "is not a local time HH:MM",
        ),
        (
            {"keys": {1: "long-enough-key-0123"}, "round_times": ["08:00", "08:00"]},
            "round times repeat",
        ),
        (
            {"keys": {1: "long-enough-key-0123"}, "round_times": ["08:00", "12:00"]},
            "patrol.round_times: 2 rounds, fewer than rules.patrols_per_day (5)",
        ),
        ({}, "patrol.keys: key checkpoints (key_area: true) need a key"),
    ],
)
def test_patrol_configuration_errors_name_the_key(patrol: dict[str, Any], message: str) -> None:
    tree = {
        "patrol": patrol,
        "schools": [
            {"id": "dg", "name": "x", "checkpoints": [{"id": "c", "name": "c", "key_area": True}]}
        ],
    }
    with pytest.raises(ConfigError) as caught:
        parse_settings(tree)
    assert any(message in problem for problem in caught.value.problems), caught.value.problems


def test_duplicate_guard_ids_are_refused() -> None:
    with pytest.raises(ConfigError, match="guards: duplicate id 'g'"):
        parse_settings(
            {
                "schools": [
                    {
                        "id": "dg",
                        "name": "x",
                        "guards": [{"id": "g", "name": "a"}, {"id": "g", "name": "b"}],
                    }
                ]
            }
        )
