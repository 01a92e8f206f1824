"""Full-time security guards aged 60 or under, trained every quarter, at least as many as the
school's day pupils call for (专职保安员年龄不超过60岁、每季度培训; GB/T 29315-2022): the
judgement of each guard and of a school's roster.

Pure: the guard records, the school's number of day pupils and `today` (a local date) come
in; nothing is read from a clock or a store.

- Age is in whole years on `today`. A guard born on 29 February reaches a birthday on
  1 March in a common year (the usual legal reading): still 60 on 28 February 2025 when born
  on 29 February 1964, 61 on 1 March.
- A training counts from its date on: one dated after `today` has not happened yet and is
  ignored. Quarters are calendar quarters. No training this quarter is a reminder; none this
  quarter nor the one before is a breach (the guard has gone a full quarter untrained).
- The flags are facts, each by its own definition: a guard overdue for training is also
  not trained this quarter.
- Every full-time guard on the roster counts towards the minimum, a non-compliant one too
  (who is counted is a fact; that guard makes the school non-compliant anyway).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

__all__ = [
    "DEFAULT_MINIMUM",
    "GuardFlag",
    "GuardMinimum",
    "GuardRecord",
    "JudgedGuard",
    "SchoolGuards",
    "StaffingStep",
    "judge_guard",
    "judge_school_guards",
    "quarter_of",
    "required_guards",
]


class GuardFlag(StrEnum):
    OVER_AGE = "over_age"  # older than max_age on `today`
    NOT_FULL_TIME = "not_full_time"  # the campaign asks for full-time (专职) guards
    TRAINING_OVERDUE = "training_overdue"  # no training this quarter nor the one before
    NOT_TRAINED_THIS_QUARTER = "not_trained_this_quarter"  # a reminder, not a breach alone
    NO_BIRTH_DATE = "no_birth_date"  # age unknown: an inspector cannot check it


# Any of these makes a guard non-compliant; NOT_TRAINED_THIS_QUARTER alone does not.
_BREACHES = frozenset(
    {
        GuardFlag.OVER_AGE,
        GuardFlag.NOT_FULL_TIME,
        GuardFlag.TRAINING_OVERDUE,
        GuardFlag.NO_BIRTH_DATE,
    }
)


@dataclass(frozen=True, slots=True)
class GuardRecord:
    guard_id: str
    name: str
    birth_date: date | None
    full_time: bool
    trainings: tuple[date, ...]  # local dates of the training sessions (any order, repeats)

    def __post_init__(self) -> None:
        if not self.guard_id:
            raise ValueError("guard_id must not be empty")
        if self.birth_date is not None:
            _check_date(self.birth_date, f"birth_date of guard {self.guard_id}")
        for day in self.trainings:
            _check_date(day, f"a training date of guard {self.guard_id}")


@dataclass(frozen=True, slots=True)
class JudgedGuard:
    record: GuardRecord
    age: int | None  # whole years on `today`; None without a birth date
    last_training: date | None  # the latest training on or before `today`
    trained_this_quarter: bool
    flags: tuple[GuardFlag, ...]  # in the enum's order, each once
    compliant: bool  # no flag but NOT_TRAINED_THIS_QUARTER


@dataclass(frozen=True, slots=True)
class StaffingStep:
    """From `pupils_from` day pupils on, at least `guards` guards."""

    pupils_from: int
    guards: int

    def __post_init__(self) -> None:
        if self.pupils_from < 0:
            raise ValueError(f"pupils_from must not be negative, got {self.pupils_from}")
        if self.guards < 1:
            raise ValueError(
                f"a step must ask for at least 1 guard, got {self.guards} "
                f"from {self.pupils_from} pupils"
            )


@dataclass(frozen=True, slots=True)
class GuardMinimum:
    """The minimum number of guards by the number of day pupils: the last step at or below
    the number applies; above the last step, one more guard per `per_further` pupils."""

    steps: tuple[StaffingStep, ...]  # ascending pupils_from from 0; guards non-decreasing
    per_further: int | None  # None: no more guards above the last step

    def __post_init__(self) -> None:
        if not self.steps:
            raise ValueError("a guard minimum needs at least one step")
        if self.steps[0].pupils_from != 0:
            raise ValueError(
                f"the first step must start at 0 pupils, got {self.steps[0].pupils_from}"
            )
        for before, after in zip(self.steps, self.steps[1:], strict=False):
            if after.pupils_from <= before.pupils_from:
                raise ValueError(
                    f"steps must be in ascending order of pupils_from, got {after.pupils_from} "
                    f"after {before.pupils_from}"
                )
            if after.guards < before.guards:
                raise ValueError(
                    f"more pupils must not need fewer guards: {after.guards} from "
                    f"{after.pupils_from} pupils after {before.guards} from "
                    f"{before.pupils_from}"
                )
        if self.per_further is not None and self.per_further < 1:
            raise ValueError(
                f"per_further must be at least 1 pupil (or None), got {self.per_further}"
            )


# At least 1 guard under 100 pupils, 2 from 100, 3 from 1,000, and one more for each
# further full 500: 1,499 -> 3, 1,500 -> 4, 2,000 -> 5.
DEFAULT_MINIMUM = GuardMinimum(
    steps=(StaffingStep(0, 1), StaffingStep(100, 2), StaffingStep(1000, 3)),
    per_further=500,
)


@dataclass(frozen=True, slots=True)
class SchoolGuards:
    today: date
    pupils: int | None
    required: int | None  # None when pupils is unknown: cannot be checked
    full_time: int  # full-time guards on the roster
    enough: bool | None  # full_time >= required; None when unknown
    guards: tuple[JudgedGuard, ...]  # roster order
    compliant: bool  # enough is True and every guard compliant


def quarter_of(day: date) -> tuple[date, date]:
    """The first and last day of the calendar quarter containing `day`."""
    _check_date(day, "day")
    first_month = 3 * ((day.month - 1) // 3) + 1
    first = date(day.year, first_month, 1)
    if first_month == 10:
        return first, date(day.year, 12, 31)
    return first, date(day.year, first_month + 3, 1) - timedelta(days=1)


def required_guards(pupils: int, minimum: GuardMinimum = DEFAULT_MINIMUM) -> int:
    """The least number of guards a school with `pupils` day pupils must have."""
    if pupils < 0:
        raise ValueError(f"pupils must not be negative, got {pupils}")
    last = minimum.steps[-1]
    if pupils >= last.pupils_from and minimum.per_further is not None:
        return last.guards + (pupils - last.pupils_from) // minimum.per_further
    return next(s.guards for s in reversed(minimum.steps) if s.pupils_from <= pupils)


def judge_guard(record: GuardRecord, *, today: date, max_age: int = 60) -> JudgedGuard:
    """One guard on `today`: age, full time, and training this quarter or the one before."""
    _check_date(today, "today")
    _check_max_age(max_age)
    flags: set[GuardFlag] = set()
    age = None
    if record.birth_date is None:
        flags.add(GuardFlag.NO_BIRTH_DATE)
    else:
        age = _age(record.birth_date, today, record.guard_id)
        if age > max_age:
            flags.add(GuardFlag.OVER_AGE)
    if not record.full_time:
        flags.add(GuardFlag.NOT_FULL_TIME)
    held = [day for day in record.trainings if day <= today]  # the future has not happened
    start, _ = quarter_of(today)
    previous_start = _previous_quarter_start(start)
    this_quarter = any(start <= day for day in held)
    if not this_quarter:
        flags.add(GuardFlag.NOT_TRAINED_THIS_QUARTER)
        if not any(previous_start <= day for day in held):
            flags.add(GuardFlag.TRAINING_OVERDUE)
    return JudgedGuard(
        record=record,
        age=age,
        last_training=max(held, default=None),
        trained_this_quarter=this_quarter,
        flags=tuple(flag for flag in GuardFlag if flag in flags),
        compliant=not flags & _BREACHES,
    )


def judge_school_guards(
    records: Sequence[GuardRecord],
    *,
    today: date,
    pupils: int | None,
    minimum: GuardMinimum = DEFAULT_MINIMUM,
    max_age: int = 60,
) -> SchoolGuards:
    """A school's roster on `today`: each guard, and whether there are at least as many
    full-time guards as its day pupils call for. Unknown pupils cannot be checked, so the
    school is not compliant."""
    _check_date(today, "today")
    _check_max_age(max_age)
    required = None if pupils is None else required_guards(pupils, minimum)
    roster = _deduplicated(records)
    guards = tuple(judge_guard(r, today=today, max_age=max_age) for r in roster)
    full_time = sum(r.full_time for r in roster)
    enough = None if required is None else full_time >= required
    return SchoolGuards(
        today=today,
        pupils=pupils,
        required=required,
        full_time=full_time,
        enough=enough,
        guards=guards,
        compliant=enough is True and all(g.compliant for g in guards),
    )


def _age(birth: date, today: date, guard_id: str) -> int:
    """Whole years; (month, day) order puts a 29 February birthday after 28 February and
    before 1 March, so in a common year it is reached on 1 March."""
    if birth > today:
        raise ValueError(
            f"birth_date of guard {guard_id} is after today: {birth.isoformat()} > "
            f"{today.isoformat()}"
        )
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def _previous_quarter_start(first: date) -> date:
    if first.month > 1:
        return first.replace(month=first.month - 3)
    if first.year == 1:  # no quarter before the first one: nothing can have been held then
        return first
    return date(first.year - 1, 10, 1)


def _deduplicated(records: Sequence[GuardRecord]) -> list[GuardRecord]:
    """One record per guard_id, at its first place on the roster. Copies of one record (read
    twice, the trainings perhaps in another order) are one guard; two different records
    under one id are refused, since judging either could be wrong."""
    by_id: dict[str, GuardRecord] = {}
    for record in records:
        seen = by_id.setdefault(record.guard_id, record)
        if _essence(seen) != _essence(record):
            raise ValueError(
                f"two different records of guard {record.guard_id} on the roster: "
                f"{seen!r} and {record!r}"
            )
    return list(by_id.values())


def _essence(record: GuardRecord) -> tuple[object, ...]:
    return (record.name, record.birth_date, record.full_time, frozenset(record.trainings))


def _check_date(value: date, name: str) -> None:
    if isinstance(value, datetime):
        raise ValueError(f"{name} must be a date, not the datetime {value.isoformat()}")


def _check_max_age(max_age: int) -> None:
    if max_age < 1:
        raise ValueError(f"max_age must be at least 1 year, got {max_age}")
