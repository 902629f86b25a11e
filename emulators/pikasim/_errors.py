"""The error envelope of the reseller API: ``{success: false, error, message?, code?, ...}``."""

from __future__ import annotations

from typing import Any

__all__ = ["ApiError", "error_body"]


def error_body(error: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"success": False, "error": error}
    body.update({key: value for key, value in extra.items() if value is not None})
    return body


class ApiError(Exception):
    """Raised by handlers and the sandbox core; rendered as the JSON error envelope."""

    def __init__(
        self,
        status: int,
        error: str,
        *,
        code: str | None = None,
        message: str | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.extra: dict[str, Any] = {"code": code, "message": message, **extra}

    def body(self) -> dict[str, Any]:
        return error_body(self.error, **self.extra)
