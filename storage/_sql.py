"""SQL text shared by both backends, and the PostgreSQL bits that need no driver (so SQLite
deployments never load asyncpg: several MiB of memory)."""

from __future__ import annotations

import functools

__all__ = ["WRITE_LOCK", "is_postgres_url", "numbered"]

# Advisory lock keys (any two fixed bigints; the session lock of bot/standby.py is another).
WRITE_LOCK = 0x65_53_49_4D_01  # "eSIM" 1: one write transaction at a time


def is_postgres_url(target: object) -> bool:
    return isinstance(target, str) and target.startswith(("postgresql://", "postgres://"))


@functools.lru_cache(maxsize=1024)
def numbered(sql: str) -> str:
    """``?`` parameters as PostgreSQL's ``$1, $2, …`` (our SQL has no ``?`` in its literals)."""
    pieces = sql.split("?")
    return pieces[0] + "".join(f"${n}{piece}" for n, piece in enumerate(pieces[1:], start=1))
