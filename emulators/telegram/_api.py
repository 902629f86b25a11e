"""The Bot API methods the fake server answers, each like Telegram would."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

from emulators.telegram._messages import (
    format_text,
    image_size,
    inline_markup,
    normalize,
    photo_sizes,
)
from emulators.telegram._state import (
    JSON,
    ChatState,
    Invoice,
    StarRefund,
    StoredFile,
    World,
)
from emulators.telegram._wire import ApiError, UploadedFile, bad_request

__all__ = ["BotApi", "Handler"]

Handler = Callable[[JSON, dict[str, UploadedFile]], Awaitable[Any]]

_QUERY_INVALID = "query is too old and response timeout expired or query ID is invalid"
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
_INVOICE_PAYLOAD_LIMIT = 128
_CALLBACK_TEXT_LIMIT = 200
_UPDATES_LIMIT = 100


def _int(params: JSON, name: str, default: int | None = None) -> int:
    value = params.get(name, default)
    if value is None or value == "":
        raise bad_request(f"{name} is empty")
    try:
        return int(value)
    except (TypeError, ValueError) as err:
        raise bad_request(f"invalid {name} specified") from err


def _str(params: JSON, name: str) -> str:
    value = params.get(name)
    if value is None or value == "":
        raise bad_request(f"{name} is empty")
    return str(value)


class BotApi:
    """Handlers keyed by lower-case method name (Telegram ignores the case of method names)."""

    def __init__(self, world: World, *, strict_html: bool = True) -> None:
        self.world = world
        self.strict_html = strict_html
        self._poll_generation = 0
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
        queue.confirm(_int(params, "offset", 0))
        limit = min(max(_int(params, "limit", _UPDATES_LIMIT), 1), _UPDATES_LIMIT)
        timeout = max(_int(params, "timeout", 0), 0)
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
        message = chat.messages.get(_int(params, "message_id"))
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
        message_id = _int(params, "message_id")
        if message_id not in chat.messages:
            raise bad_request("message to delete not found")
        chat.remove(message_id)
        self.world.chats_changed.notify()
        return True

    async def answer_callback_query(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        query = self.world.callback_queries.get(str(params.get("callback_query_id") or ""))
        if query is None or query.answer is not None:
            raise bad_request(_QUERY_INVALID)
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

    # -- files -------------------------------------------------------------------------------

    def input_file(
        self, params: JSON, files: dict[str, UploadedFile], field: str
    ) -> UploadedFile | StoredFile:
        """The upload, or the stored file a file_id/URL refers to."""
        value = params.get(field)
        if field in files:
            return files[field]
        if isinstance(value, str) and value.startswith("attach://"):
            attached = files.get(value.removeprefix("attach://"))
            if attached is None:
                raise bad_request(f"file must be uploaded as {value.removeprefix('attach://')}")
            return attached
        if not value:
            raise bad_request(f"there is no {field} in the request")
        if value in self.world.files:
            return self.world.files[value]
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            # The fake cannot download, so the file is known by its URL only.
            return self.store(None, name=value.rsplit("/", 1)[-1] or None, mime=None, kind=field)
        raise bad_request("wrong file identifier/HTTP URL specified")

    def store(
        self, data: bytes | None, *, name: str | None, mime: str | None, kind: str
    ) -> StoredFile:
        file_id = self.world.new_id("AgACAgIAAxkBAAI" if kind == "photo" else "BQACAgIAAxkBAAI")
        folder = "photos" if kind == "photo" else "documents"
        return self.world.add_file(
            StoredFile(
                file_id=file_id,
                file_unique_id=self.world.new_id("AQAD"),
                data=data,
                file_path=f"{folder}/file_{len(self.world.files)}{_suffix(name)}",
                file_name=name,
                mime_type=mime,
            )
        )

    async def send_photo(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        chat = self.writable_chat(params)
        source = self.input_file(params, files, "photo")
        if isinstance(source, UploadedFile):
            width, height = image_size(source.data)
            stored = self.store(source.data, name=source.filename, mime=source.content_type,
                                kind="photo")  # fmt: skip
            stored.width, stored.height = width, height
        else:
            stored = source
            if stored.width is None:  # a URL: pretend Telegram fetched a typical picture
                stored.width, stored.height = 800, 800
        content: JSON = {"photo": photo_sizes(stored), **self.caption(params)}
        for size in content["photo"]:
            self.world.files.setdefault(size["file_id"], stored)  # thumbnails share the bytes
        return self.new_message(chat, content, self.markup(chat, params))

    async def send_document(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        chat = self.writable_chat(params)
        source = self.input_file(params, files, "document")
        if isinstance(source, UploadedFile):
            stored = self.store(source.data, name=source.filename, mime=source.content_type,
                                kind="document")  # fmt: skip
        else:
            stored = source
        document = normalize(
            {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "file_name": stored.file_name,
                "mime_type": stored.mime_type,
                "file_size": stored.size,
            }
        )
        content = {"document": document, **self.caption(params)}
        return self.new_message(chat, content, self.markup(chat, params))

    async def get_file(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        stored = self.world.files.get(str(params.get("file_id") or ""))
        if stored is None:
            raise bad_request("invalid file_id")
        return normalize(
            {
                "file_id": params["file_id"],
                "file_unique_id": stored.file_unique_id,
                "file_size": stored.size,
                "file_path": stored.file_path,
            }
        )

    # -- payments ----------------------------------------------------------------------------

    async def send_invoice(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        chat = self.writable_chat(params)
        title, description = _str(params, "title"), _str(params, "description")
        payload, currency = _str(params, "payload"), _str(params, "currency").upper()
        if len(payload.encode("utf-8")) > _INVOICE_PAYLOAD_LIMIT:
            raise bad_request("INVOICE_PAYLOAD_INVALID")
        prices = params.get("prices")
        if not isinstance(prices, list) or not prices:
            raise bad_request("can't parse prices JSON object")
        if currency == "XTR" and (len(prices) != 1 or params.get("provider_token")):
            raise bad_request("STARS_INVOICE_INVALID")  # Stars: one price, no provider
        if currency != "XTR" and not params.get("provider_token"):
            raise bad_request("PAYMENT_PROVIDER_INVALID")
        if not all(isinstance(p, dict) and int(p.get("amount", 0)) > 0 for p in prices):
            raise bad_request("CURRENCY_TOTAL_AMOUNT_INVALID")
        invoice = Invoice(
            chat_id=chat.chat_id, message_id=0, title=title, description=description,
            payload=payload, currency=currency, prices=prices,
            start_parameter=str(params.get("start_parameter") or ""),
        )  # fmt: skip
        content = {
            "invoice": {
                "title": title,
                "description": description,
                "start_parameter": invoice.start_parameter,
                "currency": currency,
                "total_amount": invoice.total_amount,
            }
        }
        message = self.new_message(chat, content, self.markup(chat, params))
        invoice.message_id = message["message_id"]
        chat.invoices.append(invoice)
        return message

    async def answer_pre_checkout_query(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        query = self.world.pre_checkouts.get(str(params.get("pre_checkout_query_id") or ""))
        if query is None or query.answer is not None:
            raise bad_request(_QUERY_INVALID)
        if not isinstance(params.get("ok"), bool):
            raise bad_request("ok is empty")
        if params["ok"] is False and not params.get("error_message"):
            raise bad_request("error_message is empty")
        query.answer = params
        return True

    async def refund_star_payment(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        user_id = _int(params, "user_id")
        payment = self.world.payment(str(params.get("telegram_payment_charge_id") or ""))
        if payment is None or payment.user_id != user_id:
            raise bad_request("CHARGE_ID_INVALID")
        if payment.refunded:
            raise bad_request("CHARGE_ALREADY_REFUNDED")
        payment.refunded = True
        refund = StarRefund(payment.charge_id, user_id, payment.amount, payment.payload,
                            self.world.now())  # fmt: skip
        self.world.add_refund(refund)
        self.push_refund_notice(refund)
        return True

    def push_refund_notice(self, refund: StarRefund) -> None:
        """Telegram tells the bot about a refund with a refunded_payment service message."""
        chat = self.world.chats.get(refund.user_id)
        if chat is None:
            return
        message: JSON = {
            "message_id": chat.next_message_id(),
            "from": chat.user,
            "chat": chat.chat,
            "date": refund.date,
            "refunded_payment": {
                "currency": "XTR",
                "total_amount": refund.amount,
                "invoice_payload": refund.payload,
                "telegram_payment_charge_id": refund.charge_id,
            },
        }
        chat.messages[message["message_id"]] = message
        self.world.updates.push("message", message)

    async def get_star_transactions(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        offset = max(_int(params, "offset", 0), 0)
        limit = min(max(_int(params, "limit", _UPDATES_LIMIT), 1), _UPDATES_LIMIT)
        entries = self.world.ledger[offset : offset + limit]
        return {"transactions": [self.transaction(entry) for entry in entries]}

    def transaction(self, entry: Any) -> JSON:
        chat = self.world.chats.get(entry.user_id)
        user = chat.user if chat else {"id": entry.user_id, "is_bot": False, "first_name": ""}
        partner = {
            "type": "user",
            "transaction_type": "invoice_payment",
            "user": user,
            "invoice_payload": entry.payload,
        }
        side = "receiver" if isinstance(entry, StarRefund) else "source"
        return {"id": entry.charge_id, "amount": entry.amount, "date": entry.date, side: partner}


def _suffix(name: str | None) -> str:
    if name and "." in name:
        return "." + name.rsplit(".", 1)[-1][:8]
    return ""
