"""Telegram's flood limits, enforced by the fake when a test or the bench asks for it.

A call over a limit is answered 429 "Too Many Requests: retry after N", as Telegram does:
more than ``per_second`` calls carrying a chat_id in any rolling second; new messages to a
private chat beyond a burst of ``private_burst`` and then one a second; more than
``group_per_minute`` new messages to a group in any rolling minute. Judged on the fake's clock,
when each request arrives, with ``slack`` for the few milliseconds requests take to get here.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Any

__all__ = ["FloodControl"]


class FloodControl:
    def __init__(
        self,
        per_second: int = 30,
        private_burst: int = 4,
        group_per_minute: int = 20,
        *,
        slack: float = 0.02,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_second = per_second
        self.private_burst = private_burst
        self.group_per_minute = group_per_minute
        self.slack = slack
        self._clock = clock
        self._calls: deque[float] = deque()
        self._private: dict[int, tuple[float, float]] = {}  # chat -> (tokens, at)
        self._groups: dict[Any, deque[float]] = {}
        self.refused = 0
        self.refusals: list[tuple[str, Any, str]] = []  # (method, chat_id, which limit)

    def check(self, method: str, params: dict[str, Any]) -> int | None:
        """None when the call may go through (and it is counted); else seconds to wait."""
        chat = params.get("chat_id")
        if chat is None:
            return None
        now = self._clock()
        while self._calls and self._calls[0] <= now - (1.0 - self.slack):
            self._calls.popleft()
        if len(self._calls) >= self.per_second:
            return self._refuse(method, chat, "overall")
        if _is_new_message(method) and not self._chat_allows(_chat_key(chat), now):
            return self._refuse(method, chat, "chat")
        self._calls.append(now)
        return None

    def _chat_allows(self, chat: Any, now: float) -> bool:
        if isinstance(chat, int) and chat > 0:
            tokens, at = self._private.get(chat, (float(self.private_burst), now))
            tokens = min(float(self.private_burst), tokens + (now - at))
            if tokens < 1.0 - self.slack:
                return False
            self._private[chat] = (tokens - 1.0, now)
            return True
        sent = self._groups.setdefault(chat, deque())
        while sent and sent[0] <= now - (60.0 - self.slack):
            sent.popleft()
        if len(sent) >= self.group_per_minute:
            return False
        sent.append(now)
        return True

    def _refuse(self, method: str, chat: Any, limit: str) -> int:
        self.refused += 1
        self.refusals.append((method, chat, limit))
        return 1


def _is_new_message(method: str) -> bool:
    method = method.lower()
    return method.startswith(("send", "copymessage", "forwardmessage")) and (
        method != "sendchataction"
    )


def _chat_key(chat: Any) -> Any:
    try:
        return int(chat)
    except (TypeError, ValueError):
        return str(chat)
