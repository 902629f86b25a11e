"""Two processes of the bot on one PostgreSQL database: one active, one standby (bot/standby.py).

The active one is killed with ``kill -9`` while customers are buying; the standby takes over
within seconds and every paid order is bought once and delivered once.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.standby import LEADER_LOCK
from emulators.telegram import FakeTelegram
from tests.databases import ON_POSTGRES, database_for, rows
from tests.orders.test_crash import a_plan_code, buy_and_pay, reseller_orders_for
from tests.rig import BotProcess, RunningSandbox, eventually, running_sandbox

pytestmark = pytest.mark.skipif(
    not ON_POSTGRES, reason="a standby needs PostgreSQL: set TEST_DATABASE_URL"
)
CUSTOMERS_BEFORE = (3001, 3002, 3003)  # pay while the first process is active
CUSTOMERS_AFTER = (3004, 3005)  # start buying after it died


async def health(bot: BotProcess) -> tuple[int, dict[str, Any]]:
    try:
        async with httpx.AsyncClient() as client:
            response = await client.get(bot.url + "/healthz")
    except httpx.HTTPError:
        return 0, {}
    return response.status_code, response.json()


async def role(bot: BotProcess) -> str | None:
    _, report = await health(bot)
    return report.get("role")


async def test_the_standby_takes_over_after_kill_9_and_delivers_every_order_once(
    tmp_path: Path, tg: FakeTelegram
) -> None:
    # eSIMs take a while, so the first process dies with orders paid but not yet delivered
    async with running_sandbox(provisioning_delay=1.5) as sandbox:
        await _kill_the_active_one_during_purchases(tmp_path, tg, sandbox)


async def _kill_the_active_one_during_purchases(
    tmp_path: Path, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    first = BotProcess.for_rig(tmp_path, tg, sandbox)
    second = BotProcess.for_rig(tmp_path, tg, sandbox)  # the same database
    database = database_for(tmp_path)
    try:
        await first.start()
        await first.wait_ready()
        await second.start()
        assert await eventually(lambda: _is(second, "standby"), timeout=20)
        status, report = await health(second)
        assert status == 200 and report["status"] == "standby"
        assert (await health(first))[1]["role"] == "active"
        async with httpx.AsyncClient() as client:  # the standby turns webhooks away
            refused = await client.post(second.url + "/webhooks/pikasim", content=b"{}")
        assert refused.status_code == 503

        code = await a_plan_code(sandbox)
        for user_id in CUSTOMERS_BEFORE:
            await buy_and_pay(tg.user(user_id, f"Customer {user_id}"), code)

        def all_paid() -> list[dict[str, Any]] | None:
            found = rows(database, "SELECT status FROM orders WHERE paid_at IS NOT NULL")
            return found if len(found) == len(CUSTOMERS_BEFORE) else None

        paid = await eventually(all_paid, timeout=10)
        assert not any(row["status"] == "delivered" for row in paid)  # still provisioning

        await first.kill()  # SIGKILL: no clean-up at all
        late = [
            asyncio.create_task(buy_and_pay(tg.user(user_id, f"Customer {user_id}"), code))
            for user_id in CUSTOMERS_AFTER
        ]
        assert await eventually(lambda: _is(second, "active"), timeout=15)
        await asyncio.wait_for(asyncio.gather(*late), timeout=30)

        customers = CUSTOMERS_BEFORE + CUSTOMERS_AFTER

        def all_delivered() -> list[dict[str, Any]] | None:
            found = rows(database, "SELECT * FROM orders WHERE paid_at IS NOT NULL")
            done = len(found) == len(customers) and all(
                row["status"] == "delivered" for row in found
            )
            return found if done else None

        orders = await eventually(all_delivered, timeout=30, interval=0.2)
        for order in orders:
            assert reseller_orders_for(sandbox, str(order["reference"])) == 1
        for user_id in customers:
            photos = [c for c in tg.calls_to("sendPhoto") if c.params.get("chat_id") == user_id]
            assert len(photos) == 1, user_id
        assert tg.refunds == []
        assert await second.stop() == 0, second.text
    finally:
        await first.kill()
        await second.kill()


async def _is(bot: BotProcess, wanted: str) -> bool:
    return await role(bot) == wanted


async def test_an_active_process_that_loses_its_lock_stops_with_an_error(
    tmp_path: Path, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    """Its lock's session ends (a network cut, a database failover): rather than go on as a
    second active process, it stops, non-zero, so its supervisor starts it again."""
    bot = BotProcess.for_rig(tmp_path, tg, sandbox)
    database = database_for(tmp_path)
    try:
        await bot.start()
        await bot.wait_ready()
        holder = rows(
            database,
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND classid = ? AND objid = ? AND objsubid = 1"  # other tests' bots hold theirs
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            (LEADER_LOCK >> 32, LEADER_LOCK & 0xFFFF_FFFF),
        )
        assert len(holder) == 1
        rows(database, "SELECT pg_terminate_backend(?)", (holder[0]["pid"],))
        assert await bot.wait_exit(timeout=20) == 4, bot.text
        assert "lost the leader lock" in bot.text
    finally:
        await bot.kill()
