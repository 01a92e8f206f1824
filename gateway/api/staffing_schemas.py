"""Bodies of the gate-staffing API. Times are RFC 3339 in the site's time zone."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from gateway.api.request_model import RequestModel
from gateway.compliance.gate_staffing import Disagreement, GateDay, Interval, StaffingSource
from gateway.staffing.watch import GateLive, SourceView


class IntervalOut(BaseModel):
    start: datetime = Field(description="Start within the day")
    end: datetime = Field(description="End within the day")
    duration_s: float
    full_start: datetime = Field(description="Start of the whole interval (may be the day before)")
    full_end: datetime = Field(description="End of the whole interval (may be the day after)")
    full_duration_s: float = Field(description="What the rule judges")

    @classmethod
    def of(cls, interval: Interval, zone: ZoneInfo) -> IntervalOut:
        return cls(
            start=interval.start.astimezone(zone),
            end=interval.end.astimezone(zone),
            duration_s=round(interval.duration_s, 3),
            full_start=interval.full_start.astimezone(zone),
            full_end=interval.full_end.astimezone(zone),
            full_duration_s=round(interval.full_duration_s, 3),
        )


class SourceIntervalsOut(BaseModel):
    source: StaffingSource
    judged: bool = Field(description="False for the camera: shown as evidence, never the judge")
    staffed: list[IntervalOut] = Field(description="When this source said the post was staffed")


class DisagreementOut(BaseModel):
    start: datetime
    end: datetime
    duration_s: float
    states: dict[StaffingSource, bool] = Field(description="What each source said: staffed?")

    @classmethod
    def of(cls, item: Disagreement, zone: ZoneInfo) -> DisagreementOut:
        return cls(
            start=item.start.astimezone(zone),
            end=item.end.astimezone(zone),
            duration_s=round((item.end - item.start).total_seconds(), 3),
            states=dict(item.states),
        )


class GateStaffingOut(BaseModel):
    school_id: str
    school_name: str
    gate_id: str
    gate_name: str
    date: date
    compliant: bool = Field(description="No unstaffed interval longer than max_unstaffed_s")
    complete: bool = Field(description="False while the day is not over (judged up to now)")
    window_start: datetime
    window_end: datetime
    staffed_s: float
    unstaffed_s: float
    longest_unstaffed_s: float
    max_unstaffed_s: int
    unstaffed_intervals: list[IntervalOut]
    sources: list[SourceIntervalsOut]
    disagreements: list[DisagreementOut]

    @classmethod
    def of(
        cls,
        day: GateDay,
        *,
        school: tuple[str, str],
        gate: tuple[str, str],
        judged: frozenset[StaffingSource],
        zone: ZoneInfo,
    ) -> GateStaffingOut:
        return cls(
            school_id=school[0],
            school_name=school[1],
            gate_id=gate[0],
            gate_name=gate[1],
            date=day.day,
            compliant=day.compliant,
            complete=day.complete,
            window_start=day.window_start.astimezone(zone),
            window_end=day.window_end.astimezone(zone),
            staffed_s=round(day.staffed_s, 3),
            unstaffed_s=round(day.unstaffed_s, 3),
            longest_unstaffed_s=round(day.longest_unstaffed_s, 3),
            max_unstaffed_s=day.max_unstaffed_s,
            unstaffed_intervals=[IntervalOut.of(i, zone) for i in day.unstaffed],
            sources=[
                SourceIntervalsOut(
                    source=source,
                    judged=source in judged,
                    staffed=[IntervalOut.of(i, zone) for i in intervals],
                )
                for source, intervals in day.sources
            ],
            disagreements=[DisagreementOut.of(d, zone) for d in day.disagreements],
        )


class SourceStateOut(BaseModel):
    source: StaffingSource
    staffed: bool
    since: datetime
    guard_id: str | None

    @classmethod
    def of(cls, view: SourceView, zone: ZoneInfo) -> SourceStateOut:
        return cls(
            source=view.source,
            staffed=view.staffed,
            since=view.since.astimezone(zone),
            guard_id=view.guard_id,
        )


class GateStateOut(BaseModel):
    school_id: str
    school_name: str
    gate_id: str
    gate_name: str
    staffed: bool | None = Field(description="null while no judged source has reported yet")
    since: datetime | None = Field(description="Time of the report that set the state")
    source: StaffingSource | None
    unstaffed_for_s: float = Field(description="How long the post has been empty (0 if staffed)")
    alert_active: bool = Field(description="An unstaffed alert is raised and not yet cleared")
    disagree: bool = Field(description="The sources say different things now")
    sources: list[SourceStateOut]

    @classmethod
    def of(cls, live: GateLive, zone: ZoneInfo) -> GateStateOut:
        state = live.state
        return cls(
            school_id=live.school_id,
            school_name=live.school_name,
            gate_id=live.gate_id,
            gate_name=live.gate_name,
            staffed=state.staffed,
            since=None if state.since is None else state.since.astimezone(zone),
            source=state.source,
            unstaffed_for_s=round(live.unstaffed_for_s, 1),
            alert_active=live.alert_active,
            disagree=live.disagree,
            sources=[SourceStateOut.of(s, zone) for s in live.sources],
        )


class CheckIn(RequestModel):
    """A guard's check-in or check-out at a gate post, from the phone page or a client."""

    model_config = ConfigDict(extra="forbid")

    id: str | None = Field(
        None,
        min_length=1,
        max_length=128,
        pattern=r"^[\x21-\x7e]+$",
        description="The client's id for this check-in: a retry with the same id is stored once",
    )
    at: AwareDatetime | None = Field(
        None, description="When it happened, if not now (a phone that was offline)"
    )


class CheckInOut(BaseModel):
    school_id: str
    gate_id: str
    staffed: bool
    guard_id: str
    at: datetime
    id: str
    stored: bool = Field(description="False when this id was already on record")
