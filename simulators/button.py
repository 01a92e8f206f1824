"""A simulated one-touch alarm button (一键报警) speaking the gateway's MQTT contract (spec 2).

`press_button` sends one event; `run_button_cli` is `campus-gateway simulate button`;
`press_forever` drives the demo's stream of presses and tests.
"""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from datetime import UTC, datetime
from typing import Any

from drivers.mqtt.publisher import MqttPublisher
from gateway.domain import EVENTS_BY_DEVICE_KIND, DeviceKind, EventKind
from gateway.errors import ConfigError
from gateway.settings import Settings

BUTTON_EVENTS: frozenset[str] = frozenset(str(e) for e in EVENTS_BY_DEVICE_KIND[DeviceKind.ALARM])
TEST_SHARE = 0.2  # press_forever: about one event in five is a monthly test


def event_topic(prefix: str, school: str, button: str) -> str:
    return f"{prefix}/{school}/alarm/{button}/event"


def status_topic(prefix: str, school: str, button: str) -> str:
    return f"{prefix}/{school}/alarm/{button}/status"


def rfc3339(at: datetime) -> str:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("the event time must carry a time zone (RFC 3339 needs an offset)")
    return at.isoformat(timespec="milliseconds")


async def press_button(
    publisher: MqttPublisher,
    *,
    prefix: str,
    school: str,
    button: str,
    event: str = "press",
    message_id: str | None = None,
    at: datetime | None = None,
) -> dict[str, Any]:
    """Publish one button event (acknowledged by the broker) and return its payload."""
    if event not in BUTTON_EVENTS:
        raise ValueError(f"an alarm button sends {sorted(BUTTON_EVENTS)}, not {event!r}")
    # A real button reports its own local time with its offset, as the spec asks.
    when = at if at is not None else datetime.now(UTC).astimezone()
    payload: dict[str, Any] = {
        "event": event,
        "ts": rfc3339(when),
        "id": message_id if message_id is not None else uuid.uuid4().hex,
    }
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    await publisher.publish(event_topic(prefix, school, button), body, qos=1)
    return payload


def _check_cli_arguments(
    settings: Settings, *, school: str, button: str, event: str, count: int, interval_s: float
) -> None:
    problems: list[str] = []
    site_school = settings.school(school)
    if site_school is None:
        known = ", ".join(s.id for s in settings.schools)
        problems.append(f"--school: no school {school!r} in the configuration (known: {known})")
    elif site_school.button(button) is None:
        known = ", ".join(b.id for b in site_school.alarm_buttons) or "none"
        problems.append(
            f"--button: school {school!r} has no alarm button {button!r} (known: {known})"
        )
    if event not in BUTTON_EVENTS:
        problems.append(
            f"--event: must be one of {', '.join(sorted(BUTTON_EVENTS))}, not {event!r}"
        )
    if count < 1:
        problems.append(f"--count: must be at least 1, not {count}")
    if interval_s < 0:
        problems.append(f"--interval-s: must not be negative, not {interval_s}")
    if problems:
        raise ConfigError(problems)


async def run_button_cli(
    settings: Settings,
    *,
    school: str,
    button: str,
    event: str,
    count: int,
    interval_s: float,
    mqtt_url: str | None,
) -> None:
    """`campus-gateway simulate button`: come online, send `count` events, go offline."""
    _check_cli_arguments(
        settings, school=school, button=button, event=event, count=count, interval_s=interval_s
    )
    prefix = settings.mqtt.topic_prefix
    status = status_topic(prefix, school, button)
    publisher = MqttPublisher(
        mqtt_url or settings.mqtt.url,
        # One fixed id per button, like the real device: a second copy replaces the first.
        client_id=f"sim-button-{school}-{button}",
        will=(status, "offline"),
        birth=(status, "online"),
        timeout_s=settings.mqtt.connect_timeout_s,
        ca_file=settings.mqtt.ca_file,
    )
    async with publisher:
        print(f"{school}/{button}: online at {publisher.address}", flush=True)
        for index in range(count):
            if index:
                await asyncio.sleep(interval_s)
            sent = await press_button(
                publisher, prefix=prefix, school=school, button=button, event=event
            )
            print(
                f"[{index + 1}/{count}] {sent['ts']} {event} {school}/{button} id={sent['id']}",
                flush=True,
            )


async def press_forever(
    publisher: MqttPublisher,
    *,
    prefix: str,
    buttons: list[tuple[str, str]],
    every_s: float,
    stop: asyncio.Event,
    rng: random.Random | None = None,
) -> None:
    """Every `every_s`, press a random (school, button); about 1 in 5 is a `test`.

    Waits one interval before the first press (the gateway is usually still starting) and
    returns as soon as `stop` is set. Publishing errors propagate (`DeviceUnavailable`)."""
    if not buttons:
        raise ValueError("press_forever needs at least one (school, button)")
    if every_s <= 0:
        raise ValueError("every_s must be positive")
    chance = rng if rng is not None else random.Random()
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), timeout=every_s)
        except TimeoutError:
            pass
        else:
            return
        school, button = chance.choice(buttons)
        event = EventKind.TEST if chance.random() < TEST_SHARE else EventKind.PRESS
        await press_button(publisher, prefix=prefix, school=school, button=button, event=str(event))
