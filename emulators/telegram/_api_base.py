"""What every group of Bot API methods shares: the world, chats, messages and the checks on them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from emulators.telegram._messages import (
    format_text,
    inline_markup,
    normalize,
)
from emulators.telegram._state import (
    JSON,
    ChatState,
    World,
)
from emulators.telegram._wire import ApiError, UploadedFile, bad_request

__all__ = ["QUERY_INVALID", "UPDATES_LIMIT", "ApiBase", "Handler", "int_param", "str_param"]

Handler = Callable[[JSON, dict[str, UploadedFile]], Awaitable[Any]]

QUERY_INVALID = "query is too old and response timeout expired or query ID is invalid"
UPDATES_LIMIT = 100


def int_param(params: JSON, name: str, default: int | None = None) -> int:
    value = params.get(name, default)
    if value is None or value == "":
        raise bad_request(f"{name} is empty")
    try:
        return int(value)
    except (TypeError, ValueError) as err:
        raise bad_request(f"invalid {name} specified") from err


def str_param(params: JSON, name: str) -> str:
    value = params.get(name)
    if value is None or value == "":
        raise bad_request(f"{name} is empty")
    return str(value)


class ApiBase:
    """The state and the helpers the method groups (messages, files, payments) share."""

    def __init__(self, world: World, *, strict_html: bool = True) -> None:
        self.world = world
        self.strict_html = strict_html
        self._poll_generation = 0

    # -- shared helpers ----------------------------------------------------------------------

    def known_chat(self, params: JSON) -> ChatState:
        chat_id = params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise bad_request("chat_id is empty")
        chat = self.world.chats.get(chat_id) if isinstance(chat_id, int) else None
        if chat is None:
            raise bad_request("chat not found")
        return chat

    def writable_chat(self, params: JSON) -> ChatState:
        chat = self.known_chat(params)
        if chat.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return chat

    def markup(self, chat: ChatState, params: JSON) -> JSON | None:
        """The inline keyboard to attach; reply keyboards only change what the user sees."""
        raw = params.get("reply_markup")
        inline = inline_markup(raw)
        if isinstance(raw, dict) and "keyboard" in raw:
            chat.reply_keyboard = normalize(raw)
        elif isinstance(raw, dict) and raw.get("remove_keyboard"):
            chat.reply_keyboard = None
        return inline

    def new_message(self, chat: ChatState, content: JSON, markup: JSON | None) -> JSON:
        message: JSON = {
            "message_id": chat.next_message_id(),
            "from": self.world.bot_user,
            "chat": chat.chat,
            "date": self.world.now(),
            **content,
        }
        if markup is not None and markup["inline_keyboard"]:
            message["reply_markup"] = markup
        chat.add_bot_message(message)
        self.world.chats_changed.notify()
        return message

    def caption(self, params: JSON) -> JSON:
        caption, entities = format_text(
            params.get("caption"), params.get("parse_mode"), params.get("caption_entities"),
            strict=self.strict_html, caption=True,
        )  # fmt: skip
        content: JSON = {}
        if caption:
            content["caption"] = caption
        if entities:
            content["caption_entities"] = entities
        return content
