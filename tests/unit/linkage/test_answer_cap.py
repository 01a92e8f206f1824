"""The webhook sender reads at most `ANSWER_READ_LIMIT` bytes of an answer, as sent: the body
stream is not pulled past the chunk that reaches the cap."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx

from gateway.linkage.senders import ANSWER_READ_LIMIT, read_at_most


class Chunks(httpx.AsyncByteStream):
    def __init__(self, chunk: bytes, count: int) -> None:
        self.chunk, self.count, self.pulled = chunk, count, 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for _ in range(self.count):
            self.pulled += 1
            yield self.chunk


async def test_a_long_body_is_cut_at_the_cap_and_not_read_further() -> None:
    body = Chunks(b"y" * 1000, 1_000_000)
    head = await read_at_most(httpx.Response(200, stream=body), ANSWER_READ_LIMIT)
    assert head == b"y" * ANSWER_READ_LIMIT
    assert body.pulled == 5  # 5,000 bytes pulled for 4,096


async def test_a_short_body_is_read_whole() -> None:
    body = Chunks(b"ok", 3)
    assert await read_at_most(httpx.Response(200, stream=body), ANSWER_READ_LIMIT) == b"ok" * 3


async def test_the_body_is_read_as_sent_not_decompressed() -> None:
    raw = b"\x1f\x8b not really gzip"
    response = httpx.Response(200, headers={"Content-Encoding": "gzip"}, stream=Chunks(raw, 1))
    assert await read_at_most(response, ANSWER_READ_LIMIT) == raw
