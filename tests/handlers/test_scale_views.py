"""Every view is bounded: a long history pages or summarises, never "message is too long"."""

from __future__ import annotations

from bench.history import generate, heavy_customer
from emulators.telegram import FakeTelegram
from handlers.callbacks import AdminOrdersPage, unpack
from handlers.paging import TEXT_LIMIT, Page, fit
from tests.databases import connect
from tests.handlers.admin_support import admin, ask, tap, text_of
from tests.rig import RunningBot, RunningSandbox

HEAVY = 777
HEAVY_ESIMS = 250


def _fill(bot: RunningBot, *, users: int = 40, orders: int = 3000) -> None:
    """Thousands of rows straight into the running bot's database (WAL: it reads them)."""
    conn = connect(bot.settings.database)
    try:
        generate(conn, users=users, orders=orders, days=30)
        heavy_customer(conn, HEAVY, HEAVY_ESIMS)
    finally:
        conn.close()


def _all_fit(tg: FakeTelegram, user_id: int) -> None:
    for message in tg.user(user_id).messages:
        assert len(text_of(message)) <= TEXT_LIMIT


async def test_user_with_hundreds_of_esims_is_a_card_and_pages(
    bot: RunningBot, tg: FakeTelegram
) -> None:
    _fill(bot)
    ada = admin(tg)
    card = await ask(ada, f"/user {HEAVY}", "Customer")
    assert f"Paid orders: {HEAVY_ESIMS}" in card and f"({HEAVY_ESIMS} in all)" in card
    assert card.count("H0") <= 10  # five orders and five eSIMs named, not 250
    assert len(card) <= TEXT_LIMIT
    first = await tap(ada, "All eSIMs", "page 1")
    assert first.count("ENABLED / RELEASED") == 10
    second = await tap(ada, "Older", "page 2")
    assert second != first and "eSIMs of customer" in second
    back = await tap(ada, "Newer", "page 1")
    assert back == first
    await ask(ada, f"/user {HEAVY}", "Customer")
    orders = await tap(ada, "All orders", "Orders of customer")
    assert orders.count("delivered") == 10
    # the last page: 250 eSIMs are 25 pages; page 25 has no "Older" button
    last = await tap(ada, "Older", "page 2")
    assert "page 2" in last
    _all_fit(tg, ada.id)


async def test_orders_audit_and_transactions_stay_within_one_message(
    bot: RunningBot, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    _fill(bot)
    for step in range(1500):  # a long wallet history at the reseller
        sandbox.state.set_balance(100_001 + step)
    ada = admin(tg)
    page = await ask(ada, "/orders", "Orders")
    assert "page 1" in page and page.count("\n") == 10
    assert "page 2" in await tap(ada, "Older", "page 2")
    assert "page 1" in await ask(ada, "/orders refunded", "Orders")
    books = await ask(ada, "/audit 60", "The books")
    # thousands of orders the sandbox never charged: ten are named, the rest counted
    assert "… and " in books and "more" in books
    wallet = await ask(ada, "/transactions", "Wallet history")
    assert "page 1 of 151" in wallet and wallet.count(" · adjustment · ") == 10
    _all_fit(tg, ada.id)


async def test_my_esims_pages_for_a_customer_with_hundreds(
    bot: RunningBot, tg: FakeTelegram
) -> None:
    _fill(bot, orders=200)
    heavy = tg.user(HEAVY, "Heavy", language_code="en")
    await heavy.send_command("/start")
    await heavy.wait_for_message(lambda m: bool(heavy.buttons(m)))
    await heavy.tap("My eSIMs")
    first = await heavy.wait_for_message(lambda m: "Your eSIMs" in text_of(m), timeout=10)
    labels = [label for label, _, _ in heavy.buttons(first)]
    assert sum(1 for label in labels if label.startswith("📱")) == 10
    assert any("Older" in label for label in labels)
    assert not any("Newer" in label for label in labels)
    await heavy.tap("Older", first)
    second = await heavy.wait_for_message(
        lambda m: "Your eSIMs" in text_of(m) and any("Newer" in b[0] for b in heavy.buttons(m)),
        timeout=10,
    )
    assert text_of(second) != text_of(first)
    _all_fit(tg, HEAVY)


def test_the_shared_pager_and_the_limit() -> None:
    rows = list(range(11))
    page = Page.of(rows, 1, 10)
    assert page.items == list(range(10)) and page.has_next
    assert not Page.of(rows[:10], 2, 10).has_next
    assert Page.offset(3, 10) == 20 and Page.offset(0, 10) == 0
    # a page number in a button has at most three digits; anything else is stale
    assert unpack("a:ol:all:7") == AdminOrdersPage("all", 7)
    assert unpack("a:ol:all:x") is None and unpack("a:ol:all:1234") is None
    long = "\n".join(f"<b>line {n}</b>" for n in range(2000))
    cut = fit(long)
    assert len(cut) <= TEXT_LIMIT and cut.endswith("\n…")
    assert cut.count("<b>") == cut.count("</b>")  # cut between lines: the HTML stays whole
    assert fit("short") == "short"
