"""The catalog cache: synced when stale, served from memory, never a reseller call to browse."""

from __future__ import annotations

from pathlib import Path

from bot.catalog import CatalogIndex
from emulators.telegram import FakeTelegram
from tests.rig import RunningSandbox, bot_settings, running_bot


def catalog_requests(sandbox: RunningSandbox) -> int:
    return sum(1 for r in sandbox.state.requests if r.path.endswith("/packages"))


async def test_catalog_is_synced_once_then_served_from_the_cache(
    tmp_path: Path, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    settings = bot_settings(tmp_path, tg, sandbox)
    async with running_bot(settings) as bot:
        index = bot.services.catalog.index
        assert len(index) >= 300
        assert len(index.countries()) >= 60
        assert index.global_plans(), "no global plans"
        assert index.regions(), "no regional plans"
        assert index.covering("FR"), "France is in no regional plan"
    synced = catalog_requests(sandbox)
    assert synced >= 2  # paged at 200 plans a request

    async with running_bot(settings) as bot:  # a fresh cache: no sync at start
        alice = tg.user(1001, "Alice")
        before = len(sandbox.state.requests)
        for text in ("Japan", "france", "USA", "UAE"):
            await alice.send_text(text)
            reply = await alice.wait_for_message(lambda m: bool(alice.buttons(m)))
            await alice.tap(alice.buttons(reply)[0][0], reply)
        browsing_requests = sandbox.state.requests[before:]
        assert [r.path for r in browsing_requests if "/packages" in r.path] == []
        assert len(bot.services.catalog.index) == len(index)
    assert catalog_requests(sandbox) == synced


async def test_a_failed_sync_keeps_the_cached_catalog(
    tmp_path: Path, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    async with running_bot(bot_settings(tmp_path, tg, sandbox)) as bot:
        size = bot.services.catalog.size
        sandbox.state.fail_for(5.0, status=503)
        assert await bot.services.catalog.refresh() is False
        assert bot.services.catalog.size == size


def test_index_groups_plans_by_country_region_and_global() -> None:
    from storage import Plan

    def plan(code: str, scope: str, location: str, countries: tuple[str, ...]) -> Plan:
        return Plan(code, code, scope, location, None, countries, 1024**3, 7, 500, True, True)

    index = CatalogIndex(
        [
            plan("JP1", "country", "JP", ("JP",)),
            plan("EU1", "region", "EU", ("FR", "DE")),
            plan("GL1", "global", "GL", ("JP", "FR", "US")),
        ]
    )
    assert [p.code for p in index.country_plans("JP")] == ["JP1"]
    assert [p.code for p in index.covering("FR")] == ["EU1", "GL1"]
    assert [p.code for p in index.region_plans("EU")] == ["EU1"]
    assert index.countries() == ["DE", "FR", "JP", "US"]
