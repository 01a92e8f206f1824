"""The in-process event bus: subscribers get notices; a slow one loses the oldest, counted."""

from __future__ import annotations

from gateway.bus import EventBus


async def test_subscribers_receive_and_a_full_queue_drops_the_oldest() -> None:
    bus = EventBus()
    assert not bus.listened
    async with bus.subscribe(maxsize=2) as subscription:
        assert bus.listened
        for n in range(3):
            bus.publish("event", {"n": n})
        assert subscription.dropped == 1
        assert [(await subscription.get()).data["n"] for _ in range(2)] == [1, 2]
    assert not bus.listened
