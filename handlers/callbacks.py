"""Typed callback data: one small frozen dataclass per kind of button.

Telegram lets a button carry at most 64 bytes, and a user can send any bytes they like. Each kind
names its short prefix once; its fields say what each part may hold (``Iso``, ``Iccid``, …), and
packing and strict unpacking are derived from them::

    CountryPlans("JP", page=1).pack()       # "c:JP:1:p"
    unpack("c:JP:1:p")                      # CountryPlans(iso="JP", page=1, sort="p")

Trailing fields with defaults may be left out of the data. Anything that does not unpack is
stale (an old, forged or foreign button) and gets the one "this has expired" answer
(``handlers.buttons``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import MISSING, dataclass, fields, is_dataclass
from typing import Annotated, ClassVar, TypeVar, get_args, get_origin, get_type_hints

__all__ = [
    "AdminBroadcast",
    "AdminCheckAgain",
    "AdminOrdersPage",
    "AdminRefund",
    "AdminTransactionsPage",
    "AdminUserPage",
    "AdminWebhookTest",
    "BuyPlan",
    "BuyTopup",
    "CallbackData",
    "CancelUnpaid",
    "ChooseLanguage",
    "ConfirmOrder",
    "CountryPlans",
    "CoveringPlans",
    "EsimCard",
    "EsimUsage",
    "GlobalPlans",
    "InstallGuide",
    "Menu",
    "PlanDetails",
    "RegionPlans",
    "ReminderSetting",
    "SelfRefundConfirm",
    "SelfRefundPreview",
    "TopupOptions",
    "unpack",
]

MAX_BYTES = 64

Iso = Annotated[str, r"[A-Z]{2}"]
RegionCode = Annotated[str, r"[A-Z]{2,8}"]
Code = Annotated[str, r"[A-Za-z0-9_\-\.]{1,40}"]  # a reseller package code
Iccid = Annotated[str, r"\d{18,22}"]
Reference = Annotated[str, r"[A-Z0-9]{10}"]
Sort = Annotated[str, r"[pdv]"]  # by price, by days, by volume
Page = Annotated[int, r"\d{1,3}"]
Word = Annotated[str, r"[A-Za-z0-9_\-]{1,40}"]

_KINDS: dict[str, type[CallbackData]] = {}
Kind = TypeVar("Kind", bound="CallbackData")


class CallbackData:
    """Base of every kind of button; see the module's docstring."""

    prefix: ClassVar[str]
    _pattern: ClassVar[re.Pattern[str]]
    _fields: ClassVar[tuple[tuple[str, type], ...]]  # (name, int or str), in order

    def pack(self) -> str:
        """The button's data; ValueError when it would not unpack (too long, bad value).
        Trailing fields that hold their default are left out (``c:JP`` for page 0, by price)."""
        values = [getattr(self, name) for name, _ in self._fields]
        defaults = [field.default for field in fields(self)]  # type: ignore[arg-type]
        while values and values[-1] == defaults[len(values) - 1]:
            values.pop()
        data = ":".join([self.prefix, *(str(value) for value in values)])
        if type(self).unpack(data) != self:
            raise ValueError(f"{self!r} does not make valid callback data")
        return data

    def fits(self) -> bool:
        """Whether this can go on a button (a reseller's code may be too long or odd)."""
        try:
            self.pack()
        except ValueError:
            return False
        return True

    @classmethod
    def unpack(cls: type[Kind], data: str | None) -> Kind | None:
        if not data or len(data.encode()) > MAX_BYTES:
            return None
        if data != cls.prefix and not data.startswith(cls.prefix + ":"):
            return None
        match = cls._pattern.fullmatch(data[len(cls.prefix) + 1 :])
        if match is None:
            return None
        values = {
            name: convert(value)
            for (name, convert), value in zip(cls._fields, match.groups(), strict=True)
            if value is not None
        }
        return cls(**values)


def callback(prefix: str) -> Callable[[type[Kind]], type[Kind]]:
    """Register a kind of button (a frozen dataclass) under ``prefix``, named once, here; its
    fields' ``Annotated`` patterns make up the strict parser."""

    def register(cls: type[Kind]) -> type[Kind]:
        assert is_dataclass(cls), f"{cls.__name__}: put @callback above @dataclass"
        hints = get_type_hints(cls, include_extras=True)
        parts: list[str] = []
        described: list[tuple[str, type]] = []
        for position, field in enumerate(fields(cls)):
            hint = hints[field.name]
            assert get_origin(hint) is Annotated, f"{cls.__name__}.{field.name} needs a pattern"
            base, pattern = get_args(hint)
            group = f"{':' if position else ''}({pattern})"
            parts.append(f"(?:{group})?" if field.default is not MISSING else group)
            described.append((field.name, base))
        assert prefix not in _KINDS, f"prefix {prefix!r} is taken"
        cls.prefix = prefix
        cls._pattern = re.compile("".join(parts))
        cls._fields = tuple(described)
        _KINDS[prefix] = cls
        return cls

    return register


def unpack(data: str | None) -> CallbackData | None:
    """Any registered kind of button, or None (stale, forged or foreign)."""
    if not data:
        return None
    first, _, rest = data.partition(":")
    second = rest.partition(":")[0]
    kind = _KINDS.get(f"{first}:{second}") or _KINDS.get(first)
    return None if kind is None else kind.unpack(data)


# -- the customer's buttons ---------------------------------------------------------------


@callback("m")
@dataclass(frozen=True, slots=True)
class Menu(CallbackData):
    target: Annotated[str, r"home|buy|mine|help|regions|global|lang"]
    page: Page = 1  # My eSIMs' page


@callback("l")
@dataclass(frozen=True, slots=True)
class ChooseLanguage(CallbackData):
    language: Annotated[str, r"en|es|ru"]


@callback("c")
@dataclass(frozen=True, slots=True)
class CountryPlans(CallbackData):
    iso: Iso
    page: Page = 0
    sort: Sort = "p"


@callback("r")
@dataclass(frozen=True, slots=True)
class RegionPlans(CallbackData):
    region: RegionCode
    page: Page = 0
    sort: Sort = "p"


@callback("g")
@dataclass(frozen=True, slots=True)
class GlobalPlans(CallbackData):
    page: Page = 0
    sort: Sort = "p"


@callback("v")
@dataclass(frozen=True, slots=True)
class CoveringPlans(CallbackData):
    """Regional and global plans that cover a country."""

    iso: Iso
    page: Page = 0
    sort: Sort = "p"


@callback("p")
@dataclass(frozen=True, slots=True)
class PlanDetails(CallbackData):
    code: Code


@callback("b")
@dataclass(frozen=True, slots=True)
class BuyPlan(CallbackData):
    code: Code


@callback("k")
@dataclass(frozen=True, slots=True)
class ConfirmOrder(CallbackData):
    """PAYMENTS=off: place the order against the operator's wallet."""

    reference: Reference


@callback("x")
@dataclass(frozen=True, slots=True)
class CancelUnpaid(CallbackData):
    reference: Reference


@callback("e")
@dataclass(frozen=True, slots=True)
class EsimCard(CallbackData):
    iccid: Iccid


@callback("u")
@dataclass(frozen=True, slots=True)
class EsimUsage(CallbackData):
    iccid: Iccid


@callback("t")
@dataclass(frozen=True, slots=True)
class TopupOptions(CallbackData):
    iccid: Iccid


@callback("tb")
@dataclass(frozen=True, slots=True)
class BuyTopup(CallbackData):
    iccid: Iccid
    code: Code


@callback("i")
@dataclass(frozen=True, slots=True)
class InstallGuide(CallbackData):
    iccid: Iccid


@callback("cr")
@dataclass(frozen=True, slots=True)
class SelfRefundPreview(CallbackData):
    """Cancel and refund an unused eSIM: what will happen."""

    iccid: Iccid


@callback("cy")
@dataclass(frozen=True, slots=True)
class SelfRefundConfirm(CallbackData):
    iccid: Iccid


@callback("s")
@dataclass(frozen=True, slots=True)
class ReminderSetting(CallbackData):
    """/settings: reminders on or off."""

    setting: Annotated[str, r"rem"]
    value: Annotated[str, r"on|off"]


# -- the operator's buttons (ADMIN_IDS checked again on every tap) --------------------------


@callback("a:r")
@dataclass(frozen=True, slots=True)
class AdminRefund(CallbackData):
    """``preview``, ``cancel`` (cancel the eSIM, then refund), ``only`` (Stars only), ``keep``."""

    action: Annotated[str, r"preview|cancel|only|keep"]
    reference: Reference


@callback("a:ck")
@dataclass(frozen=True, slots=True)
class AdminCheckAgain(CallbackData):
    reference: Reference


@callback("a:ol")
@dataclass(frozen=True, slots=True)
class AdminOrdersPage(CallbackData):
    status: Word = "all"
    page: Page = 1


@callback("a:tx")
@dataclass(frozen=True, slots=True)
class AdminTransactionsPage(CallbackData):
    type: Word = "all"
    page: Page = 1


@callback("a:u")
@dataclass(frozen=True, slots=True)
class AdminUserPage(CallbackData):
    """A page of a customer's orders or eSIMs (``/user``)."""

    list: Annotated[str, r"orders|esims"]
    user_id: Annotated[int, r"\d{1,15}"]
    page: Page = 1


@callback("a:wt")
@dataclass(frozen=True, slots=True)
class AdminWebhookTest(CallbackData):
    pass


@callback("a:b")
@dataclass(frozen=True, slots=True)
class AdminBroadcast(CallbackData):
    """Send the drafted broadcast, or drop it."""

    action: Annotated[str, r"send|drop"]
    draft: Word
