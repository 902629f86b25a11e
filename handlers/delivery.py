"""What the customer sees while an order moves: progress, the eSIM, refunds.

``Notifier`` is the chat side of ``bot.orders.Delivery``; each method is safe to repeat (an edit
that changes nothing is ignored), because after a crash the order code may redo a step.
"""

from __future__ import annotations

import asyncio
import html
import io
import logging
import re
from urllib.parse import quote

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, TelegramError

from bot.esim_data import valid_iccid
from bot.i18n import t
from bot.qr import QrError, qr_png
from bot.reach import Reach
from handlers.callbacks import EsimUsage, InstallGuide, TopupOptions
from handlers.units import price_text
from storage import Esim, Order

__all__ = [
    "ANDROID_SETUP_URL",
    "IOS_SETUP_URL",
    "Notifier",
    "esim_keyboard",
    "install_links",
]

log = logging.getLogger(__name__)

IOS_SETUP_URL = "https://esimsetup.apple.com/esim_qrcode_provisioning?carddata="
ANDROID_SETUP_URL = "https://esimsetup.android.com/esim_qrcode_provisioning?carddata="
CAPTION_LIMIT = 1024  # Telegram's limit for a photo caption, in characters
_PLAIN_FIELD = 200  # each reseller value in the plain fallback caption, at most
_TAG = re.compile(r"<[^<>]*>")
_LONG_RUN = re.compile(rf"[^\n]{{{_PLAIN_FIELD + 1},}}")  # any line longer than a field


def install_links(activation_code: str) -> tuple[str, str]:
    encoded = quote(activation_code, safe="")
    return IOS_SETUP_URL + encoded, ANDROID_SETUP_URL + encoded


def esim_keyboard(language: str, iccid: str) -> InlineKeyboardMarkup:
    if not valid_iccid(iccid):  # a reseller's bad ICCID cannot go on a button
        return InlineKeyboardMarkup([])
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    t(language, "delivery.button.usage"), callback_data=EsimUsage(iccid).pack()
                ),
                InlineKeyboardButton(
                    t(language, "delivery.button.topup"), callback_data=TopupOptions(iccid).pack()
                ),
            ],
            [
                InlineKeyboardButton(
                    t(language, "delivery.button.guide"), callback_data=InstallGuide(iccid).pack()
                )
            ],
        ]
    )


class Notifier:
    def __init__(self, bot: Bot, reach: Reach | None = None) -> None:
        self._bot = bot
        # order id -> "payment received" message id, known before the database has it: the
        # pipeline may load the order for delivery while that message is still on its way
        # (it waits its turn on the wire), and must still turn it into "ready".
        self._progress_ids: dict[int, int] = {}
        self._reach = reach  # users who blocked the bot get nothing more

    def progress_sent(self, order_id: int, message_id: int) -> None:
        if len(self._progress_ids) > 1024:  # only ever needed for seconds
            self._progress_ids.clear()
        self._progress_ids[order_id] = message_id

    def _blocked(self, chat_id: int) -> bool:
        return self._reach is not None and self._reach.blocked(chat_id)

    async def _forbidden(self, chat_id: int) -> None:
        if self._reach is not None:
            await self._reach.forbidden(chat_id)

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
        """Send the eSIM: a locally made QR photo, manual-entry details and install links.

        Every value but our reference comes from the reseller and is escaped. If Telegram
        refuses the caption (too long, an entity it cannot parse), the photo goes again with a
        short plain caption; only ``Forbidden`` means the customer blocked the bot.
        """
        language = order.language or "en"
        caption = _caption(language, order, esim)
        markup = esim_keyboard(language, esim.iccid) if valid_iccid(esim.iccid) else None
        try:
            # Rendering takes a few ms of CPU: keep it off the event loop.
            png = await asyncio.to_thread(qr_png, esim.activation_code)
        except QrError as error:
            log.error("no QR code for order %s: %s", order.reference, error)
            text = f"{caption}\n\n{t(language, 'delivery.caption_failed')}"
            sent = await self._send(order.user_id, text, markup) is not None
        else:
            sent = await self._send_photo(order, png, caption, markup)
        progress_id = self._progress_ids.pop(order.id, None) or order.progress_message_id
        if sent and progress_id is not None:
            await self._edit(
                order.chat_id,
                progress_id,
                t(language, "progress.delivered", reference=order.reference),
            )

    async def _send_photo(
        self, order: Order, png: io.BytesIO, caption: str, markup: InlineKeyboardMarkup | None
    ) -> bool:
        """The QR photo with the HTML caption, else with a plain one; True once sent."""
        if self._blocked(order.user_id):
            log.info("order %s: the customer blocked the bot; the eSIM waits in My eSIMs",
                     order.reference)  # fmt: skip
            return False
        attempts: list[tuple[str, str | None]] = [(caption, ParseMode.HTML)]
        attempts.append((_plain_caption(order, caption), None))
        for text, parse_mode in attempts:
            png.seek(0)
            try:
                await self._bot.send_photo(
                    # Always the buyer's private chat (the same as the order's chat for every
                    # order placed since Buy refuses groups): an activation code is single-use.
                    order.user_id,
                    photo=png,
                    filename="esim-qr.png",
                    caption=text,
                    parse_mode=parse_mode,
                    reply_markup=markup,
                )
            except Forbidden as error:
                # Blocked the bot: the eSIM waits in "My eSIMs" for them.
                log.info("order %s: the customer blocked the bot: %s", order.reference, error)
                await self._forbidden(order.user_id)
                return False
            except BadRequest as error:
                kind = "HTML" if parse_mode else "plain"
                log.warning("order %s: %s caption refused: %s", order.reference, kind, error)
                continue
            return True
        return False

    async def topup_done(self, order: Order) -> None:
        language = order.language or "en"
        text = t(
            language,
            "topup.done",
            plan=html.escape(order.package_name),
            iccid=html.escape(order.target_iccid or ""),
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

    async def late(self, order: Order) -> None:
        text = t(order.language or "en", "progress.late", reference=order.reference)
        await self._send(order.chat_id, text)

    async def rehearsal_refunded(self, order: Order) -> None:
        """Sandbox mode: the eSIM just delivered is simulated, and its Stars are back."""
        language = order.language or "en"
        text = t(
            language,
            "sandbox.refunded",
            price=price_text(language, order.price_stars),
            reference=order.reference,
        )
        await self._send(order.chat_id, text)

    async def needs_attention(self, order: Order) -> None:
        text = t(order.language or "en", "attention.customer", reference=order.reference)
        await self._send(order.chat_id, text)

    async def _send(
        self, chat_id: int, text: str, markup: InlineKeyboardMarkup | None = None
    ) -> Message | None:
        if self._blocked(chat_id):
            log.info("no message to chat %s: it blocked the bot", chat_id)
            return None
        try:
            return await self._bot.send_message(chat_id, text, reply_markup=markup)
        except Forbidden as error:
            log.info("message to chat %s not delivered: %s", chat_id, error)
            await self._forbidden(chat_id)
            return None
        except BadRequest as error:
            log.info("message to chat %s not delivered: %s", chat_id, error)
            return None

    async def _edit(self, chat_id: int, message_id: int, text: str) -> bool:
        if self._blocked(chat_id):
            return False
        try:
            await self._bot.edit_message_text(text, chat_id=chat_id, message_id=message_id)
        except BadRequest as error:
            if "not modified" in str(error).lower():
                return True
            log.info("could not edit message %s in chat %s: %s", message_id, chat_id, error)
            return False
        except TelegramError as error:
            log.info("could not edit message %s in chat %s: %s", message_id, chat_id, error)
            return False
        return True


def _caption(language: str, order: Order, esim: Esim) -> str:
    ios_link, android_link = install_links(esim.activation_code)
    return t(
        language,
        "delivery.caption",
        plan=html.escape(order.package_name),
        iccid=html.escape(esim.iccid),
        smdp=html.escape(esim.smdp_address),
        matching_id=html.escape(esim.matching_id),
        ios_link=html.escape(ios_link),
        android_link=html.escape(android_link),
        reference=order.reference,
    )


def _plain_caption(order: Order, caption: str) -> str:
    """The caption as plain text within Telegram's limit: the link line dropped (plain text
    has no links; the install guide has them), tags dropped, entities decoded, every long
    reseller value cut short, and the reference always at the end."""
    lines = [line for line in caption.splitlines() if "<a " not in line]
    text = html.unescape(_TAG.sub("", "\n".join(lines)))
    text = _LONG_RUN.sub(lambda match: match.group(0)[:_PLAIN_FIELD] + "…", text)
    if len(text) > CAPTION_LIMIT:
        tail = f"… {order.reference}"
        text = text[: CAPTION_LIMIT - len(tail)] + tail
    return text
