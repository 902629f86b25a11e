"""The bot's timed work: reconciling, catalog sync, wallet, books, alert digest, upkeep, backups
and after-sale care."""

from __future__ import annotations

import logging

from bot.services import Services
from bot.telegram_limiter import (
    Priority,
    telegram_priority,
)
from bot.upkeep import Upkeep
from handlers.context import BotApp, BotContext

log = logging.getLogger("bot.jobs")


def schedule_jobs(application: BotApp, services: Services) -> None:
    jobs = application.job_queue
    assert jobs is not None
    settings = services.settings

    async def reconcile(context: BotContext) -> None:
        with telegram_priority(Priority.PAYMENT):  # it delivers eSIMs and refunds
            await services.orders.reconcile()
        services.metrics.reconciled()

    async def sync_catalog(context: BotContext) -> None:
        await services.catalog.refresh_if_stale()

    async def check_wallet(context: BotContext) -> None:
        await services.wallet.refresh()
        await services.wallet.alert_if_low()

    async def check_books(context: BotContext) -> None:
        await services.orders.books.check_daily()

    async def alert_digest(context: BotContext) -> None:
        await services.alerts.send_digest()

    upkeep = Upkeep(services.storage, settings.retention_days, settings.audit_log_keep)

    async def daily_upkeep(context: BotContext) -> None:
        await upkeep.run()

    async def at_start() -> None:
        # Finish what the last run left half-done, off the start path.
        with telegram_priority(Priority.PAYMENT):
            await services.orders.reconcile()
        services.metrics.reconciled()
        await services.wallet.refresh()
        await services.wallet.alert_if_low()

    # The first catalog sync retries on its own until the shop has something to sell.
    services.catalog.start()
    application.create_task(at_start(), name="start-up checks")
    if settings.backup_dir is not None:
        _schedule_backups(application, services)
    interval = settings.reconcile_seconds
    jobs.run_repeating(sync_catalog, interval=600, first=600, name="catalog-sync")
    jobs.run_repeating(check_wallet, interval=300, first=300, name="wallet")
    jobs.run_repeating(reconcile, interval=interval, first=interval, name="reconcile")
    jobs.run_repeating(check_books, interval=86400, first=3600, name="books")
    jobs.run_repeating(alert_digest, interval=600, first=600, name="alert-digest")
    jobs.run_repeating(daily_upkeep, interval=86400, first=60, name="upkeep")
    _schedule_care(application, services)


def _schedule_care(application: BotApp, services: Services) -> None:
    """After the sale: low-data alerts, expiry reminders, status changes (bot/care.py), and
    broadcasts a restart interrupted."""
    from bot.care import Care
    from handlers.care_notices import CareMessages

    notices = CareMessages(application.bot, services.reach, services.pace)
    care = Care(services.settings, services.storage, services.reseller, services.reach, notices)

    async def care_round(context: BotContext) -> None:
        await care.run_round(keep_going=lambda: application.running)

    interval = services.settings.care_interval_seconds
    assert application.job_queue is not None
    application.job_queue.run_repeating(care_round, interval=interval, first=interval, name="care")
    application.create_task(services.broadcasts.resume(), name="resume broadcasts")


def _schedule_backups(application: BotApp, services: Services) -> None:
    from bot.backup import DAY, POSTGRES_BACKUPS, daily_backup, next_backup_in

    settings = services.settings
    folder = settings.backup_dir
    assert folder is not None and application.job_queue is not None
    if settings.uses_postgres:
        log.warning("BACKUP_DIR is ignored: %s", POSTGRES_BACKUPS)
        return

    async def backup(context: BotContext) -> None:
        report = await daily_backup(settings.database_path, folder, settings.backup_keep)
        if report is None:
            await services.alerts.send("backup-failed", f"The daily backup to {folder} failed.")

    first = next_backup_in(folder)
    application.job_queue.run_repeating(backup, interval=DAY, first=first, name="backup")
