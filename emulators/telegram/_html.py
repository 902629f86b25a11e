"""Telegram's HTML parse mode, as the Bot API server applies it.

The rules and error texts follow tdlib's ``parse_html`` so that a message the fake accepts is one
Telegram accepts too. One deliberate difference, switchable with ``strict_entities``: Telegram
keeps a stray ``&`` literally, which hides a missing ``html.escape`` until a user-supplied ``<``
arrives in production; strict mode rejects it straight away.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["HtmlParseError", "parse_html", "strip_formatted"]

_ALLOWED_TAGS = frozenset(
    {
        "a", "b", "strong", "i", "em", "s", "strike", "del", "u", "ins",
        "tg-spoiler", "tg-emoji", "span", "pre", "code", "blockquote",
    }
)  # fmt: skip
_SIMPLE_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


class HtmlParseError(ValueError):
    """Not valid Telegram HTML; ``str(err)`` is what follows "can't parse entities: "."""


@dataclass
class _OpenTag:
    name: str
    argument: str
    utf16_start: int
    text_start: int
    expandable: bool = False


@dataclass
class _Parser:
    source: str
    strict_entities: bool
    pos: int = 0
    out: list[str] = field(default_factory=list)
    utf16: int = 0
    chars: int = 0
    stack: list[_OpenTag] = field(default_factory=list)
    entities: list[dict[str, Any]] = field(default_factory=list)

    # -- helpers ---------------------------------------------------------------------------

    def byte_offset(self, index: int) -> int:
        # Telegram reports positions in UTF-8 bytes, not characters.
        return len(self.source[:index].encode("utf-8"))

    def char(self, index: int) -> str:
        return self.source[index] if index < len(self.source) else ""

    def emit(self, text: str) -> None:
        self.out.append(text)
        self.chars += len(text)
        self.utf16 += sum(2 if ord(ch) > 0xFFFF else 1 for ch in text)

    def decode_entity(self, start: int) -> tuple[str | None, int, bool]:
        """Decode ``&...`` at ``start``: (character or None, index after it, had a semicolon)."""
        end = start + 1
        if self.char(end) == "#":
            end += 1
            hexadecimal = self.char(end) == "x"
            end += hexadecimal
            digits = "0123456789abcdefABCDEF" if hexadecimal else "0123456789"
            number_start = end
            while self.char(end) and self.char(end) in digits:
                end += 1
            raw = self.source[number_start:end]
            code = int(raw, 16 if hexadecimal else 10) if raw else 0
            if code == 0 or code >= 0x10FFFF or end - start >= 10:
                return None, start + 1, False
            decoded = chr(code)
        else:
            while self.char(end).isascii() and self.char(end).isalpha():
                end += 1
            named = _NAMED_ENTITIES.get(self.source[start + 1 : end])
            if named is None:
                return None, start + 1, False
            decoded = named
        if self.char(end) == ";":
            return decoded, end + 1, True
        return decoded, end, False

    # -- top level ---------------------------------------------------------------------------

    def run(self) -> tuple[str, list[dict[str, Any]]]:
        while self.pos < len(self.source):
            ch = self.source[self.pos]
            if ch == "&":
                self.text_entity()
            elif ch == "<":
                if self.char(self.pos + 1) == "/":
                    self.end_tag()
                else:
                    self.start_tag()
            else:
                self.emit(ch)
                self.pos += 1
        if self.stack:
            raise HtmlParseError(
                f"Can't find end tag corresponding to start tag {self.stack[-1].name}"
            )
        self.entities.sort(key=lambda e: (e["offset"], -e["length"]))
        return "".join(self.out), self.entities

    def text_entity(self) -> None:
        decoded, after, had_semicolon = self.decode_entity(self.pos)
        if decoded is None or (self.strict_entities and not had_semicolon):
            if self.strict_entities:
                raise HtmlParseError(
                    f'Unescaped "&" at byte offset {self.byte_offset(self.pos)}; '
                    "use &amp; (strict mode of the fake server)"
                )
            self.emit("&")
            self.pos += 1
            return
        self.emit(decoded)
        self.pos = after

    # -- start tags --------------------------------------------------------------------------

    def start_tag(self) -> None:
        begin = self.pos
        i = begin + 1
        while self.char(i) and not self.char(i).isspace() and self.char(i) != ">":
            i += 1
        if not self.char(i):
            raise HtmlParseError(f"Unclosed start tag at byte offset {self.byte_offset(begin)}")
        name = self.source[begin + 1 : i].lower()
        if name not in _ALLOWED_TAGS:
            raise HtmlParseError(
                f'Unsupported start tag "{name}" at byte offset {self.byte_offset(begin)}'
            )
        tag = _OpenTag(name, "", self.utf16, self.chars)
        i = self.attributes(tag, begin, i)
        if name == "span" and tag.argument != "spoiler":
            raise HtmlParseError(
                f'Tag "span" must have class "tg-spoiler" at byte offset {self.byte_offset(begin)}'
            )
        self.stack.append(tag)
        self.pos = i + 1

    def attributes(self, tag: _OpenTag, begin: int, i: int) -> int:
        """Parse attributes up to the closing ``>``; returns its index."""
        where = f'the tag "{tag.name}" at byte offset {self.byte_offset(begin)}'
        while self.char(i) != ">":
            while self.char(i).isspace():
                i += 1
            if self.char(i) == ">":
                break
            if not self.char(i):
                raise HtmlParseError(f"Unclosed start tag at byte offset {self.byte_offset(begin)}")
            name_start = i
            while self.char(i) and not self.char(i).isspace() and self.char(i) not in "=>":
                i += 1
            attribute = self.source[name_start:i]
            if not attribute:
                raise HtmlParseError(f"Empty attribute name in {where}")
            while self.char(i).isspace():
                i += 1
            if tag.name == "blockquote" and attribute == "expandable" and self.char(i) != "=":
                tag.expandable = True  # the only value-less attribute Telegram knows
                continue
            if self.char(i) != "=":
                raise HtmlParseError(
                    f"Expected equal sign in declaration of an attribute of {where}"
                )
            i += 1
            while self.char(i).isspace():
                i += 1
            if not self.char(i):
                raise HtmlParseError(
                    f'Unclosed start tag "{tag.name}" at byte offset {self.byte_offset(begin)}'
                )
            value, i = self.attribute_value(i)
            if not self.char(i):
                raise HtmlParseError(f"Unclosed start tag at byte offset {self.byte_offset(begin)}")
            self.apply_attribute(tag, attribute, value)
        return i

    def attribute_value(self, i: int) -> tuple[str, int]:
        quote = self.char(i)
        if quote not in ("'", '"'):
            start = i
            while self.char(i) and (self.char(i).isalnum() or self.char(i) in ".-"):
                i += 1
            if not (self.char(i).isspace() or self.char(i) == ">"):
                raise HtmlParseError(
                    f"Unexpected end of name token at byte offset {self.byte_offset(start)}"
                )
            return self.source[start:i].lower(), i
        i += 1
        value: list[str] = []
        while self.char(i) and self.char(i) != quote:
            if self.char(i) == "&":
                decoded, after, _ = self.decode_entity(i)
                if decoded is not None:
                    value.append(decoded)
                    i = after
                    continue
            value.append(self.char(i))
            i += 1
        if self.char(i) == quote:
            i += 1
        return "".join(value), i

    @staticmethod
    def apply_attribute(tag: _OpenTag, attribute: str, value: str) -> None:
        if tag.name == "a" and attribute == "href":
            tag.argument = value
        elif tag.name == "code" and attribute == "class" and value.startswith("language-"):
            tag.argument = value.removeprefix("language-")
        elif tag.name == "span" and attribute == "class" and value.startswith("tg-"):
            tag.argument = value.removeprefix("tg-")
        elif tag.name == "tg-emoji" and attribute == "emoji-id":
            tag.argument = value

    # -- end tags ----------------------------------------------------------------------------

    def end_tag(self) -> None:
        begin = self.pos
        if not self.stack:
            raise HtmlParseError(f"Unexpected end tag at byte offset {self.byte_offset(begin)}")
        i = begin + 2
        while self.char(i) and not self.char(i).isspace() and self.char(i) != ">":
            i += 1
        name = self.source[begin + 2 : i].lower()
        while self.char(i).isspace():
            i += 1
        if self.char(i) != ">":
            raise HtmlParseError(f"Unclosed end tag at byte offset {self.byte_offset(begin)}")
        tag = self.stack[-1]
        if name and name != tag.name:
            raise HtmlParseError(
                f"Unmatched end tag at byte offset {self.byte_offset(begin)}, "
                f'expected "</{tag.name}>", found "</{name}>"'
            )
        if self.utf16 > tag.utf16_start:
            self.close_entity(tag)
        self.stack.pop()
        self.pos = i + 1

    def close_entity(self, tag: _OpenTag) -> None:
        entity: dict[str, Any] = {"offset": tag.utf16_start, "length": self.utf16 - tag.utf16_start}
        if tag.name in _SIMPLE_TYPES:
            entity["type"] = _SIMPLE_TYPES[tag.name]
        elif tag.name == "blockquote":
            entity["type"] = "expandable_blockquote" if tag.expandable else "blockquote"
        elif tag.name == "tg-emoji":
            if not tag.argument.isdigit() or int(tag.argument) == 0:
                raise HtmlParseError("Invalid custom emoji identifier specified")
            entity.update(type="custom_emoji", custom_emoji_id=tag.argument)
        elif tag.name == "a":
            self.link_entity(tag, entity)
            if "type" not in entity:
                return  # Telegram silently drops links it cannot use
        else:
            self.code_entity(tag, entity)
            return
        self.entities.append(entity)

    def link_entity(self, tag: _OpenTag, entity: dict[str, Any]) -> None:
        url = tag.argument or "".join(self.out)[tag.text_start :]
        if url.startswith("tg://user?id=") and url.removeprefix("tg://user?id=").isdigit():
            user_id = int(url.removeprefix("tg://user?id="))
            user = {"id": user_id, "is_bot": False, "first_name": ""}
            entity.update(type="text_mention", user=user)
        elif url.strip():
            entity.update(type="text_link", url=url.strip())

    def code_entity(self, tag: _OpenTag, entity: dict[str, Any]) -> None:
        # <pre><code class="language-x"> nests two tags into one "pre" entity with a language.
        last = self.entities[-1] if self.entities else None
        same_span = (
            last is not None
            and last["offset"] == entity["offset"]
            and last["length"] == entity["length"]
        )
        if tag.name == "pre":
            if same_span and last is not None and last["type"] == "code" and last.get("language"):
                last["type"] = "pre"
                return
            entity["type"] = "pre"
        else:
            if same_span and last is not None and last["type"] == "pre" and tag.argument:
                last["language"] = tag.argument
                return
            entity["type"] = "code"
            if tag.argument:
                entity["language"] = tag.argument  # dropped below unless a <pre> claims it
        self.entities.append(entity)


def parse_html(text: str, *, strict_entities: bool = True) -> tuple[str, list[dict[str, Any]]]:
    """Return the plain text and its MessageEntity dicts (UTF-16 offsets, like Telegram)."""
    plain, entities = _Parser(text, strict_entities).run()
    for entity in entities:
        if entity["type"] == "code":
            entity.pop("language", None)
    return plain, entities


def _utf16_len(text: str) -> int:
    return sum(2 if ord(ch) > 0xFFFF else 1 for ch in text)


def strip_formatted(text: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Trim surrounding whitespace the way Telegram does, keeping entities aligned."""
    head = _utf16_len(text) - _utf16_len(text.lstrip())
    stripped = text.strip()
    limit = _utf16_len(stripped)
    kept: list[dict[str, Any]] = []
    for entity in entities:
        start = max(entity["offset"] - head, 0)
        end = min(entity["offset"] + entity["length"] - head, limit)
        if end > start:
            kept.append({**entity, "offset": start, "length": end - start})
    return stripped, kept
