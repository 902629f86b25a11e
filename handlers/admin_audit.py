"""/audit [days]: the books. Every Star received is delivered, refunded or in flight, and the
reseller charged exactly our orders."""

from __future__ import annotations

import html

from telegram import Update

from bot.i18n import t
from bot.orders import Audit
from bot.pricing import usd
from handlers.admin_common import admin_command, when
from handlers.common import reply
from handlers.context import BotContext
from handlers.paging import fit

__all__ = ["audit_text", "on_audit"]

_MAX_DAYS = 366
_LISTED = 10  # unknown charges and uncharged orders shown by name; the rest are counted


@admin_command("audit")
async def on_audit(update: Update, context: BotContext) -> None:
    language = context.language
    args = context.args or []
    days = int(args[0]) if args and args[0].isdigit() else 1
    if (args and not args[0].isdigit()) or not 1 <= days <= _MAX_DAYS:
        await reply(update, t(language, "admin.audit.usage"))
        return
    books = await context.services.orders.books.audit(days)
    await reply(update, fit(audit_text(language, books, days)))


def audit_text(language: str, books: Audit, days: int) -> str:
    stars, reseller = books.stars, books.reseller
    text = t(
        language,
        "admin.audit.report",
        days=days,
        since=when(books.since),
        received=stars.received,
        delivered=stars.delivered,
        refunded=stars.refunded,
        in_flight=stars.in_flight,
        difference=stars.difference,
        our_cost=usd(reseller.our_cost_cents),
        charged=usd(reseller.charged_cents),
        reseller_refunds=usd(reseller.refunded_cents),
    )
    if reseller.error is not None:
        text += t(language, "admin.audit.reseller_error", error=html.escape(reseller.error))
    for charge in reseller.unknown_charges[:_LISTED]:
        text += t(
            language,
            "admin.audit.unknown_charge",
            id=html.escape(charge.transaction_id),
            order=html.escape(charge.order_id or "—"),
            amount=usd(charge.cents),
        )
    for order in reseller.uncharged[:_LISTED]:
        text += t(language, "admin.audit.uncharged", reference=order.reference)
    hidden = max(0, len(reseller.unknown_charges) - _LISTED) + max(
        0, len(reseller.uncharged) - _LISTED
    )
    if hidden:
        text += t(language, "admin.audit.more", count=hidden)
    verdict = "balanced" if books.balanced else "unbalanced"
    return text + t(language, f"admin.audit.{verdict}")
