"""A gateway outside the demo starts with no accounts: none of the demo's, nor any other
known username and password, signs in on a new site."""

from __future__ import annotations

import httpx
from asgi_lifespan import LifespanManager

from gateway.app import create_app
from gateway.auth.login_limit import LoginLimiter
from gateway.demo.runner import DEMO_USERS
from gateway.settings import parse_settings
from gateway.storage.users import UserRepository
from tests.support.site import site_tree

COMMON_GUESSES = [("admin", "admin"), ("admin", "123456"), ("root", "root")]


async def test_a_new_site_has_no_accounts_to_sign_in_with(
    database: tuple[str, str | None],
) -> None:
    url, schema = database
    settings = parse_settings(
        site_tree(
            mqtt_url="mqtt://127.0.0.1:1",
            database_url=url,
            database_schema=schema,
            police_urls={"110": "http://127.0.0.1:9/alarm"},
        )
    )
    app = create_app(settings, run_runtime=False)
    async with LifespanManager(app, startup_timeout=30, shutdown_timeout=30) as manager:
        async with app.state.context.sessions() as session:
            assert list(await UserRepository(session).list()) == []
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
            guesses = [(user, password) for _, user, password in DEMO_USERS] + COMMON_GUESSES
            for username, password in guesses:
                # A fresh limiter per guess: the rate limit must not be what refuses them.
                app.state.login_limiter = LoginLimiter()
                refused = await http.post(
                    "/api/v1/auth/token", data={"username": username, "password": password}
                )
                assert refused.status_code == 401, (username, refused.text)
