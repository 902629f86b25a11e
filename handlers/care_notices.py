"""What the customer reads after the sale: low data, expiry, "you're connected".

The chat side of ``bot.care.CareNotices``. Every notice carries the button that helps: Top up
(low data, expiry soon), Usage (connected), Buy (expired). A user who blocked the bot is
remembered (``bot.reach``) and gets nothing more. Notices go at the background pace
(``handlers.background_pace``), shared with broadcasts.
"""

from __future__ import annotations

import html
import logging
from datetime import datetime

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, TelegramError

from bot.background_pace import Pace
from bot.i18n import cldr, pick_language, t
from bot.reach import Reach
from handlers.callbacks import EsimUsage, Menu, TopupOptions
from handlers.units import volume_text
from storage import Watched

__all__ = ["CareMessages"]

log = logging.getLogger(__name__)


class CareMessages:
    def __init__(self, bot: Bot, reach: Reach, pace: Pace) -> None:
        self._bot = bot
        self._reach = reach
        self._pace = pace  # a round of reminders never takes more than half of Telegram's rate

    async def low_data(self, watched: Watched, percent: int, left_bytes: int) -> str:
        language = _language(watched)
        key = "care.low95" if percent >= 95 else "care.low80"
        text = t(
            language,
            key,
            plan=html.escape(watched.plan),
            percent=percent,
            left=volume_text(language, left_bytes),
            tail=watched.esim.iccid[-4:],
        )
        return await self._send(watched, text, _button(language, "topup", watched.esim.iccid))

    async def expiry(self, watched: Watched, days: int) -> str:
        language = _language(watched)
        expires = watched.esim.expires_at or ""
        try:
            date = cldr.format_expiry(datetime.fromisoformat(expires), language)
        except ValueError:
            date = html.escape(expires)
        key = {3: "care.expiry3", 1: "care.expiry1"}.get(days, "care.expired")
        text = t(
            language, key, plan=html.escape(watched.plan), date=date, tail=watched.esim.iccid[-4:]
        )
        if days:
            markup = _button(language, "topup", watched.esim.iccid)
        else:
            buy = InlineKeyboardButton(t(language, "menu.buy"), callback_data=Menu("buy").pack())
            markup = InlineKeyboardMarkup([[buy]])
        return await self._send(watched, text, markup)

    async def connected(self, watched: Watched) -> str:
        language = _language(watched)
        text = t(
            language, "care.connected", plan=html.escape(watched.plan), tail=watched.esim.iccid[-4:]
        )
        return await self._send(watched, text, _button(language, "usage", watched.esim.iccid))

    async def _send(self, watched: Watched, text: str, markup: InlineKeyboardMarkup) -> str:
        user_id = watched.esim.user_id
        if self._reach.blocked(user_id):
            return "blocked"
        await self._pace.wait()
        try:
            await self._bot.send_message(
                user_id, text, parse_mode=ParseMode.HTML, reply_markup=markup
            )
        except Forbidden as error:
            log.info("care notice to %s not delivered: %s", user_id, error)
            await self._reach.forbidden(user_id)
            return "blocked"
        except BadRequest as error:  # it would fail the same way again: give it up
            log.warning("care notice to %s refused: %s", user_id, error)
            return "failed"
        except TelegramError as error:  # network, flood control: the next round tries again
            log.info("care notice to %s not sent for now: %s", user_id, error)
            return "retry"
        return "sent"


def _language(watched: Watched) -> str:
    return pick_language(watched.language, watched.language)


def _button(language: str, kind: str, iccid: str) -> InlineKeyboardMarkup:
    data = TopupOptions(iccid) if kind == "topup" else EsimUsage(iccid)
    label = t(language, f"delivery.button.{kind}")
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=data.pack())]])
