"""Signed checkpoint tags: the text in a checkpoint's QR code or NFC tag.

`cg1:{school}:{checkpoint}:{key version}:{signature}`, the signature an HMAC-SHA256 over the
rest with the patrol key of that version (132 bits, base64url). A guard cannot make up the
tag of a checkpoint he did not walk to, and a key is rotated by adding a version, reprinting
and then removing the old version (its tags stop counting)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass

from gateway.errors import GatewayError
from gateway.patrol.reasons import ScanReason
from gateway.settings import Patrol, Settings

PREFIX = "cg1"
SIGNATURE_CHARS = 22
_TAG = re.compile(
    r"^cg1:(?P<school>[A-Za-z0-9][A-Za-z0-9_.-]{0,63}):(?P<checkpoint>[A-Za-z0-9][A-Za-z0-9_.-]{0,63})"
    r":(?P<version>[0-9]{1,4}):(?P<signature>[A-Za-z0-9_-]{22})$"
)


class TagRejected(GatewayError):
    """A tag that does not prove a visit to a configured checkpoint."""

    def __init__(
        self, reason: ScanReason, detail: str, claimed: tuple[str, str] | None = None
    ) -> None:
        self.reason = reason
        self.detail = detail
        self.claimed = claimed  # (school, checkpoint) the tag names, not proven
        super().__init__(f"{reason}: {detail}")


@dataclass(frozen=True, slots=True)
class CheckpointTag:
    school_id: str
    checkpoint_id: str
    key_version: int


def _signature(key: str, school_id: str, checkpoint_id: str, version: int) -> str:
    message = f"{PREFIX}:{school_id}:{checkpoint_id}:{version}".encode()
    digest = hmac.new(key.encode(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode()[:SIGNATURE_CHARS]


def sign_tag(patrol: Patrol, school_id: str, checkpoint_id: str, version: int | None = None) -> str:
    """The tag to print (or write to an NFC tag) for a checkpoint, with the signing key."""
    version = patrol.signing_version if version is None else version
    if version is None or version not in patrol.keys:
        raise TagRejected(ScanReason.REVOKED_KEY, f"no patrol key version {version}")
    signature = _signature(patrol.keys[version], school_id, checkpoint_id, version)
    return f"{PREFIX}:{school_id}:{checkpoint_id}:{version}:{signature}"


def verify_tag(settings: Settings, tag: str) -> CheckpointTag:
    """The checkpoint a tag proves, or TagRejected with the reason."""
    match = _TAG.match(tag.strip())
    if match is None:
        raise TagRejected(ScanReason.UNKNOWN_TAG, f"{tag[:80]!r} is not a checkpoint tag")
    school_id, checkpoint_id = match["school"], match["checkpoint"]
    claimed = (school_id, checkpoint_id)
    version = int(match["version"])
    key = settings.patrol.keys.get(version)
    if key is None:
        raise TagRejected(
            ScanReason.REVOKED_KEY,
            f"the tag is signed with key version {version}, which is not (or no longer) in use: "
            "reprint the sheet",
            claimed,
        )
    expected = _signature(key, school_id, checkpoint_id, version)
    if not hmac.compare_digest(expected, match["signature"]):
        raise TagRejected(
            ScanReason.FORGED_TAG, "the tag's signature is wrong: a forged tag", claimed
        )
    school = settings.school(school_id)
    if school is None or school.checkpoint(checkpoint_id) is None:
        raise TagRejected(
            ScanReason.UNKNOWN_TAG,
            f"the tag names checkpoint {checkpoint_id!r} of {school_id!r}, which is not configured",
        )
    return CheckpointTag(school_id, checkpoint_id, version)
