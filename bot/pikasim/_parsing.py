"""Building frozen dataclasses from the reseller's parsed JSON, leniently.

A field is read from the first of its keys present in the object (``alias``: the API's
camelCase name first, then variants, always including the field's own name); its type says how
the value is converted, with the lax rules pydantic applied when these were pydantic models:
``"12"`` or ``12.0`` for an int, 0/1 and ``"true"``/``"no"``/... for a bool, numbers for a
string. ``Annotated[T, f]`` runs ``f`` on the raw value first. Wrong types and missing required
fields raise :class:`ConversionError`, naming each bad field by its path (``packages.0.price``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, fields, is_dataclass
from datetime import UTC, datetime
from functools import partial
from types import NoneType, UnionType
from typing import (
    Annotated,
    Any,
    Final,
    NoReturn,
    TypeVar,
    Union,
    get_args,
    get_origin,
    get_type_hints,
)

__all__ = [
    "ConversionError",
    "Timestamp",
    "alias",
    "describe_validation_error",
    "from_json",
    "list_alias",
    "required",
    "topup_flag",
    "unknown_keys",
]

ModelT = TypeVar("ModelT")

Location = tuple[str | int, ...]


class ConversionError(ValueError):
    """An answer that does not fit a model: ``(location, message)`` pairs, one a problem, the
    location a path of keys and list indexes (``("packages", 0, "price")``)."""

    def __init__(self, *problems: tuple[Location, str]) -> None:
        self.problems = problems
        super().__init__(describe_validation_error(self, limit=len(problems)))


def _fail(message: str) -> NoReturn:
    raise ConversionError(((), message))


# --- conversions, by field type ------------------------------------------------------------


_INT_TEXT: Final = re.compile(r"[+-]?[0-9]+(?:_[0-9]+)*(?:\.0+)?")
_TRUE: Final = frozenset({"1", "on", "t", "true", "y", "yes"})
_FALSE: Final = frozenset({"0", "off", "f", "false", "n", "no"})
_INT64: Final = 2**63  # whole floats and flags beyond 64 bits are refused, as pydantic did


def _whole(value: float) -> int | None:
    """``value`` as an int when it is a whole number that fits 64 bits."""
    if math.isfinite(value) and value.is_integer() and abs(value) < _INT64:
        return int(value)
    return None


def _to_int(value: Any) -> int:
    """An int, True/False (1/0), a whole float, or text like ``" 12 "``, ``"1_000"``, ``"12.0"``."""
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            _fail("Input should be a finite number")
        if not value.is_integer():
            _fail("Input should be a valid integer, got a number with a fractional part")
        whole = _whole(value)
        if whole is None:
            _fail("Unable to parse input string as an integer, exceeded maximum size")
        return whole
    if isinstance(value, str):
        text = value.strip()
        if _INT_TEXT.fullmatch(text):
            return int(text.partition(".")[0])
        _fail("Input should be a valid integer, unable to parse string as an integer")
    _fail("Input should be a valid integer")


def _to_float(value: Any) -> float:
    """A number, True/False, or ASCII text Python's ``float`` reads (``"1.5"``, ``"1e3"``)."""
    if isinstance(value, float):
        return value
    if isinstance(value, int):
        try:
            return float(value)
        except OverflowError:
            _fail("Input should be a valid number")
    if isinstance(value, str):
        text = value.strip()
        if text.isascii():
            try:
                return float(text)
            except ValueError:
                pass
        _fail("Input should be a valid number, unable to parse string as a number")
    _fail("Input should be a valid number")


def _to_bool(value: Any) -> bool:
    """A bool, 0/1 (also 0.0/1.0), or text: 1/0, on/off, t/f, true/false, y/n, yes/no."""
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        whole = _whole(value)
        if whole is None:
            _fail("Input should be a valid boolean")
        value = whole
    if isinstance(value, int):
        if value in (0, 1):
            return value == 1
        if not -_INT64 <= value < _INT64:
            _fail("Input should be a valid boolean")
    elif isinstance(value, str):
        lowered = value.lower()
        if lowered in _TRUE or lowered in _FALSE:
            return lowered in _TRUE
    else:
        _fail("Input should be a valid boolean")
    _fail("Input should be a valid boolean, unable to interpret input")


def _to_str(value: Any) -> str:
    """Text, or a number as text (``5`` → ``"5"``); not a bool."""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    _fail("Input should be a valid string")


def _to_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    _fail("Input should be a valid datetime")


def _to_dict(value: Any) -> dict[str, Any]:
    if isinstance(value, Mapping):
        return dict(value)
    _fail("Input should be a valid dictionary")


def _list_of(convert: Callable[[Any], Any]) -> Callable[[Any], list[Any]]:
    def to_list(value: Any) -> list[Any]:
        if not isinstance(value, (list, tuple)):
            _fail("Input should be a valid list")
        items: list[Any] = []
        problems: list[tuple[Location, str]] = []
        for index, item in enumerate(value):
            try:
                items.append(convert(item))
            except ConversionError as exc:
                problems += [((index, *where), message) for where, message in exc.problems]
        if problems:
            raise ConversionError(*problems)
        return items

    return to_list


def _or_none(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda value: None if value is None else convert(value)


def _then(before: Callable[[Any], Any], convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda value: convert(before(value))


_SCALARS: Final[dict[Any, Callable[[Any], Any]]] = {
    int: _to_int,
    float: _to_float,
    bool: _to_bool,
    str: _to_str,
    datetime: _to_datetime,
}


def _converter(hint: Any) -> Callable[[Any], Any]:
    """The conversion for a field's type: the scalars above, ``X | None``, ``list[X]``,
    ``dict[str, Any]``, a model, or ``Annotated[X, before]``."""
    origin, args = get_origin(hint), get_args(hint)
    if origin is Annotated:
        return _then(hint.__metadata__[0], _converter(args[0]))
    if origin in (Union, UnionType):
        (inner,) = (arg for arg in args if arg is not NoneType)
        return _or_none(_converter(inner))
    if origin is list:
        return _list_of(_converter(args[0]))
    if origin is dict:
        return _to_dict
    if isinstance(hint, type) and is_dataclass(hint):
        return partial(from_json, hint)
    return _SCALARS[hint]


# --- the field spec and from_json ----------------------------------------------------------

_KEYS: Final = "keys"  # field metadata: the JSON keys the field is read from, in order
_UNKNOWN: Final = "unknown"  # field metadata: this field receives the keys no field reads


@dataclass(frozen=True, slots=True)
class _Spec:
    name: str
    keys: tuple[str, ...]
    convert: Callable[[Any], Any]
    required: bool


_SPECS: dict[type, tuple[tuple[_Spec, ...], str | None]] = {}


def _specs(cls: type) -> tuple[tuple[_Spec, ...], str | None]:
    """How to read each field of model ``cls``, and the field that keeps unknown keys, if any
    (worked out at the first use, when every model the type hints name exists)."""
    if cls in _SPECS:
        return _SPECS[cls]
    hints = get_type_hints(cls, include_extras=True)
    specs: list[_Spec] = []
    unknown = None
    for item in fields(cls):
        if item.metadata.get(_UNKNOWN):
            unknown = item.name
            continue
        required = item.default is MISSING and item.default_factory is MISSING
        keys = item.metadata.get(_KEYS, (item.name,))
        specs.append(_Spec(item.name, keys, _converter(hints[item.name]), required))
    _SPECS[cls] = tuple(specs), unknown
    return _SPECS[cls]


def from_json(cls: type[ModelT], data: Any) -> ModelT:
    """Build model ``cls`` from a parsed JSON object.

    ``null`` is treated like a missing field, so every default applies to it; keys no field reads
    are ignored (or kept, for a model with an ``unknown_keys()`` field). A model may define
    ``_prepare(data)`` to rewrite the object first. Raises :class:`ConversionError` listing every
    wrong or missing field.
    """
    if isinstance(data, cls):
        return data
    if not isinstance(data, Mapping):
        _fail(f"Input should be a valid dictionary or instance of {cls.__name__}")
    prepare = getattr(cls, "_prepare", None)
    if prepare is not None:
        data = prepare(data)
    data = {key: value for key, value in data.items() if value is not None}
    specs, unknown = _specs(cls)
    values: dict[str, Any] = {}
    problems: list[tuple[Location, str]] = []
    used: set[str] = set()
    for spec in specs:
        for key in spec.keys:
            if key in data:
                used.add(key)
                try:
                    values[spec.name] = spec.convert(data[key])
                except ConversionError as exc:
                    problems += [((key, *where), message) for where, message in exc.problems]
                break
        else:
            if spec.required:
                problems.append(((spec.keys[0],), "Field required"))
    if problems:
        raise ConversionError(*problems)
    if unknown is not None:
        values[unknown] = {key: value for key, value in data.items() if key not in used}
    return cls(**values)


def describe_validation_error(exc: ConversionError, limit: int = 3) -> str:
    """A one-line summary: ``packages.0.price: Input should be a valid integer; ...``."""
    problems = []
    for where, message in exc.problems[:limit]:
        location = ".".join(str(part) for part in where) or "(root)"
        problems.append(f"{location}: {message}")
    more = len(exc.problems) - limit
    if more > 0:
        problems.append(f"and {more} more")
    return "; ".join(problems)


def alias(*names: str, default: Any = None) -> Any:
    return field(default=default, metadata={_KEYS: names})


def required(*names: str) -> Any:
    return field(metadata={_KEYS: names})


def list_alias(*names: str) -> Any:
    return field(default_factory=list, metadata={_KEYS: names})


def unknown_keys() -> Any:
    return field(default_factory=dict, metadata={_UNKNOWN: True})


# A before-conversion, as in ``Annotated[datetime | None, _lenient_datetime]``: runs on the raw
# value (never ``null``: that is a missing field), the field's type converts what it returns.


def _lenient_datetime(value: Any) -> Any:
    """ISO text or epoch numbers become datetimes; empty or unparseable text becomes None."""
    if value is None or isinstance(value, datetime):
        return value
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        seconds = value / 1000 if value > 1e11 else value  # milliseconds, as JavaScript sends
        try:
            return datetime.fromtimestamp(seconds, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            return datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
    return None


def topup_flag(value: Any) -> Any:
    """``supportTopUpType``: documented as a boolean; some feeds send 0/1/2 (0 = none)."""
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value > 0
    if isinstance(value, str):
        return value.strip().lower() in {"true", "yes", "1", "2"}
    return value


Timestamp = Annotated[datetime | None, _lenient_datetime]
