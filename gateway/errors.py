"""The gateway's own errors. Third-party errors are translated at the boundary."""

from __future__ import annotations


class GatewayError(Exception):
    """Root of every error the gateway raises on purpose."""


class ConfigError(GatewayError):
    """The site configuration is invalid; `problems` holds one line per key."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


class PayloadRejected(GatewayError):
    """An inbound message was refused. `reason` is a short label used in metrics."""

    def __init__(self, reason: str, detail: str) -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}")


class UnsafeText(GatewayError):
    """Text that may not be stored (a lone surrogate, NUL, a control character); the
    message says which character and where."""


class DeviceUnavailable(GatewayError):
    """A device or broker could not be reached."""


class DeliveryFailed(GatewayError):
    """A police endpoint did not acknowledge an alarm."""

    def __init__(self, detail: str, *, status: int | None = None) -> None:
        self.detail = detail
        self.status = status
        super().__init__(detail)


class StorageError(GatewayError):
    """The database could not be reached or refused a write."""


class AuthError(GatewayError):
    """Credentials or a token were not accepted."""


class NotFound(GatewayError):
    """A requested record does not exist."""
