"""Operator commands: ``python -m bot backup PATH``, ``doctor`` and ``migrate-db``."""

from __future__ import annotations

import sys
from pathlib import Path

from bot.settings import Settings, SettingsError, load_settings

__all__ = ["run_command"]

USAGE = (
    "usage: python -m bot [backup PATH | doctor | migrate-db [--from SQLITE_FILE] --to URL]\n"
    "  backup PATH   copy the SQLite database to PATH (a file or a folder), checked\n"
    "  doctor        check the settings, Telegram, the reseller and the database\n"
    "  migrate-db    copy the SQLite database (DATABASE_PATH) into an empty PostgreSQL\n"
    "                database (--to postgresql://…, default DATABASE_URL); stop the bot first"
)


def run_command(args: list[str]) -> int:
    command, rest = args[0], args[1:]
    if command in ("-h", "--help", "help"):
        print(USAGE)
        return 0
    arguments = {"backup": (1,), "doctor": (0,)}.get(command, ())
    if command != "migrate-db" and len(rest) not in arguments:
        print(USAGE, file=sys.stderr)
        return 2
    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    if command == "backup":
        return _backup(settings, Path(rest[0]))
    if command == "migrate-db":
        from bot.migrate_db import run_migrate_db

        return run_migrate_db(settings, rest)
    return _doctor(settings)


def _backup(settings: Settings, target: Path) -> int:
    from bot.backup import POSTGRES_BACKUPS, BackupError, backup_database

    if settings.uses_postgres:
        print(f"backup: nothing done: {POSTGRES_BACKUPS}", file=sys.stderr)
        return 1

    try:
        report = backup_database(settings.database_path, target)
    except (BackupError, OSError) as error:
        print(f"backup failed: {error}", file=sys.stderr)
        return 1
    print(report.describe())
    return 0


def _doctor(settings: Settings) -> int:
    import asyncio

    from bot.doctor import run_doctor
    from bot.logs import configure_logging

    # Library warnings (retries) go through the same masking as the bot's logs.
    configure_logging("WARNING", settings.secrets, settings.log_format)
    return asyncio.run(run_doctor(settings))
