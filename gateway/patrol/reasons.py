"""Where a scan came from, and why one was refused."""

from __future__ import annotations

from enum import StrEnum


class ScanSource(StrEnum):
    READER = "reader"  # an MQTT checkpoint reader (NFC or QR) at the checkpoint
    PHONE = "phone"  # the guard's phone page, scanning the QR with the camera
    NFC = "nfc"  # the guard's phone page, reading the checkpoint's NFC tag
    PHOTO = "photo"  # a photo uploaded from the phone, decoded by the gateway
    UPLOAD = "upload"  # a late batch from an offline patrol wand


class ScanReason(StrEnum):
    """Why a scan does not count: it is kept as a suspicious scan, with this reason."""

    UNKNOWN_TAG = "unknown_tag"  # not a checkpoint tag, or one of no configured checkpoint
    FORGED_TAG = "forged_tag"  # the signature does not match
    REVOKED_KEY = "revoked_key"  # signed with a key version no longer configured
    WRONG_SCHOOL = "wrong_school"  # a tag of another school
    WRONG_CHECKPOINT = "wrong_checkpoint"  # a reader read the tag of another checkpoint
    UNKNOWN_GUARD = "unknown_guard"  # not a guard of the school
    DUPLICATE = "duplicate"  # the same guard at the same checkpoint moments before


REASON_TEXT: dict[ScanReason, str] = {
    ScanReason.UNKNOWN_TAG: "无法识别的巡查码",
    ScanReason.FORGED_TAG: "伪造的巡查码",
    ScanReason.REVOKED_KEY: "巡查码已作废（密钥已轮换），请重新张贴",
    ScanReason.WRONG_SCHOOL: "不是本校的巡查码",
    ScanReason.WRONG_CHECKPOINT: "巡查码与巡查点不符",
    ScanReason.UNKNOWN_GUARD: "不是本校登记的保安",
    ScanReason.DUPLICATE: "重复扫码",
}
