"""Site configurations for tests that run the gateway against real services."""

from __future__ import annotations

from typing import Any

SECRET = "test-police-secret"
PATROL_KEY = "test-patrol-key-0123456789"


def site_tree(
    *,
    mqtt_url: str,
    database_url: str,
    database_schema: str | None,
    police_urls: dict[str, str],
    http_port: int = 8080,
    client_id: str = "campus-gateway-test",
    retry_initial_s: float = 0.1,
    retry_max_s: float = 0.5,
) -> dict[str, Any]:
    gateway: dict[str, Any] = {
        "http_host": "127.0.0.1",
        "http_port": http_port,
        "database_url": database_url,
        "secret_key": "test-token-secret-0123456789",
    }
    if database_schema is not None:
        gateway["database_schema"] = database_schema
    return {
        "gateway": gateway,
        "mqtt": {
            "url": mqtt_url,
            "client_id": client_id,
            "reconnect_initial_s": 0.1,
            "reconnect_max_s": 0.5,
            "connect_timeout_s": 3,
        },
        "patrol": {"keys": {1: PATROL_KEY}},
        "police": [
            {
                "id": endpoint_id,
                "kind": "webhook",
                "url": url,
                "secret": SECRET,
                "timeout_s": 2,
                "retry": {"initial_s": retry_initial_s, "max_s": retry_max_s},
            }
            for endpoint_id, url in police_urls.items()
        ],
        "schools": [
            {
                "id": "fy-dongguan-ms",
                "name": "汾阳市东关中学",
                "alarm_buttons": [
                    {"id": "btn-north", "location": "北门警务室", "zone": 1, "camera": "cam-north"},
                    {"id": "btn-office", "location": "校长办公室", "zone": 2},
                ],
                "gates": [{"id": "gate-north", "name": "北门"}],
                "checkpoints": [{"id": "cp-dorm", "name": "宿舍楼", "key_area": True}],
                "guards": [{"id": "guard-li", "name": "李师傅"}],
                "cameras": [
                    {
                        "id": "cam-north",
                        "url": "rtsp://127.0.0.1/cam",
                        "gb28181_id": "34020000001320000001",
                    }
                ],
            },
            {
                "id": "fy-shiyan-kg",
                "name": "汾阳市实验幼儿园",
                "alarm_buttons": [{"id": "btn-gate", "location": "大门传达室", "zone": 1}],
                "gates": [{"id": "gate-main", "name": "大门"}],
            },
        ],
    }
