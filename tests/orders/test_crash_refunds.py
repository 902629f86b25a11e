"""Kill the bot in the middle of a refund and of a late eSIM's cancel, restart it, and count:
the Stars go back exactly once, the eSIM is cancelled, nothing is delivered twice."""

from __future__ import annotations

from pathlib import Path

import pytest

from emulators.telegram import FakeTelegram
from tests.databases import database_for, rows
from tests.orders.test_crash import CRASH_EXIT_CODE, a_plan_code, buy_and_pay, order_row
from tests.rig import ADMIN_ID, BotProcess, RunningSandbox, eventually


def refund_row(database: Path | str) -> dict[str, object] | None:
    found = rows(database, "SELECT * FROM refunds LIMIT 1")
    return found[0] if found else None


async def order_in(database: Path | str, *statuses: str) -> dict[str, object]:
    def reached() -> dict[str, object] | None:
        row = order_row(database)
        return row if row and row["status"] in statuses else None

    result: dict[str, object] = await eventually(reached, timeout=20, interval=0.1)
    return result


async def admin_refund(tg: FakeTelegram, reference: str, button: str) -> None:
    ada = tg.user(ADMIN_ID, "Ada", language_code="en")
    await ada.send_command(f"/refund {reference}")
    await ada.wait_for_message(lambda m: "Refund order" in (m.get("text") or ""), timeout=10)
    await ada.tap(button)


@pytest.mark.parametrize("point", ["after_refund_intent", "after_cancel"])
async def test_a_crash_inside_an_admin_refund_still_ends_refunded_once(
    point: str, tmp_path: Path, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    database = database_for(tmp_path)
    bot = BotProcess.for_rig(tmp_path, tg, sandbox)
    try:
        await bot.start(ESIM_BOT_CRASH_AT=point)
        await bot.wait_ready()
        await buy_and_pay(tg.user(1001, "Alice"), await a_plan_code(sandbox))
        row = await order_in(database, "delivered")
        wallet_before = sandbox.state.balance_cents
        await admin_refund(tg, str(row["reference"]), "Cancel the eSIM and refund")
        assert await bot.wait_exit() == CRASH_EXIT_CODE, bot.text
        await bot.start()
        await bot.wait_ready()
        row = await order_in(database, "refunded")
        assert await bot.stop() == 0, bot.text
    finally:
        await bot.kill()
    assert len(tg.refunds) == 1
    esim = sandbox.state.esims[str(row["iccid"])]
    assert esim.status == "CANCELLED"
    assert sandbox.state.balance_cents == wallet_before + int(str(row["cost_cents"]))
    refund = refund_row(database)
    assert refund is not None and refund["status"] == "done"


async def test_a_crash_while_cancelling_a_late_esim_still_cancels_it(
    tmp_path: Path, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    sandbox.state.config.provisioning_delay = 4.0
    database = database_for(tmp_path)
    bot = BotProcess.for_rig(tmp_path, tg, sandbox)
    try:
        await bot.start(ESIM_BOT_CRASH_AT="after_late_cancel")
        await bot.wait_ready()
        await buy_and_pay(tg.user(1001, "Alice"), await a_plan_code(sandbox))
        row = await order_in(database, "ordered")
        await admin_refund(tg, str(row["reference"]), "Refund the customer only")
        await order_in(database, "refunded")
        assert await bot.wait_exit() == CRASH_EXIT_CODE, bot.text  # the eSIM came, was cancelled
        await bot.start()
        await bot.wait_ready()

        def settled() -> dict[str, object] | None:
            current = order_row(database)
            return current if current and current["after_refund"] == "cancelled" else None

        row = await eventually(settled, timeout=20, interval=0.1)
        assert await bot.stop() == 0, bot.text
    finally:
        await bot.kill()
    assert len(tg.refunds) == 1
    assert [e.status for e in sandbox.state.esims.values()] == ["CANCELLED"]
    assert [c for c in tg.calls_to("sendPhoto") if c.params.get("chat_id") == 1001] == []
