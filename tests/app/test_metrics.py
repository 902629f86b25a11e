"""GET /metrics: off without METRICS_TOKEN, bearer-protected with it, and its figures move
with a purchase and a refund (read from the database, so they are the rows' own numbers)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from emulators.telegram import FakeTelegram
from tests.handlers.test_journey_purchase import button, buy, choose_plan, topup_plan
from tests.rig import RunningBot, RunningSandbox, bot_settings, eventually, running_bot

METRICS_TOKEN = "metrics-token-0123456789abcdef"
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture
async def metered(
    tmp_path: Path, tg: FakeTelegram, sandbox: RunningSandbox
) -> AsyncIterator[RunningBot]:
    settings = bot_settings(tmp_path, tg, sandbox, metrics_token=METRICS_TOKEN)
    async with running_bot(settings) as running:
        yield running


async def scrape(bot: RunningBot) -> Samples:
    async with httpx.AsyncClient() as client:
        response = await client.get(
            bot.url + "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
        )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get(("esim_bot_" + name, tuple(sorted(labels.items()))), 0.0)


async def test_metrics_are_off_without_a_token(bot: RunningBot) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.get(bot.url + "/metrics")
    assert response.status_code == 404


async def test_metrics_need_the_bearer_token(metered: RunningBot) -> None:
    async with httpx.AsyncClient() as client:
        anonymous = await client.get(metered.url + "/metrics")
        wrong = await client.get(
            metered.url + "/metrics", headers={"Authorization": "Bearer not-the-token"}
        )
    assert anonymous.status_code == wrong.status_code == 401
    assert "esim_bot" not in anonymous.text + wrong.text


async def test_figures_move_with_a_purchase_and_a_refund(
    metered: RunningBot, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    before = await scrape(metered)
    assert value(before, "payments_total") == 0
    assert value(before, "catalog_age_seconds") >= 0
    assert ("esim_bot_catalog_age_seconds", ()) in before

    alice = tg.user(1001, "Alice", "en")
    plan = topup_plan(metered)
    await buy(alice, "Japan", plan)
    paid = tg.star_transactions[-1].amount

    async def delivered() -> Samples | None:
        samples = await scrape(metered)
        return samples if value(samples, "orders", status="delivered") == 1 else None

    after_purchase = await eventually(delivered)
    assert value(after_purchase, "payments_total") == 1
    assert value(after_purchase, "stars_received_total") == paid
    assert value(after_purchase, "stars_refunded_total") == 0
    assert value(after_purchase, "reseller_requests_total", endpoint="POST /orders", outcome="2xx")
    assert value(after_purchase, "telegram_requests_total", method="sendPhoto", outcome="2xx") >= 1
    assert value(after_purchase, "webhook_events_total", source="pikasim", outcome="accepted")
    assert value(after_purchase, "update_handling_seconds_count") > 0
    assert value(after_purchase, "wallet_balance_cents") > 0
    assert value(after_purchase, "reseller_budget_limit") == 60
    assert value(after_purchase, "reseller_budget_used") >= 1
    assert value(after_purchase, "last_reconcile_timestamp_seconds") > 0

    # A second order fails at the reseller: its Stars come back.
    sandbox.state.fail_orders(1)
    details = await choose_plan(alice, "Japan", plan)
    await alice.tap(button(alice, details, f"b:{plan.code}"), details)
    await alice.wait_for_message(lambda m: "invoice" in m)
    await alice.pay_last_invoice()
    await alice.wait_for_message(lambda m: "refunded" in m.get("text", ""), 10)

    async def refunded() -> Samples | None:
        samples = await scrape(metered)
        return samples if value(samples, "refunds_total") == 1 else None

    after_refund = await eventually(refunded)
    assert value(after_refund, "payments_total") == 2
    assert value(after_refund, "stars_received_total") == paid * 2
    assert value(after_refund, "stars_refunded_total") == paid
    assert value(after_refund, "orders", status="refunded") == 1
    assert value(after_refund, "orders", status="delivered") == 1


async def test_429s_from_telegram_are_counted(metered: RunningBot, tg: FakeTelegram) -> None:
    tg.fail_next("sendMessage", 429, retry_after=1)
    alice = tg.user(1001, "Alice", "en")
    await alice.send_command("/start")
    await alice.wait_for_message(timeout=10)
    samples = await scrape(metered)
    assert value(samples, "telegram_429_total") == 1
    assert value(samples, "telegram_requests_total", method="sendMessage", outcome="429") == 1
