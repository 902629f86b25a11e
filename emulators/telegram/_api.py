"""The Bot API methods the fake server answers, each like Telegram would."""

from __future__ import annotations

import json
import re

from emulators.telegram._api_base import QUERY_INVALID, UPDATES_LIMIT, Handler, int_param
from emulators.telegram._api_files import FileMethods
from emulators.telegram._api_payments import PaymentMethods
from emulators.telegram._messages import (
    format_text,
    inline_markup,
)
from emulators.telegram._state import (
    JSON,
    ChatState,
    World,
)
from emulators.telegram._wire import ApiError, UploadedFile, bad_request

__all__ = ["BotApi", "Handler"]


_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)
_CHAT_ACTIONS = frozenset(
    {
        "typing", "upload_photo", "record_video", "upload_video", "record_voice",
        "upload_voice", "upload_document", "choose_sticker", "find_location",
        "record_video_note", "upload_video_note",
    }
)  # fmt: skip
_COMMAND_NAME = re.compile(r"^[a-z0-9_]{1,32}$")
_MEDIA_FIELDS = ("photo", "document", "video", "audio", "animation", "voice")
_CALLBACK_TEXT_LIMIT = 200


class BotApi(FileMethods, PaymentMethods):
    """Handlers keyed by lower-case method name (Telegram ignores the case of method names)."""

    def __init__(self, world: World, *, strict_html: bool = True) -> None:
        super().__init__(world, strict_html=strict_html)
        methods: list[tuple[str, Handler]] = [
            ("getMe", self.get_me),
            ("logOut", self.just_true),
            ("close", self.just_true),
            ("setWebhook", self.set_webhook),
            ("deleteWebhook", self.delete_webhook),
            ("getWebhookInfo", self.get_webhook_info),
            ("getUpdates", self.get_updates),
            ("setMyCommands", self.set_my_commands),
            ("getMyCommands", self.get_my_commands),
            ("deleteMyCommands", self.delete_my_commands),
            ("setMyDescription", self.set_setting("description")),
            ("getMyDescription", self.get_setting("description")),
            ("setMyShortDescription", self.set_setting("short_description")),
            ("getMyShortDescription", self.get_setting("short_description")),
            ("setChatMenuButton", self.set_chat_menu_button),
            ("getChatMenuButton", self.get_chat_menu_button),
            ("getChat", self.get_chat),
            ("sendMessage", self.send_message),
            ("editMessageText", self.edit_message_text),
            ("editMessageCaption", self.edit_message_caption),
            ("editMessageReplyMarkup", self.edit_message_reply_markup),
            ("deleteMessage", self.delete_message),
            ("answerCallbackQuery", self.answer_callback_query),
            ("sendPhoto", self.send_photo),
            ("sendDocument", self.send_document),
            ("sendChatAction", self.send_chat_action),
            ("sendInvoice", self.send_invoice),
            ("answerPreCheckoutQuery", self.answer_pre_checkout_query),
            ("refundStarPayment", self.refund_star_payment),
            ("getStarTransactions", self.get_star_transactions),
            ("getFile", self.get_file),
        ]
        self.names = {name.lower(): name for name, _ in methods}
        self.handlers = {name.lower(): handler for name, handler in methods}

    # -- bot, webhook and settings -----------------------------------------------------------

    async def get_me(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        return {
            **self.world.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def just_true(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        return True

    async def set_webhook(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        self.world.webhook_url = str(params.get("url") or "")
        return True

    async def delete_webhook(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        self.world.webhook_url = ""
        if params.get("drop_pending_updates") is True:
            self.world.updates.clear()
        return True

    async def get_webhook_info(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        return {
            "url": self.world.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self.world.updates),
        }

    @staticmethod
    def _commands_key(params: JSON) -> str:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps([scope, params.get("language_code") or ""], sort_keys=True)

    async def set_my_commands(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise bad_request("can't parse commands JSON object")
        for command in commands:
            name = command.get("command") if isinstance(command, dict) else None
            if not isinstance(name, str) or not _COMMAND_NAME.match(name.lower()):
                raise bad_request("BOT_COMMAND_INVALID")
            if not str(command.get("description") or "").strip():
                raise bad_request("command description is empty")
        self.world.settings.setdefault("commands", {})[self._commands_key(params)] = commands
        return True

    async def get_my_commands(self, params: JSON, files: dict[str, UploadedFile]) -> list[JSON]:
        stored: dict[str, list[JSON]] = self.world.settings.get("commands", {})
        return stored.get(self._commands_key(params), [])

    async def delete_my_commands(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        self.world.settings.get("commands", {}).pop(self._commands_key(params), None)
        return True

    def set_setting(self, name: str) -> Handler:
        async def handler(params: JSON, files: dict[str, UploadedFile]) -> bool:
            key = f"{name}:{params.get('language_code') or ''}"
            self.world.settings[key] = str(params.get(name) or "")
            return True

        return handler

    def get_setting(self, name: str) -> Handler:
        async def handler(params: JSON, files: dict[str, UploadedFile]) -> JSON:
            key = f"{name}:{params.get('language_code') or ''}"
            return {name: self.world.settings.get(key, "")}

        return handler

    async def set_chat_menu_button(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        if params.get("chat_id") is not None:
            self.known_chat(params)
        button = params.get("menu_button") or {"type": "default"}
        self.world.settings[f"menu_button:{params.get('chat_id') or ''}"] = button
        return True

    async def get_chat_menu_button(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        settings = self.world.settings
        chat_key = f"menu_button:{params.get('chat_id') or ''}"
        button = settings.get(chat_key) or settings.get("menu_button:") or {"type": "default"}
        return dict(button)

    async def get_chat(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        chat = self.known_chat(params)
        gift_types = dict.fromkeys(
            ("unlimited_gifts", "limited_gifts", "unique_gifts", "premium_subscription",
             "gifts_from_channels"),
            False,
        )  # fmt: skip
        return {
            **chat.chat,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": gift_types,
        }

    # -- updates -----------------------------------------------------------------------------

    async def get_updates(self, params: JSON, files: dict[str, UploadedFile]) -> list[JSON]:
        if self.world.webhook_url:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        queue = self.world.updates
        queue.confirm(int_param(params, "offset", 0))
        limit = min(max(int_param(params, "limit", UPDATES_LIMIT), 1), UPDATES_LIMIT)
        timeout = max(int_param(params, "timeout", 0), 0)
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):  # an empty list restores the default, as in Telegram
            queue.allowed = frozenset(map(str, allowed)) or None
        # A newer getUpdates ends an older one with 409, the way Telegram reports two pollers.
        self._poll_generation += 1
        generation = self._poll_generation
        queue.signal.notify()

        def ready() -> list[JSON] | ApiError | None:
            if generation != self._poll_generation:
                return ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; "
                    "make sure that only one bot instance is running",
                )
            if self.world.closing:
                return []
            return queue.peek(limit) or None

        result: list[JSON] | ApiError | None = await queue.signal.wait_for(ready, float(timeout))
        if isinstance(result, ApiError):
            raise result
        return result or []

    # -- messages ----------------------------------------------------------------------------

    async def send_message(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        chat = self.writable_chat(params)
        text, entities = format_text(
            params.get("text"), params.get("parse_mode"), params.get("entities"),
            strict=self.strict_html, caption=False,
        )  # fmt: skip
        markup = self.markup(chat, params)
        content: JSON = {"text": text}
        if entities:
            content["entities"] = entities
        return self.new_message(chat, content, markup)

    def message_to_edit(self, params: JSON) -> tuple[ChatState, JSON]:
        if params.get("inline_message_id"):
            raise bad_request("message to edit not found")  # no inline mode in this bot
        chat = self.known_chat(params)
        if params.get("message_id") in (None, ""):
            raise bad_request("message identifier is not specified")
        message = chat.messages.get(int_param(params, "message_id"))
        if message is None:
            raise bad_request("message to edit not found")
        if message["from"]["id"] != self.world.bot_user["id"]:
            raise bad_request("message can't be edited")
        return chat, message

    def apply_edit(
        self, chat: ChatState, message: JSON, content: JSON, markup: JSON | None
    ) -> JSON:
        """Replace ``content`` keys (None removes) and the keyboard, or refuse a no-op edit."""
        new_markup = markup if markup and markup["inline_keyboard"] else None
        unchanged = all(message.get(k) == v for k, v in content.items())
        if unchanged and message.get("reply_markup") == new_markup:
            raise bad_request(_NOT_MODIFIED)
        for key, value in {**content, "reply_markup": new_markup}.items():
            if value is None:
                message.pop(key, None)
            else:
                message[key] = value
        message["edit_date"] = self.world.now()
        chat.record_edit(message)
        self.world.chats_changed.notify()
        return message

    async def edit_message_text(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        chat, message = self.message_to_edit(params)
        if "text" not in message:
            raise bad_request("there is no text in the message to edit")
        text, entities = format_text(
            params.get("text"), params.get("parse_mode"), params.get("entities"),
            strict=self.strict_html, caption=False,
        )  # fmt: skip
        # Omitting reply_markup removes the keyboard: that is what Telegram does too.
        markup = inline_markup(params.get("reply_markup"))
        content = {"text": text, "entities": entities or None}
        return self.apply_edit(chat, message, content, markup)

    async def edit_message_caption(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        chat, message = self.message_to_edit(params)
        if not any(field in message for field in (*_MEDIA_FIELDS, "invoice")):
            raise bad_request("there is no caption in the message to edit")
        content = {"caption": None, "caption_entities": None, **self.caption(params)}
        markup = inline_markup(params.get("reply_markup"))
        return self.apply_edit(chat, message, content, markup)

    async def edit_message_reply_markup(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        chat, message = self.message_to_edit(params)
        return self.apply_edit(chat, message, {}, inline_markup(params.get("reply_markup")))

    async def delete_message(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        chat = self.known_chat(params)
        message_id = int_param(params, "message_id")
        if message_id not in chat.messages:
            raise bad_request("message to delete not found")
        chat.remove(message_id)
        self.world.chats_changed.notify()
        return True

    async def answer_callback_query(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        query = self.world.callback_queries.get(str(params.get("callback_query_id") or ""))
        if query is None or query.answer is not None:
            raise bad_request(QUERY_INVALID)
        if len(str(params.get("text") or "")) > _CALLBACK_TEXT_LIMIT:
            raise bad_request("MESSAGE_TOO_LONG")
        query.answer = params
        return True

    async def send_chat_action(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        chat = self.writable_chat(params)
        action = params.get("action")
        if action not in _CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        chat.last_action = str(action)
        return True
