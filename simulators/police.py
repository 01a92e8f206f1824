"""A simulated police alarm receiving centre (110 接警中心): the receiving side of spec 4.1.

`POST /alarms` checks the signature, the timestamp and the body, then acknowledges once per
`Idempotency-Key`; a repeat gets the same receipt back and is counted as a duplicate.
Failures can be injected (`fail_first`, `fail_rate`, `set_failing`) and answers delayed
(`delay_s`). A delayed answer is recorded *before* the delay, like a real centre whose
acknowledgement is lost on the way back: the sender's retry then shows up as a duplicate.

The receipts file is JSON lines, one full receipt per line, appended at the first
acknowledgement and again whenever its duplicate count changes; on reload the last line for
an alarm wins, so a restarted centre still recognises every key it has acknowledged.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import dataclasses
import json
import logging
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from gateway.errors import ConfigError
from gateway.linkage.signing import verify
from simulators.http import listen, serve_asgi

log = logging.getLogger(__name__)

Text = Annotated[str, Field(min_length=1)]


@dataclass
class PoliceOptions:
    secret: str
    fail_first: int = 0  # answer 503 to the first N well-formed requests
    fail_rate: float = 0.0  # and to this share of the rest
    delay_s: float = 0.0
    receipts_path: Path | None = None
    max_skew_s: float = 300.0  # X-Campus-Timestamp further off than this is refused (replay)


class _Body(BaseModel):
    # Strict: no epoch numbers for times, no numbers for ids; unknown keys are tolerated.
    model_config = ConfigDict(strict=True, extra="ignore")


class AlarmNotice(_Body):
    id: Text
    window_start: AwareDatetime
    window_end: AwareDatetime


class Snapshot(_Body):
    content_type: Text
    data_base64: str

    @field_validator("data_base64")
    @classmethod
    def _base64(cls, value: str) -> str:
        try:
            base64.b64decode(value, validate=True)
        except binascii.Error as exc:
            raise ValueError("not valid base64") from exc
        return value


class CameraRef(_Body):
    id: Text
    gb28181_id: Annotated[str, Field(pattern=r"^[0-9]{20}$")] | None


class AlarmBody(_Body):
    alarm_id: Text
    kind: Literal["emergency", "test"]
    school_id: Text
    school_name: Text
    device_id: Text
    location: Text
    occurred_at: AwareDatetime
    received_at: AwareDatetime
    source_id: Text
    snapshot: Snapshot | None  # required keys, null allowed
    camera: CameraRef | None
    test_notice: AlarmNotice | None = None

    @field_validator("test_notice")
    @classmethod
    def _notice_only_for_tests(
        cls, value: AlarmNotice | None, info: ValidationInfo
    ) -> AlarmNotice | None:
        # A notice tells the centre not to dispatch: on an emergency it would be dangerous.
        if value is not None and info.data.get("kind") == "emergency":
            raise ValueError("an emergency must not carry a test notice")
        return value


@dataclass(slots=True)
class Receipt:
    receipt_id: str
    alarm_id: str
    kind: str
    school_id: str
    school_name: str
    device_id: str
    location: str
    source_id: str
    occurred_at: str
    received_at: str  # the gateway's time
    acknowledged_at: str  # the centre's time
    snapshot: dict[str, Any] | None
    camera: dict[str, Any] | None
    test_notice: dict[str, Any] | None
    duplicates: int = 0
    attempts: int = 1

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class _Refused(Exception):
    def __init__(self, status: int, detail: str | list[str]) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


class PoliceCentre:
    def __init__(
        self,
        options: PoliceOptions,
        *,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.options = options
        self.failing = False  # set_failing(True): every request gets 503
        self.receipts: list[Receipt] = []
        self.counts: Counter[str] = Counter()
        self._by_alarm: dict[str, Receipt] = {}
        self._attempts: Counter[str] = Counter()
        self._failed_first = 0
        self._rng = rng if rng is not None else random.Random()
        self._clock = clock
        self._lock = asyncio.Lock()  # one acknowledgement (and file append) at a time
        if options.receipts_path is not None:
            self._reload(options.receipts_path)

    def set_failing(self, failing: bool) -> None:
        self.failing = failing

    def set_delay(self, delay_s: float) -> None:
        self.options.delay_s = max(0.0, delay_s)

    def receipt(self, alarm_id: str) -> Receipt | None:
        return self._by_alarm.get(alarm_id)

    def asgi_app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/alarms", self._post_alarm, methods=["POST"]),
                Route("/receipts", self._get_receipts, methods=["GET"]),
                Route("/healthz", self._get_health, methods=["GET"]),
            ]
        )

    async def _post_alarm(self, request: Request) -> JSONResponse:
        raw = await request.body()
        try:
            self._authenticate(request.headers, raw)
            alarm = self._parse(request.headers, raw)
        except _Refused as refused:
            self.counts["unauthorized" if refused.status == 401 else "invalid"] += 1
            log.warning("police centre: refused %s: %s", refused.status, refused.detail)
            return JSONResponse({"detail": refused.detail}, status_code=refused.status)
        self._attempts[alarm.alarm_id] += 1
        if self._should_fail():
            self.counts["failed"] += 1
            await asyncio.sleep(self.options.delay_s)
            return JSONResponse({"detail": "centre unavailable (simulated)"}, status_code=503)
        try:
            receipt, duplicate = await self._acknowledge(alarm)
        except OSError as exc:  # cannot keep the receipt: do not acknowledge
            log.error("police centre: cannot write %s: %s", self.options.receipts_path, exc)
            return JSONResponse({"detail": "receipt not stored"}, status_code=500)
        await asyncio.sleep(self.options.delay_s)
        answer = {
            "receipt_id": receipt.receipt_id,
            "alarm_id": receipt.alarm_id,
            "received_at": receipt.acknowledged_at,  # when the centre received it
            "acknowledged_at": receipt.acknowledged_at,
            "duplicate": duplicate,
        }
        return JSONResponse(answer)

    async def _get_receipts(self, request: Request) -> JSONResponse:
        listing = []
        for receipt in self.receipts:
            item = receipt.to_json()
            item["attempts"] = self._attempts.get(receipt.alarm_id, receipt.attempts)
            listing.append(item)
        return JSONResponse(listing)

    async def _get_health(self, request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "receipts": len(self.receipts), **self.counts})

    def _authenticate(self, headers: Mapping[str, str], raw: bytes) -> None:
        stamp = headers.get("x-campus-timestamp", "")
        signature = headers.get("x-campus-signature", "")
        if not stamp or not signature:
            raise _Refused(401, "X-Campus-Timestamp and X-Campus-Signature are required")
        # compare_digest refuses non-ASCII text; such a header is simply wrong.
        if not signature.isascii() or not verify(self.options.secret, stamp, raw, signature):
            raise _Refused(401, "bad signature")
        if not (stamp.isascii() and stamp.isdigit()):
            raise _Refused(401, "X-Campus-Timestamp must be unix seconds")
        skew = abs(self._clock() - int(stamp))
        if skew > self.options.max_skew_s:
            raise _Refused(
                401, f"timestamp is {skew:.0f} s off (limit {self.options.max_skew_s:g} s)"
            )

    def _parse(self, headers: Mapping[str, str], raw: bytes) -> AlarmBody:
        try:
            alarm = AlarmBody.model_validate_json(raw)
        except ValidationError as exc:
            problems = [
                f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors()
            ]
            raise _Refused(400, problems) from exc
        key = headers.get("idempotency-key")
        if key != alarm.alarm_id:
            raise _Refused(400, f"Idempotency-Key {key!r} must equal alarm_id {alarm.alarm_id!r}")
        return alarm

    def _should_fail(self) -> bool:
        if self.failing:
            return True
        if self._failed_first < self.options.fail_first:
            self._failed_first += 1
            return True
        return self._rng.random() < self.options.fail_rate

    async def _acknowledge(self, alarm: AlarmBody) -> tuple[Receipt, bool]:
        async with self._lock:
            attempts = self._attempts[alarm.alarm_id]
            known = self._by_alarm.get(alarm.alarm_id)
            if known is not None:
                updated = dataclasses.replace(
                    known, duplicates=known.duplicates + 1, attempts=attempts
                )
                await self._append(updated)
                known.duplicates, known.attempts = updated.duplicates, updated.attempts
                self.counts["duplicate"] += 1
                log.info("police centre: duplicate %s (%s)", alarm.alarm_id, known.receipt_id)
                return known, True
            receipt = _new_receipt(alarm, attempts)
            await self._append(receipt)
            self.receipts.append(receipt)
            self._by_alarm[receipt.alarm_id] = receipt
            self.counts["accepted"] += 1
        print(_describe(receipt), flush=True)
        return receipt, False

    async def _append(self, receipt: Receipt) -> None:
        path = self.options.receipts_path
        if path is not None:
            line = json.dumps(receipt.to_json(), ensure_ascii=False) + "\n"
            await asyncio.to_thread(_append_line, path, line)

    def _reload(self, path: Path) -> None:
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return
        except OSError as exc:
            raise ConfigError([f"receipts file {path}: cannot read it ({exc.strerror})"]) from exc
        if text and not text.endswith("\n"):
            _append_line(path, "\n")  # end a torn line, or the next receipt would join it
        lines = text.splitlines()
        by_alarm: dict[str, Receipt] = {}
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                receipt = Receipt(**json.loads(line))
            except (ValueError, TypeError) as exc:  # a torn last line after a crash
                log.warning("police centre: %s line %d skipped (%s)", path, number, exc)
                continue
            by_alarm[receipt.alarm_id] = receipt  # the last line wins, first position kept
        self.receipts = list(by_alarm.values())
        self._by_alarm = by_alarm
        self._attempts = Counter({r.alarm_id: r.attempts for r in self.receipts})


def _append_line(path: Path, line: str) -> None:
    with path.open("a", encoding="utf-8") as file:
        file.write(line)


def _new_receipt(alarm: AlarmBody, attempts: int) -> Receipt:
    snapshot = None
    if alarm.snapshot is not None:
        size = len(base64.b64decode(alarm.snapshot.data_base64))
        snapshot = {"content_type": alarm.snapshot.content_type, "bytes": size}
    return Receipt(
        receipt_id=f"rcpt-{uuid.uuid4().hex[:16]}",
        alarm_id=alarm.alarm_id,
        kind=alarm.kind,
        school_id=alarm.school_id,
        school_name=alarm.school_name,
        device_id=alarm.device_id,
        location=alarm.location,
        source_id=alarm.source_id,
        occurred_at=alarm.occurred_at.isoformat(),
        received_at=alarm.received_at.isoformat(),
        acknowledged_at=datetime.now(UTC).isoformat(timespec="milliseconds"),
        snapshot=snapshot,
        camera=alarm.camera.model_dump() if alarm.camera is not None else None,
        test_notice=alarm.test_notice.model_dump(mode="json") if alarm.test_notice else None,
        attempts=attempts,
    )


def _describe(receipt: Receipt) -> str:
    if receipt.kind == "emergency":
        what = "紧急报警 EMERGENCY"
    elif receipt.test_notice is not None:
        what = f"报警测试 TEST (已报备 {receipt.test_notice['id']})"
    else:
        what = "报警测试 TEST (未报备)"
    extras = " 有抓图" if receipt.snapshot else ""
    if receipt.camera and receipt.camera.get("gb28181_id"):
        extras += f" 视频通道 {receipt.camera['gb28181_id']}"
    return (
        f"110 接警 {receipt.occurred_at} {what} {receipt.school_name} {receipt.location}"
        f" [{receipt.school_id}/{receipt.device_id}]{extras}"
        f" alarm={receipt.alarm_id} receipt={receipt.receipt_id}"
    )


async def serve_police(
    options: PoliceOptions,
    *,
    host: str,
    port: int,
    ready: asyncio.Event | None = None,
    centre: PoliceCentre | None = None,
) -> None:
    """Serve the centre until cancelled; `ready` is set once it accepts connections."""
    app = (centre if centre is not None else PoliceCentre(options)).asgi_app()
    sock = listen(host, port, "police centre")
    try:
        await serve_asgi(app, sock, name="police-centre-http", ready=ready)
    finally:
        sock.close()
