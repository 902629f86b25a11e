"""/balance, /order, /esim, /user, /orders, /stats, /transactions, /deposit, /webhook."""

from __future__ import annotations

from pathlib import Path

from bot.pricing import usd
from emulators.telegram import FakeTelegram
from handlers.admin_stats import stars_to_cents
from handlers.admin_wallet import parse_cents
from storage import OrderKind, OrderStatus
from tests.handlers.admin_support import (
    admin,
    ask,
    audit_actions,
    buy,
    delivered,
    reseller_calls,
    settle,
    tap,
    text_of,
)
from tests.rig import (
    RunningBot,
    RunningSandbox,
    bot_settings,
    eventually,
    running_bot,
    running_sandbox,
)


async def test_balance_shows_the_wallet_and_what_it_covers(
    bot: RunningBot, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    ada = admin(tg)
    text = await ask(ada, "/balance", "Reseller wallet")
    assert "Balance: $1,000.00" in text
    assert "Available credit: $1,000.00" in text
    assert "Orders in progress: 0" in text
    assert "No delivered orders yet" in text

    order = await delivered(bot, tg.user(1001, "Alice"))
    sandbox.state.set_balance(order.cost_cents * 7 + 1)
    text = await ask(ada, "/balance", "Reseller wallet")
    assert f"Covers about 7 more orders at the average cost of {usd(order.cost_cents)}" in text
    assert "Below the alert threshold of $20.00" in text  # LOW_BALANCE_CENTS defaults to 2000
    assert bot.services.wallet.cents == order.cost_cents * 7 + 1


async def test_order_esim_and_user_show_stored_and_live_facts(
    bot: RunningBot, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    alice = tg.user(1001, "Alice", username="alice_t")
    order = await delivered(bot, alice)
    assert order.iccid is not None
    sandbox.state.install(order.iccid)
    ada = admin(tg)

    card = await ask(ada, f"/order {order.reference}", "Order")
    assert order.reference in card and "delivered" in card
    assert "Alice @alice_t 1001" in card
    assert f"{order.price_stars} Stars" in card and usd(order.cost_cents) in card
    assert "Live order status: completed" in card
    assert "Live eSIM: ENABLED / ENABLED" in card
    assert order.iccid in card
    assert card == await ask(ada, f"/order {order.iccid}", "Order")  # by ICCID too
    assert card == await ask(ada, f"/order {order.reference.lower()}", "Order")
    receipt = [text_of(m) for m in alice.messages if order.iccid in text_of(m)]
    assert receipt and order.reference in receipt[0]  # the customer has the same reference

    esim = await ask(ada, f"/esim {order.iccid}", "eSIM")
    assert order.reference in esim and "customer 1001" in esim
    assert "Live, from the reseller" in esim and "ENABLED / ENABLED" in esim

    user = await ask(ada, "/user 1001", "Customer")
    assert order.reference in user and order.iccid in user
    assert f"paid {order.price_stars} Stars" in user and "ENABLED" in user

    stranger = await ask(ada, "/esim 8900000000000000001", "eSIM")
    assert "Not sold by this bot" in stranger and "not_found" in stranger
    assert "No customer" in await ask(ada, "/user 31337", "customer")
    assert "Usage" in await ask(ada, "/esim abc", "Usage")
    assert "Usage" in await ask(ada, "/user", "Usage")
    assert "Usage" in await ask(ada, "/order", "Usage")
    assert reseller_calls(sandbox, f"/esims/{order.iccid}", "GET") >= 3


async def test_a_reseller_outage_is_reported_not_raised(
    bot: RunningBot, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    bot.services.reseller.backoff_base = bot.services.reseller.backoff_max = 0.001
    sandbox.state.fail_next(10, status=503, path_prefix="/balance")
    text = await ask(admin(tg), "/balance", "did not answer")
    assert "unavailable" in text
    sandbox.state.clear_faults()


async def test_orders_are_listed_and_paged(bot: RunningBot, tg: FakeTelegram) -> None:
    storage = bot.services.storage
    await storage.users.upsert(1001, "Alice", None, "en")
    references = []
    for number in range(12):
        order = await storage.orders.create(
            kind=OrderKind.ESIM,
            user_id=1001,
            chat_id=1001,
            package_code="JP_TEST",
            package_name=f"Plan {number}",
            price_stars=100 + number,
            cost_cents=100,
            language="en",
        )
        await storage.orders.transition(order, OrderStatus.EXPIRED)
        references.append(order.reference)
    ada = admin(tg)
    first = await ask(ada, "/orders expired", "Orders")
    assert "page 1" in first
    assert references[-1] in first and references[2] in first and references[1] not in first
    second = await tap(ada, "Older", "page 2")
    assert references[1] in second and references[0] in second and references[2] not in second
    back = await tap(ada, "Newer", "page 1")
    assert references[-1] in back
    assert "Usage" in await ask(ada, "/orders nonsense", "Usage")
    assert "—" in await ask(ada, "/orders delivered", "Orders")


async def test_stats_show_orders_stars_cost_margin_failures_refunds_and_countries(
    bot: RunningBot, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    alice = tg.user(1001, "Alice")
    kept = await delivered(bot, alice, "JP")
    refunded = await delivered(bot, alice, "JP")
    sandbox.state.fail_orders(1, "No stock")
    failed = await settle(bot, await buy(bot, alice, "US"), OrderStatus.REFUNDED)
    ada = admin(tg)
    await ask(ada, f"/refund {refunded.reference}", "Refund order")
    await tap(ada, "Cancel the eSIM and refund", "refunded")

    stats = await ask(ada, "/stats", "Sales")
    rate = bot.services.settings.stars_per_usd
    received = kept.price_stars + refunded.price_stars + failed.price_stars
    refunded_stars = refunded.price_stars + failed.price_stars
    cost = kept.cost_cents  # the cancelled and the failed order cost nothing in the end
    margin = stars_to_cents(received - refunded_stars, rate) - cost
    # "Today" starts at midnight UTC; the week is checked so a run at midnight cannot fail.
    week = stats.split("Last 7 days")[1].split("Last 30 days")[0]
    assert "Orders: 3 · failures: 1 · refunds: 2 (by admins: 1)" in week
    assert f"Stars received: {received}" in week and f"refunded: {refunded_stars}" in week
    assert f"Reseller cost: {usd(cost)}" in week
    assert f"Margin: {usd(margin)}" in week
    assert "Japan ×2" in week and "United States ×1" in week
    assert stats.count("Orders: 3") >= 2  # the same orders in the 7 and 30 days
    assert f"STARS_PER_USD = {rate}" in stats


async def test_transactions_are_listed_filtered_and_paged(
    bot: RunningBot, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    for step in range(12):
        sandbox.state.set_balance(100_000 + step + 1)
    ada = admin(tg)
    first = await ask(ada, "/transactions", "Wallet history")
    assert "page 1 of 2" in first and first.count(" · adjustment · ") == 10
    second = await tap(ada, "Older", "page 2")
    assert "deposit" in second and "Initial sandbox deposit" in second
    deposits = await ask(ada, "/transactions deposit", "Wallet history")
    assert "page 1 of 1" in deposits and "+$1,000.00" in deposits and "adjustment" not in deposits
    assert "Usage" in await ask(ada, "/transactions bogus", "Usage")
    assert reseller_calls(sandbox, "/transactions") == 3


async def test_deposit_gives_a_payment_link(
    bot: RunningBot, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    ada = admin(tg)
    text = await ask(ada, "/deposit 150", "Top-up")
    (deposit,) = sandbox.state.deposits.values()
    assert deposit.method == "stripe" and deposit.amount == 15_000
    assert "$150.00" in text and deposit.checkout_url in text
    assert any(url == deposit.checkout_url for _, _, url in ada.buttons())

    text = await ask(ada, "/deposit $20.50 btcpay", "Top-up")
    btcpay = [d for d in sandbox.state.deposits.values() if d.method == "btcpay"]
    assert btcpay[0].amount == 2_050 and "crypto" in text

    refused = await ask(ada, "/deposit 5", "reseller")  # the reseller's minimum is $10
    assert "INVALID_AMOUNT" in refused or "amount" in refused
    for wrong in ("/deposit", "/deposit ten", "/deposit 10 paypal", "/deposit -5", "/deposit 0"):
        assert "Usage" in await ask(ada, wrong, "Usage"), wrong
    assert len(sandbox.state.deposits) == 2
    assert (await audit_actions(bot)).count("deposit.created") == 2


def test_deposit_amounts() -> None:
    assert parse_cents("100") == 10_000
    assert parse_cents("$100") == 10_000
    assert parse_cents("100.5") == 10_050
    assert parse_cents("99,99") == 9_999
    assert parse_cents("0.01") == 1
    for wrong in ("0", "-5", "1e3", "10.999", "abc", "", "100000.01"):
        assert parse_cents(wrong) is None, wrong


async def test_webhook_shows_the_url_and_tests_delivery(
    bot: RunningBot, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    ada = admin(tg)
    text = await ask(ada, "/webhook", "Webhooks go to")
    assert f"{bot.url}/webhooks/pikasim" in text
    assert "No webhook received yet" in text
    report = await tap(ada, "Send a test webhook", "test webhook arrived")
    assert "signature was verified" in report
    assert "delivered yes, HTTP 200" in report
    assert "Last webhook: webhook.test at" in report
    assert "webhook.tested" in await audit_actions(bot)
    assert reseller_calls(sandbox, "/webhook/test", "POST") == 1


async def test_webhook_test_reports_a_bad_signature(tmp_path: Path, tg: FakeTelegram) -> None:
    async with running_sandbox(webhook_secret="whsec_not_what_the_bot_has") as sandbox:
        settings = bot_settings(tmp_path, tg, sandbox)
        async with running_bot(settings):
            ada = admin(tg)
            await ask(ada, "/webhook", "Webhooks go to")
            report = await tap(ada, "Send a test webhook", "signature did not verify")
            assert "HTTP 401" in report
            alert = await eventually(
                lambda: [m for m in ada.messages if "bad signature" in text_of(m)]
            )
            assert len(alert) == 1
