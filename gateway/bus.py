"""In-process publish/subscribe for stored events and alarms (live pages, live rules).

A slow subscriber never blocks the publisher: its queue is bounded and, when full, it loses
the oldest notifications and is told how many (it can re-read the database)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Notice:
    topic: str  # "event", "alarm", "delivery", "device"
    data: dict[str, Any]


class Subscription:
    def __init__(self, maxsize: int) -> None:
        self.queue: asyncio.Queue[Notice] = asyncio.Queue(maxsize)
        self.dropped = 0

    def offer(self, notice: Notice) -> None:
        if self.queue.full():
            self.queue.get_nowait()
            self.dropped += 1
        self.queue.put_nowait(notice)

    async def get(self) -> Notice:
        return await self.queue.get()


class EventBus:
    def __init__(self) -> None:
        self._subscribers: set[Subscription] = set()

    @property
    def listened(self) -> bool:
        """Whether anyone subscribes: publishers skip building notices nobody reads."""
        return bool(self._subscribers)

    def publish(self, topic: str, data: dict[str, Any]) -> None:
        notice = Notice(topic, data)
        for subscriber in self._subscribers:
            subscriber.offer(notice)

    @asynccontextmanager
    async def subscribe(self, maxsize: int = 1000) -> AsyncIterator[Subscription]:
        subscription = Subscription(maxsize)
        self._subscribers.add(subscription)
        try:
            yield subscription
        finally:
            self._subscribers.discard(subscription)
