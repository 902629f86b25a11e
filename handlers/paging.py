"""The one pager every list uses (admin and customer alike), and the limit every text obeys.

A list shows one page of rows, fetched with one row more than a page to know whether an older
page exists, and ◀ / ▶ buttons that carry the page number in their callback. Whatever the
history, a page is bounded by its row count; ``fit`` is the last guard against Telegram's
"message is too long" should rows be unusually long (names, reasons).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from telegram import InlineKeyboardButton

from bot.i18n import t
from handlers.callbacks import CallbackData

__all__ = ["MAX_PAGE", "TEXT_LIMIT", "Page", "fit", "nav_row"]

TEXT_LIMIT = 4096  # Telegram's limit for a message text (after entities; raw is stricter)
MAX_PAGE = 999  # a page number's three digits in the callback patterns

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    number: int
    has_next: bool

    @classmethod
    def of(cls, rows: Sequence[T], number: int, size: int) -> Page[T]:
        """A page from ``size + 1`` fetched rows: the extra one only says "there is more"."""
        return cls(list(rows[:size]), number, len(rows) > size and number < MAX_PAGE)

    @staticmethod
    def offset(number: int, size: int) -> int:
        return (max(1, number) - 1) * size


def nav_row(
    language: str, page_data: Callable[[int], CallbackData], page: int, has_next: bool
) -> list[InlineKeyboardButton]:
    """◀ newer / older ▶ buttons; ``page_data(n)`` is the button of page ``n``."""
    row = []
    if page > 1:
        newer = page_data(page - 1).pack()
        row.append(InlineKeyboardButton(t(language, "paging.newer"), callback_data=newer))
    if has_next:
        older = page_data(page + 1).pack()
        row.append(InlineKeyboardButton(t(language, "paging.older"), callback_data=older))
    return row


def fit(text: str, more: str = "\n…", limit: int = TEXT_LIMIT) -> str:
    """``text`` cut at a line break so that it, and ``more`` after it, fit in one message.

    Cutting at a line keeps the HTML of every line whole (no line opens a tag it does not
    close)."""
    if len(text) <= limit:
        return text
    room = limit - len(more)
    cut = text.rfind("\n", 0, room)
    return text[: cut if cut > 0 else room] + more
