"""The database's public face: one interface over two backends.

SQLite (``storage._sqlite``) is the embedded default; a ``postgresql://`` URL selects PostgreSQL
(``storage._postgres``). The repositories are written once against :class:`Database` and
:class:`Transaction`, with ``?`` parameters and SQL both backends accept.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from storage._base import ConstraintViolation, Database, Row, Transaction, now
from storage._sql import WRITE_LOCK, is_postgres_url, numbered
from storage._sqlite import SqliteDatabase

__all__ = [
    "WRITE_LOCK",
    "ConstraintViolation",
    "Database",
    "Row",
    "Transaction",
    "is_postgres_url",
    "now",
    "numbered",
    "open_database",
    "resync_row_ids",
]


async def resync_row_ids(conn: Any) -> None:
    """After rows were copied into PostgreSQL with their ids (an asyncpg connection): move every
    id sequence past the largest id, so the next row the bot adds gets a fresh one."""
    from storage._postgres import resync_row_ids as resync

    await resync(conn)


def open_database(target: Path | str) -> Database:
    """The database at ``target``: a ``postgresql://`` URL, else an SQLite file (or ":memory:").

    Nothing is connected until ``open()``.
    """
    if is_postgres_url(target):
        from storage._postgres import PostgresDatabase  # loads asyncpg: only when it is used

        return PostgresDatabase(str(target))
    return SqliteDatabase(target)
