"""A simulated Telegram user: acts in a chat with the bot (commands, taps, payments) and sees
what the bot sent there."""

from __future__ import annotations

import copy
import secrets
from collections.abc import Callable
from typing import TYPE_CHECKING

from emulators.telegram._messages import command_entities
from emulators.telegram._state import (
    JSON,
    CallbackQueryState,
    ChatState,
    Invoice,
    PreCheckoutState,
)

if TYPE_CHECKING:
    from emulators.telegram.fake_telegram import FakeTelegram

__all__ = ["Button", "FakeUser", "PaymentDeclined"]

Button = tuple[str, str | None, str | None]


class PaymentDeclined(Exception):
    """The bot answered the pre-checkout query with ok=False; the message is its error_message."""

    def __init__(self, error_message: str) -> None:
        super().__init__(error_message)
        self.error_message = error_message


class FakeUser:
    """A Telegram user in a private chat with the bot (or in a group: ``FakeTelegram.group``);
    acts and sees what the bot sent."""

    def __init__(self, telegram: FakeTelegram, chat: ChatState) -> None:
        self._telegram = telegram
        self._world = telegram.world
        self._chat = chat

    # -- identity ----------------------------------------------------------------------------

    @property
    def id(self) -> int:
        return int(self._chat.user["id"])

    @property
    def chat_id(self) -> int:
        return self._chat.chat_id

    @property
    def profile(self) -> JSON:
        """The User object Telegram sends as ``from``."""
        return dict(self._chat.user)

    @property
    def blocked(self) -> bool:
        """A blocked bot gets 403 "Forbidden: bot was blocked by the user" when sending."""
        return self._chat.blocked

    @blocked.setter
    def blocked(self, value: bool) -> None:
        self._chat.blocked = value

    # -- what the user sees ------------------------------------------------------------------

    @property
    def messages(self) -> list[JSON]:
        """Messages the bot sent here, in their current state (edits applied, deletions gone)."""
        return self._chat.bot_messages

    @property
    def reply_keyboard(self) -> JSON | None:
        """The ReplyKeyboardMarkup currently shown, if the bot set one."""
        return self._chat.reply_keyboard

    @property
    def last_chat_action(self) -> str | None:
        return self._chat.last_action

    def last_message(self) -> JSON | None:
        return self._chat.bot_messages[-1] if self._chat.bot_messages else None

    def last_photo_bytes(self) -> bytes:
        for message in reversed(self._chat.bot_messages):
            if "photo" in message:
                stored = self._world.files[message["photo"][-1]["file_id"]]
                if stored.data is None:
                    raise LookupError("the last photo was sent by URL; the fake has no bytes")
                return stored.data
        raise LookupError(f"the bot sent no photo to chat {self.chat_id}")

    def buttons(self, message: JSON | None = None) -> list[Button]:
        """(text, callback_data, url) of every inline button, row by row."""
        target = self._current(message) if message else self._latest_with_keyboard()
        if target is None:
            return []
        rows = target.get("reply_markup", {}).get("inline_keyboard", [])
        return [(b["text"], b.get("callback_data"), b.get("url")) for row in rows for b in row]

    async def wait_for_message(
        self, predicate: Callable[[JSON], bool] | None = None, timeout: float = 5.0
    ) -> JSON:
        """The next bot message or edit here that the test has not consumed yet.

        Each send or edit is returned once, as a snapshot. Acting as the user (send_text, tap,
        ...) marks everything before as read, so the next wait sees only the bot's reaction.
        """
        chat = self._chat

        def find() -> JSON | None:
            while chat.read_cursor < len(chat.events):
                event = chat.events[chat.read_cursor]
                chat.read_cursor += 1
                if predicate is None or predicate(event):
                    return event
            return None

        found = await self._world.chats_changed.wait_for(find, timeout)
        if found is None:
            recent = [m.get("text") or m.get("caption") or list(m)[-1] for m in chat.events[-5:]]
            raise TimeoutError(f"no matching bot message within {timeout}s; last ones: {recent}")
        return found

    # -- acting ------------------------------------------------------------------------------

    async def send_text(self, text: str) -> JSON:
        """Send a text message (commands in it get bot_command entities, as in Telegram)."""
        content: JSON = {"text": text}
        entities = command_entities(text)
        if entities:
            content["entities"] = entities
        return self._push_message(content)

    async def send_command(self, command: str) -> JSON:
        """Send "/start" or "/refund ABC reason"; the leading slash is added if missing."""
        return await self.send_text(command if command.startswith("/") else f"/{command}")

    async def tap(self, label: str, message: JSON | None = None, timeout: float = 5.0) -> JSON:
        """Press the inline button whose text contains ``label`` (an exact match wins) and
        return the parameters of the bot's answerCallbackQuery.
        """
        target = self._current(message) if message else self._latest_with_keyboard()
        if target is None:
            raise LookupError(f"no bot message with an inline keyboard in chat {self.chat_id}")
        buttons = self.buttons(target)
        matches = [b for b in buttons if b[0] == label] or [b for b in buttons if label in b[0]]
        if not matches:
            raise LookupError(f"no button containing {label!r}; buttons: {[b[0] for b in buttons]}")
        text, data, url = matches[0]
        if data is None:
            raise ValueError(f"button {text!r} has no callback_data (url={url!r})")
        return await self._press(data, target, timeout)

    async def tap_data(
        self, callback_data: str, message: JSON | None = None, timeout: float = 5.0
    ) -> JSON:
        """Press a button with arbitrary (forged or stale) data on ``message``."""
        target = self._current(message) if message else self.last_message()
        if target is None:
            raise LookupError(f"the bot sent nothing to chat {self.chat_id}")
        return await self._press(callback_data, target, timeout)

    async def pay_last_invoice(self, timeout: float = 10.0) -> str:
        """Pay the newest invoice: pre-checkout, then successful_payment. Returns the charge id.

        Raises PaymentDeclined when the bot answers the pre-checkout query with ok=False.
        """
        return await self.pay_invoice(None, timeout)

    async def pay_invoice(self, message_id: int | None, timeout: float = 10.0) -> str:
        """Pay the invoice in message ``message_id`` (None: the newest), as pay_last_invoice."""
        invoice = await self._pre_checkout(timeout, message_id)
        stars = invoice.currency == "XTR"
        if stars:
            charge_id = self._world.new_star_payment(
                self.id, invoice.total_amount, invoice.payload, delivered=True
            )
        else:  # a card payment: not part of the Stars ledger
            charge_id = f"tgTEST{secrets.token_hex(12)}"
        self._push_message(
            {
                "successful_payment": {
                    "currency": invoice.currency,
                    "total_amount": invoice.total_amount,
                    "invoice_payload": invoice.payload,
                    "telegram_payment_charge_id": charge_id,
                    "provider_payment_charge_id": "" if stars else f"prov_{charge_id}",
                }
            }
        )
        return charge_id

    async def pay_without_update(self, timeout: float = 10.0, *, pre_checkout: bool = True) -> str:
        """Pay the newest invoice but lose the successful_payment update: Telegram has the
        money, the bot never hears of it. Reconciliation must find it via getStarTransactions.
        """
        if pre_checkout:
            invoice = await self._pre_checkout(timeout)
        else:
            invoice = self._last_invoice()
        return self._world.new_star_payment(
            self.id, invoice.total_amount, invoice.payload, delivered=False
        )

    # -- internals ---------------------------------------------------------------------------

    def _current(self, message: JSON) -> JSON:
        current = self._chat.messages.get(message.get("message_id", -1))
        return current if current is not None else message

    def _latest_with_keyboard(self) -> JSON | None:
        for message in reversed(self._chat.bot_messages):
            if message.get("reply_markup", {}).get("inline_keyboard"):
                return message
        return None

    def _last_invoice(self, message_id: int | None = None) -> Invoice:
        if not self._chat.invoices:
            raise LookupError(f"the bot sent no invoice to chat {self.chat_id}")
        if message_id is None:
            return self._chat.invoices[-1]
        for invoice in self._chat.invoices:
            if invoice.message_id == message_id:
                return invoice
        raise LookupError(f"message {message_id} in chat {self.chat_id} is no invoice")

    def _push_message(self, content: JSON) -> JSON:
        message: JSON = {
            "message_id": self._chat.next_message_id(),
            "from": dict(self._chat.user),
            "chat": dict(self._chat.chat),
            "date": self._world.now(),
            **content,
        }
        self._chat.messages[message["message_id"]] = message
        self._chat.mark_read()
        self._world.updates.push("message", message)
        return copy.deepcopy(message)

    async def _press(self, data: str, message: JSON, timeout: float) -> JSON:
        query_id = self._world.new_id()
        self._world.callback_queries[query_id] = CallbackQueryState(self.chat_id, data)
        self._chat.mark_read()
        self._world.updates.push(
            "callback_query",
            {
                "id": query_id,
                "from": dict(self._chat.user),
                "message": copy.deepcopy(message),
                "chat_instance": f"{self.chat_id * 7919}",
                "data": data,
            },
        )
        call = await self._telegram.wait_for_call(
            "answerCallbackQuery",
            lambda c: c.ok is True and c.params.get("callback_query_id") == query_id,
            timeout,
        )
        return call.params

    async def _pre_checkout(self, timeout: float, message_id: int | None = None) -> Invoice:
        invoice = self._last_invoice(message_id)
        query_id = self._world.new_id()
        self._world.pre_checkouts[query_id] = PreCheckoutState(invoice, self.id)
        self._chat.mark_read()
        self._world.updates.push(
            "pre_checkout_query",
            {
                "id": query_id,
                "from": dict(self._chat.user),
                "currency": invoice.currency,
                "total_amount": invoice.total_amount,
                "invoice_payload": invoice.payload,
            },
        )
        call = await self._telegram.wait_for_call(
            "answerPreCheckoutQuery",
            lambda c: c.ok is True and c.params.get("pre_checkout_query_id") == query_id,
            timeout,
        )
        if call.params.get("ok") is not True:
            raise PaymentDeclined(str(call.params.get("error_message") or ""))
        return invoice
