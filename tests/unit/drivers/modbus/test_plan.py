"""plan_reads: the fewest read requests that cover a device's points, within protocol limits."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.modbus.plan import (
    BIT_GAP,
    MAX_BITS_PER_READ,
    MAX_REGISTERS_PER_READ,
    REGISTER_GAP,
    ReadBlock,
    limits,
    plan_reads,
    point_values,
)
from drivers.modbus.types import Point, Table

C, DI, HR, IR = (
    Table.COIL,
    Table.DISCRETE_INPUT,
    Table.HOLDING_REGISTER,
    Table.INPUT_REGISTER,
)


def spans(points: list[Point]) -> list[tuple[Table, int, int]]:
    return [(b.table, b.start, b.count) for b in plan_reads(points)]


@pytest.mark.parametrize(
    "points, expected",
    [
        pytest.param([], [], id="nothing to read"),
        pytest.param([Point(DI, 0)], [(DI, 0, 1)], id="one point"),
        pytest.param([Point(DI, 0), Point(DI, 1), Point(DI, 5)], [(DI, 0, 6)], id="close bits"),
        pytest.param(
            [Point(DI, 0), Point(DI, 1 + BIT_GAP)], [(DI, 0, 2 + BIT_GAP)], id="bit gap at limit"
        ),
        pytest.param(
            [Point(DI, 0), Point(DI, 2 + BIT_GAP)],
            [(DI, 0, 1), (DI, 2 + BIT_GAP, 1)],
            id="bit gap too wide",
        ),
        pytest.param(
            [Point(HR, 10), Point(HR, 11 + REGISTER_GAP)],
            [(HR, 10, 2 + REGISTER_GAP)],
            id="register gap at limit",
        ),
        pytest.param(
            [Point(HR, 10), Point(HR, 12 + REGISTER_GAP)],
            [(HR, 10, 1), (HR, 12 + REGISTER_GAP, 1)],
            id="register gap too wide",
        ),
        pytest.param(
            [Point(HR, 10, 0), Point(HR, 10, 1), Point(HR, 10, 15), Point(HR, 10)],
            [(HR, 10, 1)],
            id="bits of one register are one read",
        ),
        pytest.param(
            [Point(C, 3), Point(DI, 3), Point(HR, 3), Point(IR, 3)],
            [(C, 3, 1), (DI, 3, 1), (HR, 3, 1), (IR, 3, 1)],
            id="one read per table",
        ),
        pytest.param(
            [Point(IR, 5), Point(DI, 9), Point(C, 1), Point(DI, 0)],
            [(C, 1, 1), (DI, 0, 10), (IR, 5, 1)],
            id="ordered by table then address",
        ),
        pytest.param(
            [Point(HR, a) for a in range(0, 130, 2)],
            [(HR, 0, 125), (HR, 126, 3)],
            id="registers split at 125",
        ),
        pytest.param(
            [Point(C, a) for a in range(0, 2100, 50)],
            [(C, 0, 1951), (C, 2000, 51)],
            id="bits split at 2000",
        ),
        pytest.param(
            [Point(DI, 65535), Point(DI, 65500)], [(DI, 65500, 36)], id="top of the address space"
        ),
        pytest.param([Point(DI, 4), Point(DI, 4)], [(DI, 4, 1)], id="repeated point"),
    ],
)
def test_plan(points: list[Point], expected: list[tuple[Table, int, int]]) -> None:
    assert spans(points) == expected


def test_blocks_name_the_points_they_serve() -> None:
    a, b, c = Point(HR, 10, 0), Point(HR, 10, 1), Point(HR, 12)
    (block,) = plan_reads([c, a, b, a])
    assert block.points == (a, b, c)
    assert str(block) == "holding_register 10-12"
    assert str(ReadBlock(C, 3, 1, (Point(C, 3),))) == "coil 3"


def test_point_values_of_bits_and_registers() -> None:
    bits = ReadBlock(DI, 10, 3, (Point(DI, 10), Point(DI, 12)))
    assert point_values(bits, [True, True, False, True]) == {
        Point(DI, 10): True,
        Point(DI, 12): False,
    }
    registers = ReadBlock(
        HR, 5, 2, (Point(HR, 5), Point(HR, 6, 0), Point(HR, 6, 1), Point(HR, 6, 15))
    )
    assert point_values(registers, [0, 0b1000_0000_0000_0010]) == {
        Point(HR, 5): False,
        Point(HR, 6, 0): False,
        Point(HR, 6, 1): True,
        Point(HR, 6, 15): True,
    }
    with pytest.raises(ValueError, match="1 values for a read of 2"):
        point_values(registers, [0])


addresses = st.integers(0, 300) | st.integers(0, 5000) | st.integers(0, 65535)
points_strategy = st.lists(
    st.builds(Point, table=st.sampled_from([C, DI]), address=addresses)
    | st.builds(
        Point,
        table=st.sampled_from([HR, IR]),
        address=addresses,
        bit=st.none() | st.integers(0, 15),
    ),
    max_size=250,
)


@given(points_strategy)
def test_every_point_in_exactly_one_block_within_limits(points: list[Point]) -> None:
    blocks = plan_reads(points)
    served = [p for b in blocks for p in b.points]
    assert sorted(served, key=repr) == sorted(set(points), key=repr)  # each exactly once
    for block in blocks:
        max_count, _ = limits(block.table)
        assert 1 <= block.count <= max_count
        assert block.end - 1 <= 65535
        assert all(
            p.table == block.table and block.start <= p.address < block.end for p in block.points
        )
        # A block starts and ends on a point: nothing read for nothing.
        addresses = {p.address for p in block.points}
        assert {block.start, block.end - 1} <= addresses
    by_table: dict[Table, list[ReadBlock]] = {}
    for block in blocks:
        by_table.setdefault(block.table, []).append(block)
    assert list(by_table) == [t for t in Table if t in by_table]  # tables in order
    for table_blocks in by_table.values():
        for before, after in pairwise(table_blocks):
            assert before.end <= after.start  # sorted, never overlapping
            # Merged as far as allowed: the next block could not have been joined on.
            max_count, max_gap = limits(before.table)
            assert after.start - before.end > max_gap or after.start - before.start >= max_count


def test_protocol_limits() -> None:
    assert limits(C) == (MAX_BITS_PER_READ, BIT_GAP) == (2000, 64)
    assert limits(IR) == (MAX_REGISTERS_PER_READ, REGISTER_GAP) == (125, 16)
