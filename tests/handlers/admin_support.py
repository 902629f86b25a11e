"""Helpers shared by the operator's-console tests (this module holds no tests itself)."""

from __future__ import annotations

import asyncio
from typing import Any

from bot.i18n import t
from emulators.telegram import FakeTelegram, FakeUser
from handlers.callbacks import BuyPlan, TopupOptions
from storage import Order, OrderStatus
from tests.rig import ADMIN_ID, RunningBot, RunningSandbox, eventually

JSON = dict[str, Any]
UNKNOWN_COMMAND = t("en", "fallback.unknown_command")
STALE = t("en", "common.stale")


def admin(tg: FakeTelegram, user_id: int = ADMIN_ID) -> FakeUser:
    return tg.user(user_id, "Ada", language_code="en")


def text_of(message: JSON) -> str:
    return str(message.get("text") or message.get("caption") or "")


async def ask(user: FakeUser, command: str, contains: str | None = None) -> str:
    """Send a command and return the text of the bot's answer (one containing ``contains``)."""
    await user.send_command(command)
    message = await user.wait_for_message(
        (lambda m: contains in text_of(m)) if contains else None, timeout=10
    )
    return text_of(message)


async def tap(user: FakeUser, label: str, contains: str, message: JSON | None = None) -> str:
    """Press a button and return the text the bot shows next (containing ``contains``)."""
    await user.tap(label, message)
    answer = await user.wait_for_message(lambda m: contains in text_of(m), timeout=15)
    return text_of(answer)


async def buy(bot: RunningBot, user: FakeUser, country: str = "JP") -> Order:
    """A customer buys the cheapest plan for ``country`` through the real checkout."""
    plans = bot.services.catalog.index.country_plans(country)
    code = min(plans, key=lambda plan: plan.price_cents).code
    await user.send_command("/start")
    menu = await user.wait_for_message(lambda m: bool(user.buttons(m)))
    await user.tap_data(BuyPlan(code).pack(), menu)
    await user.wait_for_message(lambda m: "invoice" in m)
    charge_id = await user.pay_last_invoice()
    payment = await eventually(lambda: bot.services.storage.payments.by_charge_id(charge_id))
    order = await bot.services.storage.orders.get(payment.order_id)
    assert order is not None
    return order


async def settle(bot: RunningBot, order: Order, *statuses: OrderStatus) -> Order:
    async def reached() -> Order | None:
        current = await bot.services.storage.orders.get(order.id)
        return current if current is not None and current.status in statuses else None

    result: Order = await eventually(reached, timeout=30)
    return result


async def delivered(bot: RunningBot, user: FakeUser, country: str = "JP") -> Order:
    return await settle(bot, await buy(bot, user, country), OrderStatus.DELIVERED)


async def quiet(sandbox: RunningSandbox) -> int:
    """Wait for the bot's start-up reseller calls (catalog, webhook, first wallet check) and
    return how many requests the sandbox has seen; nothing else calls it while idle."""
    await eventually(
        lambda: any(r.path.endswith("/balance") for r in sandbox.state.requests), timeout=15
    )
    await asyncio.sleep(0.1)
    return len(sandbox.state.requests)


def reseller_calls(sandbox: RunningSandbox, suffix: str, method: str | None = None) -> int:
    return sum(
        1
        for r in sandbox.state.requests
        if r.path.endswith(suffix) and (method is None or r.method == method)
    )


async def audit_actions(bot: RunningBot, admin_id: int = ADMIN_ID) -> list[str]:
    rows = await bot.services.storage.audit.latest(200)
    return [row["action"] for row in rows if row["admin_id"] == admin_id]


async def buy_topup(bot: RunningBot, user: FakeUser, iccid: str) -> Order:
    """The customer buys the first top-up offered for ``iccid``; returns the top-up order."""
    await user.tap_data(TopupOptions(iccid).pack())
    options = await user.wait_for_message(
        lambda m: any((data or "").startswith("tb:") for _, data, _ in user.buttons(m))
    )
    code = next(d for _, d, _ in user.buttons(options) if (d or "").startswith("tb:"))
    await user.tap_data(code, options)
    await user.wait_for_message(lambda m: "invoice" in m)
    charge_id = await user.pay_last_invoice()
    payment = await eventually(lambda: bot.services.storage.payments.by_charge_id(charge_id))
    order = await bot.services.storage.orders.get(payment.order_id)
    assert order is not None
    return order
