"""The playground's HTTP routes: the page, its assets, the chat actions, live updates (SSE)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from importlib import resources
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from playground.session import ActionError, Playground

__all__ = ["routes"]

_ASSETS = {
    "index.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "render.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
}
_MAX_BODY = 16 * 1024
Endpoint = Callable[[Request], Awaitable[Response]]


def _asset(name: str) -> Response:
    body = resources.files("playground").joinpath("static", name).read_bytes()
    return Response(body, media_type=_ASSETS[name], headers={"Cache-Control": "no-cache"})


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if len(raw) > _MAX_BODY:
        raise ActionError("That request is too large.")
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        raise ActionError("That request is not JSON.") from None
    if not isinstance(body, dict):
        raise ActionError("That request is not a JSON object.")
    return body


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ActionError("A message id must be a number.")
    return value


def _guarded(action: Callable[[Request], Awaitable[Response]]) -> Endpoint:
    async def endpoint(request: Request) -> Response:
        try:
            return await action(request)
        except ActionError as error:
            return JSONResponse({"ok": False, "error": str(error)}, status_code=400)

    return endpoint


def routes(playground: Playground) -> list[BaseRoute]:
    async def page(request: Request) -> Response:
        return _asset("index.html")

    async def asset(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in _ASSETS:
            return JSONResponse({"ok": False, "error": "not found"}, status_code=404)
        return _asset(name)

    async def people(request: Request) -> Response:
        bot = playground.emulator.bot_user
        cast = [person.as_json() for person in playground.people.values()]
        return JSONResponse({"ok": True, "bot": bot, "people": cast})

    async def events(request: Request) -> Response:
        person = playground.person(request.query_params.get("user"))

        async def stream() -> AsyncIterator[str]:
            yield "retry: 1000\n\n"
            # Starlette cancels this generator when the browser goes away.
            async for chat in playground.chat_updates(person):
                yield f"data: {json.dumps(chat, ensure_ascii=False)}\n\n"

        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)

    async def chat(request: Request) -> Response:
        return JSONResponse(playground.chat(playground.person(request.query_params.get("user"))))

    async def send(request: Request) -> Response:
        body = await _body(request)
        await playground.send(playground.person(body.get("user")), str(body.get("text") or ""))
        return JSONResponse({"ok": True})

    async def tap(request: Request) -> Response:
        body = await _body(request)
        person = playground.person(body.get("user"))
        toast = await playground.tap(person, _int(body.get("message")), str(body.get("data")))
        return JSONResponse({"ok": True, "toast": toast})

    async def pay(request: Request) -> Response:
        body = await _body(request)
        await playground.pay(playground.person(body.get("user")), _int(body.get("message")))
        return JSONResponse({"ok": True})

    async def file(request: Request) -> Response:
        found = playground.file(request.path_params["file_id"])
        if found is None:
            return JSONResponse({"ok": False, "error": "not found"}, status_code=404)
        data, mime = found
        return Response(data, media_type=mime, headers={"Cache-Control": "max-age=3600"})

    async def sandbox(request: Request) -> Response:
        return JSONResponse({"ok": True, **playground.sandbox_state()})

    async def sandbox_action(request: Request) -> Response:
        body = await _body(request)
        iccid = body.get("iccid")
        playground.sandbox_action(str(body.get("action")), str(iccid) if iccid else None)
        return JSONResponse({"ok": True, **playground.sandbox_state()})

    return [
        Route("/", page, methods=["GET"]),
        Route("/playground/static/{name}", asset, methods=["GET"]),
        Route("/playground/api/people", people, methods=["GET"]),
        Route("/playground/api/events", _guarded(events), methods=["GET"]),
        Route("/playground/api/chat", _guarded(chat), methods=["GET"]),
        Route("/playground/api/send", _guarded(send), methods=["POST"]),
        Route("/playground/api/tap", _guarded(tap), methods=["POST"]),
        Route("/playground/api/pay", _guarded(pay), methods=["POST"]),
        Route("/playground/files/{file_id}", file, methods=["GET"]),
        Route("/playground/api/sandbox", _guarded(sandbox), methods=["GET"]),
        Route("/playground/api/sandbox", _guarded(sandbox_action), methods=["POST"]),
    ]
