"""What every admin handler shares: the admin check, the audit log, formatting helpers."""

from __future__ import annotations

import functools
import html
import logging
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from telegram import InlineKeyboardButton, Update
from telegram.constants import ChatType
from telegram.ext import ContextTypes

from bot.i18n import t
from bot.pikasim import PikaSimError
from handlers.callbacks import Callback
from handlers.common import services_of
from handlers.fallback import on_unknown_command
from handlers.paging import nav_row
from storage.stats import StatsRepo

if TYPE_CHECKING:
    from bot.services import Services
    from storage import Order

__all__ = [
    "ButtonHandler",
    "Handler",
    "admin_command",
    "audit",
    "find_order",
    "gb",
    "is_admin_update",
    "pager",
    "reseller_problem",
    "stats_of",
    "when",
    "when_dt",
]

log = logging.getLogger(__name__)

Handler = Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]
ButtonHandler = Callable[[Update, ContextTypes.DEFAULT_TYPE, Callback], Coroutine[Any, Any, None]]


def is_admin_update(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """ADMIN_IDS, checked again on every update; admin output only goes to private chats."""
    user = update.effective_user
    chat = update.effective_chat
    if user is None or not services_of(context).is_admin(user.id):
        return False
    return chat is None or chat.type == ChatType.PRIVATE


def admin_command(name: str) -> Callable[[Handler], Handler]:
    """Run the handler for admins only (audited); everyone else gets the unknown-command
    answer, before anything else happens, so no reseller call can follow."""

    def wrap(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def guarded(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
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
    context: ContextTypes.DEFAULT_TYPE,
    action: str,
    target: str | None = None,
    details: str | None = None,
) -> None:
    user = update.effective_user
    if user is None:
        return
    await services_of(context).storage.audit.record(
        user.id, action, target, (details or None) and details[:500]
    )


def stats_of(context: ContextTypes.DEFAULT_TYPE) -> StatsRepo:
    return StatsRepo(services_of(context).storage.db)


async def find_order(services: Services, key: str) -> Order | None:
    """An order by its reference, or the eSIM order that issued this ICCID."""
    key = key.strip()
    if key.isdigit():
        return await services.storage.orders.by_iccid(key)
    if key.isalnum() and len(key) <= 40:
        return await services.storage.orders.by_reference(key)
    return None


def when(epoch: int | float | None) -> str:
    if epoch is None:
        return "—"
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


def when_dt(value: datetime | None) -> str:
    return "—" if value is None else when(value.timestamp())


def gb(size_bytes: int | None) -> str:
    if size_bytes is None:
        return "?"
    if size_bytes >= 1024**3:
        return f"{size_bytes / 1024**3:.2f} GB"
    return f"{size_bytes / 1024**2:.0f} MB"


def reseller_problem(language: str, error: PikaSimError) -> str:
    """One line naming what the reseller said, for an admin."""
    return t(language, "admin.reseller_error", kind=error.kind, message=html.escape(str(error)))


def pager(
    language: str, action: str, selector: str, page: int, has_next: bool
) -> list[InlineKeyboardButton]:
    """◀ / ▶ buttons for a paged admin list (callback ``a:<action>:<selector>:<page>``)."""
    return nav_row(language, "a", (action, selector), page, has_next)
