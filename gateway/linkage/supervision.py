"""Police links that are supervised (SIA DC-09 `NULL`s): their state on the health board
(so /readyz shows them) and an alert for every school when a link goes down, and again when
it is back: the schools must know their alarms are not reaching that centre."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from gateway.alerts import Alert, AlertKind, AlertOutbox
from gateway.health import HealthBoard
from gateway.settings import Settings


class PoliceLinkAlerts:
    def __init__(
        self, endpoint_id: str, settings: Settings, alerts: AlertOutbox, health: HealthBoard
    ) -> None:
        self.endpoint_id = endpoint_id
        self.component = f"police-link:{endpoint_id}"
        self._settings = settings
        self._alerts = alerts
        self._health = health
        self._changes: asyncio.Queue[tuple[bool, str, datetime]] = asyncio.Queue()
        health.expect(self.component)

    def on_link(self, up: bool, detail: str) -> None:
        """The sender's callback (sync): record, and leave the alerts to `run`."""
        self._health.report(self.component, up=up, detail=detail)
        self._changes.put_nowait((up, detail, datetime.now(UTC)))

    async def run(self) -> None:
        down = False
        while True:
            up, detail, at = await self._changes.get()
            if up == (not down):
                continue  # the first "up" after a start, or no change
            down = not up
            await self._alerts.raise_alerts(self._alerts_for(up, detail, at))

    def _alerts_for(self, up: bool, detail: str, at: datetime) -> list[Alert]:
        kind = AlertKind.POLICE_LINK_UP if up else AlertKind.POLICE_LINK_DOWN
        verb = "已恢复" if up else "中断，报警可能无法送达"
        return [
            Alert(
                school_id=school.id,
                kind=kind,
                subject_kind="police",
                subject_id=self.endpoint_id,
                raised_at=at,
                message=f"与接警中心{self.endpoint_id}的联网{verb}",
                details={"detail": detail},
            )
            for school in self._settings.schools
        ]
