"""One playground: the Bot API emulator with its people, and the running bot's sandbox.

The page acts through this object exactly as a Telegram client would: it sends messages, taps
buttons and pays invoices through the emulator, which hands them to the real bot as updates.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

from bot.services import Services
from emulators.telegram import BotApiEmulator, FakeUser, PaymentDeclined
from emulators.telegram._state import JSON
from playground.cast import CAST, Person
from playground.views import chat_view, sandbox_view, stars_balance

__all__ = ["ActionError", "Playground"]

log = logging.getLogger(__name__)

PLAYGROUND_TOKEN = "7000000001:PLAYGROUND-not-a-real-token"
_TEXT_LIMIT = 4096
_HEARTBEAT_SECONDS = 1.0
_USE_DATA_BYTES = 512 * 2**20
_FAULT_SECONDS = 30.0
_LOW_BALANCE_CENTS = 1_500


class ActionError(Exception):
    """Something the page asked for that cannot be done; the message is shown to the person."""


class Playground:
    def __init__(self, emulator: BotApiEmulator) -> None:
        self.emulator = emulator
        self.people = {person.id: person for person in CAST}
        self.services: Services | None = None
        self.closing = asyncio.Event()
        for person in CAST:
            emulator.user(person.id, person.name, person.language)

    def close(self) -> None:
        self.closing.set()
        self.emulator.world.chats_changed.notify()  # wakes every live stream to end

    # -- chats -------------------------------------------------------------------------------

    def person(self, user_id: Any) -> Person:
        try:
            return self.people[int(user_id)]
        except (TypeError, ValueError, KeyError):
            raise ActionError("unknown person") from None

    def chat(self, person: Person) -> JSON:
        world = self.emulator.world
        view = chat_view(world, world.chats[person.id])
        # How many messages each chat holds, so the page can mark the others' unread ones.
        view["counts"] = {str(p): len(world.chats[p].messages) for p in self.people}
        return view

    async def chat_updates(self, person: Person) -> AsyncIterator[JSON]:
        """The chat now, then again after every change, until the playground closes."""
        signal = self.emulator.world.chats_changed
        last: JSON | None = None
        while not self.closing.is_set():
            current = self.chat(person)
            if current != last:
                last = current
                yield current
            # Woken by every bot send or edit; the heartbeat catches the rest (refund notices).
            await signal.wait_for(lambda: None, _HEARTBEAT_SECONDS)

    def _user(self, person: Person) -> FakeUser:
        return self.emulator.user(person.id)

    async def send(self, person: Person, text: str) -> None:
        text = text.strip()
        if not text or len(text) > _TEXT_LIMIT:
            raise ActionError("Type a message first (at most 4096 characters).")
        await self._user(person).send_text(text)
        self.emulator.world.chats_changed.notify()

    async def tap(self, person: Person, message_id: int, data: str) -> str | None:
        """Press a button; returns the toast the bot answered with, if any."""
        chat = self.emulator.world.chats[person.id]
        message = chat.messages.get(message_id)
        if message is None:
            raise ActionError("That message is gone.")
        try:
            answer = await self._user(person).tap_data(data, message)
        except TimeoutError:
            return None
        return str(answer.get("text") or "") or None

    async def pay(self, person: Person, message_id: int) -> None:
        """Pay an invoice with simulated Stars: the real pre-checkout and successful_payment."""
        chat = self.emulator.world.chats[person.id]
        invoice = next((i for i in chat.invoices if i.message_id == message_id), None)
        if invoice is None:
            raise ActionError("That invoice is gone.")
        world = self.emulator.world
        if any(p.payload == invoice.payload and p.user_id == person.id for p in world.payments):
            raise ActionError("This invoice is already paid.")
        if invoice.total_amount > stars_balance(world, person.id):
            raise ActionError("Not enough Stars.")
        try:
            await self._user(person).pay_invoice(message_id)
        except PaymentDeclined as declined:
            raise ActionError(declined.error_message) from None
        except TimeoutError:
            raise ActionError("The bot did not answer the payment in time.") from None
        world.chats_changed.notify()

    def file(self, file_id: str) -> tuple[bytes, str] | None:
        stored = self.emulator.world.files.get(file_id)
        if stored is None or stored.data is None:
            return None
        return stored.data, stored.mime_type or "image/png"

    # -- the sandbox reseller ----------------------------------------------------------------

    @property
    def sandbox(self) -> Any:
        if self.services is None or self.services.sandbox is None:
            raise ActionError("The bot is still starting.")
        return self.services.sandbox

    def sandbox_state(self) -> JSON:
        return sandbox_view(self.sandbox)

    def sandbox_action(self, action: str, iccid: str | None = None) -> None:
        sandbox = self.sandbox
        simple = {
            "fail_order": lambda: sandbox.fail_orders(1, "No stock"),
            "drop_webhook": lambda: sandbox.drop_webhooks(1),
            "duplicate_webhook": lambda: sandbox.duplicate_webhooks(1),
            "error_500": lambda: sandbox.fail_for(_FAULT_SECONDS, 500),
            "rate_limit": lambda: sandbox.rate_limit_for(_FAULT_SECONDS),
            "low_balance": lambda: sandbox.set_balance(_LOW_BALANCE_CENTS),
            "empty_wallet": lambda: sandbox.set_balance(0),
            "advance_day": lambda: sandbox.advance(86_400),
            "clear": sandbox.clear_faults,
        }
        if action in simple:
            simple[action]()
        elif action in ("install", "use_data"):
            if not iccid or iccid not in sandbox.esims:
                raise ActionError("No such eSIM.")
            try:
                if action == "install":
                    sandbox.install(iccid)
                else:
                    sandbox.consume(iccid, _USE_DATA_BYTES)
            except ValueError as error:  # e.g. installing twice
                raise ActionError(str(error)) from None
        else:
            raise ActionError(f"unknown action {action!r}")
        log.info("playground: sandbox %s %s", action, iccid or "")
