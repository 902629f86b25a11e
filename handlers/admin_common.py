"""What every admin handler shares: the admin check, the audit log, formatting helpers."""

from __future__ import annotations

import functools
import html
import logging
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from telegram import Update
from telegram.constants import ChatType

from bot.i18n import t
from bot.pikasim import PikaSimError
from handlers.common import reply
from handlers.context import BotContext
from handlers.fallback import on_unknown_command

if TYPE_CHECKING:
    from bot.services import Services
    from storage import Order

__all__ = [
    "ButtonHandler",
    "Handler",
    "admin_command",
    "audit",
    "is_admin_update",
    "order_named",
    "reseller_problem",
    "when",
    "when_dt",
]

log = logging.getLogger(__name__)

Handler = Callable[[Update, BotContext], Coroutine[Any, Any, None]]
ButtonHandler = Callable[[Update, BotContext, Any], Coroutine[Any, Any, None]]


def is_admin_update(update: Update, context: BotContext) -> bool:
    """ADMIN_IDS, checked again on every update; admin output only goes to private chats."""
    user = update.effective_user
    chat = update.effective_chat
    if user is None or not context.services.is_admin(user.id):
        return False
    return chat is None or chat.type == ChatType.PRIVATE


def admin_command(name: str) -> Callable[[Handler], Handler]:
    """Run the handler for admins only (audited); everyone else gets the unknown-command
    answer, before anything else happens, so no reseller call can follow."""

    def wrap(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def guarded(update: Update, context: BotContext) -> None:
            if not is_admin_update(update, context):
                user = update.effective_user
                log.info("non-admin %s tried /%s", user.id if user else None, name)
                await on_unknown_command(update, context)
                return
            args = " ".join(context.args or [])
            await audit(update, context, f"command.{name}", args.split(" ")[0] or None, args)
            await handler(update, context)

        return guarded

    return wrap


async def audit(
    update: Update,
    context: BotContext,
    action: str,
    target: str | None = None,
    details: str | None = None,
) -> None:
    user = update.effective_user
    if user is None:
        return
    await context.services.customers.audit(user.id, action, target, details)


async def _find_order(services: Services, key: str) -> Order | None:
    """An order by its reference, or the eSIM order that issued this ICCID."""
    key = key.strip()
    if key.isdigit():
        return await services.storage.orders.by_iccid(key)
    if key.isalnum() and len(key) <= 40:
        return await services.storage.orders.by_reference(key)
    return None


async def order_named(update: Update, context: BotContext, usage: str) -> Order | None:
    """``/cmd <reference or ICCID> …``: the order, or None once the admin was told why not
    (the ``usage`` text without an argument, "not found" for an unknown one)."""
    args = context.args or []
    if not args:
        await reply(update, t(context.language, usage))
        return None
    order = await _find_order(context.services, args[0])
    if order is None:
        key = html.escape(args[0][:40])
        await reply(update, t(context.language, "admin.not_found", key=key))
    return order


def when(epoch: int | float | None) -> str:
    if epoch is None:
        return "—"
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


def when_dt(value: datetime | None) -> str:
    return "—" if value is None else when(value.timestamp())


def reseller_problem(language: str, error: PikaSimError) -> str:
    """One line naming what the reseller said, for an admin."""
    return t(language, "admin.reseller_error", kind=error.kind, message=html.escape(str(error)))
