"""Benchmark D's live sample on the wire: the messages of a file (one `topic<TAB>payload` a
line, written by bench/city.py), published at QoS 1 in order, as fast as the broker
acknowledges them (in chunks pipelined like `bench.load bulk`). Reports the rate.

    python -m bench.city_feed --port P --file messages.tsv --client-id C
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import time
from pathlib import Path

import aiomqtt
import paho.mqtt.client as paho

from bench.common import HOST, emit

CHUNK = 2000
Message = tuple[str, bytes]


def write_messages(path: Path, messages: list[Message]) -> None:
    with path.open("wb") as out:
        for topic, payload in messages:
            if b"\n" in payload or "\t" in topic:
                raise ValueError(f"a message of {topic} cannot be written on one line")
            out.write(topic.encode() + b"\t" + payload + b"\n")


def read_messages(path: Path) -> list[Message]:
    messages = []
    with path.open("rb") as lines:
        for line in lines:
            topic, _, payload = line.rstrip(b"\n").partition(b"\t")
            messages.append((topic.decode(), payload))
    return messages


async def feed(port: int, path: Path, client_id: str) -> None:
    messages = read_messages(path)
    quiet = logging.getLogger("bench.city_feed.mqtt")
    quiet.setLevel(logging.ERROR)
    client = aiomqtt.Client(
        HOST, port, identifier=client_id, logger=quiet, max_inflight_messages=CHUNK, timeout=30
    )
    client.pending_calls_threshold = 1_000_000
    async with client:
        emit({"ready": True})
        raw = client._client  # paho's own publish does not wait: the chunk pipelines
        start = time.monotonic()
        for first in range(0, len(messages), CHUNK):
            infos: list[paho.MQTTMessageInfo] = [
                raw.publish(topic, payload, qos=1)
                for topic, payload in messages[first : first + CHUNK]
            ]
            deadline = time.monotonic() + 30
            while not all(info.is_published() for info in infos):
                if time.monotonic() > deadline:
                    raise TimeoutError("the broker did not acknowledge a chunk within 30 s")
                await asyncio.sleep(0.002)
        elapsed = time.monotonic() - start
    emit({"result": {"sent": len(messages), "seconds": elapsed, "rate": len(messages) / elapsed}})


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.city_feed", description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--file", type=Path, required=True)
    parser.add_argument("--client-id", required=True)
    args = parser.parse_args()
    asyncio.run(feed(args.port, args.file, args.client_id))


if __name__ == "__main__":
    main()
