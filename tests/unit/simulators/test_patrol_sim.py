"""The simulated guards' day: the plan, and the clock that replays it fast then keeps time."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from gateway.patrol.reasons import ScanReason, ScanSource
from gateway.patrol.scans import IncomingScan, check_scan
from gateway.settings import parse_settings
from simulators.patrol import AcceleratedClock, Carrier, PatrolPlanOptions, forge, plan_day

SITE = parse_settings(
    {
        "patrol": {"keys": {1: "patrol-key-0123456789"}},
        "schools": [
            {
                "id": "dg",
                "name": "东关中学",
                "checkpoints": [
                    {"id": "cp-a", "name": "A", "key_area": True},
                    {"id": "cp-b", "name": "B", "key_area": True},
                    {"id": "cp-c", "name": "C"},
                ],
                "guards": [{"id": "g1", "name": "一"}, {"id": "g2", "name": "二"}],
            },
            {
                "id": "no-guards",
                "name": "x",
                "checkpoints": [{"id": "c", "name": "c", "key_area": True}],
            },
        ],
    }
)
DAY = date(2026, 11, 30)


def verdict(scan_tag: str, guard: str) -> ScanReason | None:
    now = datetime(2026, 11, 30, tzinfo=UTC)
    incoming = IncomingScan("dg", guard, scan_tag, now, now, ScanSource.READER, "m")
    return check_scan(SITE, incoming).reason


def test_every_round_is_walked_past_every_checkpoint_when_none_is_missed() -> None:
    plan = plan_day(SITE, DAY, PatrolPlanOptions(miss_share=0, forged=0, wand_share=0))
    assert len(plan) == 5 * 3  # five rounds (rules.patrols_per_day), three checkpoints
    assert {s.school_id for s in plan} == {"dg"}  # a school without guards is not walked
    assert [s.at for s in plan] == sorted(s.at for s in plan)
    assert all(verdict(s.tag, s.guard_id) is None for s in plan)
    assert {s.guard_id for s in plan} == {"g1", "g2"}
    assert {s.carrier for s in plan} == {Carrier.READER}


def test_missed_rounds_wands_and_a_forged_tag() -> None:
    plan = plan_day(SITE, DAY, PatrolPlanOptions(seed=3, miss_share=0.4, forged=1, wand_share=0.5))
    forged = [s for s in plan if s.forged]
    assert len(forged) == 1
    assert verdict(forged[0].tag, forged[0].guard_id) is ScanReason.FORGED_TAG
    assert len({s.round_at for s in plan}) < 5  # some rounds were missed
    assert plan == plan_day(
        SITE, DAY, PatrolPlanOptions(seed=3, miss_share=0.4, forged=1, wand_share=0.5)
    )


def test_forge_changes_only_the_signature() -> None:
    tag = "cg1:dg:cp-a:1:" + "A" * 22
    assert forge(tag)[:-1] == tag[:-1]
    assert forge(tag) != tag


def test_the_clock_runs_fast_until_it_reaches_the_present_then_keeps_time() -> None:
    real = [datetime(2026, 11, 30, 12, tzinfo=UTC)]
    clock = AcceleratedClock(
        start=datetime(2026, 11, 30, 0, tzinfo=UTC), speed=600, real=lambda: real[0]
    )
    assert clock.now() == datetime(2026, 11, 30, 0, tzinfo=UTC)
    real[0] += timedelta(seconds=60)
    assert clock.now() == datetime(2026, 11, 30, 10, tzinfo=UTC)  # 60 s x 600
    real[0] += timedelta(seconds=60)
    assert clock.now() == real[0]  # caught up: real time from now on
    real[0] += timedelta(hours=1)
    assert clock.now() == real[0]
