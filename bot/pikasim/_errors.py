"""One exception hierarchy for everything the reseller API (or the way to it) can do wrong.

Every class carries a short, stable ``kind`` string so that handlers can map an error to a
translated sentence without importing the classes::

    except PikaSimError as exc:
        text = translate(f"reseller_error.{exc.kind}")
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

__all__ = [
    "BadRequest",
    "CurrentStatus",
    "Forbidden",
    "InsufficientBalance",
    "MalformedResponse",
    "NotCancellable",
    "NotFound",
    "PackageRetired",
    "PikaSimError",
    "RateLimited",
    "ServerError",
    "Unauthorized",
    "Unavailable",
    "error_for_status",
]


class CurrentStatus:
    """The eSIM's state as reported with a refused cancellation (``currentStatus``)."""

    __slots__ = ("esim_status", "smdp_status")

    def __init__(self, esim_status: str | None = None, smdp_status: str | None = None) -> None:
        self.esim_status = esim_status
        self.smdp_status = smdp_status

    @classmethod
    def from_payload(cls, value: object) -> CurrentStatus | None:
        if not isinstance(value, Mapping):
            return None
        esim = value.get("esimStatus", value.get("status"))
        smdp = value.get("smdpStatus")
        return cls(
            esim_status=str(esim) if esim is not None else None,
            smdp_status=str(smdp) if smdp is not None else None,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CurrentStatus):
            return NotImplemented
        return (self.esim_status, self.smdp_status) == (other.esim_status, other.smdp_status)

    def __hash__(self) -> int:
        return hash((self.esim_status, self.smdp_status))

    def __repr__(self) -> str:
        return f"CurrentStatus(esim_status={self.esim_status!r}, smdp_status={self.smdp_status!r})"


class PikaSimError(Exception):
    """Base class. ``status`` is the HTTP status (None when no answer arrived).

    ``error`` and ``message`` are the API's own ``error`` / ``message`` texts when it sent them
    (``message`` falls back to a description of our own), ``code`` its machine code (such as
    ``PLAN_NON_REFUNDABLE``), ``current_status`` the eSIM state sent with a refused cancellation,
    ``retry_after`` the seconds the API asked us to wait, if any.
    """

    kind: ClassVar[str] = "error"

    def __init__(
        self,
        message: str | None = None,
        *,
        status: int | None = None,
        error: str | None = None,
        code: str | None = None,
        current_status: CurrentStatus | None = None,
        retry_after: float | None = None,
        replacement: str | None = None,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        self.status = status
        self.error = error
        self.message = message or error or self._default_message()
        self.code = code
        self.current_status = current_status
        self.retry_after = retry_after
        self.replacement = replacement
        self.method = method
        self.path = path
        super().__init__(self.message)

    def _default_message(self) -> str:
        return self.kind.replace("_", " ")

    def __str__(self) -> str:
        parts = ["PikaSim"]
        if self.status is not None:
            parts.append(str(self.status))
        parts.append(f"{self.kind}:")
        text = self.message
        if self.error and self.error != self.message:
            text = f"{self.error} - {self.message}"
        parts.append(text)
        if self.code:
            parts.append(f"[{self.code}]")
        if self.method and self.path:
            parts.append(f"({self.method} {self.path})")
        return " ".join(parts)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self!s})"


class BadRequest(PikaSimError):
    """HTTP 400 (and other 4xx without a class of their own): invalid parameters."""

    kind = "bad_request"


class Unauthorized(PikaSimError):
    """HTTP 401: invalid or missing API key."""

    kind = "unauthorized"


class InsufficientBalance(PikaSimError):
    """HTTP 402: the wallet cannot pay for this order or top-up."""

    kind = "insufficient_balance"


class Forbidden(PikaSimError):
    """HTTP 403: account suspended or IP not whitelisted."""

    kind = "forbidden"


class NotFound(PikaSimError):
    """HTTP 404: no such package, order or eSIM."""

    kind = "not_found"


class RateLimited(PikaSimError):
    """HTTP 429 on a request that may not be retried (``retry_after`` says when to try)."""

    kind = "rate_limited"


class ServerError(PikaSimError):
    """HTTP 5xx on a request that may not be retried: its outcome is unknown."""

    kind = "server_error"


class Unavailable(PikaSimError):
    """No usable answer: network error, timeout, or retries exhausted (5xx / 429 each time).

    ``status`` is the last HTTP status seen, if any; ``__cause__`` is the last underlying error.
    """

    kind = "unavailable"


class MalformedResponse(PikaSimError):
    """The answer was not what the API documents: not JSON, no ``data``, wrong types,
    ``success: false`` on a 2xx, an unexpected redirect, or a nonsensical webhook payload."""

    kind = "malformed_response"


class NotCancellable(PikaSimError):
    """Cancellation refused: the eSIM was installed or used (see ``current_status``), or the
    plan is non-refundable (``code == "PLAN_NON_REFUNDABLE"``)."""

    kind = "not_cancellable"


class PackageRetired(BadRequest):
    """The package is no longer sold (``code == "PACKAGE_RETIRED"``, whatever the status: 400
    on an order, 404 on a package lookup); ``replacement`` names the package code that replaces
    it, when the API sent one. A :class:`BadRequest`, so "the request can never succeed"
    handling applies to it too."""

    kind = "package_retired"


_BY_STATUS: dict[int, type[PikaSimError]] = {
    400: BadRequest,
    401: Unauthorized,
    402: InsufficientBalance,
    403: Forbidden,
    404: NotFound,
    429: RateLimited,
}


def error_for_status(status: int) -> type[PikaSimError]:
    """The class for an HTTP error status."""
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if status >= 500:
        return ServerError
    if status in (409, 410, 422):
        return BadRequest
    return PikaSimError


def error_details(body: Any) -> dict[str, Any]:
    """Pull ``error``, ``message``, ``code``, ``current_status`` and ``replacement`` from an
    error body (anything JSON-ish; missing or odd values become None)."""
    details: dict[str, Any] = {
        "error": None,
        "message": None,
        "code": None,
        "current_status": None,
        "replacement": None,
    }
    if not isinstance(body, Mapping):
        return details
    error = body.get("error")
    if isinstance(error, Mapping):  # {"error": {"message": ..., "code": ...}} variant
        nested = error
        error = nested.get("error") or nested.get("message")
        details["code"] = _text(nested.get("code"))
    details["error"] = _text(error)
    details["message"] = _text(body.get("message"))
    details["code"] = _text(body.get("code")) or details["code"]
    details["current_status"] = CurrentStatus.from_payload(body.get("currentStatus"))
    replacement = body.get("replacement")
    if isinstance(replacement, Mapping):
        replacement = replacement.get("packageCode") or replacement.get("code")
    details["replacement"] = _text(replacement)
    return details


def _text(value: object) -> str | None:
    if value is None or isinstance(value, (Mapping, list)):
        return None
    text = str(value).strip()
    return text or None
