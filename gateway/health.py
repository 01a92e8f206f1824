"""What each component last said about itself, for /readyz and for logging faults once."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True, slots=True)
class ComponentState:
    up: bool
    detail: str
    since: datetime


class HealthBoard:
    """Components report up/down; a change of state is logged once (fault start, recovery)."""

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self._states: dict[str, ComponentState] = {}
        self._log = logger or logging.getLogger("gateway.health")

    def expect(self, component: str, detail: str = "starting") -> None:
        """Register a component that must be up for readiness, initially down."""
        self._states.setdefault(component, ComponentState(False, detail, datetime.now(UTC)))

    def report(self, component: str, *, up: bool, detail: str = "") -> None:
        previous = self._states.get(component)
        now = datetime.now(UTC)
        if previous is not None and previous.up == up:
            if detail != previous.detail:
                # The detail follows (a leader becoming standby), the state's start does not.
                self._states[component] = ComponentState(up, detail, previous.since)
                if not up and previous.detail == "starting":  # it failed before it was ever up
                    self._log.error("%s down: %s", component, detail)
            return
        self._states[component] = ComponentState(up, detail, now)
        if up and previous is not None and previous.detail != "starting":
            self._log.warning("%s recovered: %s", component, detail or "up")
        elif up:
            self._log.info("%s up%s", component, f": {detail}" if detail else "")
        else:
            self._log.error("%s down: %s", component, detail)

    def snapshot(self) -> dict[str, ComponentState]:
        return dict(self._states)
