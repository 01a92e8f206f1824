"""The guard roster judged: the configured guards with their training sessions on record."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.compliance.guards import (
    GuardMinimum,
    GuardRecord,
    SchoolGuards,
    StaffingStep,
    judge_school_guards,
)
from gateway.settings import School, Settings
from gateway.storage.models import GuardTraining


def minimum_of(settings: Settings) -> GuardMinimum:
    table = settings.rules.guard_minimum
    return GuardMinimum(
        steps=tuple(StaffingStep(s.pupils_from, s.guards) for s in table.steps),
        per_further=table.per_further,
    )


async def judge_rosters(
    session: AsyncSession, settings: Settings, *, today: date, school_ids: Sequence[str] | None
) -> list[tuple[School, SchoolGuards]]:
    schools = [s for s in settings.schools if school_ids is None or s.id in school_ids]
    trainings: dict[tuple[str, str], list[date]] = defaultdict(list)
    query = select(GuardTraining.school_id, GuardTraining.guard_id, GuardTraining.trained_on)
    if school_ids is not None:
        query = query.where(GuardTraining.school_id.in_(school_ids))
    for school_id, guard_id, trained_on in await session.execute(query):
        trainings[(school_id, guard_id)].append(trained_on)
    minimum = minimum_of(settings)
    result = []
    for school in schools:
        records = [
            GuardRecord(
                guard_id=g.id,
                name=g.name,
                birth_date=g.birth_date,
                full_time=g.full_time,
                trainings=tuple(trainings.get((school.id, g.id), ())),
            )
            for g in school.guards
        ]
        judged = judge_school_guards(
            records,
            today=today,
            pupils=school.day_pupils,
            minimum=minimum,
            max_age=settings.rules.guard_max_age,
        )
        result.append((school, judged))
    return result
