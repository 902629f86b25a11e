"""Formatting and pagination helpers shared by the sandbox modules."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

__all__ = ["GB", "MB", "iso", "iso_seconds", "money", "num", "paginate"]

T = TypeVar("T")
GB = 1024**3
MB = 1024**2


def money(cents: int) -> str:
    """``518`` -> ``"$5.18"`` (no thousands separator, like JavaScript's ``toFixed``)."""
    sign = "-" if cents < 0 else ""
    whole, rest = divmod(abs(cents), 100)
    return f"{sign}${whole}.{rest:02d}"


def iso(ts: float) -> str:
    """Epoch seconds -> ``2024-01-15T10:30:00.123Z`` (JavaScript ``toISOString``)."""
    moment = datetime.fromtimestamp(ts, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def iso_seconds(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def num(value: float, digits: int = 2) -> int | float:
    """Round, and give integral values as ``int`` so JSON shows ``1`` rather than ``1.0``."""
    rounded = round(value, digits)
    return int(rounded) if rounded == int(rounded) else rounded


def paginate(items: Sequence[T], page: int, limit: int) -> tuple[list[T], dict[str, Any]]:
    start = (page - 1) * limit
    pagination = {
        "page": page,
        "limit": limit,
        "total": len(items),
        "pages": math.ceil(len(items) / limit),
    }
    return list(items[start : start + limit]), pagination
