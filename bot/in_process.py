"""Telling in-process ASGI calls from network ones.

The embedded sandbox delivers its webhooks to our listener through an in-process ASGI
transport. The wrapper below marks those calls in the ASGI scope; the network server builds
every scope itself from the socket, so no client can set the mark, whatever it sends.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["in_process", "is_in_process"]

_MARK = "esim_bot.in_process"


def in_process(app: ASGIApp) -> ASGIApp:
    """``app`` for in-process callers only: every call through it carries the mark."""

    async def marked(scope: Scope, receive: Receive, send: Send) -> None:
        await app({**scope, _MARK: True}, receive, send)

    return marked


def is_in_process(scope: Mapping[str, Any]) -> bool:
    return scope.get(_MARK) is True
