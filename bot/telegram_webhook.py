"""Telegram webhook mode: with TELEGRAM_WEBHOOK_URL set, updates arrive on the HTTP listener.

At start the bot calls ``setWebhook`` with a ``secret_token`` (TELEGRAM_WEBHOOK_SECRET, or a
random one per start) and never drops pending updates. Each POST is checked against that
token in constant time and answered 200 only once the update is in the application's queue,
so Telegram keeps (and retries) anything we did not take. An update answered 200 but lost in a
crash before its handler committed is still found: a payment by the reconciler, in Telegram's
Stars ledger.
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from telegram import Update

from bot.app_types import BotApp
from bot.settings import Settings

__all__ = ["DEFAULT_PATH", "TelegramWebhook"]

log = logging.getLogger(__name__)

DEFAULT_PATH = "/webhooks/telegram"
MAX_UPDATE_BYTES = 1024 * 1024


@dataclass(frozen=True)
class TelegramWebhook:
    url: str
    secret: str

    @classmethod
    def from_settings(cls, settings: Settings) -> TelegramWebhook | None:
        if settings.telegram_webhook_url is None:
            return None
        configured = settings.telegram_webhook_secret
        secret = configured.get_secret_value() if configured else secrets.token_urlsafe(32)
        return cls(settings.telegram_webhook_url, secret)

    @property
    def path(self) -> str:
        """Where the listener takes the POSTs: the URL's path (the proxy forwards it as is)."""
        path = urlsplit(self.url).path
        return path if path not in ("", "/") else DEFAULT_PATH

    async def register(self, application: BotApp) -> None:
        # Never drop pending updates: they may hold a successful_payment.
        await application.bot.set_webhook(
            self.url,
            secret_token=self.secret,
            allowed_updates=Update.ALL_TYPES,
            drop_pending_updates=False,
        )
        log.info("receiving Telegram updates by webhook at %s", self.url)

    def route(
        self,
        application: BotApp,
        count: Callable[[str, str], None],
    ) -> Route:
        expected = self.secret.encode()

        async def endpoint(request: Request) -> Response:
            given = request.headers.get("x-telegram-bot-api-secret-token", "").encode()
            if not hmac.compare_digest(given, expected):
                client = request.client.host if request.client else "unknown"
                log.warning("refused a Telegram webhook with a wrong secret token from %s", client)
                count("telegram", "bad_secret")
                return JSONResponse({"ok": False, "error": "wrong secret token"}, 403)
            update = await _read_update(request, application)
            if update is None:
                count("telegram", "malformed")
                return JSONResponse({"ok": False, "error": "not an update"}, 400)
            # Answer only once it is queued: a 200 means "ours now", so Telegram forgets it.
            await application.update_queue.put(update)
            count("telegram", "accepted")
            return Response(status_code=200)

        return Route(self.path, endpoint, methods=["POST"])


async def _read_update(request: Request, application: BotApp) -> Update | None:
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_UPDATE_BYTES:
            return None
    try:
        data = json.loads(body)
        update = Update.de_json(data, application.bot) if isinstance(data, dict) else None
    except (ValueError, TypeError, KeyError):
        return None
    return update if update is not None and update.update_id is not None else None
