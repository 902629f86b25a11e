"""Injected failures (5xx, outages, 429 storms) and the per-key rolling-window rate limit."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from ._config import SandboxConfig

__all__ = ["Fault", "Faults", "RateDecision", "RateLimiter"]

API_PREFIX = "/api/v1/reseller"


@dataclass
class Fault:
    status: int
    after: bool = False  # run the handler (state changes happen), then answer with the error


@dataclass
class _FailRule:
    remaining: int
    status: int
    path_prefix: str | None
    after: bool

    def matches(self, path: str) -> bool:
        if self.path_prefix is None:
            return True
        relative = path.removeprefix(API_PREFIX) or "/"
        return path.startswith(self.path_prefix) or relative.startswith(self.path_prefix)


class Faults:
    def __init__(self) -> None:
        self.rules: list[_FailRule] = []
        self.outage_until = 0.0
        self.outage_status = 500
        self.storm_until = 0.0

    def fail_next(self, count: int, status: int, path_prefix: str | None, after: bool) -> None:
        if count > 0:
            self.rules.append(_FailRule(count, status, path_prefix, after))

    def fail_for(self, now: float, seconds: float, status: int) -> None:
        self.outage_until, self.outage_status = now + seconds, status

    def take(self, path: str, now: float) -> Fault | None:
        """The fault to inject into this request, consuming one ``fail_next`` charge."""
        for rule in self.rules:
            if rule.remaining > 0 and rule.matches(path):
                rule.remaining -= 1
                self.rules = [r for r in self.rules if r.remaining > 0]
                return Fault(rule.status, rule.after)
        if now < self.outage_until:
            return Fault(self.outage_status)
        return None

    def clear(self) -> None:
        self.rules.clear()
        self.outage_until = self.storm_until = 0.0


@dataclass
class RateDecision:
    allowed: bool
    limit: int
    remaining: int
    reset: int  # epoch seconds
    retry_after: int  # seconds; meaningful when not allowed

    def headers(self) -> dict[str, str]:
        headers = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset),
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.retry_after)
        return headers


class RateLimiter:
    """At most ``limit`` accepted requests per key in any rolling ``window`` seconds."""

    def __init__(self, config: SandboxConfig) -> None:
        self._config = config  # read on every request, so tests may change the limit
        self._hits: dict[str, deque[float]] = {}

    @property
    def limit(self) -> int:
        return self._config.rate_limit

    @property
    def window(self) -> float:
        return self._config.rate_window

    def hit(self, key: str, now: float, storm_until: float = 0.0) -> RateDecision:
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if now < storm_until:
            return self._refuse(now, storm_until)
        if len(hits) >= self.limit:
            return self._refuse(now, hits[0] + self.window)
        hits.append(now)
        reset = math.ceil(hits[0] + self.window)
        return RateDecision(True, self.limit, self.limit - len(hits), reset, 0)

    def _refuse(self, now: float, free_at: float) -> RateDecision:
        retry_after = max(1, math.ceil(free_at - now))
        return RateDecision(False, self.limit, 0, math.ceil(free_at), retry_after)
