"""Several gateway instances on one PostgreSQL and one broker (docs/scale-out.md): who this
instance is, and what it subscribes to under which client id.

- Alarm events reach every instance, each on its own persistent session (a plain
  subscription, not a shared one): the first to store a press records it, the others find
  it stored (one event per device and message id) and only acknowledge it. A press therefore
  never waits in the session of an instance that died, and each instance sees a button's
  presses in the order the broker got them.
- Everything else (gate sensors, patrol scans, device status) is shared: `$share/{group}/...`,
  each message to one instance of the group.
- Client ids carry the instance id, which must stay the same across restarts: the broker
  keeps what was in flight to a killed instance in its session until it connects again."""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass

from gateway.settings import Settings

_NOT_IN_ID = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass(frozen=True, slots=True)
class ScaleOut:
    instance_id: str
    group: str
    lease_s: float
    leader_retry_s: float


def scale_out(settings: Settings) -> ScaleOut | None:
    """The instance's place among several, or None for a single gateway."""
    group = settings.mqtt.shared_group
    if group is None:
        return None
    return ScaleOut(
        instance_id=settings.gateway.instance_id or host_instance_id(),
        group=group,
        lease_s=settings.gateway.outbox_lease_s,
        leader_retry_s=settings.gateway.leader_retry_s,
    )


def host_instance_id() -> str:
    """The host name as an instance id: stable across restarts of a service on one host,
    and of a container that is restarted rather than recreated."""
    name = _NOT_IN_ID.sub("-", socket.gethostname()).strip("-._")
    return name[:64] or "gateway"


def client_id(base: str, role: str, cluster: ScaleOut | None) -> str:
    """`{base}-{role}` for a single gateway, as always; `{base}-{instance}-{role}` among
    several, so that each instance has sessions of its own."""
    return f"{base}-{role}" if cluster is None else f"{base}-{cluster.instance_id}-{role}"


def telemetry_filter(prefix: str, cluster: ScaleOut | None) -> str:
    topic = f"{prefix}/#"
    return topic if cluster is None else f"$share/{cluster.group}/{topic}"
