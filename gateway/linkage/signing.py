"""Webhook signatures (spec 4.1): sha256=HMAC-SHA256(secret, timestamp + "." + raw body)."""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_PREFIX = "sha256="


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return SIGNATURE_PREFIX + digest.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """Constant-time check of an `X-Campus-Signature` header value."""
    return hmac.compare_digest(sign(secret, timestamp, body), signature)
