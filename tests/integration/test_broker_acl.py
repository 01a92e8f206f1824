"""The Mosquitto ACL that docs/security.md gives operators does what it says: a school's
devices write their own school's device topics only, the gateway reads all and writes its
alerts and status. The ACL is read from the document itself, so the two cannot drift apart."""

from __future__ import annotations

import asyncio
import contextlib
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import aiomqtt
import pytest

from tests.support.services import MosquittoBroker

pytestmark = pytest.mark.mosquitto
DOC = Path(__file__).parents[2] / "docs" / "security.md"
PASSWORD = "acl-test-password"


def doc_blocks() -> list[str]:
    fences = re.compile(r"^```\w*\n(.*?)^```$", flags=re.DOTALL | re.MULTILINE)
    return fences.findall(DOC.read_text(encoding="utf-8"))


def acl_from_doc(kind: str) -> str:
    """The per-user ACL, or the `pattern` lines with the gateway's block."""
    users = next(b for b in doc_blocks() if b.startswith("# The gateway:"))
    if kind == "users":
        return users
    patterns = next(b for b in doc_blocks() if b.startswith("pattern write"))
    gateway = users.split("\n\n")[0]
    # Mosquitto applies `pattern` lines to every client, before or after the user blocks.
    return f"{patterns}\n{gateway}\n"


class AclBroker(MosquittoBroker):
    acl = ""

    def write_config(self) -> Path:
        conf = super().write_config()
        passwords = self.directory / "passwd"
        passwords.touch(mode=0o600)
        for user in ("campus-gateway", "fy-dongguan-ms", "fy-shiyan-kg"):
            subprocess.run(
                ["mosquitto_passwd", "-b", str(passwords), user, PASSWORD],
                check=True,
                capture_output=True,
            )
        acl = self.directory / "acl"
        acl.write_text(self.acl)
        text = conf.read_text().replace("allow_anonymous true", "allow_anonymous false")
        conf.write_text(text + f"password_file {passwords}\nacl_file {acl}\n")
        return conf


@pytest.fixture(params=["users", "patterns"])
def broker(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AclBroker]:
    broker = AclBroker(directory=tmp_path / "mosquitto", persistence=False)
    broker.acl = acl_from_doc(request.param)
    broker.directory.mkdir()
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


def client(broker: AclBroker, user: str) -> aiomqtt.Client:
    return aiomqtt.Client(
        broker.host, broker.port, username=user, password=PASSWORD, identifier=f"{user}-test"
    )


def forget_disconnection(device: aiomqtt.Client) -> None:
    """aiomqtt keeps the broker's closing of the connection in a future nobody awaits, and
    asyncio would print "Future exception was never retrieved" for it."""
    disconnected = device._disconnected
    if disconnected.done() and not disconnected.cancelled():
        disconnected.exception()


async def test_each_school_writes_its_own_topics_and_the_gateway_reads_all(
    broker: AclBroker,
) -> None:
    seen: list[str] = []
    async with client(broker, "campus-gateway") as gateway:
        await gateway.subscribe("campus/#", qos=1)

        async def listen() -> None:
            async for message in gateway.messages:
                seen.append(str(message.topic))

        task = asyncio.create_task(listen())
        try:
            allowed = [
                "campus/fy-dongguan-ms/alarm/btn-office/event",
                "campus/fy-dongguan-ms/gate/gate-north/event",
                "campus/fy-dongguan-ms/checkpoint/cp-dorm/scan",
                "campus/fy-dongguan-ms/alarm/btn-office/status",
            ]
            refused = [
                "campus/fy-shiyan-kg/alarm/btn-gate/event",  # another school's
                "campus/fy-shiyan-kg/gate/gate-main/event",
                "campus/fy-shiyan-kg/checkpoint/cp-hall/scan",
                "campus/fy-shiyan-kg/alarm/btn-gate/status",
                "campus/fy-dongguan-ms/gateway/alert",  # a forged alert
                "campus/gateway/status",
                "campus/fy-dongguan-ms/alarm/btn-office/other",
            ]
            async with client(broker, "fy-dongguan-ms") as device:
                for topic in allowed:
                    await device.publish(topic, b"{}", qos=1)
            for user, topic in [("fy-dongguan-ms", t) for t in refused] + [
                ("fy-shiyan-kg", "campus/fy-dongguan-ms/gate/gate-north/event")
            ]:
                # Mosquitto 2.0 closes the connection over a refused publish; either way the
                # message must never reach the gateway.
                device = client(broker, user)
                with contextlib.suppress(aiomqtt.MqttError):
                    async with device:
                        await device.publish(topic, b"{}", qos=1, timeout=2)
                forget_disconnection(device)
            async with client(broker, "fy-shiyan-kg") as device:
                await device.publish("campus/fy-shiyan-kg/gate/gate-main/event", b"{}", qos=1)
            await gateway.publish("campus/fy-dongguan-ms/gateway/alert", b"{}", qos=1)
            await gateway.publish("campus/gateway/status", b"online", qos=1)
            await gateway.publish("campus/fy-dongguan-ms/alarm/btn-office/event", b"{}", qos=1)
            expected = [
                *allowed,
                "campus/fy-shiyan-kg/gate/gate-main/event",
                "campus/fy-dongguan-ms/gateway/alert",
                "campus/gateway/status",
            ]
            for _ in range(100):
                if len(seen) >= len(expected):
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.2)  # anything refused would have come by now
            assert sorted(seen) == sorted(expected)
        finally:
            task.cancel()


async def test_a_device_login_cannot_subscribe_to_anything(broker: AclBroker) -> None:
    async with client(broker, "fy-dongguan-ms") as device:
        await device.subscribe("campus/#", qos=1)
        async with client(broker, "campus-gateway") as gateway:
            await gateway.publish("campus/fy-dongguan-ms/gateway/alert", b"{}", qos=1)
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.5):
                await anext(aiter(device.messages))
