"""The embedded backend, SQLite: set-up, migrations, and explicit write transactions.

Reads go through their own connection so browsing never waits behind a write; every write runs
in ``BEGIN IMMEDIATE`` on one writer connection guarded by a lock, because aiosqlite shares one
connection between coroutines and their statements would otherwise interleave inside one
transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
import stat
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from storage._base import ConstraintViolation, Database, Row, Transaction

__all__ = ["SqliteDatabase"]

log = logging.getLogger("storage.db")

_INCREMENTAL = 2  # PRAGMA auto_vacuum's value for INCREMENTAL


class SqliteDatabase(Database):
    kind = "sqlite"

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._writer: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._write_lock = asyncio.Lock()
        # One read at a time on the reader connection. SQLite keeps a connection's snapshot
        # while any of its statements is open, and aiosqlite lets another coroutine's statement
        # start between a cursor's execute and its close: under a steady stream of overlapping
        # reads the snapshot never ends, and a row committed a moment ago stays invisible (a
        # pre-checkout not finding the order it just invoiced). Serialised, each read starts
        # fresh; aiosqlite's single thread ran them one at a time anyway.
        self._read_lock = asyncio.Lock()

    async def open(self) -> None:
        on_disk = str(self.path) != ":memory:"
        if on_disk:
            _create_privately(self.path)
        self._writer = await self._connect()
        # Only takes effect on a new, empty file; an older database switches in reclaim().
        await self._writer.execute("PRAGMA auto_vacuum=INCREMENTAL")
        await self._writer.execute("PRAGMA journal_mode=WAL")
        await self.migrate()
        self._reader = await self._connect()
        if on_disk:
            _make_sidecars_private(self.path)

    async def _connect(self) -> aiosqlite.Connection:
        # isolation_level=None: we issue BEGIN ourselves, so every transaction is explicit.
        conn = await aiosqlite.connect(self.path, isolation_level=None)
        conn.row_factory = aiosqlite.Row
        await conn.execute("PRAGMA synchronous=FULL")
        await conn.execute("PRAGMA foreign_keys=ON")
        await conn.execute("PRAGMA busy_timeout=5000")
        return conn

    async def close(self) -> None:
        for conn in (self._reader, self._writer):
            if conn is not None:
                await conn.close()
        self._reader = self._writer = None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        conn = self._require(self._writer)
        async with self._write_lock:
            await conn.execute("BEGIN IMMEDIATE")
            try:
                yield SqliteTransaction(conn)
            except BaseException:
                await conn.execute("ROLLBACK")
                raise
            await conn.execute("COMMIT")

    async def reclaim(self, pages: int = 10_000) -> bool:
        """Give up to ``pages`` free pages (4 KiB each) back to the file system, after the
        retention job deleted rows. A database created before incremental vacuuming is switched
        to it first with one full VACUUM (once; writes wait meanwhile). True if it did that."""
        conn = self._require(self._writer)
        async with self._write_lock:
            async with conn.execute("PRAGMA auto_vacuum") as cursor:
                row = await cursor.fetchone()
            switched = row is not None and row[0] != _INCREMENTAL
            if switched:
                log.info("switching the database to incremental vacuuming (one VACUUM)")
                await conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
                await conn.execute("VACUUM")
            # executescript steps the pragma to its end; execute() would free a single page
            await conn.executescript(f"PRAGMA incremental_vacuum({int(pages)});")
        return switched

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        async with self._read_lock, self._require(self._reader).execute(sql, params) as cursor:
            return await cursor.fetchone()

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        async with self._read_lock, self._require(self._reader).execute(sql, params) as cursor:
            return list(await cursor.fetchall())

    @staticmethod
    def _require(conn: aiosqlite.Connection | None) -> aiosqlite.Connection:
        if conn is None:
            raise RuntimeError("database is not open")
        return conn


class SqliteTransaction(Transaction):
    """Statements inside one BEGIN IMMEDIATE … COMMIT."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        try:
            async with self._conn.execute(sql, params) as cursor:
                return cursor.rowcount
        except sqlite3.IntegrityError as error:
            raise ConstraintViolation(str(error)) from error

    async def executemany(self, sql: str, params: Iterable[Sequence[Any]]) -> None:
        await self._conn.executemany(sql, params)

    async def insert(self, sql: str, params: Sequence[Any] = ()) -> int:
        async with self._conn.execute(sql, params) as cursor:
            return int(cursor.lastrowid or 0)

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        try:
            async with self._conn.execute(sql, params) as cursor:
                return await cursor.fetchone()
        except sqlite3.IntegrityError as error:
            raise ConstraintViolation(str(error)) from error

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        async with self._conn.execute(sql, params) as cursor:
            return list(await cursor.fetchall())


def _create_privately(path: Path) -> None:
    """Create the database's folder (0700) and file (0600) when missing: it holds activation
    codes. ``python -m bot`` sets umask 077 too; the explicit modes cover other entry points."""
    folder = path.parent
    if not folder.exists():
        folder.mkdir(parents=True, mode=0o700, exist_ok=True)
        folder.chmod(0o700)  # mkdir's mode passes through the umask
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:  # an existing file is the operator's to change, not ours
            log.warning("%s can be read by other users (mode %03o): chmod 600 it", path, mode)
        return
    path.chmod(0o600)


def _make_sidecars_private(path: Path) -> None:
    # SQLite gives -wal and -shm the database file's mode; set it anyway, they hold the same data.
    for suffix in ("-wal", "-shm"):
        sidecar = path.with_name(path.name + suffix)
        with contextlib.suppress(FileNotFoundError):
            sidecar.chmod(0o600)
