"""The web pages (Chinese by default, `?lang=en` for English). Built in `create_app`."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from gateway.web.texts import LANGUAGES, TEXTS

HERE = Path(__file__).parent
STATIC = HERE / "static"


def build_pages_router() -> APIRouter:
    templates = Jinja2Templates(directory=HERE / "templates")
    router = APIRouter(include_in_schema=False)

    @router.get("/police", response_class=HTMLResponse)
    async def police_console(
        request: Request, lang: Annotated[str, Query(pattern="^(zh|en)$")] = "zh"
    ) -> HTMLResponse:
        """The police console: live alarms, the picture, the school, and the steps."""
        texts = TEXTS[lang if lang in LANGUAGES else "zh"]
        return templates.TemplateResponse(
            request,
            "police.html",
            {"t": texts, "lang": lang, "texts_json": json.dumps(texts, ensure_ascii=False)},
        )

    @router.get("/guard", response_class=HTMLResponse)
    async def guard_page(
        request: Request, lang: Annotated[str, Query(pattern="^(zh|en)$")] = "zh"
    ) -> HTMLResponse:
        """The guard's phone page: scan a checkpoint, check in and out of the gate post, and
        see the rounds due today."""
        texts = TEXTS[lang if lang in LANGUAGES else "zh"]
        return templates.TemplateResponse(
            request,
            "guard.html",
            {"t": texts, "lang": lang, "texts_json": json.dumps(texts, ensure_ascii=False)},
        )

    @router.get("/inspector", response_class=HTMLResponse)
    async def inspector_page(
        request: Request, lang: Annotated[str, Query(pattern="^(zh|en)$")] = "zh"
    ) -> HTMLResponse:
        """The inspectors' pages (督导, 教育局; police and admins too): compliance by school and
        day, the alarm-test logs and notices, the monthly report, log verification, ratings."""
        texts = TEXTS[lang if lang in LANGUAGES else "zh"]
        # The site's today decides the default month and which days are still to come: the
        # inspector's own computer may be in another zone.
        zone = request.app.state.context.settings.gateway.zone
        today = datetime.now(UTC).astimezone(zone).date()
        return templates.TemplateResponse(
            request,
            "inspector.html",
            {
                "t": texts,
                "lang": lang,
                "texts_json": json.dumps(texts, ensure_ascii=False),
                "today": today.isoformat(),
                "zone": zone.key,
            },
        )

    return router
