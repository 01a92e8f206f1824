"""Several gateway processes sharing one broker and one PostgreSQL schema (scale-out,
docs/scale-out.md), for the fault tests: their configurations, and what each one did, read
from its own log."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import yaml

from tests.support.gateway_process import GatewayProcess
from tests.support.services import MosquittoBroker, free_port
from tests.support.site import site_tree

GROUP = "campus-gateways"
LEASE_S = 3.0  # the shortest the settings allow: a dead instance's lanes move on quickly
LEADER_RETRY_S = 0.5
_STORED = re.compile(r"ALARM press from \S+ \((\w+)\)")
_DELIVERED = re.compile(r"police \S+ acknowledged emergency (\S+) after")
_TAKEN = re.compile(r"took over (\d+) police deliveries")


def cluster_config(
    tmp_path: Path,
    instance_id: str,
    mosquitto: MosquittoBroker,
    database: tuple[str, str | None],
    police_url: str,
    port: int,
) -> Path:
    url, schema = database
    tree: dict[str, Any] = site_tree(
        mqtt_url=mosquitto.url,
        database_url=url,
        database_schema=schema,
        police_urls={"city-110": police_url},
        http_port=port,
    )
    tree["gateway"].update(
        instance_id=instance_id, outbox_lease_s=LEASE_S, leader_retry_s=LEADER_RETRY_S
    )
    tree["mqtt"]["shared_group"] = GROUP
    path = tmp_path / f"{instance_id}.yaml"
    path.write_text(yaml.safe_dump(tree, allow_unicode=True), encoding="utf-8")
    return path


class Instance(GatewayProcess):
    def __init__(self, instance_id: str, config: Path, port: int, log: Path) -> None:
        super().__init__(config, port, log)
        self.instance_id = instance_id

    async def is_leader(self) -> bool:
        checks = await self.readyz()
        if checks is None or "leadership" not in checks:
            return False
        return str(checks["leadership"]["detail"]).startswith("leader")

    def stored(self) -> list[str]:
        """Message ids of the presses this instance recorded (the first to store one logs it)."""
        return _STORED.findall(self.log.read_text(encoding="utf-8", errors="replace"))

    def delivered(self) -> list[str]:
        """Alarm ids this instance had acknowledged by the police centre."""
        return _DELIVERED.findall(self.log.read_text(encoding="utf-8", errors="replace"))

    def taken_over(self) -> int:
        """Deliveries this instance took over from another (its lease had run out)."""
        text = self.log.read_text(encoding="utf-8", errors="replace")
        return sum(int(n) for n in _TAKEN.findall(text))


async def launch_cluster(
    tmp_path: Path,
    names: list[str],
    mosquitto: MosquittoBroker,
    database: tuple[str, str | None],
    police_url: str,
    made: list[GatewayProcess],
) -> list[Instance]:
    """Start every instance at once (they migrate one at a time) and wait until all are
    connected; each is added to `made` so that the fixture stops it whatever happens."""
    instances = []
    for name in names:
        port = free_port()
        config = cluster_config(tmp_path, name, mosquitto, database, police_url, port)
        instance = Instance(name, config, port, tmp_path / f"{name}.log")
        made.append(instance)
        instances.append(instance)
        instance.start()
    await asyncio.gather(*(instance.wait_connected() for instance in instances))
    return instances


async def leader_of(instances: list[Instance], timeout_s: float = 15.0) -> Instance:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        leading = [i for i in instances if i.alive and await i.is_leader()]
        if len(leading) == 1:
            return leading[0]
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"no single leader after {timeout_s}s: {leading}")
        await asyncio.sleep(0.1)
