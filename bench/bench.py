"""Speed and memory of the real bot, measured against a bare python-telegram-bot bot.

Run: ``python bench/bench.py`` (after ``pip install -e '.[test]'``). Everything runs on
127.0.0.1: a fake Telegram server and the sandbox reseller in this process, each bot as a
child process whose CPU time and memory are read from /proc. Targets:

- browsing never calls the reseller;
- CPU per update within 5% of the bare bot (the bare bot answers with a fixed keyboard);
- payment to QR photo p50 <= 30 ms;
- one reseller call per order when the webhook arrives;
- memory (RSS) <= 1.5x the bare bot's;
- browsing throughput >= the bare bot's.

These run with the Telegram limiter off (TELEGRAM_RATE_LIMIT=0), like the bare bot. A second
run is at the ceiling: the limiter on (30 messages a second), 50 users browsing as fast as it
lets them, and customers buying at the same time, against a fake Telegram that answers 429 to
anything over Telegram's limits. Targets there: payment to QR photo p50 <= 30 ms, a lone
newcomer's first answer <= 10 ms, no 429.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

if __package__:  # imported as bench.bench (bench/history_bench.py)
    from bench.ceiling import ceiling_numbers
else:  # run as a script: bench/ is on sys.path as the script's folder
    from ceiling import ceiling_numbers

from emulators.telegram import FakeTelegram, FakeUser  # noqa: E402
from handlers.callbacks import BuyPlan  # noqa: E402
from tests.rig import BotProcess, eventually, running_sandbox  # noqa: E402

UPDATES = int(os.environ.get("BENCH_UPDATES", "400"))
ORDERS = int(os.environ.get("BENCH_ORDERS", "20"))
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def browse_burst(tg: FakeTelegram, pid: int, text: str) -> tuple[float, int, float]:
    """CPU seconds per update while users type a country name; RSS afterwards; updates a
    second."""
    users = [tg.user(5000 + i, f"U{i}") for i in range(20)]
    for user in users[:5]:  # warm-up: imports, caches, first queries
        await user.send_text(text)
        await user.wait_for_message(timeout=10)
    before = cpu_seconds(pid)
    started = time.perf_counter()
    # Closed loop, one update at a time: batching by getUpdates would otherwise make the
    # numbers depend on how fast this harness happens to push.
    for i in range(UPDATES):
        user = users[i % len(users)]
        await user.send_text(text)
        await user.wait_for_message(timeout=10)
    elapsed = time.perf_counter() - started
    return (cpu_seconds(pid) - before) / UPDATES, rss_kib(pid), UPDATES / elapsed


async def bare_bot_numbers(workdir: Path, text: str, markup: str) -> tuple[float, int, float]:
    async with FakeTelegram() as tg:
        env = {
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": str(ROOT),
            "TELEGRAM_BOT_TOKEN": tg.token,
            "TELEGRAM_API_URL": tg.api_url,
            "BARE_TEXT": text,
            "BARE_MARKUP": markup,
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(ROOT / "bench" / "bare_bot.py"),
            env=env,
            cwd=workdir,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        try:
            return await browse_burst(tg, process.pid, "Japan")
        finally:
            process.terminate()
            await process.wait()


async def our_bot_numbers(workdir: Path) -> dict[str, float]:
    async with FakeTelegram() as tg, running_sandbox(provisioning_delay=0.0) as sandbox:
        bot = BotProcess.for_rig(
            workdir,
            tg,
            sandbox,
            LOG_LEVEL="WARNING",
            RECONCILE_SECONDS="600",
            TELEGRAM_RATE_LIMIT="0",  # limiter off: the bare bot has none either
        )
        await bot.start()
        try:
            await bot.wait_ready()
            assert bot.process is not None
            await asyncio.sleep(1.0)  # let the start-up catalog sync and wallet read finish
            calls_before = len(sandbox.state.requests)
            cpu, rss, throughput = await browse_burst(tg, bot.process.pid, "Japan")
            browse_calls = len(sandbox.state.requests) - calls_before
            answer = tg.calls_to("sendMessage")[-1].params
            latencies, calls_per_order = await payments(tg, sandbox)
            rss_after = rss_kib(bot.process.pid)
        finally:
            await bot.stop()
    return {
        "cpu": cpu,
        "rss": rss,
        "throughput": throughput,
        "browse_reseller_calls": browse_calls,
        "p50_ms": statistics.median(latencies) * 1000,
        "p90_ms": statistics.quantiles(latencies, n=10)[-1] * 1000,
        "calls_per_order": calls_per_order,
        "text": answer["text"],
        "markup": json.dumps(answer["reply_markup"]),
        "rss_after_orders": rss_after,
    }


async def payments(tg: FakeTelegram, sandbox: object) -> tuple[list[float], float]:
    buyer: FakeUser = tg.user(7000, "Buyer")
    await buyer.send_command("/start")
    menu = await buyer.wait_for_message(lambda m: bool(buyer.buttons(m)), timeout=10)
    state = sandbox.state  # type: ignore[attr-defined]
    code = next(c for c, p in state.catalog.packages.items() if p.location_code == "JP")
    latencies: list[float] = []
    order_calls = 0
    for _ in range(ORDERS):
        await buyer.tap_data(BuyPlan(code).pack(), menu)
        await buyer.wait_for_message(lambda m: "invoice" in m, timeout=10)
        photos = len(tg.calls_to("sendPhoto"))
        requests_before = len(state.requests)
        await buyer.pay_last_invoice()
        paid_at = tg.calls[-1].at
        await eventually(lambda n=photos: len(tg.calls_to("sendPhoto")) > n, timeout=10)
        latencies.append(tg.calls_to("sendPhoto")[-1].at - paid_at)
        await state.wait_idle()
        await asyncio.sleep(0.2)  # let the order settle, as between two real customers
        order_calls += sum(1 for r in state.requests[requests_before:] if "/orders" in r.path)
    return latencies, order_calls / ORDERS


async def main() -> int:
    with tempfile.TemporaryDirectory() as first, tempfile.TemporaryDirectory() as second:
        ours = await our_bot_numbers(Path(second))
        bare_cpu, bare_rss, bare_rate = await bare_bot_numbers(
            Path(first), ours["text"], ours["markup"]
        )
    with tempfile.TemporaryDirectory() as third:
        ceiling = await ceiling_numbers(Path(third))
    cpu_ratio = ours["cpu"] / bare_cpu
    rss_ratio = ours["rss"] / bare_rss
    rows = [
        (
            "CPU per browse update",
            f"{ours['cpu'] * 1000:.2f} ms vs bare {bare_cpu * 1000:.2f} ms",
            f"x{cpu_ratio:.2f}",
            cpu_ratio <= 1.05,
        ),
        (
            "memory (RSS)",
            f"{ours['rss'] / 1024:.0f} MiB vs bare {bare_rss / 1024:.0f} MiB",
            f"x{rss_ratio:.2f}",
            rss_ratio <= 1.5,
        ),
        (
            "memory after selling (RSS)",
            f"{ours['rss_after_orders'] / 1024:.0f} MiB",
            f"x{ours['rss_after_orders'] / bare_rss:.2f}",
            ours["rss_after_orders"] <= 1.5 * bare_rss,
        ),
        (
            "reseller calls while browsing",
            f"{ours['browse_reseller_calls']:.0f}",
            "",
            ours["browse_reseller_calls"] == 0,
        ),
        (
            "payment -> QR photo p50",
            f"{ours['p50_ms']:.1f} ms (p90 {ours['p90_ms']:.1f} ms)",
            "",
            ours["p50_ms"] <= 30,
        ),
        (
            "reseller calls per order",
            f"{ours['calls_per_order']:.2f}",
            "",
            ours["calls_per_order"] <= 1.0,
        ),
        (
            "browsing throughput",
            f"{ours['throughput']:.0f}/s vs bare {bare_rate:.0f}/s",
            f"x{ours['throughput'] / bare_rate:.2f}",
            ours["throughput"] >= bare_rate,
        ),
        *ceiling_rows(ceiling),
    ]
    for name, value, ratio, ok in rows:
        print(f"{'PASS' if ok else 'MISS'}  {name:32} {value:40} {ratio}")
    return 0


def ceiling_rows(ceiling: dict[str, float]) -> list[tuple[str, str, str, bool]]:
    return [
        (
            "ceiling: payment -> QR photo p50",
            f"{ceiling['pay_p50_ms']:.1f} ms (p90 {ceiling['pay_p90_ms']:.1f} ms)",
            "",
            ceiling["pay_p50_ms"] <= 30,
        ),
        (
            "ceiling: newcomer's first answer",
            f"{ceiling['newcomer_p50_ms']:.1f} ms p50 (max {ceiling['newcomer_max_ms']:.1f})",
            "",
            ceiling["newcomer_p50_ms"] <= 10,
        ),
        (
            "ceiling: Telegram 429s",
            f"{ceiling['too_many_requests']:.0f} "
            f"(browsing {ceiling['browse_per_second']:.0f} answers/s)",
            "",
            ceiling["too_many_requests"] == 0,
        ),
    ]


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
