"""``python -m bot migrate-db --to postgresql://…``: move the SQLite database into PostgreSQL.

Stop the bot first: the copy is one snapshot of the SQLite file, and what the bot wrote after it
would be lost. The SQLite file (DATABASE_PATH, or ``--from``) is opened with the bot's storage,
which brings its schema up to date; a target holding rows in any table is refused before
anything is written; the schema is created there by the same migrations (``Storage(url)``).
Then every table but ``schema_migrations`` is copied in foreign-key order (SQLite's catalog)
with COPY, from one read snapshot, in ONE transaction: the id sequences are moved past the
copied ids, the row counts and the books are compared on both sides, and only when they match
is it committed, so a failure leaves no rows behind. The URL's password is never printed.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from bot.logs import SecretMasker, configure_logging
from bot.settings import Settings
from storage import Storage, is_postgres_url
from storage.db import WRITE_LOCK, resync_row_ids
from storage.migrations import MIGRATIONS

__all__ = ["USAGE", "MigrationError", "masked_url", "migrate_database", "run_migrate_db"]

USAGE = "usage: python -m bot migrate-db [--from SQLITE_FILE] [--to postgresql://…]"
_BATCH = 20_000  # rows per COPY
_SKIPPED = {"schema_migrations"}  # each side keeps its own

# The books, counted the same way on both sides: (name, key column, figures, query).
_BOOKS: tuple[tuple[str, str, tuple[str, ...], str], ...] = (
    (
        "orders",
        "status",
        ("orders", "price_stars", "cost_cents"),
        "SELECT status, COUNT(*), CAST(COALESCE(SUM(price_stars), 0) AS BIGINT),"
        " CAST(COALESCE(SUM(cost_cents), 0) AS BIGINT) FROM orders GROUP BY status",
    ),
    (
        "payments",
        "currency",
        ("payments", "amount_stars"),
        "SELECT currency, COUNT(*), CAST(COALESCE(SUM(amount_stars), 0) AS BIGINT)"
        " FROM payments GROUP BY currency",
    ),
    (
        "payments",
        "refund_status",
        ("payments", "amount_stars"),
        "SELECT COALESCE(refund_status, 'none'), COUNT(*),"
        " CAST(COALESCE(SUM(amount_stars), 0) AS BIGINT) FROM payments GROUP BY 1",
    ),
    (
        "refunds",
        "status",
        ("refunds", "amount_stars"),
        "SELECT status, COUNT(*), CAST(COALESCE(SUM(amount_stars), 0) AS BIGINT)"
        " FROM refunds GROUP BY status",
    ),
)


class MigrationError(Exception):
    """The copy was refused or failed; the message says why (the target holds no rows)."""


@dataclass(frozen=True)
class Figures:
    """One side's row counts per table and its books."""

    counts: dict[str, int]
    books: dict[int, list[tuple[Any, ...]]]  # by index into _BOOKS, rows sorted by key


def masked_url(url: str) -> str:
    """``url`` with its password (in the user part or a ``password=`` parameter) as ***."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hosts = netloc.rpartition("@")
        if ":" in userinfo:
            netloc = f"{userinfo.partition(':')[0]}:***@{hosts}"
    query = re.sub(r"(?i)\b(password=)[^&]*", r"\1***", parts.query)
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def url_secrets(url: str) -> list[str]:
    """What of ``url`` must never be printed: its password, and the URL when it holds one."""
    found = re.search(r"(?i)\bpassword=([^&]*)", urlsplit(url).query)
    passwords = [p for p in (urlsplit(url).password, found and found.group(1)) if p]
    return [url, *passwords] if passwords else []


def _printable_secrets(settings: Settings, url: str) -> list[str]:
    # A URL without a password is no secret here: it is printed as it is.
    secrets = [s for s in settings.secrets if not is_postgres_url(s)]
    for candidate in (
        settings.database_url.get_secret_value() if settings.database_url else "",
        url,
    ):
        secrets += url_secrets(candidate)
    return secrets


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# --- the source ----------------------------------------------------------------------------


def _tables_in_order(reader: sqlite3.Connection) -> list[str]:
    """Every table but schema_migrations, each after the tables its foreign keys point to
    (ties by name, so the order is stable)."""
    names = {
        str(row[0])
        for row in reader.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    } - _SKIPPED
    needs = {
        name: {str(fk[2]) for fk in reader.execute(f"PRAGMA foreign_key_list({_quoted(name)})")}
        & names - {name}
        for name in names
    }
    ordered: list[str] = []
    while needs:
        ready = sorted(name for name, parents in needs.items() if parents <= set(ordered))
        if not ready:
            raise MigrationError(f"the foreign keys of {sorted(needs)} form a cycle")
        ordered += ready
        for name in ready:
            del needs[name]
    return ordered


def _sqlite_columns(reader: sqlite3.Connection, table: str) -> list[str]:
    return [str(row[1]) for row in reader.execute(f"PRAGMA table_info({_quoted(table)})")]


def _sqlite_figures(reader: sqlite3.Connection, tables: Sequence[str]) -> Figures:
    counts = {
        table: int(reader.execute(f"SELECT COUNT(*) FROM {_quoted(table)}").fetchone()[0])
        for table in tables
    }
    books = {
        index: sorted(tuple(row) for row in reader.execute(sql))
        for index, (*_, sql) in enumerate(_BOOKS)
    }
    return Figures(counts, books)


# --- the target ----------------------------------------------------------------------------


async def _connect(url: str) -> asyncpg.Connection:
    try:
        return await asyncpg.connect(url, timeout=30)
    except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
        raise MigrationError(f"cannot connect to {masked_url(url)}: {error}") from error


async def _pg_tables(conn: asyncpg.Connection) -> list[str]:
    rows = await conn.fetch(
        "SELECT table_name FROM information_schema.tables"
        " WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
    )
    return sorted(str(row[0]) for row in rows)


async def _refuse_unless_empty(conn: asyncpg.Connection) -> None:
    full = [
        table
        for table in await _pg_tables(conn)
        if table not in _SKIPPED
        and await conn.fetchval(f"SELECT EXISTS (SELECT 1 FROM {_quoted(table)})")
    ]
    if full:
        raise MigrationError(
            f"the target database already holds rows (in {', '.join(full)}): migrate-db copies"
            " only into an empty database. Create a new one (createdb) and point --to at it"
        )


async def _pg_columns(conn: asyncpg.Connection, table: str) -> list[str]:
    rows = await conn.fetch(
        "SELECT column_name FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND table_name = $1",
        table,
    )
    return [str(row[0]) for row in rows]


async def _pg_figures(conn: asyncpg.Connection, tables: Sequence[str]) -> Figures:
    counts = {
        table: int(await conn.fetchval(f"SELECT COUNT(*) FROM {_quoted(table)}"))
        for table in tables
    }
    books = {
        index: sorted(tuple(row) for row in await conn.fetch(sql))
        for index, (*_, sql) in enumerate(_BOOKS)
    }
    return Figures(counts, books)


async def _schema_version(storage: Storage) -> int:
    return int(await storage.db.fetchval("SELECT MAX(version) FROM schema_migrations") or 0)


async def _open_migrated(target: Path | str, side: str) -> None:
    """Open the database with the bot's own storage (which migrates it) and check the version."""
    storage = Storage(target)
    await storage.open()
    try:
        version = await _schema_version(storage)
    finally:
        await storage.close()
    if version != len(MIGRATIONS):
        raise MigrationError(
            f"the {side} database has schema version {version}, this code {len(MIGRATIONS)}:"
            " run migrate-db from the version of the bot that wrote it"
        )


# --- the copy ------------------------------------------------------------------------------


async def _copy_table(reader: sqlite3.Connection, conn: asyncpg.Connection, table: str) -> int:
    columns = _sqlite_columns(reader, table)
    if sorted(columns) != sorted(await _pg_columns(conn, table)):
        raise MigrationError(f"table {table} has other columns in PostgreSQL than in SQLite")
    listed = ", ".join(_quoted(column) for column in columns)
    cursor = reader.execute(f"SELECT {listed} FROM {_quoted(table)}")
    copied = 0
    try:
        while batch := await asyncio.to_thread(cursor.fetchmany, _BATCH):
            await conn.copy_records_to_table(table, records=batch, columns=columns)
            copied += len(batch)
    except (asyncpg.PostgresError, asyncpg.InterfaceError, ValueError, TypeError) as error:
        raise MigrationError(f"copying {table} failed near row {copied + 1}: {error}") from error
    finally:
        cursor.close()
    return copied


def _compare(source: Figures, target: Figures) -> None:
    wrong = [
        f"{table} (SQLite {count}, PostgreSQL {target.counts.get(table)})"
        for table, count in source.counts.items()
        if count != target.counts.get(table)
    ]
    wrong += [
        f"{_BOOKS[i][0]} by {_BOOKS[i][1]} (SQLite {rows}, PostgreSQL {target.books.get(i)})"
        for i, rows in source.books.items()
        if rows != target.books.get(i)
    ]
    if wrong:
        raise MigrationError(f"after the copy PostgreSQL differs from SQLite: {'; '.join(wrong)}")


async def migrate_database(source: Path, url: str, out: Callable[[str], None] = print) -> Figures:
    """Copy the SQLite database at ``source`` into the empty PostgreSQL database at ``url``, in
    one transaction; returns the figures both sides agree on. Raises MigrationError."""
    if not is_postgres_url(url):
        raise MigrationError("--to must be a postgresql:// URL")
    if not await asyncio.to_thread(source.is_file):
        raise MigrationError(f"no SQLite database at {source} (check DATABASE_PATH or --from)")
    conn = await _connect(url)
    try:
        await _refuse_unless_empty(conn)  # before anything is written to it
    finally:
        await conn.close()
    await _open_migrated(source, "SQLite")
    await _open_migrated(url, "PostgreSQL")
    out(f"copying {source} into {masked_url(url)} (the bot must stay stopped)")
    started = time.monotonic()
    reader = sqlite3.connect(
        f"file:{source}?mode=ro", uri=True, isolation_level=None, check_same_thread=False
    )
    conn = await _connect(url)
    try:
        reader.execute("BEGIN")  # one snapshot for the copy and the comparison
        tables = _tables_in_order(reader)
        missing = set(tables) - set(await _pg_tables(conn))
        if missing:
            raise MigrationError(f"PostgreSQL has no table {', '.join(sorted(missing))}")
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", WRITE_LOCK)
            await _refuse_unless_empty(conn)  # a bot started meanwhile
            for table in tables:
                copied = await _copy_table(reader, conn, table)
                out(f"  {table}: {copied:,} rows ({time.monotonic() - started:.1f} s)")
            await resync_row_ids(conn)
            figures = await asyncio.to_thread(_sqlite_figures, reader, tables)
            _compare(figures, await _pg_figures(conn, tables))
    finally:
        reader.close()
        await conn.close()
    out(f"committed: {len(tables)} tables in {time.monotonic() - started:.1f} s")
    return figures


def describe(figures: Figures) -> list[str]:
    """The figures both sides agree on, one line each."""
    lines = ["row counts, the same in SQLite and PostgreSQL:"]
    lines += [f"  {table}: {count:,}" for table, count in figures.counts.items()]
    lines.append("the books, the same in SQLite and PostgreSQL:")
    for index, (table, key, names, _) in enumerate(_BOOKS):
        for key_value, *values in figures.books[index]:
            shown = ", ".join(
                f"{name} {value:,}" for name, value in zip(names, values, strict=True)
            )
            lines.append(f"  {table} {key}={key_value}: {shown}")
    return lines


def next_steps(source: Path, url: str, url_already_set: bool) -> list[str]:
    shown = masked_url(url)
    setting = f"set DATABASE_URL={shown}" + (" (*** is your password)" if shown != url else "")
    if url_already_set:
        setting = "DATABASE_URL is already set there"
    return [
        "next:",
        f"  1. in .env (or the environment) {setting}; DATABASE_PATH is then ignored",
        "  2. start the bot, and check it with: python -m bot doctor",
        f"  3. keep {source.resolve()} as a backup of the data up to now; from now on back"
        " PostgreSQL up on its host (pg_dump or your provider's backups): BACKUP_DIR does"
        " nothing there",
    ]


# --- the command ---------------------------------------------------------------------------


def _parse(args: Sequence[str]) -> dict[str, str] | None:
    options: dict[str, str] = {}
    rest = list(args)
    while rest:
        name, _, value = rest.pop(0).partition("=")
        if name not in ("--from", "--to") or name in options:
            return None
        if not value:
            if not rest:
                return None
            value = rest.pop(0)
        options[name] = value
    return options


def run_migrate_db(settings: Settings, args: Sequence[str]) -> int:
    """``python -m bot migrate-db``: 0 when copied and checked, 1 when refused or failed."""
    options = _parse(args)
    if options is None:
        print(USAGE, file=sys.stderr)
        return 2
    url = options.get("--to") or (
        settings.database_url.get_secret_value() if settings.database_url else ""
    )
    if not url:
        print(USAGE + "\n(--to is needed unless DATABASE_URL is set)", file=sys.stderr)
        return 2
    source = Path(options.get("--from") or settings.database_path)
    secrets = _printable_secrets(settings, url)
    mask = SecretMasker(secrets)
    configure_logging("WARNING", secrets, settings.log_format)

    def out(line: str) -> None:
        print(mask(line), flush=True)

    try:
        figures = asyncio.run(migrate_database(source, url, out))
    except MigrationError as error:
        print(mask(f"migrate-db: nothing copied: {error}"), file=sys.stderr)
        return 1
    except (OSError, sqlite3.Error, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
        print(mask(f"migrate-db: nothing copied: {type(error).__name__}: {error}"), file=sys.stderr)
        return 1
    for line in [*describe(figures), *next_steps(source, url, "--to" not in options)]:
        out(line)
    return 0
