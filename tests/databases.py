"""Which database the tests use: SQLite files by default, PostgreSQL when TEST_DATABASE_URL is
set (``.ci/run`` runs the whole suite both ways, against a throwaway cluster).

Each test gets a database of its own: a file in its tmp_path, or a fresh PostgreSQL database.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import threading
import uuid
from collections.abc import AsyncIterator, Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from storage import Storage
from storage.db import numbered, resync_row_ids

ADMIN_URL = os.environ.get("TEST_DATABASE_URL", "").strip()
ON_POSTGRES = bool(ADMIN_URL)
BACKEND = "postgresql" if ON_POSTGRES else "sqlite"

T = TypeVar("T")

# For tests of SQLite itself (its files, pragmas, query planner); PostgreSQL has its own tests.
sqlite_only = pytest.mark.skipif(ON_POSTGRES, reason="tests SQLite's own behaviour")
# For what exists only on PostgreSQL (migrate-db, doctor and backup there).
postgres_only = pytest.mark.skipif(
    not ON_POSTGRES,
    reason="needs PostgreSQL: set TEST_DATABASE_URL to a cluster's admin URL"
    " (scripts/throwaway-postgres starts one)",
)


def run_aside(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` to its end on a loop of its own (callable from sync code and from
    inside a running loop alike)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def postgres_url(database: str) -> str:
    """The admin URL pointed at ``database`` instead."""
    parts = urlsplit(ADMIN_URL)
    return urlunsplit(parts._replace(path="/" + database))


_created: list[str] = []


def new_postgres_database() -> str:
    """A fresh, empty PostgreSQL database; its URL. Dropped when the test ends (conftest)."""
    name = "t_" + uuid.uuid4().hex[:20]
    _created.append(name)

    async def create() -> None:
        conn = await asyncpg.connect(ADMIN_URL)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    run_aside(create())
    return postgres_url(name)


def drop_test_databases() -> None:
    """Drop the databases this test made (each holds a copy of template1: megabytes)."""
    names, _created[:] = list(_created), []
    _by_folder.clear()
    if not names:
        return

    async def drop() -> None:
        conn = await asyncpg.connect(ADMIN_URL)
        try:
            for name in names:
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    run_aside(drop())


_by_folder: dict[Path, str] = {}


def database_for(tmp_path: Path) -> Path | str:
    """Where a test's data lives: an SQLite file in its tmp_path, or on PostgreSQL a database of
    its own (the same one each time for the same tmp_path, so a restarted bot finds its data)."""
    if not ON_POSTGRES:
        return tmp_path / "bot.sqlite3"
    if tmp_path not in _by_folder:
        _by_folder[tmp_path] = new_postgres_database()
    return _by_folder[tmp_path]


def settings_for(tmp_path: Path) -> dict[str, Any]:
    """Settings overrides that put a test bot's data in its own database."""
    values: dict[str, Any] = {"database_path": tmp_path / "bot.sqlite3"}
    if ON_POSTGRES:
        values["database_url"] = database_for(tmp_path)
    return values


def environment_for(tmp_path: Path) -> dict[str, str]:
    """The same, as a child process's environment variables."""
    return {key.upper(): str(value) for key, value in settings_for(tmp_path).items()}


def rows(target: Path | str, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
    """Rows of ``sql`` (``?`` parameters) read straight from the database at ``target``, as a
    test inspects what was committed; works with the bot running or dead. An SQLite file that
    does not exist yet has no rows."""
    if isinstance(target, Path):
        if not target.exists():
            return []
        with contextlib.closing(sqlite3.connect(f"file:{target}?mode=ro", uri=True)) as conn:
            conn.row_factory = sqlite3.Row
            return [dict(row) for row in conn.execute(sql, params)]

    async def read() -> list[dict[str, Any]]:
        conn = await asyncpg.connect(target)
        try:
            return [dict(row) for row in await conn.fetch(numbered(sql), *params)]
        finally:
            await conn.close()

    return run_aside(read())


class _Rows:
    def __init__(self, found: list[Any]) -> None:
        self._found = found

    def fetchone(self) -> Any:
        return self._found[0] if self._found else None

    def fetchall(self) -> list[Any]:
        return self._found


class SyncPostgres:
    """A blocking connection to PostgreSQL shaped like ``sqlite3.Connection`` (execute,
    executemany, close), for set-up code that writes rows straight into the database."""

    def __init__(self, url: str) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._conn: asyncpg.Connection = self._call(asyncpg.connect(url))

    def _call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def execute(self, sql: str, params: Sequence[Any] = ()) -> _Rows:
        return _Rows(self._call(self._conn.fetch(numbered(sql), *params)))

    def executemany(self, sql: str, params: Any) -> None:
        self._call(self._conn.executemany(numbered(sql), list(params)))

    def close(self) -> None:
        self._call(resync_row_ids(self._conn))
        self._call(self._conn.close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()


def connect(target: Path | str) -> Any:
    """A blocking, autocommitting connection to the database at ``target`` (sqlite3's, or the
    same shape over PostgreSQL)."""
    if isinstance(target, Path):
        return sqlite3.connect(target, isolation_level=None)
    return SyncPostgres(target)


@contextlib.asynccontextmanager
async def storage_with_history(
    tmp_path: Path, *, heavy: int, heavy_esims: int
) -> AsyncIterator[Storage]:
    """An open Storage holding a generated history (bench/history.py: 200 users, 4,000 orders
    over 40 days) and a customer ``heavy`` with ``heavy_esims`` eSIMs."""
    from bench.history import generate, heavy_customer

    target = database_for(tmp_path)
    store = Storage(target)
    await store.open()
    conn = connect(target)
    generate(conn, users=200, orders=4000, days=40)
    heavy_customer(conn, heavy, heavy_esims)
    conn.close()
    try:
        yield store
    finally:
        await store.close()
