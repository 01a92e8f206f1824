"""`GET /api/v1/audit/verify`: the inspector's proof that the records were not edited."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from gateway.api.audit_schemas import AuditVerifyOut
from gateway.api.deps import Context, DbSession, require_roles, unprocessable
from gateway.audit.actions import record_user_action
from gateway.audit.chain import InvalidAnchor, parse_anchor, verify_database
from gateway.auth.tokens import Principal
from gateway.domain import Role

router = APIRouter(prefix="/audit", tags=["audit"])

Auditor = Annotated[Principal, Depends(require_roles(Role.INSPECTOR))]


@router.get("/verify", response_model=AuditVerifyOut)
async def verify(
    principal: Auditor,
    context: Context,
    session: DbSession,
    anchor: Annotated[
        list[str] | None,
        Query(description="SEQ:HASH of a head noted earlier (a monthly report's): must still hold"),
    ] = None,
) -> AuditVerifyOut:
    """Walk the tamper-evident log and compare every record with it: `ok` when nothing was
    edited or deleted behind the gateway's back, else the first broken link (`first_broken`)
    and up to 100 problems, earliest in the log first. Entries written in the last second
    may not be sealed yet (`unsealed`); they are still compared with their rows."""
    try:
        anchors = [parse_anchor(text) for text in anchor or []]
    except InvalidAnchor as exc:
        raise unprocessable(("query", "anchor"), str(exc)) from exc
    result = await verify_database(context.engine, anchors=anchors)
    await record_user_action(
        session,
        username=principal.username,
        role=principal.role.value,
        action="audit.verify",
        subject="ok" if result.ok else f"broken:{result.problem_count}",
    )
    await session.commit()
    return AuditVerifyOut.of(result, context.settings.gateway.zone)
