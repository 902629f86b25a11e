"""Start-up and wiring: one process running the Telegram bot and the HTTP listener."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import signal
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import httpx
from starlette.routing import BaseRoute
from telegram import Update
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, ContextTypes

from bot.alerts import Alerts
from bot.asgi_server import BackgroundServer
from bot.catalog import CatalogService
from bot.events import ResellerEvent
from bot.http_limits import LISTENER_LIMITS
from bot.i18n import DEFAULT_LANGUAGE, t
from bot.in_process import in_process
from bot.listener import ListenerHooks, create_listener
from bot.orders import Orders
from bot.pikasim import PikaSimClient, Priority, RequestBudget
from bot.services import Services
from bot.settings import Settings
from bot.upkeep import Upkeep
from bot.wallet import Wallet
from storage import Storage

__all__ = ["build_application", "open_services", "run", "serve"]

log = logging.getLogger(__name__)

EMBEDDED_BOT_URL = "http://bot.embedded"
SANDBOX_BASE_URL = "http://sandbox.embedded/api/v1/reseller"


@contextlib.asynccontextmanager
async def open_services(settings: Settings) -> AsyncIterator[Services]:
    """Open storage and the reseller client (the embedded sandbox when no key is set)."""
    storage = Storage(settings.database_path)
    await storage.open()
    http, sandbox = _reseller_http(settings)
    reseller = PikaSimClient(
        http,
        api_key=settings.reseller_api_key,
        base_url=SANDBOX_BASE_URL if sandbox is not None else settings.pikasim_api_url,
        budget=_budget(settings.pikasim_rate_limit),
    )
    alerts = Alerts(settings.admin_ids, secrets=settings.secrets)
    catalog = CatalogService(storage, reseller, refresh_hours=settings.catalog_sync_hours)
    wallet = Wallet(reseller, alerts, settings.low_balance_cents)
    orders = Orders(settings, storage, reseller, alerts, wallet)
    services = Services(
        settings=settings,
        storage=storage,
        reseller=reseller,
        catalog=catalog,
        orders=orders,
        alerts=alerts,
        wallet=wallet,
        sandbox=sandbox,
    )
    try:
        yield services
    finally:
        await http.aclose()
        await storage.close()


# A customer waiting for the reseller hears "busy, try again" after this long.
CUSTOMER_WAIT_SECONDS = 5.0


def _budget(limit: int) -> RequestBudget:
    # A sixth of every minute is kept for placing paid orders, whatever customers tap.
    return RequestBudget(
        limit=limit,
        window=60.0,
        order_reserve=limit // 6,
        max_wait={Priority.CUSTOMER: CUSTOMER_WAIT_SECONDS},
    )


def _reseller_http(settings: Settings) -> tuple[httpx.AsyncClient, Any]:
    if not settings.uses_sandbox:
        return httpx.AsyncClient(follow_redirects=False), None
    from bot.sandbox import SandboxConfig, create_app

    # The sandbox's webhooks reach our listener in-process; the transport is set in run().
    sandbox_app = create_app(
        SandboxConfig(
            api_key=settings.reseller_api_key,
            webhook_secret=settings.webhook_secret,
            provisioning_delay=settings.sandbox_provisioning_delay,
            rate_limit=settings.pikasim_rate_limit,
            # Its state lives in memory, our database on disk: fresh ids after every restart.
            id_seed=secrets.randbits(64),
        )
    )
    transport = httpx.ASGITransport(app=sandbox_app)
    return httpx.AsyncClient(transport=transport, follow_redirects=False), sandbox_app.state.sandbox


def build_application(services: Services) -> Application[Any, Any, Any, Any, Any, Any]:
    from handlers import register_handlers
    from handlers.delivery import Notifier

    settings = services.settings
    application = (
        ApplicationBuilder()
        .token(settings.telegram_bot_token.get_secret_value())
        .base_url(settings.telegram_api_url)
        .base_file_url(settings.telegram_api_url.replace("/bot", "/file/bot"))
        .rate_limiter(AIORateLimiter(max_retries=3))
        .concurrent_updates(8)
        .build()
    )
    application.bot_data["services"] = services
    services.alerts.bot = application.bot
    # Application tasks are awaited on stop(), so work in flight finishes cleanly.
    services.orders.connect(application.bot, Notifier(application.bot), application.create_task)
    register_handlers(application)
    return application


async def run(settings: Settings) -> None:
    """Run until SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await serve(settings, stop)


async def serve(
    settings: Settings,
    stop: asyncio.Event,
    on_ready: Callable[[Services, BackgroundServer], None] | None = None,
    extra_routes: Sequence[BaseRoute] = (),
) -> None:
    """Run the bot and the listener until ``stop`` is set, then shut down in reverse order.

    ``extra_routes`` are served by the listener too (the playground's page).
    """
    async with open_services(settings) as services:
        application = build_application(services)
        listener = create_listener(_listener_hooks(services, application), extra_routes)
        if services.sandbox is not None:
            # Marked in-process: the public route refuses sandbox webhooks from the network.
            transport = httpx.ASGITransport(app=in_process(listener))
            services.sandbox.config.webhook_transport = transport
        server = BackgroundServer(
            listener, settings.http_host, settings.http_port, limits=LISTENER_LIMITS
        )
        await server.start()
        log.info("HTTP listener on %s:%d", settings.http_host, server.port)
        try:
            async with application:
                await _start_bot(application, services)
                if on_ready is not None:
                    on_ready(services, server)
                await stop.wait()
                log.info("stopping")
                services.ready = False
                await services.catalog.close()  # a first sync may still be retrying
                await application.updater.stop()  # type: ignore[union-attr]
                await services.orders.shutdown()
                await application.stop()
        finally:
            await services.catalog.close()
            await server.stop()
    log.info("stopped")


async def _start_bot(
    application: Application[Any, Any, Any, Any, Any, Any], services: Services
) -> None:
    from handlers import on_startup

    await on_startup(application)
    services.languages = await services.storage.users.languages()
    await services.orders.register_webhook(EMBEDDED_BOT_URL)
    # Never drop pending updates: they may hold a successful_payment.
    await application.updater.start_polling(  # type: ignore[union-attr]
        drop_pending_updates=False, allowed_updates=Update.ALL_TYPES, timeout=10
    )
    await application.start()
    _schedule_jobs(application, services)
    services.ready = True
    mode = "the embedded SANDBOX reseller (no PIKASIM_API_KEY)" if services.sandbox else "PikaSim"
    log.info("bot started as @%s, selling through %s", application.bot.username, mode)
    if services.sandbox is not None:
        await services.alerts.send("sandbox-mode", t(DEFAULT_LANGUAGE, "admin.sandbox_mode"))


def _schedule_jobs(
    application: Application[Any, Any, Any, Any, Any, Any], services: Services
) -> None:
    jobs = application.job_queue
    assert jobs is not None
    settings = services.settings

    async def reconcile(context: ContextTypes.DEFAULT_TYPE) -> None:
        await services.orders.reconcile()

    async def sync_catalog(context: ContextTypes.DEFAULT_TYPE) -> None:
        await services.catalog.refresh_if_stale()

    async def check_wallet(context: ContextTypes.DEFAULT_TYPE) -> None:
        await services.wallet.refresh()
        await services.wallet.alert_if_low()

    async def check_books(context: ContextTypes.DEFAULT_TYPE) -> None:
        await services.orders.books.check_daily()

    async def alert_digest(context: ContextTypes.DEFAULT_TYPE) -> None:
        await services.alerts.send_digest()

    upkeep = Upkeep(services.storage, settings.retention_days, settings.audit_log_keep)

    async def daily_upkeep(context: ContextTypes.DEFAULT_TYPE) -> None:
        await upkeep.run()

    async def at_start() -> None:
        # Finish what the last run left half-done, off the start path.
        await services.orders.reconcile()
        await services.wallet.refresh()
        await services.wallet.alert_if_low()

    # The first catalog sync retries on its own until the shop has something to sell.
    services.catalog.start()
    application.create_task(at_start(), name="start-up checks")
    interval = settings.reconcile_seconds
    jobs.run_repeating(sync_catalog, interval=600, first=600, name="catalog-sync")
    jobs.run_repeating(check_wallet, interval=300, first=300, name="wallet")
    jobs.run_repeating(reconcile, interval=interval, first=interval, name="reconcile")
    jobs.run_repeating(check_books, interval=86400, first=3600, name="books")
    jobs.run_repeating(alert_digest, interval=600, first=600, name="alert-digest")
    jobs.run_repeating(daily_upkeep, interval=86400, first=60, name="upkeep")


def _listener_hooks(
    services: Services, application: Application[Any, Any, Any, Any, Any, Any]
) -> ListenerHooks:
    async def health() -> dict[str, Any] | None:
        if not services.ready:
            return None
        database_ok = await services.storage.db.ping()
        catalog = services.catalog.state  # "loading" until the first sync, "failed" if it did
        status = "ok" if database_ok and catalog == "ok" else "degraded"
        return {
            "status": "starting" if database_ok and catalog == "loading" else status,
            "database": "ok" if database_ok else "error",
            "catalog": catalog,
            "telegram": "ok" if application.running else "stopped",
            "reseller": "sandbox" if services.sandbox is not None else "pikasim",
            "catalog_plans": services.catalog.size,
        }

    async def enqueue(event_id: int) -> None:
        await application.update_queue.put(ResellerEvent(event_id))

    async def bad_signature(client: str) -> None:
        await services.alerts.send(
            "webhook-bad-signature",
            f"A reseller webhook with a bad signature was rejected (from {client}).",
        )

    return ListenerHooks(
        webhook_secret=services.settings.webhook_secret,
        health=health,
        store_event=services.storage.webhook_events.store,
        enqueue_event=enqueue,
        on_bad_signature=bad_signature,
        in_process_only=services.sandbox is not None,
    )
