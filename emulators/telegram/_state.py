"""Everything the fake Telegram remembers: chats, updates, calls, files and the Stars ledger.

Kept free of HTTP so the Bot API handlers and the simulated users share one plain model.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

__all__ = [
    "CallbackQueryState",
    "ChatState",
    "Failure",
    "Invoice",
    "PreCheckoutState",
    "RecordedCall",
    "Signal",
    "StarPayment",
    "StarRefund",
    "StoredFile",
    "UpdateQueue",
    "World",
]

JSON = dict[str, Any]
T = TypeVar("T")

# Telegram leaves these out unless a bot asks for them explicitly in allowed_updates.
_OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})


class Signal:
    """Wakes every waiter when something changed; waiters re-check their own condition."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait_for(self, check: Callable[[], T | None], timeout: float) -> T | None:
        """Return the first non-None ``check()``, or None once ``timeout`` seconds passed."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            event = self._event  # taken before checking, so no notification slips between
            result = check()
            if result is not None:
                return result
            remaining = deadline - loop.time()
            if remaining <= 0:
                return None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)


@dataclass
class RecordedCall:
    """One Bot API request. ``ok`` stays None until the fake has answered it."""

    method: str
    params: JSON
    files: dict[str, bytes]
    at: float
    ok: bool | None = None
    result: Any = None
    error_code: int | None = None
    description: str | None = None


@dataclass
class Failure:
    """An injected fault; ``error_code`` None means "only slow down by ``delay``"."""

    error_code: int | None
    description: str
    retry_after: int | None = None
    delay: float = 0.0


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    data: bytes | None  # None for files "downloaded" from a URL, which the fake cannot fetch
    file_path: str
    file_name: str | None = None
    mime_type: str | None = None
    width: int | None = None
    height: int | None = None

    @property
    def size(self) -> int | None:
        return None if self.data is None else len(self.data)


@dataclass
class Invoice:
    chat_id: int
    message_id: int
    title: str
    description: str
    payload: str
    currency: str
    prices: list[JSON]
    start_parameter: str

    @property
    def total_amount(self) -> int:
        return sum(int(price["amount"]) for price in self.prices)


@dataclass
class StarPayment:
    """A payment a user made; ``delivered`` says whether the bot got the successful_payment."""

    charge_id: str
    user_id: int
    amount: int
    payload: str
    date: int
    delivered: bool
    refunded: bool = False


@dataclass
class StarRefund:
    charge_id: str
    user_id: int
    amount: int
    payload: str
    date: int


@dataclass
class CallbackQueryState:
    chat_id: int
    data: str | None
    answer: JSON | None = None


@dataclass
class PreCheckoutState:
    invoice: Invoice
    user_id: int
    answer: JSON | None = None


@dataclass
class ChatState:
    """A private chat: every message both sides sent, plus what the user is looking at."""

    user: JSON
    chat: JSON
    messages: dict[int, JSON] = field(default_factory=dict)
    bot_messages: list[JSON] = field(default_factory=list)
    events: list[JSON] = field(default_factory=list)  # snapshots of bot sends and edits
    read_cursor: int = 0
    reply_keyboard: JSON | None = None
    last_action: str | None = None
    invoices: list[Invoice] = field(default_factory=list)
    blocked: bool = False
    _next_message_id: int = 1

    @property
    def chat_id(self) -> int:
        return int(self.chat["id"])

    def next_message_id(self) -> int:
        message_id = self._next_message_id
        self._next_message_id += 1
        return message_id

    def add_bot_message(self, message: JSON) -> None:
        self.messages[message["message_id"]] = message
        self.bot_messages.append(message)
        self.events.append(copy.deepcopy(message))

    def record_edit(self, message: JSON) -> None:
        self.events.append(copy.deepcopy(message))

    def remove(self, message_id: int) -> None:
        message = self.messages.pop(message_id)
        self.bot_messages[:] = [m for m in self.bot_messages if m is not message]

    def mark_read(self) -> None:
        self.read_cursor = len(self.events)


class UpdateQueue:
    """Updates waiting for getUpdates; they stay until an offset confirms them."""

    def __init__(self, first_update_id: int = 100_000_001) -> None:
        self._pending: list[JSON] = []
        self._next_id = first_update_id
        self.allowed: frozenset[str] | None = None  # None: Telegram's default set
        self.signal = Signal()

    def __len__(self) -> int:
        return len(self._pending)

    def push(self, kind: str, payload: JSON) -> JSON:
        update = {"update_id": self._next_id, kind: payload}
        self._next_id += 1
        self._pending.append(update)
        self.signal.notify()
        return update

    def confirm(self, offset: int) -> None:
        if offset < 0:  # "the last -offset updates", forgetting the rest, as Telegram does
            self._pending = self._pending[offset:]
        elif offset > 0:
            self._pending = [u for u in self._pending if u["update_id"] >= offset]

    def clear(self) -> None:
        self._pending.clear()

    def snapshot(self) -> list[JSON]:
        return list(self._pending)

    def peek(self, limit: int) -> list[JSON]:
        # Updates of a kind the bot did not subscribe to are dropped, never delivered later.
        self._pending = [u for u in self._pending if self._is_allowed(u)]
        return self._pending[:limit]

    def _is_allowed(self, update: JSON) -> bool:
        kind = next(key for key in update if key != "update_id")
        if self.allowed is None:
            return kind not in _OPT_IN_UPDATES
        return kind in self.allowed


class World:
    """The shared state of one fake Telegram instance (one bot, many private chats)."""

    def __init__(self, token: str, bot_username: str, bot_first_name: str) -> None:
        self.token = token
        bot_id = token.split(":", 1)[0]
        self.bot_user: JSON = {
            "id": int(bot_id) if bot_id.isdigit() else 1,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
        }
        self.chats: dict[int, ChatState] = {}
        self.updates = UpdateQueue()
        self.calls: list[RecordedCall] = []
        self.calls_changed = Signal()
        self.chats_changed = Signal()
        self.files: dict[str, StoredFile] = {}
        self.callback_queries: dict[str, CallbackQueryState] = {}
        self.pre_checkouts: dict[str, PreCheckoutState] = {}
        self.payments: list[StarPayment] = []
        self.refunds: list[StarRefund] = []
        self.ledger: list[StarPayment | StarRefund] = []  # chronological, as Telegram lists it
        self.failures: dict[str, list[Failure]] = {}
        self.settings: dict[str, Any] = {}
        self.webhook_url = ""
        self.closing = False
        self._counter = itertools.count(1)

    @staticmethod
    def now() -> int:
        return int(time.time())

    def new_id(self, prefix: str = "") -> str:
        return f"{prefix}{next(self._counter):06d}{secrets.token_hex(6)}"

    def record_call(self, call: RecordedCall) -> None:
        self.calls.append(call)
        self.calls_changed.notify()

    def payment(self, charge_id: str) -> StarPayment | None:
        return next((p for p in self.payments if p.charge_id == charge_id), None)

    def new_star_payment(self, user_id: int, amount: int, payload: str, *, delivered: bool) -> str:
        """Record a Stars payment and return its telegram_payment_charge_id."""
        charge_id = f"stxTEST{secrets.token_hex(12)}"
        payment = StarPayment(charge_id, user_id, amount, payload, self.now(), delivered)
        self.payments.append(payment)
        self.ledger.append(payment)
        return charge_id

    def add_refund(self, refund: StarRefund) -> None:
        self.refunds.append(refund)
        self.ledger.append(refund)

    def add_file(self, stored: StoredFile) -> StoredFile:
        self.files[stored.file_id] = stored
        return stored
