"""Which read requests cover a device's points: as few as possible, within protocol limits.

A request costs a round trip (on a 9600 baud line, tens of milliseconds), a few unread
addresses cost almost nothing; so points of one table are merged into one read when the
gap between them is small. Pure functions, no I/O."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from drivers.modbus.types import Point, Table

MAX_REGISTERS_PER_READ = 125  # Modbus: read holding/input registers, 1..125
MAX_BITS_PER_READ = 2000  # Modbus: read coils/discrete inputs, 1..2000
REGISTER_GAP = 16  # read up to this many unused registers rather than send another request
BIT_GAP = 64  # the same for bits (64 bits = 8 bytes of answer)

_TABLE_ORDER = {table: index for index, table in enumerate(Table)}


@dataclass(frozen=True, slots=True)
class ReadBlock:
    """One read request: `count` addresses of `table` from `start`, serving `points`."""

    table: Table
    start: int
    count: int
    points: tuple[Point, ...]

    @property
    def end(self) -> int:
        """One past the last address read."""
        return self.start + self.count

    def __str__(self) -> str:
        last = self.end - 1
        where = str(self.start) if last == self.start else f"{self.start}-{last}"
        return f"{self.table} {where}"


def limits(table: Table) -> tuple[int, int]:
    """(largest count per request, largest gap worth reading through) for a table."""
    if table.is_bits:
        return MAX_BITS_PER_READ, BIT_GAP
    return MAX_REGISTERS_PER_READ, REGISTER_GAP


def plan_reads(points: Iterable[Point]) -> list[ReadBlock]:
    """The reads that cover `points`: each point in exactly one block; blocks ordered by
    table, then address, never overlapping. Several bits of one register are one read."""
    by_table: dict[Table, dict[int, list[Point]]] = {}
    for point in dict.fromkeys(points):  # drop repeats, keep the caller's order
        by_table.setdefault(point.table, {}).setdefault(point.address, []).append(point)
    blocks: list[ReadBlock] = []
    for table in sorted(by_table, key=_TABLE_ORDER.__getitem__):
        max_count, max_gap = limits(table)
        at_address = by_table[table]
        start: int | None = None
        last = 0
        served: list[Point] = []
        for address in sorted(at_address):
            # Greedy from the lowest address: it gives the fewest blocks for these limits.
            if start is not None and (
                address - last - 1 > max_gap or address - start + 1 > max_count
            ):
                blocks.append(ReadBlock(table, start, last - start + 1, tuple(served)))
                start = None
            if start is None:
                start, served = address, []
            last = address
            served.extend(at_address[address])
        if start is not None:
            blocks.append(ReadBlock(table, start, last - start + 1, tuple(served)))
    return blocks


def point_values(block: ReadBlock, raw: Sequence[bool] | Sequence[int]) -> dict[Point, bool]:
    """The value of each of the block's points in an answer of at least `block.count` items
    (bits for coils and discrete inputs, 16-bit registers otherwise)."""
    if len(raw) < block.count:
        raise ValueError(f"{len(raw)} values for a read of {block.count}")
    values: dict[Point, bool] = {}
    for point in block.points:
        item = int(raw[point.address - block.start])
        values[point] = bool(item) if point.bit is None else bool((item >> point.bit) & 1)
    return values
