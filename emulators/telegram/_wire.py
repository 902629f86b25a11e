"""How Bot API requests arrive and how errors leave: the HTTP edge of the fake server.

Bots send parameters as a query string, a urlencoded form, multipart (when a file is attached) or
JSON. Complex values (reply_markup, prices, ...) arrive JSON-encoded inside form fields, while
plain strings arrive raw, so decoding needs to know which fields are strings. python-multipart is
not a dependency of the project, so multipart bodies are split here instead of by Starlette.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import Message
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse

__all__ = [
    "ApiError",
    "UploadedFile",
    "bad_request",
    "decode_params",
    "error_response",
    "ok_response",
    "parse_multipart",
    "read_request",
]

# Fields whose values are plain strings even when they look like JSON ("42", "true", "[x]").
_STRING_FIELDS = frozenset(
    {
        "text", "caption", "parse_mode", "title", "description", "short_description", "payload",
        "provider_token", "currency", "start_parameter", "callback_query_id",
        "pre_checkout_query_id", "shipping_query_id", "inline_query_id",
        "telegram_payment_charge_id", "error_message", "url", "action", "photo", "document",
        "audio", "video", "animation", "voice", "sticker", "thumbnail", "file_id",
        "language_code", "business_connection_id", "provider_data", "photo_url",
        "inline_message_id", "name", "message_effect_id", "emoji", "secret_token", "ip_address",
        "question", "address", "first_name", "last_name", "phone_number", "game_short_name",
    }
)  # fmt: skip


class ApiError(Exception):
    """A Bot API failure: becomes ``{"ok": false, ...}`` with HTTP status ``error_code``."""

    def __init__(
        self, error_code: int, description: str, parameters: dict[str, Any] | None = None
    ) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.parameters = parameters

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.error_code,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(detail: str) -> ApiError:
    return ApiError(400, f"Bad Request: {detail}")


@dataclass(frozen=True)
class UploadedFile:
    data: bytes
    filename: str | None = None
    content_type: str | None = None


def ok_response(result: Any) -> JSONResponse:
    return JSONResponse({"ok": True, "result": result})


def error_response(error: ApiError) -> JSONResponse:
    return JSONResponse(error.payload(), status_code=error.error_code)


def _decode_value(name: str, value: Any) -> Any:
    if name in _STRING_FIELDS:
        # JSON bodies may carry ids as numbers; Telegram treats them as strings.
        is_number = isinstance(value, int | float) and not isinstance(value, bool)
        return str(value) if is_number else value
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value  # e.g. chat_id="@channel"


def decode_params(raw: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _decode_value(name, value) for name, value in raw.items()}


def _header_param(header: str, name: str, param: str) -> str | None:
    message = Message()
    message[name] = header
    value = message.get_param(param, header=name)
    if isinstance(value, tuple):  # RFC 2231 encoded value
        return str(value[2])
    return value if isinstance(value, str) else None


def parse_multipart(
    body: bytes, content_type: str
) -> tuple[dict[str, str], dict[str, UploadedFile]]:
    boundary = _header_param(content_type, "content-type", "boundary")
    if not boundary:
        raise bad_request("wrong multipart/form-data request: no boundary")
    fields: dict[str, str] = {}
    files: dict[str, UploadedFile] = {}
    # Prefixing CRLF lets every delimiter, including the first, be matched as "\r\n--boundary".
    for section in (b"\r\n" + body).split(b"\r\n--" + boundary.encode("latin-1"))[1:]:
        if section.startswith(b"--"):
            break
        head, _, content = section.partition(b"\r\n\r\n")
        headers = _parse_part_headers(head)
        disposition = headers.get("content-disposition", "")
        name = _header_param(disposition, "content-disposition", "name")
        if name is None:
            continue
        filename = _header_param(disposition, "content-disposition", "filename")
        if filename is None:
            fields[name] = content.decode("utf-8", errors="replace")
        else:
            files[name] = UploadedFile(content, filename, headers.get("content-type"))
    return fields, files


def _parse_part_headers(head: bytes) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in head.decode("utf-8", errors="replace").split("\r\n"):
        key, sep, value = line.partition(":")
        if sep:
            headers[key.strip().lower()] = value.strip()
    return headers


async def read_request(request: Request) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
    """All parameters of a Bot API call, decoded, plus the uploaded files by field name."""
    raw: dict[str, Any] = dict(request.query_params)
    files: dict[str, UploadedFile] = {}
    content_type = request.headers.get("content-type", "")
    body = await request.body()
    if body:
        kind = content_type.split(";")[0].strip().lower()
        if kind == "application/json":
            try:
                loaded = json.loads(body)
            except ValueError as exc:
                raise bad_request("can't parse JSON object") from exc
            if not isinstance(loaded, dict):
                raise bad_request("JSON object expected")
            raw.update(loaded)
        elif kind == "multipart/form-data":
            fields, files = parse_multipart(body, content_type)
            raw.update(fields)
        else:
            raw.update(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))
    return decode_params(raw), files
