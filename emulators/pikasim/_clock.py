"""A wall clock that tests can move forward; sleepers wake up when it jumps."""

from __future__ import annotations

import asyncio
import contextlib
import time

__all__ = ["Clock"]


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class Clock:
    def __init__(self) -> None:
        self._offset = 0.0
        self._sleepers: set[asyncio.Future[None]] = set()

    def now(self) -> float:
        return time.time() + self._offset

    @property
    def offset(self) -> float:
        return self._offset

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self._offset += seconds
        for future in list(self._sleepers):
            with contextlib.suppress(RuntimeError):  # its loop is already closed
                future.get_loop().call_soon_threadsafe(_wake, future)

    async def sleep_until(self, deadline: float) -> None:
        """Sleep until the (simulated) time reaches ``deadline``."""
        while (remaining := deadline - self.now()) > 0:
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._sleepers.add(future)
            try:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(future, remaining)
            finally:
                self._sleepers.discard(future)

    async def sleep(self, seconds: float) -> None:
        await self.sleep_until(self.now() + seconds)
