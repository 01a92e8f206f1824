"""The web pages (Chinese by default, `?lang=en` for English). Built in `create_app`.

Every page needs a signed-in reader (gateway/web/account.py): without one it sends them to
the sign-in page and back; with a role that may not use it, it says so (403)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from gateway.api.deps import account_scope
from gateway.api.request_text import refuse_unsafe_text
from gateway.domain import Role
from gateway.settings import Settings
from gateway.web.account import SignedIn, build_account_router, signed_in, texts_for, to_sign_in

HERE = Path(__file__).parent
STATIC = HERE / "static"

Language = Annotated[str, Query(pattern="^(zh|en)$")]
# Who may use each page besides admins, who may use all of them.
PAGE_ROLES: dict[str, frozenset[Role]] = {
    "police": frozenset({Role.POLICE}),
    "guard": frozenset({Role.GUARD}),
    "inspector": frozenset({Role.INSPECTOR, Role.POLICE}),
}
# The home page's tiles, in order: (text key prefix, link, roles besides admin).
HOME_TILES: tuple[tuple[str, str, frozenset[Role]], ...] = (
    ("a_tile_guard", "/guard", PAGE_ROLES["guard"]),
    ("a_tile_police", "/police", PAGE_ROLES["police"]),
    ("a_tile_calendar", "/inspector#calendar", PAGE_ROLES["inspector"]),
    ("a_tile_tests", "/inspector#tests", PAGE_ROLES["inspector"]),
    ("a_tile_report", "/inspector#report", PAGE_ROLES["inspector"]),
    ("a_tile_audit", "/inspector#audit", frozenset({Role.INSPECTOR})),
)


def scope_line(reader: SignedIn, settings: Settings, t: dict[str, str]) -> str:
    """The account's reach in words: its school, station or district, or the whole city."""
    p = reader.principal
    if p.school_id is not None:
        school = settings.school(p.school_id)
        return t["a_scope_school"].format(name=school.name if school else p.school_id)
    if p.station is not None:
        return t["a_scope_station"].format(name=p.station)
    if p.district is not None:
        return t["a_scope_district"].format(name=p.district)
    if p.role is Role.GUARD:
        return t["a_scope_none"]
    return t["a_scope_city"]


def build_pages_router() -> APIRouter:
    templates = Jinja2Templates(directory=HERE / "templates")
    # The sign-in form and the pages' queries, held to the API's rule (gateway/api/request_text.py).
    router = APIRouter(include_in_schema=False, dependencies=[Depends(refuse_unsafe_text)])
    router.include_router(build_account_router(templates))

    def render(
        request: Request,
        reader: SignedIn,
        template: str,
        lang: str,
        extra: dict[str, Any] | None = None,
        status_code: int = status.HTTP_200_OK,
    ) -> HTMLResponse:
        t = texts_for(lang)
        context = reader.page_context()
        context.update(
            {
                "t": t,
                "lang": lang,
                "texts_json": json.dumps(t, ensure_ascii=False),
                "me_json": json.dumps(context["me"], ensure_ascii=False).replace("<", "\\u003c"),
                **(extra or {}),
            }
        )
        response = templates.TemplateResponse(request, template, context, status_code=status_code)
        # A page carries its reader's CSRF token: no shared cache may keep it.
        response.headers["Cache-Control"] = "no-store"
        return response

    async def page(
        request: Request,
        lang: str,
        name: str,
        template: str,
        extra: Callable[[Request], dict[str, Any]] | None = None,
    ) -> Response:
        reader = await signed_in(request)
        if reader is None:
            return to_sign_in(request)
        if not reader.principal.has_role(*PAGE_ROLES[name]):
            t = texts_for(lang)
            role = t[f"a_role_{reader.principal.role.value}"]
            return render(
                request,
                reader,
                "forbidden.html",
                lang,
                {"message": t["a_forbidden"].format(role=role)},
                status.HTTP_403_FORBIDDEN,
            )
        return render(request, reader, template, lang, extra(request) if extra else None)

    @router.get("/", response_class=HTMLResponse)
    async def home(request: Request, lang: Language = "zh") -> Response:
        """Each account's home: who and what it sees, and the pages for its job."""
        reader = await signed_in(request)
        if reader is None:
            return to_sign_in(request)
        settings: Settings = request.app.state.context.settings
        t = texts_for(lang)
        principal = reader.principal
        scope = account_scope(principal, settings)
        tiles = [
            {
                "title": t[key],
                "hint": t[f"{key}_hint"],
                "href": href,
                "id": key.removeprefix("a_tile_"),
            }
            for key, href, roles in HOME_TILES
            if principal.has_role(*roles)
        ]
        return render(
            request,
            reader,
            "home.html",
            lang,
            {
                "tiles": tiles,
                "scope_line": scope_line(reader, settings, t),
                "schools_count": len(settings.schools) if scope is None else len(scope),
                "today": _site_today(request),
            },
        )

    @router.get("/police", response_class=HTMLResponse)
    async def police_console(request: Request, lang: Language = "zh") -> Response:
        """The police console: live alarms, the picture, the school, and the steps."""
        return await page(request, lang, "police", "police.html")

    @router.get("/guard", response_class=HTMLResponse)
    async def guard_page(request: Request, lang: Language = "zh") -> Response:
        """The guard's phone page: scan a checkpoint, check in and out of the gate post, and
        see the rounds due today."""
        return await page(request, lang, "guard", "guard.html")

    @router.get("/inspector", response_class=HTMLResponse)
    async def inspector_page(request: Request, lang: Language = "zh") -> Response:
        """The inspectors' pages (督导, 教育局; police and admins too): compliance by school and
        day, the alarm-test logs and notices, the monthly report, log verification, ratings."""

        def site_day(request: Request) -> dict[str, Any]:
            zone = request.app.state.context.settings.gateway.zone
            return {"today": _site_today(request), "zone": zone.key}

        return await page(request, lang, "inspector", "inspector.html", site_day)

    return router


def _site_today(request: Request) -> str:
    # The site's today decides the default month and which days are still to come: the
    # reader's own device may be in another zone.
    zone = request.app.state.context.settings.gateway.zone
    return datetime.now(UTC).astimezone(zone).date().isoformat()
