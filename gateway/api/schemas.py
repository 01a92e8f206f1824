"""Response bodies of the REST API. Times are RFC 3339 in the site's time zone."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

from gateway.auth.tokens import Principal
from gateway.domain import AlarmKind, AlarmStage, Role
from gateway.storage.alarm_queries import ActionView, AlarmView, DeliveryView


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the token expires")
    role: Role
    username: str
    school_id: str | None
    station: str | None = Field(None, description="Police of one station: its schools only")
    district: str | None = Field(None, description="Inspector of one district: its schools only")


class PrincipalOut(BaseModel):
    username: str
    role: Role
    school_id: str | None
    station: str | None
    district: str | None
    schools: list[str] | None = Field(
        description="The schools this account sees; null for every school"
    )
    expires_at: datetime

    @classmethod
    def of(cls, principal: Principal, zone: ZoneInfo, schools: list[str] | None) -> PrincipalOut:
        return cls(
            username=principal.username,
            role=principal.role,
            school_id=principal.school_id,
            station=principal.station,
            district=principal.district,
            schools=schools,
            expires_at=principal.expires_at.astimezone(zone),
        )


class DeliveryOut(BaseModel):
    endpoint_id: str
    state: Literal["acknowledged", "pending"]
    attempts: int
    next_attempt_at: datetime | None = Field(
        description="When the next try is due; null once acknowledged"
    )
    acknowledged_at: datetime | None
    latency_s: float | None = Field(description="Seconds from the press to the acknowledgement")
    last_status: int | None = Field(description="HTTP status (webhook) of the last attempt")
    last_response: str | None

    @classmethod
    def of(cls, view: DeliveryView, zone: ZoneInfo) -> DeliveryOut:
        return cls(
            endpoint_id=view.endpoint_id,
            state="acknowledged" if view.acknowledged else "pending",
            attempts=view.attempts,
            next_attempt_at=None if view.acknowledged else view.next_attempt_at.astimezone(zone),
            acknowledged_at=_local(view.acknowledged_at, zone),
            latency_s=view.latency_s,
            last_status=view.last_status,
            last_response=view.last_response,
        )


class ActionOut(BaseModel):
    stage: AlarmStage
    username: str
    role: str
    at: datetime
    note: str | None

    @classmethod
    def of(cls, view: ActionView, zone: ZoneInfo) -> ActionOut:
        return cls(
            stage=view.stage,
            username=view.username,
            role=view.role,
            at=view.at.astimezone(zone),
            note=view.note,
        )


class AlarmOut(BaseModel):
    alarm_id: str
    kind: AlarmKind
    school_id: str
    school_name: str
    device_id: str
    location: str
    zone: int
    occurred_at: datetime = Field(description="Device time")
    received_at: datetime = Field(description="Gateway time")
    source_id: str
    deliveries: list[DeliveryOut]
    delivered: bool = Field(description="Every police endpoint acknowledged")
    stage: AlarmStage = Field(
        description="new, acknowledged, dispatched, on_scene or closed: moved on by people only"
    )
    actions: list[ActionOut] = Field(description="Who moved it on, and when")
    escalated_at: datetime | None = Field(
        description="When no police endpoint had acknowledged it in time (linkage.escalation_s)"
    )

    @classmethod
    def of(cls, view: AlarmView, zone: ZoneInfo) -> AlarmOut:
        return cls(
            alarm_id=view.alarm_id,
            kind=view.kind,
            school_id=view.school_id,
            school_name=view.school_name,
            device_id=view.device_id,
            location=view.location,
            zone=view.zone,
            occurred_at=view.occurred_at.astimezone(zone),
            received_at=view.received_at.astimezone(zone),
            source_id=view.source_id,
            deliveries=[DeliveryOut.of(d, zone) for d in view.deliveries],
            delivered=view.delivered,
            stage=view.stage,
            actions=[ActionOut.of(a, zone) for a in view.actions],
            escalated_at=_local(view.escalated_at, zone),
        )


def _local(value: datetime | None, zone: ZoneInfo) -> datetime | None:
    return None if value is None else value.astimezone(zone)
