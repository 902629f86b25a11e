"""Validation and shaping of message content: text, captions, keyboards, photos."""

from __future__ import annotations

import io
import re
from typing import Any

from emulators.telegram._html import HtmlParseError, parse_html, strip_formatted
from emulators.telegram._state import StoredFile
from emulators.telegram._wire import bad_request

__all__ = [
    "CAPTION_LIMIT",
    "TEXT_LIMIT",
    "command_entities",
    "format_text",
    "image_size",
    "inline_markup",
    "normalize",
    "photo_sizes",
]

JSON = dict[str, Any]
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
_CALLBACK_DATA_LIMIT = 64
# Telegram's own bot-command pattern: "/word" not glued to a word, "/", "<" or ">".
_COMMAND_RE = re.compile(r"(?<![\w/<>])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/<>])")
_URL_SCHEMES = ("http://", "https://", "tg://", "ton://")
_THUMBNAIL_SIDES = (90, 320, 800, 1280)


def utf16_len(text: str) -> int:
    return sum(2 if ord(ch) > 0xFFFF else 1 for ch in text)


def normalize(value: Any) -> Any:
    """Drop null fields recursively, so equal markups compare equal however they were sent."""
    if isinstance(value, dict):
        return {k: normalize(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [normalize(v) for v in value]
    return value


def format_text(
    text: Any, parse_mode: Any, entities: Any, *, strict: bool, caption: bool
) -> tuple[str, list[JSON]]:
    """Plain text and entities as Telegram stores them; raises ApiError like Telegram."""
    if text is None:
        text = ""
    if not isinstance(text, str):
        text = str(text)
    plain, parsed = _apply_parse_mode(text, parse_mode, strict)
    if isinstance(entities, list) and not parse_mode:
        parsed = [normalize(e) for e in entities if isinstance(e, dict)]
    plain, parsed = strip_formatted(plain, parsed)
    limit, what = (CAPTION_LIMIT, "message caption") if caption else (TEXT_LIMIT, "message")
    if len(plain) > limit:
        raise bad_request(f"{what} is too long")
    if not plain and not caption:
        raise bad_request("message text is empty")
    return plain, parsed


def _apply_parse_mode(text: str, parse_mode: Any, strict: bool) -> tuple[str, list[JSON]]:
    mode = str(parse_mode or "").lower()
    if mode == "html":
        try:
            return parse_html(text, strict_entities=strict)
        except HtmlParseError as err:
            raise bad_request(f"can't parse entities: {err}") from err
    if mode in ("", "markdown", "markdownv2"):
        # Markdown is passed through untouched: this bot formats with HTML only.
        return text, []
    raise bad_request("unsupported parse_mode")


def command_entities(text: str) -> list[JSON]:
    """bot_command entities, as Telegram attaches them to user messages."""
    return [
        {
            "type": "bot_command",
            "offset": utf16_len(text[: match.start()]),
            "length": utf16_len(match.group()),
        }
        for match in _COMMAND_RE.finditer(text)
    ]


def inline_markup(markup: Any) -> JSON | None:
    """The validated inline keyboard of ``reply_markup``; None when there is none."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" not in markup:
        return None
    rows = markup["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array')
    for row in rows:
        for button in row:
            _check_button(button)
    return {"inline_keyboard": normalize(rows)}


def _check_button(button: Any) -> None:
    if not isinstance(button, dict) or not isinstance(button.get("text"), str):
        raise bad_request("can't parse inline keyboard button: Text must be a String")
    actions = [k for k, v in button.items() if k != "text" and v is not None]
    if not actions:
        raise bad_request("text buttons are unallowed in the inline keyboard")
    data = button.get("callback_data")
    if data is not None:
        size = len(str(data).encode("utf-8"))
        if not isinstance(data, str) or not 1 <= size <= _CALLBACK_DATA_LIMIT:
            raise bad_request("BUTTON_DATA_INVALID")
    url = button.get("url")
    if url is not None and not (isinstance(url, str) and url.startswith(_URL_SCHEMES)):
        raise bad_request("BUTTON_URL_INVALID")


def image_size(data: bytes) -> tuple[int, int]:
    from PIL import Image, UnidentifiedImageError  # Pillow is heavy; only photos need it

    try:
        with Image.open(io.BytesIO(data)) as image:
            return int(image.width), int(image.height)
    except (UnidentifiedImageError, OSError) as err:
        raise bad_request("IMAGE_PROCESS_FAILED") from err


def photo_sizes(stored: StoredFile) -> list[JSON]:
    """PhotoSize list like Telegram's: smaller thumbnails first, the original last.

    Thumbnails are described, not rendered: they all download as the original bytes.
    """
    width, height = stored.width or 0, stored.height or 0
    sizes: list[JSON] = []
    longest = max(width, height)
    for side in _THUMBNAIL_SIDES:
        if side < longest:
            scale = side / longest
            sizes.append(
                {
                    "file_id": f"{stored.file_id}_{side}",
                    "file_unique_id": f"{stored.file_unique_id}_{side}",
                    "width": max(1, round(width * scale)),
                    "height": max(1, round(height * scale)),
                }
            )
    original: JSON = {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "width": width,
        "height": height,
    }
    if stored.size is not None:
        original["file_size"] = stored.size
    sizes.append(original)
    return sizes
