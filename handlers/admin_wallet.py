"""/balance, /transactions and /deposit: the reseller wallet."""

from __future__ import annotations

import html
import re
from decimal import Decimal, InvalidOperation

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.i18n import t
from bot.pikasim import PikaSimError, Priority, Transaction
from bot.pricing import usd
from handlers.admin_common import admin_command, audit, reseller_problem, when_dt
from handlers.callbacks import AdminTransactionsPage
from handlers.common import reply, show
from handlers.context import BotContext
from handlers.paging import fit, nav_row

__all__ = [
    "on_balance",
    "on_deposit",
    "on_transactions",
    "on_transactions_page",
    "parse_cents",
]

TRANSACTION_TYPES = ("deposit", "order", "topup", "refund", "adjustment")
TRANSACTIONS_PAGE = 10
DEPOSIT_METHODS = ("stripe", "btcpay")
MAX_DEPOSIT_CENTS = 10_000_000  # $100,000: anything larger is surely a typo
_AMOUNT = re.compile(r"\$?(\d{1,9}(?:[.,]\d{1,2})?)\$?")


# -- /balance -------------------------------------------------------------------------------


@admin_command("balance")
async def on_balance(update: Update, context: BotContext) -> None:
    language = context.language
    services = context.services
    try:
        balance = await services.reseller.balance(priority=Priority.CUSTOMER)
    except PikaSimError as error:
        await reply(update, reseller_problem(language, error))
        return
    services.wallet.seen(balance.balance_cents)
    orders = services.storage.orders
    in_progress = await orders.count_in_progress()
    average = await orders.average_cost_cents()
    lines = [
        t(
            language,
            "admin.balance.text",
            balance=usd(balance.balance_cents),
            credit=usd(balance.available_credit_cents),
            in_progress=in_progress,
        ),
        _coverage(language, balance.balance_cents, average),
    ]
    if services.sandbox is not None:
        lines.insert(0, t(language, "admin.sandbox_mode"))
    if balance.balance_cents < services.settings.low_balance_cents:
        lines.append(
            t(language, "admin.balance.low", threshold=usd(services.settings.low_balance_cents))
        )
    await reply(update, "\n".join(lines))


def _coverage(language: str, balance_cents: int, average_cents: int | None) -> str:
    """Roughly how many average orders the balance still pays for."""
    if not average_cents:
        return t(language, "admin.balance.no_average")
    return t(
        language,
        "admin.balance.covers",
        count=max(0, balance_cents) // average_cents,
        average=usd(average_cents),
    )


# -- /transactions --------------------------------------------------------------------------


@admin_command("transactions")
async def on_transactions(update: Update, context: BotContext) -> None:
    language = context.language
    args = context.args or []
    selector = args[0].lower() if args else "all"
    if selector != "all" and selector not in TRANSACTION_TYPES:
        types = ", ".join(TRANSACTION_TYPES)
        await reply(update, t(language, "admin.transactions.usage", types=types))
        return
    text, markup = await _transactions_page(context, language, selector, 1)
    await reply(update, text, markup)


async def on_transactions_page(
    update: Update, context: BotContext, tapped: AdminTransactionsPage
) -> None:
    language = context.language
    selector = tapped.type if tapped.type in TRANSACTION_TYPES else "all"
    page = max(1, tapped.page)
    text, markup = await _transactions_page(context, language, selector, page)
    await show(update, text, markup)


async def _transactions_page(
    context: BotContext, language: str, selector: str, page: int
) -> tuple[str, InlineKeyboardMarkup | None]:
    reseller = context.services.reseller
    try:
        answer = await reseller.transactions(
            page,
            TRANSACTIONS_PAGE,
            None if selector == "all" else selector,
            priority=Priority.CUSTOMER,
        )
    except PikaSimError as error:
        return reseller_problem(language, error), None
    pages = answer.pagination.pages
    lines = [t(language, "admin.transactions.title", type=selector, page=page, pages=pages or "?")]
    # the reseller's page size is its own to choose: never show more than ours
    lines += [_transaction_line(item) for item in answer.transactions[:TRANSACTIONS_PAGE]] or [
        t(language, "admin.none")
    ]
    has_next = page < pages if pages else len(answer.transactions) == TRANSACTIONS_PAGE
    row = nav_row(language, lambda number: AdminTransactionsPage(selector, number), page, has_next)
    return fit("\n".join(lines)), InlineKeyboardMarkup([row]) if row else None


def _transaction_line(item: Transaction) -> str:
    sign = "+" if item.amount_cents > 0 else ""
    after = f" → {usd(item.balance_after_cents)}" if item.balance_after_cents is not None else ""
    description = html.escape((item.description or "")[:80])
    return (
        f"{when_dt(item.created_at)} · {html.escape(item.type or '?')} · "
        f"<b>{sign}{usd(item.amount_cents)}</b>{after}\n  {description}"
    )


# -- /deposit -------------------------------------------------------------------------------


def parse_cents(text: str) -> int | None:
    """ "100", "$100", "100.5" or "100,50" dollars → cents; None for anything else."""
    match = _AMOUNT.fullmatch(text.strip())
    if match is None:
        return None
    try:
        cents = int(Decimal(match.group(1).replace(",", ".")) * 100)
    except InvalidOperation:
        return None
    return cents if 0 < cents <= MAX_DEPOSIT_CENTS else None


@admin_command("deposit")
async def on_deposit(update: Update, context: BotContext) -> None:
    language = context.language
    args = context.args or []
    cents = parse_cents(args[0]) if args else None
    method = args[1].lower() if len(args) > 1 else "stripe"
    if cents is None or method not in DEPOSIT_METHODS or len(args) > 2:
        await reply(update, t(language, "admin.deposit.usage"))
        return
    reseller = context.services.reseller
    create = reseller.deposit_stripe if method == "stripe" else reseller.deposit_btcpay
    try:
        deposit = await create(cents, priority=Priority.CUSTOMER)
    except PikaSimError as error:
        await audit(update, context, "deposit.failed", method, f"{usd(cents)}: {error}")
        await reply(update, reseller_problem(language, error))
        return
    await audit(update, context, "deposit.created", method, f"{usd(cents)} {deposit.id or ''}")
    text = t(
        language,
        "admin.deposit.link",
        amount=usd(cents),
        method=t(language, f"admin.deposit.method.{method}"),
        url=html.escape(deposit.checkout_url),
        id=html.escape(deposit.id or "—"),
    )
    button = InlineKeyboardButton(t(language, "admin.button.pay"), url=deposit.checkout_url)
    await reply(update, text, InlineKeyboardMarkup([[button]]))
