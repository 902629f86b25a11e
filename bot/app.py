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
from telegram import LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.ext import ApplicationBuilder, ContextTypes, Defaults, TypeHandler

from bot.alerts import Alerts
from bot.asgi_server import BackgroundServer
from bot.background_pace import Pace
from bot.broadcasts import Broadcasts
from bot.catalog import CatalogService
from bot.customers import Customers
from bot.esim_records import EsimRecords
from bot.events import ResellerEvent
from bot.http_limits import LISTENER_LIMITS
from bot.i18n import DEFAULT_LANGUAGE, t
from bot.in_process import in_process
from bot.jobs import schedule_jobs
from bot.listener import ListenerHooks, create_listener
from bot.metrics import CountingRequest, Metrics, TimedApplication, metrics_route, render
from bot.orders import Orders
from bot.pikasim import PikaSimClient, RequestBudget
from bot.pikasim import Priority as ResellerPriority
from bot.reach import Reach
from bot.services import Services
from bot.settings import Settings
from bot.standby import LeaderLockLost, Leadership, StandbyGate
from bot.telegram_limiter import (
    PriorityRateLimiter,
    set_update_priority,
)
from bot.telegram_webhook import TelegramWebhook
from bot.wallet import Wallet
from handlers.context import BotApp, BotContext
from storage import Storage

__all__ = ["build_application", "open_services", "run", "serve"]

log = logging.getLogger(__name__)

EMBEDDED_BOT_URL = "http://bot.embedded"
PRIORITY_GROUP = -10  # before every handler group of handlers/ (the lowest there is -4)
SANDBOX_BASE_URL = "http://sandbox.embedded/api/v1/reseller"


@contextlib.asynccontextmanager
async def open_services(
    settings: Settings, application: BotApp, metrics: Metrics
) -> AsyncIterator[Services]:
    """Open storage and the reseller client (the embedded sandbox when no key is set), and make
    the parts that send messages with the application's bot."""
    from handlers.delivery import Notifier

    bot = application.bot
    languages: dict[int, str] = {}  # user id -> chosen language, loaded at start
    storage = Storage(settings.database)
    await storage.open()
    http, sandbox = _reseller_http(settings)
    reseller = PikaSimClient(
        http,
        api_key=settings.reseller_api_key,
        base_url=SANDBOX_BASE_URL if sandbox is not None else settings.pikasim_api_url,
        budget=_budget(settings.pikasim_rate_limit),
    )
    reach = Reach(storage)
    alerts = Alerts(settings.admin_ids, bot, secrets=settings.secrets)
    catalog = CatalogService(storage, reseller, refresh_hours=settings.catalog_sync_hours)
    wallet = Wallet(reseller, alerts, settings.low_balance_cents)
    delivery = Notifier(bot, reach)
    pace = Pace()  # broadcasts and care notices share half of Telegram's rate
    broadcasts = Broadcasts(
        storage,
        bot,
        reach,
        pace,
        spawn=application.create_task,
        running=lambda: application.running,
    )
    orders = Orders(
        settings,
        storage,
        reseller,
        alerts,
        wallet,
        bot=bot,
        delivery=delivery,
        spawn=application.create_task,
    )
    services = Services(
        settings=settings,
        storage=storage,
        reseller=reseller,
        catalog=catalog,
        orders=orders,
        alerts=alerts,
        wallet=wallet,
        esims=EsimRecords(storage),
        reach=reach,
        customers=Customers(storage, languages),
        broadcasts=broadcasts,
        pace=pace,
        languages=languages,
        sandbox=sandbox,
        metrics=metrics,
    )
    application.bot_data["services"] = services
    try:
        yield services
    finally:
        await http.aclose()
        await storage.close()


def _running(application: BotApp) -> Callable[[], bool]:
    return lambda: application.running


# A customer waiting for the reseller hears "busy, try again" after this long.
CUSTOMER_WAIT_SECONDS = 5.0


def _budget(limit: int) -> RequestBudget:
    # A sixth of every minute is kept for placing paid orders, whatever customers tap.
    return RequestBudget(
        limit=limit,
        window=60.0,
        order_reserve=limit // 6,
        max_wait={ResellerPriority.CUSTOMER: CUSTOMER_WAIT_SECONDS},
    )


def _reseller_http(settings: Settings) -> tuple[httpx.AsyncClient, Any]:
    if not settings.uses_sandbox:
        return httpx.AsyncClient(follow_redirects=False), None
    from emulators.pikasim import SandboxConfig, create_app

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


def build_application(settings: Settings, metrics: Metrics) -> TimedApplication:
    """The Telegram application, before any service exists (they are made with its bot)."""
    builder: Any = (  # Any: rate_limiter() changes the builder's type parameters
        ApplicationBuilder()
        .token(settings.telegram_bot_token.get_secret_value())
        .base_url(settings.telegram_api_url)
        .base_file_url(settings.telegram_api_url.replace("/bot", "/file/bot"))
    )
    concurrent = 8
    if settings.telegram_rate_limit:  # 0: no limiter at all
        builder = builder.rate_limiter(PriorityRateLimiter(settings.telegram_rate_limit))
        # Handlers waiting for the wire must not hold the slots a payment needs to start.
        concurrent = 64
    application: TimedApplication = (
        builder.concurrent_updates(concurrent)
        .application_class(TimedApplication)
        .request(CountingRequest(metrics, connection_pool_size=256))
        .get_updates_request(CountingRequest(metrics, connection_pool_size=1))
        .context_types(ContextTypes(context=BotContext))
        # Every text the bot sends is HTML, never with a link preview (alerts opt out).
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        )
        .build()
    )
    application.metrics = metrics
    return application


def _register_handlers(application: BotApp, settings: Settings) -> None:
    from handlers import register_handlers

    if settings.telegram_rate_limit:  # first of all, so what the handlers send inherits it
        # A group of its own: within a group only the first handler that matches runs.
        application.add_handler(TypeHandler(object, set_update_priority), group=PRIORITY_GROUP)
    register_handlers(application)


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
    metrics = Metrics()
    application = build_application(settings, metrics)
    leadership = Leadership(
        settings.database_url.get_secret_value() if settings.database_url is not None else None
    )
    async with open_services(settings, application, metrics) as services:
        _register_handlers(application, settings)
        webhook = TelegramWebhook.from_settings(settings)  # None: the bot polls
        routes = [*extra_routes, *_operations_routes(services, application, webhook)]
        listener = create_listener(_listener_hooks(services, application, leadership), routes)
        if services.sandbox is not None:
            # Marked in-process: the public route refuses sandbox webhooks from the network.
            transport = httpx.ASGITransport(app=in_process(listener))
            services.sandbox.config.webhook_transport = transport
        server = BackgroundServer(
            StandbyGate(listener, leadership),
            settings.http_host,
            settings.http_port,
            limits=LISTENER_LIMITS,
        )
        await server.start()
        log.info("HTTP listener on %s:%d", settings.http_host, server.port)
        try:
            if await leadership.acquire(stop):  # at once, but for a standby
                leadership.watch(on_lost=stop.set)
                await _run_bot(application, services, webhook, stop, on_ready, server)
        finally:
            await services.catalog.close()
            await server.stop()
            await leadership.release()
    if leadership.lost:
        raise LeaderLockLost("lost the leader lock's connection: stopped to leave room for one")
    log.info("stopped")


async def _run_bot(
    application: BotApp,
    services: Services,
    webhook: TelegramWebhook | None,
    stop: asyncio.Event,
    on_ready: Callable[[Services, BackgroundServer], None] | None,
    server: BackgroundServer,
) -> None:
    async with application:
        await _start_bot(application, services, webhook)
        if on_ready is not None:
            on_ready(services, server)
        await stop.wait()
        log.info("stopping")
        services.ready = False
        await services.catalog.close()  # a first sync may still be retrying
        if application.updater is not None and application.updater.running:
            await application.updater.stop()
        await services.orders.shutdown()
        await application.stop()


async def _start_bot(
    application: BotApp, services: Services, webhook: TelegramWebhook | None
) -> None:
    from handlers import on_startup

    await on_startup(application)
    services.languages.update(await services.storage.users.languages())  # one map, shared
    await services.reach.load()
    await services.orders.register_webhook(EMBEDDED_BOT_URL)
    if webhook is not None:
        await webhook.register(application)
    else:  # polling deletes any webhook left from before; never drops pending updates
        await application.updater.start_polling(  # type: ignore[union-attr]
            drop_pending_updates=False, allowed_updates=Update.ALL_TYPES, timeout=10
        )
    await application.start()
    schedule_jobs(application, services)
    services.ready = True
    mode = "the embedded SANDBOX reseller (no PIKASIM_API_KEY)" if services.sandbox else "PikaSim"
    log.info("bot started as @%s, selling through %s", application.bot.username, mode)
    if services.sandbox is not None:
        await services.alerts.send("sandbox-mode", t(DEFAULT_LANGUAGE, "admin.sandbox_mode"))


def _operations_routes(
    services: Services, application: BotApp, webhook: TelegramWebhook | None
) -> list[BaseRoute]:
    """Telegram's webhook (when TELEGRAM_WEBHOOK_URL is set) and /metrics (with a token)."""
    routes: list[BaseRoute] = []
    if webhook is not None:
        routes.append(webhook.route(application, services.metrics.count_webhook))
    token = services.settings.metrics_token
    if token is not None:
        routes.append(metrics_route(token.get_secret_value(), lambda: render(services)))
    return routes


def _listener_hooks(
    services: Services, application: BotApp, leadership: Leadership
) -> ListenerHooks:
    async def health() -> dict[str, Any] | None:
        if leadership.standby:
            standby_ok = await services.storage.db.ping()
            return {
                "status": "standby" if standby_ok else "degraded",
                "role": "standby",
                "database": "ok" if standby_ok else "error",
            }
        if not services.ready:
            return None
        database_ok = await services.storage.db.ping()
        catalog = services.catalog.state  # "loading" until the first sync, "failed" if it did
        status = "ok" if database_ok and catalog == "ok" else "degraded"
        return {
            "status": "starting" if database_ok and catalog == "loading" else status,
            "role": "active",
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

    hooks = ListenerHooks(
        webhook_secret=services.settings.webhook_secret,
        health=health,
        store_event=services.storage.webhook_events.store,
        enqueue_event=enqueue,
        on_bad_signature=bad_signature,
        in_process_only=services.sandbox is not None,
        count_webhook=services.metrics.count_webhook,
    )
    return hooks
