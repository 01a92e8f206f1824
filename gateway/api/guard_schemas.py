"""Bodies of the guard-roster compliance answer."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field

from gateway.compliance.guards import GuardFlag, JudgedGuard, SchoolGuards
from gateway.settings import School


class GuardOut(BaseModel):
    guard_id: str
    name: str
    birth_date: dt.date | None
    age: int | None
    full_time: bool
    last_training: dt.date | None
    trained_this_quarter: bool
    flags: list[GuardFlag] = Field(
        description="over_age, not_full_time, training_overdue, not_trained_this_quarter "
        "(a reminder), no_birth_date"
    )
    compliant: bool

    @classmethod
    def of(cls, judged: JudgedGuard) -> GuardOut:
        record = judged.record
        return cls(
            guard_id=record.guard_id,
            name=record.name,
            birth_date=record.birth_date,
            age=judged.age,
            full_time=record.full_time,
            last_training=judged.last_training,
            trained_this_quarter=judged.trained_this_quarter,
            flags=list(judged.flags),
            compliant=judged.compliant,
        )


class SchoolGuardsOut(BaseModel):
    school_id: str
    school_name: str
    date: dt.date
    day_pupils: int | None = Field(description="schools[].day_pupils (unknown: not checked)")
    required: int | None = Field(description="The minimum full-time guards for the pupils")
    full_time: int
    enough: bool | None
    compliant: bool
    guards: list[GuardOut]

    @classmethod
    def of(cls, school: School, judged: SchoolGuards) -> SchoolGuardsOut:
        return cls(
            school_id=school.id,
            school_name=school.name,
            date=judged.today,
            day_pupils=judged.pupils,
            required=judged.required,
            full_time=judged.full_time,
            enough=judged.enough,
            compliant=judged.compliant,
            guards=[GuardOut.of(g) for g in judged.guards],
        )
