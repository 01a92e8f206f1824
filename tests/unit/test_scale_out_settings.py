"""Scale-out settings (docs/scale-out.md): off by default, PostgreSQL only, and the client ids
and subscriptions they make."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.errors import ConfigError
from gateway.scale_out import ScaleOut, client_id, host_instance_id, scale_out, telemetry_filter
from gateway.settings import parse_settings

POSTGRES = "postgresql+asyncpg://gw@db/campus"
SCHOOLS = [{"id": "s1", "name": "一中"}]


def settings(**sections: Any) -> Any:
    return parse_settings({"schools": SCHOOLS, **sections})


def test_a_single_gateway_is_the_default_and_keeps_its_client_ids() -> None:
    plain = settings()
    assert scale_out(plain) is None
    assert client_id("campus-gateway", "alarms", None) == "campus-gateway-alarms"
    assert telemetry_filter("campus", None) == "campus/#"


def test_several_instances_share_the_telemetry_under_their_own_ids() -> None:
    cluster = scale_out(
        settings(
            gateway={"database_url": POSTGRES, "instance_id": "gw-2", "outbox_lease_s": 6},
            mqtt={"shared_group": "gateways"},
        )
    )
    assert cluster == ScaleOut("gw-2", "gateways", 6.0, 5.0)
    assert client_id("campus-gateway", "alarms", cluster) == "campus-gateway-gw-2-alarms"
    assert telemetry_filter("campus", cluster) == "$share/gateways/campus/#"


def test_the_instance_id_defaults_to_the_host_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("socket.gethostname", lambda: "gw host#1.example")
    assert host_instance_id() == "gw-host-1.example"
    cluster = scale_out(settings(gateway={"database_url": POSTGRES}, mqtt={"shared_group": "g"}))
    assert cluster is not None and cluster.instance_id == "gw-host-1.example"


def test_sqlite_serves_one_gateway_only() -> None:
    with pytest.raises(ConfigError) as error:
        settings(mqtt={"shared_group": "gateways"})
    assert any(
        p.startswith("mqtt.shared_group: several gateway instances") for p in error.value.problems
    )


@pytest.mark.parametrize("group", ["a/b", "+", "#", ""])
def test_a_group_name_cannot_break_the_topic_filter(group: str) -> None:
    with pytest.raises(ConfigError):
        settings(gateway={"database_url": POSTGRES}, mqtt={"shared_group": group})


def test_a_lease_shorter_than_three_seconds_is_refused() -> None:
    with pytest.raises(ConfigError):
        settings(gateway={"database_url": POSTGRES, "outbox_lease_s": 1})
