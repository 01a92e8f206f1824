"""Full-time guards aged 60 or under, trained every quarter, enough for the school's pupils:
each guard and each school's roster, by tables of guard records."""

from __future__ import annotations

import itertools
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.compliance.guards import (
    DEFAULT_MINIMUM,
    GuardFlag,
    GuardMinimum,
    GuardRecord,
    JudgedGuard,
    StaffingStep,
    judge_guard,
    judge_school_guards,
    quarter_of,
    required_guards,
)

OVER_AGE = GuardFlag.OVER_AGE
NOT_FULL_TIME = GuardFlag.NOT_FULL_TIME
OVERDUE = GuardFlag.TRAINING_OVERDUE
REMINDER = GuardFlag.NOT_TRAINED_THIS_QUARTER
NO_BIRTH_DATE = GuardFlag.NO_BIRTH_DATE
TODAY = "2026-05-20"


def d(text: str) -> date:
    return date.fromisoformat(text)


def guard(
    guard_id: str = "g1",
    *,
    born: str | None = "1980-06-01",
    full_time: bool = True,
    trained: tuple[str, ...] = ("2026-04-15",),
) -> GuardRecord:
    """A guard who is compliant on TODAY unless told otherwise."""
    return GuardRecord(
        guard_id=guard_id,
        name=f"保安{guard_id}",
        birth_date=None if born is None else d(born),
        full_time=full_time,
        trainings=tuple(d(t) for t in trained),
    )


def judge(record: GuardRecord, today: str = TODAY, max_age: int = 60) -> JudgedGuard:
    return judge_guard(record, today=d(today), max_age=max_age)


# first and last day of the calendar quarter
QUARTER_CASES: dict[str, tuple[str, str, str]] = {
    "jan-1": ("2026-01-01", "2026-01-01", "2026-03-31"),
    "mar-31": ("2026-03-31", "2026-01-01", "2026-03-31"),
    "apr-1": ("2026-04-01", "2026-04-01", "2026-06-30"),
    "jun-30": ("2026-06-30", "2026-04-01", "2026-06-30"),
    "jul-1": ("2026-07-01", "2026-07-01", "2026-09-30"),
    "sep-30": ("2026-09-30", "2026-07-01", "2026-09-30"),
    "oct-1": ("2026-10-01", "2026-10-01", "2026-12-31"),
    "dec-31": ("2026-12-31", "2026-10-01", "2026-12-31"),
    "mid-quarter": ("2026-05-20", "2026-04-01", "2026-06-30"),
    "leap-feb-29": ("2028-02-29", "2028-01-01", "2028-03-31"),
    "year-1": ("0001-01-01", "0001-01-01", "0001-03-31"),
    "year-9999-q4": ("9999-12-31", "9999-10-01", "9999-12-31"),
}


@pytest.mark.parametrize("day, first, last", QUARTER_CASES.values(), ids=QUARTER_CASES.keys())
def test_quarter_of(day: str, first: str, last: str) -> None:
    assert quarter_of(d(day)) == (d(first), d(last))


# birth date, today, max_age -> age, over age
AGE_CASES: dict[str, tuple[str, str, int, int, bool]] = {
    "59-day-before-60th-birthday": ("1966-03-11", "2026-03-10", 60, 59, False),
    "60th-birthday": ("1966-03-10", "2026-03-10", 60, 60, False),
    "60-day-before-61st-birthday": ("1965-03-11", "2026-03-10", 60, 60, False),
    "61st-birthday-over-age": ("1965-03-10", "2026-03-10", 60, 61, True),
    "61-day-after-61st-birthday": ("1965-03-09", "2026-03-10", 60, 61, True),
    "70-over-age": ("1956-01-01", "2026-03-10", 60, 70, True),
    "born-dec-31-day-before-61st-birthday": ("1965-12-31", "2026-12-30", 60, 60, False),
    "born-dec-31-61st-birthday": ("1965-12-31", "2026-12-31", 60, 61, True),
    "born-jan-1-61st-birthday": ("1965-01-01", "2026-01-01", 60, 61, True),
    "born-today-0": ("2026-03-10", "2026-03-10", 60, 0, False),
    # born on 29 February 1964 (a leap year)
    "feb-29-leap-year-60th-birthday": ("1964-02-29", "2024-02-29", 60, 60, False),
    "feb-29-leap-year-day-before-60th-birthday": ("1964-02-29", "2024-02-28", 60, 59, False),
    "feb-29-common-year-feb-28-birthday-not-reached": ("1964-02-29", "2025-02-28", 60, 60,
                                                        False),
    "feb-29-common-year-reached-on-mar-1": ("1964-02-29", "2025-03-01", 60, 61, True),
    "feb-29-next-leap-year-feb-28": ("1964-02-29", "2028-02-28", 60, 63, True),
    "feb-29-next-leap-year-feb-29": ("1964-02-29", "2028-02-29", 60, 64, True),
    "feb-28-birthday-in-a-leap-year": ("1965-02-28", "2024-02-28", 60, 59, False),
    "mar-1-birthday-not-reached-on-leap-feb-29": ("1964-03-01", "2024-02-29", 60, 59, False),
    "max-age-55-at-55": ("1971-03-10", "2026-03-10", 55, 55, False),
    "max-age-55-at-56": ("1970-03-10", "2026-03-10", 55, 56, True),
}  # fmt: skip


@pytest.mark.parametrize(
    "born, today, max_age, age, over", AGE_CASES.values(), ids=AGE_CASES.keys()
)
def test_age(born: str, today: str, max_age: int, age: int, over: bool) -> None:
    judged = judge(guard(born=born, trained=(today,)), today, max_age)
    assert judged.age == age
    assert (OVER_AGE in judged.flags) is over
    assert judged.compliant is not over


@dataclass(frozen=True, kw_only=True)
class Training:
    trained: tuple[str, ...]
    today: str = TODAY
    born: str = "1980-06-01"
    last: str | None
    this_quarter: bool
    flags: tuple[GuardFlag, ...]  # of OVERDUE and REMINDER


TRAINING_CASES = {
    "this-quarter": Training(
        trained=("2026-04-15",), last="2026-04-15", this_quarter=True, flags=()),
    "today": Training(trained=(TODAY,), last=TODAY, this_quarter=True, flags=()),
    "first-day-of-this-quarter": Training(
        trained=("2026-04-01",), last="2026-04-01", this_quarter=True, flags=()),
    "last-day-of-previous-quarter-reminder": Training(
        trained=("2026-03-31",), last="2026-03-31", this_quarter=False, flags=(REMINDER,)),
    "first-day-of-previous-quarter-reminder": Training(
        trained=("2026-01-01",), last="2026-01-01", this_quarter=False, flags=(REMINDER,)),
    "two-quarters-ago-overdue": Training(
        trained=("2025-12-31",), last="2025-12-31", this_quarter=False,
        flags=(OVERDUE, REMINDER)),
    "a-year-ago-overdue": Training(
        trained=("2025-05-20",), last="2025-05-20", this_quarter=False,
        flags=(OVERDUE, REMINDER)),
    "never-overdue": Training(trained=(), last=None, this_quarter=False,
                              flags=(OVERDUE, REMINDER)),
    "tomorrow-ignored": Training(
        trained=("2026-05-21",), last=None, this_quarter=False, flags=(OVERDUE, REMINDER)),
    "next-quarter-ignored": Training(
        trained=("2026-07-01",), last=None, this_quarter=False, flags=(OVERDUE, REMINDER)),
    "future-ignored-previous-quarter-counts": Training(
        trained=("2026-06-01", "2026-02-10"), last="2026-02-10", this_quarter=False,
        flags=(REMINDER,)),
    "latest-on-or-before-today-is-last": Training(
        trained=("2026-02-10", "2026-04-03", "2025-11-01", "2026-09-01"), last="2026-04-03",
        this_quarter=True, flags=()),
    "repeated-and-unordered": Training(
        trained=("2026-04-15", "2026-01-10", "2026-04-15"), last="2026-04-15",
        this_quarter=True, flags=()),
    "quarter-start-day-trained-the-day-before-reminder": Training(
        trained=("2026-03-31",), today="2026-04-01", last="2026-03-31", this_quarter=False,
        flags=(REMINDER,)),
    "quarter-end-day-two-quarters-ago-overdue": Training(
        trained=("2025-12-31",), today="2026-06-30", last="2025-12-31", this_quarter=False,
        flags=(OVERDUE, REMINDER)),
    "quarter-end-day-previous-quarter-start-reminder": Training(
        trained=("2026-01-01",), today="2026-06-30", last="2026-01-01", this_quarter=False,
        flags=(REMINDER,)),
    "jan-1-last-years-q4-start-reminder": Training(
        trained=("2026-10-01",), today="2027-01-01", last="2026-10-01", this_quarter=False,
        flags=(REMINDER,)),
    "jan-1-last-years-q3-end-overdue": Training(
        trained=("2026-09-30",), today="2027-01-01", last="2026-09-30", this_quarter=False,
        flags=(OVERDUE, REMINDER)),
    "jan-1-trained-on-jan-1": Training(
        trained=("2027-01-01",), today="2027-01-01", last="2027-01-01", this_quarter=True,
        flags=()),
    "dec-31-trained-oct-1": Training(
        trained=("2026-10-01",), today="2026-12-31", last="2026-10-01", this_quarter=True,
        flags=()),
    "year-1-first-quarter-never-trained-overdue": Training(
        trained=(), today="0001-02-01", born="0001-01-01", last=None, this_quarter=False,
        flags=(OVERDUE, REMINDER)),
}  # fmt: skip


@pytest.mark.parametrize("case", TRAINING_CASES.values(), ids=TRAINING_CASES.keys())
def test_training(case: Training) -> None:
    record = guard(born=case.born, trained=case.trained)
    judged = judge(record, case.today)
    assert judged.record is record
    assert judged.last_training == (None if case.last is None else d(case.last))
    assert judged.trained_this_quarter is case.this_quarter
    assert judged.flags == case.flags
    assert judged.compliant is (OVERDUE not in case.flags)


# born, full time, trainings -> flags (in the enum's order), compliant
FLAG_CASES: dict[str, tuple[str | None, bool, tuple[str, ...], tuple[GuardFlag, ...], bool]] = {
    "all-good": ("1980-06-01", True, ("2026-04-15",), (), True),
    "reminder-alone-is-compliant": ("1980-06-01", True, ("2026-03-15",), (REMINDER,), True),
    "part-time": ("1980-06-01", False, ("2026-04-15",), (NOT_FULL_TIME,), False),
    "no-birth-date": (None, True, ("2026-04-15",), (NO_BIRTH_DATE,), False),
    "over-age": ("1960-01-01", True, ("2026-04-15",), (OVER_AGE,), False),
    "everything-wrong-but-age": (None, False, (), (NOT_FULL_TIME, OVERDUE, REMINDER,
                                                   NO_BIRTH_DATE), False),
    "over-age-part-time-untrained": ("1950-01-01", False, (), (OVER_AGE, NOT_FULL_TIME,
                                                              OVERDUE, REMINDER), False),
    "over-age-reminder": ("1950-01-01", True, ("2026-02-01",), (OVER_AGE, REMINDER), False),
}  # fmt: skip


@pytest.mark.parametrize(
    "born, full_time, trained, flags, compliant", FLAG_CASES.values(), ids=FLAG_CASES.keys()
)
def test_flags(
    born: str | None,
    full_time: bool,
    trained: tuple[str, ...],
    flags: tuple[GuardFlag, ...],
    compliant: bool,
) -> None:
    judged = judge(guard(born=born, full_time=full_time, trained=trained))
    assert judged.flags == flags
    assert judged.compliant is compliant
    assert (judged.age is None) is (born is None)


def test_no_birth_date_is_not_over_age_whatever_max_age() -> None:
    judged = judge(guard(born=None), max_age=1)
    assert (judged.age, judged.flags) == (None, (NO_BIRTH_DATE,))


def step(pupils_from: int, guards: int) -> StaffingStep:
    return StaffingStep(pupils_from, guards)


CUSTOM_FLAT = GuardMinimum(steps=(step(0, 2), step(500, 3)), per_further=None)
CUSTOM_PER_200 = GuardMinimum(steps=(step(0, 1),), per_further=200)
CUSTOM_PLATEAU = GuardMinimum(steps=(step(0, 1), step(50, 1), step(100, 2)), per_further=1)

# pupils, minimum -> guards required
REQUIRED_CASES: dict[str, tuple[int, GuardMinimum, int]] = {
    "default-0": (0, DEFAULT_MINIMUM, 1),
    "default-99": (99, DEFAULT_MINIMUM, 1),
    "default-100": (100, DEFAULT_MINIMUM, 2),
    "default-999": (999, DEFAULT_MINIMUM, 2),
    "default-1000": (1000, DEFAULT_MINIMUM, 3),
    "default-1499": (1499, DEFAULT_MINIMUM, 3),
    "default-1500": (1500, DEFAULT_MINIMUM, 4),
    "default-1999": (1999, DEFAULT_MINIMUM, 4),
    "default-2000": (2000, DEFAULT_MINIMUM, 5),
    "default-10000": (10000, DEFAULT_MINIMUM, 21),
    "flat-0": (0, CUSTOM_FLAT, 2),
    "flat-499": (499, CUSTOM_FLAT, 2),
    "flat-500": (500, CUSTOM_FLAT, 3),
    "flat-no-increase-at-100000": (100_000, CUSTOM_FLAT, 3),
    "per-200-one-step-0": (0, CUSTOM_PER_200, 1),
    "per-200-one-step-199": (199, CUSTOM_PER_200, 1),
    "per-200-one-step-200": (200, CUSTOM_PER_200, 2),
    "per-200-one-step-1000": (1000, CUSTOM_PER_200, 6),
    "plateau-49": (49, CUSTOM_PLATEAU, 1),
    "plateau-50": (50, CUSTOM_PLATEAU, 1),
    "plateau-100": (100, CUSTOM_PLATEAU, 2),
    "plateau-per-1-pupil-103": (103, CUSTOM_PLATEAU, 5),
}


@pytest.mark.parametrize(
    "pupils, minimum, expected", REQUIRED_CASES.values(), ids=REQUIRED_CASES.keys()
)
def test_required_guards(pupils: int, minimum: GuardMinimum, expected: int) -> None:
    assert required_guards(pupils, minimum) == expected


def test_default_minimum_is_the_default() -> None:
    assert required_guards(1500) == 4
    assert DEFAULT_MINIMUM.steps == (step(0, 1), step(100, 2), step(1000, 3))
    assert DEFAULT_MINIMUM.per_further == 500


BAD_MINIMUMS: dict[str, tuple[Callable[[], object], str]] = {
    "no-steps": (lambda: GuardMinimum(steps=(), per_further=500),
                 "a guard minimum needs at least one step"),
    "first-step-not-at-0": (lambda: GuardMinimum(steps=(step(10, 1),), per_further=None),
                            "the first step must start at 0 pupils, got 10"),
    "steps-descending": (
        lambda: GuardMinimum(steps=(step(0, 1), step(1000, 3), step(100, 3)), per_further=None),
        "steps must be in ascending order of pupils_from, got 100 after 1000"),
    "steps-repeating-a-pupil-count": (
        lambda: GuardMinimum(steps=(step(0, 1), step(100, 2), step(100, 3)), per_further=None),
        "steps must be in ascending order of pupils_from, got 100 after 100"),
    "guards-decreasing": (
        lambda: GuardMinimum(steps=(step(0, 2), step(100, 1)), per_further=None),
        "more pupils must not need fewer guards: 1 from 100 pupils after 2 from 0"),
    "per-further-0": (lambda: GuardMinimum(steps=(step(0, 1),), per_further=0),
                      "per_further must be at least 1 pupil (or None), got 0"),
    "per-further-negative": (lambda: GuardMinimum(steps=(step(0, 1),), per_further=-500),
                             "per_further must be at least 1 pupil (or None), got -500"),
    "step-with-0-guards": (lambda: step(0, 0),
                           "a step must ask for at least 1 guard, got 0 from 0 pupils"),
    "step-with-negative-pupils": (lambda: step(-1, 1),
                                  "pupils_from must not be negative, got -1"),
}  # fmt: skip


@pytest.mark.parametrize("make, message", BAD_MINIMUMS.values(), ids=BAD_MINIMUMS.keys())
def test_bad_minimum_is_refused(make: Callable[[], object], message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        make()


NOW = d(TODAY)
A_DATETIME = datetime(2026, 5, 20, 9, 30)

BAD_INPUT: dict[str, tuple[Callable[[], object], str]] = {
    "negative-pupils": (lambda: required_guards(-1), "pupils must not be negative, got -1"),
    "negative-pupils-of-a-school": (
        lambda: judge_school_guards([], today=NOW, pupils=-5),
        "pupils must not be negative, got -5"),
    "quarter-of-a-datetime": (lambda: quarter_of(A_DATETIME),
                              "day must be a date, not the datetime 2026-05-20T09:30:00"),
    "judge-guard-today-a-datetime": (
        lambda: judge_guard(guard(), today=A_DATETIME),
        "today must be a date, not the datetime 2026-05-20T09:30:00"),
    "judge-school-today-a-datetime": (
        lambda: judge_school_guards([], today=A_DATETIME, pupils=10),
        "today must be a date, not the datetime 2026-05-20T09:30:00"),
    "birth-date-a-datetime": (
        lambda: replace(guard(), birth_date=A_DATETIME),
        "birth_date of guard g1 must be a date, not the datetime 2026-05-20T09:30:00"),
    "training-a-datetime": (
        lambda: replace(guard(), trainings=(NOW, A_DATETIME)),
        "a training date of guard g1 must be a date, not the datetime 2026-05-20T09:30:00"),
    "empty-guard-id": (lambda: guard(""), "guard_id must not be empty"),
    "born-after-today": (
        lambda: judge(guard(born="2026-05-21")),
        "birth_date of guard g1 is after today: 2026-05-21 > 2026-05-20"),
    "max-age-0": (lambda: judge_guard(guard(), today=NOW, max_age=0),
                  "max_age must be at least 1 year, got 0"),
    "max-age-0-of-a-school": (
        lambda: judge_school_guards([], today=NOW, pupils=10, max_age=0),
        "max_age must be at least 1 year, got 0"),
    "two-different-records-of-one-guard": (
        lambda: judge_school_guards([guard("g1"), guard("g1", full_time=False)], today=NOW,
                                    pupils=10),
        "two different records of guard g1 on the roster: "),
}  # fmt: skip


@pytest.mark.parametrize("make, message", BAD_INPUT.values(), ids=BAD_INPUT.keys())
def test_bad_input_is_refused(make: Callable[[], object], message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}"):
        make()


@dataclass(frozen=True, kw_only=True)
class School:
    roster: tuple[GuardRecord, ...]
    pupils: int | None
    minimum: GuardMinimum = DEFAULT_MINIMUM
    required: int | None
    full_time: int
    enough: bool | None
    guards_compliant: tuple[bool, ...]
    compliant: bool


PART_TIME = guard("p1", full_time=False)
OLD = guard("o1", born="1960-01-01")
UNTRAINED = guard("u1", trained=())
REMINDED = guard("r1", trained=("2026-03-01",))

SCHOOL_CASES = {
    "enough-and-all-compliant": School(
        roster=(guard("g1"), guard("g2")), pupils=150, required=2, full_time=2, enough=True,
        guards_compliant=(True, True), compliant=True),
    "more-than-enough": School(
        roster=(guard("g1"), guard("g2"), guard("g3")), pupils=99, required=1, full_time=3,
        enough=True, guards_compliant=(True, True, True), compliant=True),
    "too-few-full-time-for-1200-pupils": School(
        roster=(guard("g1"), guard("g2")), pupils=1200, required=3, full_time=2, enough=False,
        guards_compliant=(True, True), compliant=False),
    "part-time-guard-not-counted": School(
        roster=(guard("g1"), PART_TIME), pupils=150, required=2, full_time=1, enough=False,
        guards_compliant=(True, False), compliant=False),
    "part-time-guard-extra-still-a-breach": School(
        roster=(guard("g1"), PART_TIME), pupils=50, required=1, full_time=1, enough=True,
        guards_compliant=(True, False), compliant=False),
    "enough-but-one-over-age": School(
        roster=(guard("g1"), OLD), pupils=150, required=2, full_time=2, enough=True,
        guards_compliant=(True, False), compliant=False),
    "enough-but-one-overdue-for-training": School(
        roster=(UNTRAINED, guard("g1")), pupils=150, required=2, full_time=2, enough=True,
        guards_compliant=(False, True), compliant=False),
    "reminder-alone-still-compliant": School(
        roster=(REMINDED,), pupils=10, required=1, full_time=1, enough=True,
        guards_compliant=(True,), compliant=True),
    "unknown-pupils-cannot-be-checked": School(
        roster=(guard("g1"), guard("g2")), pupils=None, required=None, full_time=2,
        enough=None, guards_compliant=(True, True), compliant=False),
    "empty-roster": School(
        roster=(), pupils=0, required=1, full_time=0, enough=False, guards_compliant=(),
        compliant=False),
    "empty-roster-unknown-pupils": School(
        roster=(), pupils=None, required=None, full_time=0, enough=None, guards_compliant=(),
        compliant=False),
    "custom-minimum": School(
        roster=(guard("g1"),), pupils=10, minimum=CUSTOM_FLAT, required=2, full_time=1,
        enough=False, guards_compliant=(True,), compliant=False),
    "exactly-at-a-step": School(
        roster=tuple(guard(f"g{i}") for i in range(4)), pupils=1500, required=4, full_time=4,
        enough=True, guards_compliant=(True,) * 4, compliant=True),
    "one-short-at-a-step": School(
        roster=tuple(guard(f"g{i}") for i in range(3)), pupils=1500, required=4, full_time=3,
        enough=False, guards_compliant=(True,) * 3, compliant=False),
    "an-identical-copy-is-one-guard": School(
        roster=(guard("g1"), guard("g1")), pupils=150, required=2, full_time=1, enough=False,
        guards_compliant=(True,), compliant=False),
    "a-copy-with-trainings-reordered-is-one-guard": School(
        roster=(guard("g1", trained=("2026-04-15", "2026-01-02")),
                guard("g1", trained=("2026-01-02", "2026-04-15", "2026-04-15"))),
        pupils=50, required=1, full_time=1, enough=True, guards_compliant=(True,),
        compliant=True),
}  # fmt: skip


@pytest.mark.parametrize("case", SCHOOL_CASES.values(), ids=SCHOOL_CASES.keys())
def test_judge_school_guards(case: School) -> None:
    school = judge_school_guards(case.roster, today=NOW, pupils=case.pupils, minimum=case.minimum)
    assert (school.today, school.pupils) == (NOW, case.pupils)
    assert school.required == case.required
    assert school.full_time == case.full_time
    assert school.enough is case.enough
    assert tuple(g.compliant for g in school.guards) == case.guards_compliant
    assert school.compliant is case.compliant


def test_roster_order_is_kept_and_each_guard_judged() -> None:
    roster = [guard("z9"), PART_TIME, OLD, guard("a1"), OLD]
    school = judge_school_guards(roster, today=NOW, pupils=150)
    assert [g.record.guard_id for g in school.guards] == ["z9", "p1", "o1", "a1"]
    assert list(school.guards) == [judge_guard(r, today=NOW) for r in roster[:4]]


def test_max_age_reaches_each_guard() -> None:
    fifty_six = guard("g1", born="1970-01-01")
    school = judge_school_guards([fifty_six], today=NOW, pupils=10, max_age=55)
    assert school.guards[0].flags == (OVER_AGE,)
    assert school.compliant is False
    assert judge_school_guards([fifty_six], today=NOW, pupils=10).compliant is True


# --- properties ---

DATES = st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31))


@st.composite
def minimums(draw: st.DrawFn) -> GuardMinimum:
    gaps = draw(st.lists(st.integers(1, 2000), max_size=5))
    rises = draw(st.lists(st.integers(0, 5), min_size=len(gaps), max_size=len(gaps)))
    first = draw(st.integers(1, 5))
    froms = list(itertools.accumulate(gaps, initial=0))
    guards = list(itertools.accumulate(rises, initial=first))
    per_further = draw(st.none() | st.integers(1, 1000))
    return GuardMinimum(
        steps=tuple(StaffingStep(p, g) for p, g in zip(froms, guards, strict=True)),
        per_further=per_further,
    )


@given(minimums(), st.integers(0, 20_000), st.integers(0, 20_000))
def test_required_guards_never_falls_as_pupils_grow(minimum: GuardMinimum, a: int, b: int) -> None:
    low, high = sorted((a, b))
    assert 1 <= required_guards(low, minimum) <= required_guards(high, minimum)


@given(st.integers(0, 20_000))
def test_one_more_pupil_adds_at_most_one_default_guard(pupils: int) -> None:
    more = pupils + 1
    step_up = required_guards(more) - required_guards(pupils)
    assert step_up == (more in (100, 1000) or (more > 1000 and more % 500 == 0))


@st.composite
def guards_on_a_day(draw: st.DrawFn) -> tuple[GuardRecord, date]:
    today = draw(DATES)
    born = draw(st.none() | st.dates(min_value=date(1850, 1, 1), max_value=today))
    # trainings near today, so this quarter, the one before and the future all turn up
    offsets = draw(st.lists(st.integers(-400, 60), max_size=6))
    record = GuardRecord(
        guard_id="g1",
        name="保安",
        birth_date=born,
        full_time=draw(st.booleans()),
        trainings=tuple(today + timedelta(days=o) for o in offsets),
    )
    return record, today


ORDER = list(GuardFlag)


@given(guards_on_a_day(), st.integers(1, 100), st.randoms(use_true_random=False))
def test_judged_guard_follows_the_plain_definitions(
    drawn: tuple[GuardRecord, date], max_age: int, rnd: random.Random
) -> None:
    record, today = drawn
    judged = judge_guard(record, today=today, max_age=max_age)
    positions = [ORDER.index(f) for f in judged.flags]
    assert positions == sorted(set(positions))  # in the enum's order, each once
    flags = set(judged.flags)
    assert judged.compliant is (flags <= {REMINDER})
    assert (judged.age is None) is (NO_BIRTH_DATE in flags) is (record.birth_date is None)
    if judged.age is not None:
        assert (OVER_AGE in flags) is (judged.age > max_age)
    assert (NOT_FULL_TIME in flags) is (not record.full_time)
    assert (REMINDER in flags) is (not judged.trained_this_quarter)
    held = [t for t in record.trainings if t <= today]
    assert judged.last_training == max(held, default=None)
    if OVERDUE in flags:
        assert REMINDER in flags
        assert all((today - t).days > 90 for t in held)
    elif held:
        assert (today - max(held)).days < 183  # this quarter or the one before
    # order and repeats of the trainings do not matter
    shuffled = list(record.trainings) * 2
    rnd.shuffle(shuffled)
    again = judge_guard(replace(record, trainings=tuple(shuffled)), today=today, max_age=max_age)
    assert replace(again, record=record) == judged


@given(st.dates(min_value=date(1904, 3, 1), max_value=date(2096, 12, 31)), st.integers(1, 90))
def test_age_agrees_with_counting_birthdays(born: date, years: int) -> None:
    """On the day `years` birthdays have passed (1 March for a 29 February birthday in a
    common year) the age is `years`, and the day before it is one less."""
    try:
        birthday = born.replace(year=born.year + years)
    except ValueError:  # 29 February in a common year
        birthday = date(born.year + years, 3, 1)
    record = guard(born=born.isoformat())
    assert judge_guard(record, today=birthday).age == years
    assert judge_guard(record, today=birthday - timedelta(days=1)).age == years - 1
