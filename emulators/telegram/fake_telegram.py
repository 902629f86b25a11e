"""A fake Telegram Bot API server that a real python-telegram-bot talks to over HTTP.

Point the bot at ``FakeTelegram.api_url`` (TELEGRAM_API_URL) and drive it as users would:
``user.send_command("/start")``, ``user.tap("Buy")``, ``user.pay_last_invoice()``. The server
answers like Telegram, including its error texts, so the bot's error handling is exercised too.
Everything runs in the caller's event loop; one instance serves one bot token.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.asgi_server import BackgroundServer
from emulators.telegram._api import BotApi
from emulators.telegram._flood import FloodControl
from emulators.telegram._state import (
    JSON,
    ChatState,
    Failure,
    RecordedCall,
    StarPayment,
    StarRefund,
    World,
)
from emulators.telegram._user import FakeUser, PaymentDeclined
from emulators.telegram._webhook import WebhookDelivery
from emulators.telegram._wire import (
    ApiError,
    UploadedFile,
    error_response,
    ok_response,
    read_request,
)

__all__ = [
    "FakeTelegram",
    "FakeUser",
    "PaymentDeclined",
    "RecordedCall",
    "StarPayment",
    "StarRefund",
]

logger = logging.getLogger(__name__)

_ALL_METHODS = ["GET", "POST"]


class FakeTelegram:
    """The Bot API for one bot token, plus the users who talk to that bot."""

    def __init__(
        self,
        token: str = "123456:TEST-TOKEN",
        bot_username: str = "esim_test_bot",
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        bot_first_name: str = "eSIM Test Bot",
        strict_html: bool = True,
        flood_control: FloodControl | None = None,
    ) -> None:
        self.token = token
        self.flood_control = flood_control  # None: no flood limits, answer everything
        self._world = World(token, bot_username, bot_first_name)
        self._api = BotApi(self._world, strict_html=strict_html)
        # Webhook mode: setWebhook makes the fake POST updates to the bot, with retries.
        self.webhook = WebhookDelivery(self._world)
        self._api.handlers["setwebhook"] = self.webhook.set_webhook
        self._api.handlers["getwebhookinfo"] = self.webhook.get_webhook_info
        self._users: dict[int, FakeUser] = {}
        self.app = Starlette(
            routes=[
                Route("/bot{token}/{method}", self._endpoint, methods=_ALL_METHODS),
                Route("/file/bot{token}/{file_path:path}", self._download, methods=["GET"]),
                Route("/{rest:path}", self._not_found, methods=_ALL_METHODS),
            ]
        )
        self._server = BackgroundServer(self.app, host, port)

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        self._world.closing = False
        await self._server.start()
        self.webhook.start()

    async def stop(self) -> None:
        # Long polls would otherwise hold uvicorn's graceful shutdown for their full timeout.
        self._world.closing = True
        self._world.updates.signal.notify()
        await self.webhook.stop()
        await self._server.stop()

    async def __aenter__(self) -> FakeTelegram:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        return self._server.url

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def api_url(self) -> str:
        """The bot's base_url / TELEGRAM_API_URL: requests go to ``{api_url}{token}/{method}``."""
        return f"{self._server.url}/bot"

    @property
    def file_url(self) -> str:
        """The bot's base_file_url: downloads go to ``{file_url}{token}/{file_path}``."""
        return f"{self._server.url}/file/bot"

    @property
    def bot_user(self) -> JSON:
        return dict(self._world.bot_user)

    # -- users -------------------------------------------------------------------------------

    def user(
        self,
        user_id: int = 1001,
        first_name: str = "Alice",
        language_code: str | None = "en",
        username: str | None = None,
    ) -> FakeUser:
        """The user with this id (created on first use); their private chat id is the user id."""
        if user_id in self._users:
            return self._users[user_id]
        profile: JSON = {"id": user_id, "is_bot": False, "first_name": first_name}
        chat: JSON = {"id": user_id, "type": "private", "first_name": first_name}
        if username:
            profile["username"] = chat["username"] = username
        if language_code:
            profile["language_code"] = language_code
        self._world.chats[user_id] = ChatState(user=profile, chat=chat)
        self._users[user_id] = FakeUser(self, self._world.chats[user_id])
        return self._users[user_id]

    def group(
        self, member: FakeUser, chat_id: int = -1001, title: str = "Trip", kind: str = "group"
    ) -> FakeUser:
        """``member`` writing in a group chat (``kind``: group, supergroup or channel) where
        the bot is present; the returned user acts and sees what the bot sent there."""
        if chat_id not in self._world.chats:
            chat: JSON = {"id": chat_id, "type": kind, "title": title}
            self._world.chats[chat_id] = ChatState(user=member.profile, chat=chat)
        return FakeUser(self, self._world.chats[chat_id])

    @property
    def users(self) -> list[FakeUser]:
        return list(self._users.values())

    # -- what the bot did --------------------------------------------------------------------

    @property
    def calls(self) -> list[RecordedCall]:
        return self._world.calls

    def calls_to(self, method: str) -> list[RecordedCall]:
        wanted = method.lower()
        return [call for call in self._world.calls if call.method.lower() == wanted]

    async def wait_for_call(
        self,
        method: str,
        predicate: Callable[[RecordedCall], bool] | None = None,
        timeout: float = 5.0,
        *,
        since: int = 0,
    ) -> RecordedCall:
        """The first answered call to ``method`` (from index ``since`` of ``calls``) matching
        ``predicate``; already recorded calls count, so there is no race with the bot.
        """
        wanted = method.lower()

        def find() -> RecordedCall | None:
            for call in self._world.calls[since:]:
                if call.method.lower() != wanted or call.ok is None:
                    continue
                if predicate is None or predicate(call):
                    return call
            return None

        found = await self._world.calls_changed.wait_for(find, timeout)
        if found is None:
            seen = [c.method for c in self._world.calls[since:]][-15:]
            raise TimeoutError(f"no matching {method} call within {timeout}s; recent calls: {seen}")
        return found

    # -- payments ----------------------------------------------------------------------------

    @property
    def star_transactions(self) -> list[StarPayment]:
        """Every Stars payment, including refunded ones (see ``StarPayment.refunded``)."""
        return self._world.payments

    @property
    def refunds(self) -> list[StarRefund]:
        return self._world.refunds

    def record_star_payment(self, user_id: int, amount: int, payload: str) -> str:
        """A paid Stars transaction the bot never heard of: no update, only the ledger entry."""
        self.user(user_id)
        return self._world.new_star_payment(user_id, amount, payload, delivered=False)

    # -- fault injection and raw updates -----------------------------------------------------

    def fail_next(
        self,
        method: str,
        error_code: int = 500,
        description: str = "Internal Server Error",
        count: int = 1,
        *,
        retry_after: int | None = None,
    ) -> None:
        """Make the next ``count`` calls to ``method`` fail with this error (429: use
        ``retry_after`` to add ``parameters.retry_after`` as Telegram's flood control does).
        """
        if retry_after is not None and description == "Internal Server Error":
            description = f"Too Many Requests: retry after {retry_after}"
        failure = Failure(error_code, description, retry_after)
        self._world.failures.setdefault(method.lower(), []).extend([failure] * count)

    def delay_next(self, method: str, seconds: float, count: int = 1) -> None:
        """Answer the next ``count`` calls to ``method`` only after ``seconds`` (a slow API)."""
        failure = Failure(None, "", None, seconds)
        self._world.failures.setdefault(method.lower(), []).extend([failure] * count)

    def push_update(self, kind: str, payload: JSON) -> JSON:
        """Queue any update for getUpdates, e.g. ``push_update("my_chat_member", {...})``."""
        return self._world.updates.push(kind, payload)

    @property
    def pending_updates(self) -> list[JSON]:
        return self._world.updates.snapshot()

    # -- HTTP --------------------------------------------------------------------------------

    async def _endpoint(self, request: Request) -> Response:
        token, method = request.path_params["token"], request.path_params["method"]
        if token != self.token:
            return _token_error(token)
        try:
            params, files = await read_request(request)
        except ApiError as err:
            return error_response(err)
        name = self._api.names.get(method.lower(), method)
        call = RecordedCall(name, params, {k: f.data for k, f in files.items()}, time.time())
        self._world.record_call(call)
        try:
            result = await self._dispatch(method.lower(), params, files)
        except ApiError as err:
            call.ok, call.error_code, call.description = False, err.error_code, err.description
            response = error_response(err)
        else:
            call.ok, call.result = True, result
            response = ok_response(result)
        self._world.calls_changed.notify()
        return response

    async def _dispatch(self, method: str, params: JSON, files: dict[str, UploadedFile]) -> Any:
        handler = self._api.handlers.get(method)
        if handler is None:
            raise ApiError(404, "Not Found")
        if self.flood_control is not None:
            retry_after = self.flood_control.check(method, params)
            if retry_after is not None:
                description = f"Too Many Requests: retry after {retry_after}"
                raise ApiError(429, description, {"retry_after": retry_after})
        queued = self._world.failures.get(method)
        failure = queued.pop(0) if queued else None
        if failure is not None:
            await asyncio.sleep(failure.delay)
            if failure.error_code is not None:
                extra = {"retry_after": failure.retry_after} if failure.retry_after else None
                raise ApiError(failure.error_code, failure.description, extra)
        try:
            return await handler(params, files)
        except ApiError:
            raise
        except Exception as exc:  # a bug in the fake must surface, not hang the bot
            logger.exception("fake Telegram failed on %s", method)
            raise ApiError(500, f"Internal Server Error: {exc!r}") from exc

    async def _download(self, request: Request) -> Response:
        if request.path_params["token"] != self.token:
            return _token_error(request.path_params["token"])
        path = request.path_params["file_path"]
        stored = next((f for f in self._world.files.values() if f.file_path == path), None)
        if stored is None or stored.data is None:
            return error_response(ApiError(404, "Not Found"))
        return Response(stored.data, media_type=stored.mime_type or "application/octet-stream")

    async def _not_found(self, request: Request) -> Response:
        return error_response(ApiError(404, "Not Found"))

    # -- used by FakeUser --------------------------------------------------------------------

    @property
    def world(self) -> World:
        return self._world


def _token_error(token: str) -> JSONResponse:
    # Telegram answers 404 to a malformed token and 401 to a well-formed but unknown one.
    if ":" not in token:
        return error_response(ApiError(404, "Not Found"))
    return error_response(ApiError(401, "Unauthorized"))
