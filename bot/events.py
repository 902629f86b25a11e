"""Our own update types, put on ``application.update_queue`` next to Telegram's updates."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ResellerEvent"]


@dataclass(frozen=True, slots=True)
class ResellerEvent:
    """A verified, stored reseller webhook waiting to be processed (by its row id)."""

    event_id: int
