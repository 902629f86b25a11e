"""Consistent backups of the SQLite database while the bot runs.

SQLite's online backup API copies one snapshot of the database (one read transaction, so
writes by the running bot neither block nor tear it). The copy is written next to its final
name, switched out of WAL so it is one self-contained file, checked with ``integrity_check``,
flushed to disk, and only then renamed into place: a backup that exists is a good one.

With DATABASE_URL (PostgreSQL) the bot makes no backups: that is the database host's job.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

__all__ = [
    "POSTGRES_BACKUPS",
    "BackupError",
    "BackupReport",
    "backup_database",
    "daily_backup",
    "next_backup_in",
    "prune_backups",
]

log = logging.getLogger(__name__)

DAY = 24 * 3600
_PREFIX = "esim-bot-"
_SUFFIX = ".sqlite3"

POSTGRES_BACKUPS = (
    "the data is in PostgreSQL (DATABASE_URL), and backing it up is the database host's job:"
    " pg_dump, or your provider's backups and point-in-time recovery; the bot backs up only SQLite"
)


class BackupError(Exception):
    """The backup could not be made or failed its check; the message says why."""


@dataclass(frozen=True)
class BackupReport:
    path: Path
    size_bytes: int
    schema_version: int
    orders: int

    def describe(self) -> str:
        return (
            f"backup written to {self.path}: {self.orders} orders, schema version"
            f" {self.schema_version}, integrity ok, {self.size_bytes // 1024} KiB"
        )


def backup_database(database: Path, target: Path) -> BackupReport:
    """Copy ``database`` to ``target`` (a file, or a folder to name one in) and check it."""
    if not database.is_file():
        raise BackupError(f"no database at {database} (check DATABASE_PATH)")
    if target.is_dir():
        target = target / backup_name()
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    try:
        _copy(database, partial)
        report = _check(partial, target)
        _fsync(partial)
        os.replace(partial, target)
        _fsync_dir(target.parent)
    except sqlite3.Error as error:
        raise BackupError(f"backup of {database} failed: {error}") from error
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
    return report


def backup_name(at: float | None = None) -> str:
    moment = datetime.fromtimestamp(time.time() if at is None else at, UTC)
    return f"{_PREFIX}{moment:%Y%m%dT%H%M%SZ}{_SUFFIX}"


def _copy(database: Path, partial: Path) -> None:
    source = sqlite3.connect(database, timeout=30)
    try:
        copy = sqlite3.connect(partial)
        try:
            source.backup(copy)  # all pages in one step: one consistent snapshot
            copy.execute("PRAGMA journal_mode=DELETE")  # a single file, no -wal beside it
        finally:
            copy.close()
    finally:
        source.close()


def _check(partial: Path, target: Path) -> BackupReport:
    copy = sqlite3.connect(partial)
    try:
        result = [row[0] for row in copy.execute("PRAGMA integrity_check")]
        if result != ["ok"]:
            raise BackupError(f"the copy failed integrity_check: {'; '.join(result)[:200]}")
        version = copy.execute("SELECT MAX(version) FROM schema_migrations").fetchone()[0]
        orders = copy.execute("SELECT COUNT(*) FROM orders").fetchone()[0]
    finally:
        copy.close()
    return BackupReport(target, partial.stat().st_size, int(version or 0), int(orders))


def _fsync(path: Path) -> None:
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):  # not every file system lets a folder be opened
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def backups_in(folder: Path) -> list[Path]:
    """This bot's backups in ``folder``, oldest first (the names sort by time)."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob(f"{_PREFIX}*{_SUFFIX}") if p.is_file())


def prune_backups(folder: Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` backups; returns what was deleted."""
    existing = backups_in(folder)
    doomed = existing[: max(0, len(existing) - keep)]
    for path in doomed:
        path.unlink(missing_ok=True)
    return doomed


def next_backup_in(folder: Path, now: float | None = None) -> float:
    """Seconds until the next daily backup is due: a day after the newest one (after a
    restart too), and soon when there is none."""
    existing = backups_in(folder)
    if not existing:
        return 1.0
    age = (time.time() if now is None else now) - existing[-1].stat().st_mtime
    return max(1.0, DAY - age)


async def daily_backup(database: Path, folder: Path, keep: int) -> BackupReport | None:
    """The BACKUP_DIR job: back up, then keep the newest ``keep``. Never raises."""
    try:
        report = await asyncio.to_thread(backup_database, database, folder / backup_name())
        removed = await asyncio.to_thread(prune_backups, folder, keep)
    except (BackupError, OSError) as error:
        log.error("daily backup failed: %s", error)
        return None
    log.info("%s; %d old backups removed", report.describe(), len(removed))
    return report
