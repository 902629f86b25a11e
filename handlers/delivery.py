"""What the customer sees while the pipeline works: progress, the eSIM, refunds.

The pipeline calls these; each is safe to repeat (an edit that changes nothing is ignored),
because after a crash the pipeline may redo the step that sent it.
"""

from __future__ import annotations

import asyncio
import html
import logging
from urllib.parse import quote

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, TelegramError

from bot.i18n import t
from bot.qr import qr_png
from handlers.callbacks import build
from storage import Esim, Order

__all__ = [
    "ANDROID_SETUP_URL",
    "IOS_SETUP_URL",
    "Notifier",
    "esim_keyboard",
    "install_links",
    "price_text",
]

log = logging.getLogger(__name__)

IOS_SETUP_URL = "https://esimsetup.apple.com/esim_qrcode_provisioning?carddata="
ANDROID_SETUP_URL = "https://esimsetup.android.com/esim_qrcode_provisioning?carddata="


def price_text(language: str, stars: int) -> str:
    return t(language, "price.stars", stars=stars) if stars else t(language, "price.free")


def install_links(activation_code: str) -> tuple[str, str]:
    encoded = quote(activation_code, safe="")
    return IOS_SETUP_URL + encoded, ANDROID_SETUP_URL + encoded


def esim_keyboard(language: str, iccid: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    t(language, "delivery.button.usage"), callback_data=build("u", iccid)
                ),
                InlineKeyboardButton(
                    t(language, "delivery.button.topup"), callback_data=build("t", iccid)
                ),
            ],
            [
                InlineKeyboardButton(
                    t(language, "delivery.button.guide"), callback_data=build("i", iccid)
                )
            ],
        ]
    )


class Notifier:
    def __init__(self, bot: Bot) -> None:
        self._bot = bot
        # order id -> "payment received" message id, known before the database has it: the
        # pipeline may load the order for delivery while that message is still on its way
        # (it waits its turn on the wire), and must still turn it into "ready".
        self._progress_ids: dict[int, int] = {}

    def progress_sent(self, order_id: int, message_id: int) -> None:
        if len(self._progress_ids) > 1024:  # only ever needed for seconds
            self._progress_ids.clear()
        self._progress_ids[order_id] = message_id

    async def progress(self, order: Order, stage: str) -> int | None:
        """Show ``stage`` in the order's progress message (edited in place); returns its id."""
        language = order.language or "en"
        text = t(
            language,
            f"progress.{stage}",
            reference=order.reference,
            price=price_text(language, order.price_stars),
        )
        message_id = order.progress_message_id
        if message_id is not None and await self._edit(order.chat_id, message_id, text):
            return message_id
        message = await self._send(order.chat_id, text)
        return None if message is None else message.message_id

    async def deliver(self, order: Order, esim: Esim) -> None:
        """Send the eSIM: a locally made QR photo, manual-entry details and install links."""
        language = order.language or "en"
        ios_link, android_link = install_links(esim.activation_code)
        caption = t(
            language,
            "delivery.caption",
            plan=html.escape(order.package_name),
            iccid=esim.iccid,
            smdp=html.escape(esim.smdp_address),
            matching_id=html.escape(esim.matching_id),
            ios_link=html.escape(ios_link),
            android_link=html.escape(android_link),
            reference=order.reference,
        )
        # Rendering takes a few ms of CPU: keep it off the event loop.
        png = await asyncio.to_thread(qr_png, esim.activation_code)
        try:
            await self._bot.send_photo(
                order.chat_id,
                photo=png,
                filename="esim-qr.png",
                caption=caption,
                parse_mode=ParseMode.HTML,
                reply_markup=esim_keyboard(language, esim.iccid),
            )
        except (Forbidden, BadRequest) as error:
            # Blocked the bot, or the chat is gone: the eSIM waits in "My eSIMs" for them.
            log.warning(
                "eSIM of order %s not sent to chat %s: %s", order.reference, order.chat_id, error
            )
            return
        progress_id = self._progress_ids.pop(order.id, None) or order.progress_message_id
        if progress_id is not None:
            await self._edit(
                order.chat_id,
                progress_id,
                t(language, "progress.delivered", reference=order.reference),
            )

    async def topup_done(self, order: Order) -> None:
        language = order.language or "en"
        text = t(
            language,
            "topup.done",
            plan=html.escape(order.package_name),
            iccid=order.target_iccid or "",
            reference=order.reference,
        )
        await self._send(order.chat_id, text)

    async def refunded(self, order: Order, reason: str) -> None:
        language = order.language or "en"
        reason_text = t(language, f"refund.reason.{reason}")
        key = "refund.done" if order.price_stars else "refund.nothing_to_refund"
        if reason == "admin":
            key = "refund.done_admin"
        text = t(
            language,
            key,
            reason=reason_text,
            price=price_text(language, order.price_stars),
            reference=order.reference,
        )
        message_id = order.progress_message_id
        edit_in_place = message_id is not None and reason != "admin"
        if edit_in_place and await self._edit(order.chat_id, message_id or 0, text):
            return
        await self._send(order.chat_id, text)

    async def needs_attention(self, order: Order) -> None:
        text = t(order.language or "en", "attention.customer", reference=order.reference)
        await self._send(order.chat_id, text)

    async def _send(self, chat_id: int, text: str) -> Message | None:
        try:
            return await self._bot.send_message(chat_id, text, parse_mode=ParseMode.HTML)
        except (Forbidden, BadRequest) as error:
            log.info("message to chat %s not delivered: %s", chat_id, error)
            return None

    async def _edit(self, chat_id: int, message_id: int, text: str) -> bool:
        try:
            await self._bot.edit_message_text(
                text, chat_id=chat_id, message_id=message_id, parse_mode=ParseMode.HTML
            )
        except BadRequest as error:
            if "not modified" in str(error).lower():
                return True
            log.info("could not edit message %s in chat %s: %s", message_id, chat_id, error)
            return False
        except TelegramError as error:
            log.info("could not edit message %s in chat %s: %s", message_id, chat_id, error)
            return False
        return True
