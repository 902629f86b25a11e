"""Only ADMIN_IDS reach the console: others get the ordinary answers and no reseller call."""

from __future__ import annotations

import json

from bot.i18n import t
from emulators.telegram import FakeTelegram
from emulators.telegram._state import ChatState
from handlers.admin import COMMANDS
from handlers.callbacks import (
    AdminCheckAgain,
    AdminOrdersPage,
    AdminRefund,
    AdminTransactionsPage,
    AdminWebhookTest,
)
from storage import OrderStatus
from tests.handlers.admin_support import (
    STALE,
    UNKNOWN_COMMAND,
    admin,
    ask,
    audit_actions,
    delivered,
    quiet,
    reseller_calls,
)
from tests.rig import ADMIN_ID, RunningBot, RunningSandbox, eventually

ATTEMPTS = [
    "/admin",
    "/balance",
    "/orders",
    "/orders delivered",
    "/order {ref}",
    "/esim {iccid}",
    "/user 1001",
    "/refund {ref} please",
    "/refund {iccid}",
    "/stats",
    "/audit",
    "/audit 7",
    "/transactions",
    "/transactions deposit",
    "/deposit 100",
    "/deposit 50 btcpay",
    "/webhook",
    "/broadcast Hello everyone",
]


async def test_every_admin_command_is_listed_in_the_attempts() -> None:
    assert {attempt.split()[0][1:] for attempt in ATTEMPTS} == set(COMMANDS)


async def test_non_admins_get_the_unknown_command_answer_and_no_reseller_call(
    bot: RunningBot, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    alice = tg.user(1001, "Alice")
    order = await delivered(bot, alice)
    mallory = tg.user(666, "Mallory")
    before = await quiet(sandbox)
    for attempt in ATTEMPTS:
        command = attempt.format(ref=order.reference, iccid=order.iccid)
        assert await ask(mallory, command) == UNKNOWN_COMMAND, command
    assert len(sandbox.state.requests) == before
    assert await audit_actions(bot, 666) == []
    current = await bot.services.storage.orders.get(order.id)
    assert current is not None and current.status is OrderStatus.DELIVERED
    assert tg.refunds == []


async def test_non_admins_pressing_admin_buttons_get_the_stale_answer(
    bot: RunningBot, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    alice = tg.user(1001, "Alice")
    order = await delivered(bot, alice)
    before = await quiet(sandbox)
    forged = [
        AdminRefund("cancel", order.reference).pack(),
        AdminRefund("only", order.reference).pack(),
        AdminRefund("preview", order.reference).pack(),
        AdminRefund("keep", order.reference).pack(),
        AdminCheckAgain(order.reference).pack(),
        AdminWebhookTest().pack(),
        AdminTransactionsPage("all", 2).pack(),
        AdminOrdersPage("all", 2).pack(),
    ]
    for data in forged:
        answered = await alice.tap_data(data)
        assert answered.get("text") == STALE, data
    assert len(sandbox.state.requests) == before
    assert reseller_calls(sandbox, "/cancel") == 0
    assert tg.refunds == []
    current = await bot.services.storage.orders.get(order.id)
    assert current is not None and current.status is OrderStatus.DELIVERED
    assert await audit_actions(bot, 1001) == []


async def test_unknown_admin_buttons_are_stale_even_for_admins(
    bot: RunningBot, tg: FakeTelegram
) -> None:
    ada = admin(tg)
    await ask(ada, "/admin", "console")
    for data in ("a:zz", "a:rf:../x", "a:" + "x" * 70):
        answered = await ada.tap_data(data)
        assert answered.get("text") == STALE, data


async def test_admin_commands_and_buttons_are_audited(bot: RunningBot, tg: FakeTelegram) -> None:
    ada = admin(tg)
    help_text = await ask(ada, "/admin", "console")
    assert "/refund" in help_text and "/webhook" in help_text
    await ask(ada, "/orders", "Orders")
    await ask(ada, "/refund NOSUCHREF1 typo", "No order")
    actions = await audit_actions(bot)
    assert actions[:3] == ["command.refund", "command.orders", "command.admin"]
    rows = await bot.services.storage.audit.latest(1)
    assert rows[0]["target"] == "NOSUCHREF1" and rows[0]["details"] == "NOSUCHREF1 typo"


async def test_admins_see_their_commands_in_the_menu(bot: RunningBot, tg: FakeTelegram) -> None:
    stored: dict[str, list[dict[str, str]]] = tg.world.settings.get("commands", {})

    def menu(scope_type: str, language: str = "") -> list[dict[str, str]]:
        for key, commands in stored.items():
            scope, code = json.loads(key)
            ours = scope_type == "default" or scope.get("chat_id") == ADMIN_ID
            if scope.get("type") == scope_type and code == language and ours:
                return commands
        return []

    names = [command["command"] for command in await eventually(lambda: menu("chat"))]
    assert {"start", "help", "balance", "refund", "stats", "webhook"} <= set(names)
    spanish = {c["command"]: c["description"] for c in menu("chat", "es")}
    assert spanish["refund"] == t("es", "admin.command.refund")
    assert "start" in spanish
    for language in ("", "es", "ru"):
        assert "refund" not in {command["command"] for command in menu("default", language)}


async def test_admin_commands_in_a_group_are_not_answered_as_admin(
    bot: RunningBot, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    ada = admin(tg)
    before = await quiet(sandbox)
    # The fake's users chat in private; a group chat is added by hand, its update pushed raw.
    group = {"id": -100123, "type": "group", "title": "Ops"}
    tg.world.chats[-100123] = ChatState(user=ada.profile, chat=group)
    tg.push_update(
        "message",
        {
            "message_id": 1,
            "from": ada.profile,
            "chat": group,
            "date": 1_700_000_000,
            "text": "/balance",
            "entities": [{"type": "bot_command", "offset": 0, "length": 8}],
        },
    )
    call = await tg.wait_for_call("sendMessage", lambda c: c.params.get("chat_id") == -100123)
    # Groups only get a pointer to a private chat (handlers/guards.py), admins included.
    assert call.ok and "private chat" in call.params.get("text", "")
    assert len(sandbox.state.requests) == before
