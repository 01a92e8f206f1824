"""Hidden dangers and alarms in a month, by tables: what stood at the month's end."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gateway.domain import AlarmKind
from gateway.hazards.tickets import HazardStage
from gateway.reports.alarms import AlarmRecord, alarm_figures, reached_police
from gateway.reports.hazards import HazardFigures, TicketHistory, TicketStep, hazard_figures

START = datetime(2026, 9, 1, tzinfo=UTC)
END = datetime(2026, 10, 1, tzinfo=UTC)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def ticket(opened: str, *steps: tuple[HazardStage, str, str | None]) -> TicketHistory:
    return TicketHistory(
        "s1",
        at(opened),
        tuple(
            TicketStep(stage, at(when), None if deadline is None else at(deadline))
            for stage, when, deadline in steps
        ),
    )


ASSESSED, ASSIGNED, CONTROLLED, FED_BACK = (
    HazardStage.ASSESSED,
    HazardStage.ASSIGNED,
    HazardStage.CONTROLLED,
    HazardStage.FED_BACK,
)


@pytest.mark.parametrize(
    ("history", "figures"),
    [
        # Opened and closed in the month.
        (
            ticket(
                "2026-09-03",
                (ASSESSED, "2026-09-03", None),
                (ASSIGNED, "2026-09-04", "2026-09-10"),
                (CONTROLLED, "2026-09-08", None),
                (FED_BACK, "2026-09-09", None),
            ),
            HazardFigures(opened=1, closed=1, open=0, overdue=0),
        ),
        # Opened the month before, still open at the end and past its deadline.
        (
            ticket("2026-08-20", (ASSIGNED, "2026-08-21", "2026-09-15")),
            HazardFigures(opened=0, closed=0, open=1, overdue=1),
        ),
        # Open at the end, its deadline after the end: not overdue.
        (
            ticket("2026-09-20", (ASSIGNED, "2026-09-21", "2026-10-05")),
            HazardFigures(opened=1, closed=0, open=1, overdue=0),
        ),
        # Fed back after the month: open at its end (a report made later says the same).
        (
            ticket(
                "2026-09-20",
                (ASSIGNED, "2026-09-21", "2026-09-25"),
                (FED_BACK, "2026-10-02", None),
            ),
            HazardFigures(opened=1, closed=0, open=1, overdue=1),
        ),
        # A deadline moved later after the month does not excuse the month.
        (
            ticket(
                "2026-09-20",
                (ASSIGNED, "2026-09-21", "2026-09-25"),
                (ASSIGNED, "2026-10-03", "2026-10-30"),
            ),
            HazardFigures(opened=1, closed=0, open=1, overdue=1),
        ),
        # Closed the month before: nothing this month.
        (
            ticket("2026-08-01", (FED_BACK, "2026-08-10", None)),
            HazardFigures(opened=0, closed=0, open=0, overdue=0),
        ),
        # Opened after the month.
        (ticket("2026-10-01"), HazardFigures(opened=0, closed=0, open=0, overdue=0)),
        # Found, never assigned: open, with no deadline to miss.
        (ticket("2026-09-30T23:59"), HazardFigures(opened=1, closed=0, open=1, overdue=0)),
    ],
)
def test_hazard_figures(history: TicketHistory, figures: HazardFigures) -> None:
    assert hazard_figures([history], start=START, end=END) == figures


def test_hazard_figures_add_up_over_tickets() -> None:
    tickets = [
        ticket("2026-09-03", (FED_BACK, "2026-09-09", None)),
        ticket("2026-08-20", (ASSIGNED, "2026-08-21", "2026-09-15")),
        ticket("2026-09-20"),
    ]
    assert hazard_figures(tickets, start=START, end=END) == HazardFigures(2, 1, 2, 1)


def alarm(
    kind: AlarmKind,
    button: str = "b1",
    *,
    ack_after_s: float | None = None,
    escalated: bool = False,
) -> AlarmRecord:
    received = at("2026-09-10T08:00")
    return AlarmRecord(
        school_id="s1",
        button_id=button,
        kind=kind,
        occurred_at=received,
        received_at=received,
        acknowledged_at=None
        if ack_after_s is None
        else datetime.fromtimestamp(received.timestamp() + ack_after_s, UTC),
        escalated_at=at("2026-09-10T08:01") if escalated else None,
    )


EMERGENCY, TEST = AlarmKind.EMERGENCY, AlarmKind.TEST


@pytest.mark.parametrize(
    ("records", "counts", "median", "largest"),
    [
        ([], (0, 0, 0), None, None),
        (
            [alarm(EMERGENCY, ack_after_s=2), alarm(EMERGENCY, ack_after_s=4)],
            (2, 2, 0),
            3.0,
            4.0,
        ),
        # Unacknowledged and escalated; tests are not emergencies.
        (
            [
                alarm(EMERGENCY, ack_after_s=1.5),
                alarm(EMERGENCY, escalated=True),
                alarm(TEST, ack_after_s=100),
            ],
            (2, 1, 1),
            1.5,
            1.5,
        ),
        # A clock stepped back under the acknowledgement: 0, never negative.
        ([alarm(EMERGENCY, ack_after_s=-3)], (1, 1, 0), 0.0, 0.0),
    ],
)
def test_alarm_figures(
    records: list[AlarmRecord],
    counts: tuple[int, int, int],
    median: float | None,
    largest: float | None,
) -> None:
    figures = alarm_figures(records)
    assert (figures.alarms, figures.acknowledged, figures.escalated) == counts
    assert (figures.median_s, figures.max_s) == (median, largest)


def test_a_button_reached_the_police_with_an_acknowledged_test_or_emergency() -> None:
    records = [
        alarm(TEST, "tested", ack_after_s=3),
        alarm(EMERGENCY, "pressed", ack_after_s=3),
        alarm(EMERGENCY, "unanswered"),
        alarm(AlarmKind.RESTORE, "restored", ack_after_s=3),
    ]
    assert reached_police(records) == {"tested", "pressed"}
