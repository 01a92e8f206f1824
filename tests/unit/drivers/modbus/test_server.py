"""PanelServer: values set from outside, kept across a restart, refused when impossible."""

from __future__ import annotations

import pytest

from drivers.modbus.server import PanelServer, ServedRequest, free_tcp_port
from drivers.modbus.types import Table
from gateway.errors import DeviceUnavailable

C, DI, HR, IR = (
    Table.COIL,
    Table.DISCRETE_INPUT,
    Table.HOLDING_REGISTER,
    Table.INPUT_REGISTER,
)


async def test_tables_are_separate_and_values_survive_a_restart() -> None:
    seen: list[ServedRequest] = []
    async with PanelServer(units=(1, 7), size=16, on_request=seen.append) as server:
        assert server.port > 0 and server.running
        port = server.port
        await server.set_bit(C, 5, True)
        await server.set_register(IR, 5, 0xBEEF, unit=7)
        await server.set_register_bit(HR, 5, 15, True, unit=7)
        assert await server.get_bit(C, 5) is True
        assert await server.get_bit(DI, 5) is False  # coil 5 and discrete input 5 differ
        assert await server.get_bit(C, 5, unit=7) is False  # and so do units
        assert await server.get_register(IR, 5, unit=7) == 0xBEEF
        assert await server.get_register(HR, 5, unit=7) == 0x8000

        await server.stop()
        assert not server.running
        await server.set_bit(DI, 15, True)  # set while stopped
        assert await server.get_register(IR, 5, unit=7) == 0xBEEF
        await server.start()
        assert server.port == port  # back on the same port
        assert await server.get_bit(C, 5) is True
        assert await server.get_bit(DI, 15) is True
        assert await server.get_register(HR, 5, unit=7) == 0x8000
        await server.set_register_bit(HR, 5, 15, False, unit=7)
        assert await server.get_register(HR, 5, unit=7) == 0
    assert seen == [] and not server.requests  # our own reads and writes are not requests


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda s: s.set_bit(HR, 0, True), "holding_register is not a coil or discrete input"),
        (lambda s: s.set_register(C, 0, 1), "coil is not a holding or input register"),
        (lambda s: s.set_bit(C, 16, True), "coil 16 is outside 0..15"),
        (lambda s: s.get_register(IR, -1), "input_register -1 is outside 0..15"),
        (lambda s: s.set_register(HR, 0, 65536), "register value 65536 is outside 0..65535"),
        (lambda s: s.set_register_bit(HR, 0, 16, True), "bit 16 is outside 0..15"),
        (lambda s: s.get_bit(C, 0, unit=2), "unit 2 is not served here"),
    ],
)
async def test_impossible_values_are_refused(call: object, message: str) -> None:
    async with PanelServer(size=16) as server:
        with pytest.raises(ValueError, match=message):
            await call(server)  # type: ignore[operator]


@pytest.mark.parametrize(
    "options, message",
    [
        ({"units": ()}, "distinct and at least one"),
        ({"units": (1, 1)}, "distinct and at least one"),
        ({"units": (256,)}, "within 0..255"),
        ({"size": 0}, "size 0 must be within"),
    ],
)
def test_bad_servers(options: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PanelServer(**options)  # type: ignore[arg-type]


async def test_a_named_port() -> None:
    port = free_tcp_port()
    async with PanelServer(port=port) as server:
        assert server.port == port


async def test_a_port_in_use_is_a_clear_error() -> None:
    async with PanelServer() as first:
        message = f"cannot serve Modbus TCP on 127.0.0.1:{first.port}: .*address already in use"
        with pytest.raises(DeviceUnavailable, match=message):
            async with PanelServer(port=first.port):
                pass
