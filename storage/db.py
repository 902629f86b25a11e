"""The database's public face: one interface over two backends.

SQLite (``storage._sqlite``) is the embedded default; a ``postgresql://`` URL selects PostgreSQL
(``storage._postgres``). The repositories are written once against :class:`Database` and
:class:`Transaction`, with ``?`` parameters and SQL both backends accept.
"""

from __future__ import annotations

from pathlib import Path

from storage._base import ConstraintViolation, Database, Row, Transaction, now
from storage._postgres import (
    WRITE_LOCK,
    PostgresDatabase,
    is_postgres_url,
    numbered,
    resync_row_ids,
)
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


def open_database(target: Path | str) -> Database:
    """The database at ``target``: a ``postgresql://`` URL, else an SQLite file (or ":memory:").

    Nothing is connected until ``open()``.
    """
    if is_postgres_url(target):
        return PostgresDatabase(str(target))
    return SqliteDatabase(target)
