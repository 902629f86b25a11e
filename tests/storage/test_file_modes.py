"""Files are private: the database, its -wal/-shm files and the data folder; the systemd unit."""

from __future__ import annotations

import configparser
import contextlib
import os
import re
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from emulators.telegram import FakeTelegram
from storage import Storage
from tests.rig import BotProcess, RunningSandbox

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "deploy" / "esim-bot.service"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def database_modes(database: Path) -> dict[str, int]:
    files = [database, Path(f"{database}-wal"), Path(f"{database}-shm")]
    return {"folder": mode(database.parent)} | {path.name: mode(path) for path in files}


def private(database: Path) -> dict[str, int]:
    name = database.name
    return {"folder": 0o700, name: 0o600, f"{name}-wal": 0o600, f"{name}-shm": 0o600}


def process_umask(pid: int) -> str | None:
    """The umask a running process has (Linux's /proc; None elsewhere)."""
    status = Path(f"/proc/{pid}/status")
    if not status.exists():
        return None
    found = re.search(r"^Umask:\s*(\d+)$", status.read_text(), re.MULTILINE)
    return found.group(1) if found else None


@contextlib.contextmanager
def umask(value: int) -> Iterator[None]:
    previous = os.umask(value)
    try:
        yield
    finally:
        os.umask(previous)


async def test_storage_creates_private_files_even_with_a_lax_umask(tmp_path: Path) -> None:
    database = tmp_path / "deploy" / "data" / "bot.sqlite3"
    with umask(0o022):  # a library caller that never set one: files would be 0644
        storage = Storage(database)
        await storage.open()
        try:
            async with storage.db.transaction() as tx:  # a write: -wal and -shm exist
                await tx.execute("CREATE TABLE mode_check (x INTEGER)")
            assert database_modes(database) == private(database)
        finally:
            await storage.close()


async def test_an_existing_database_keeps_its_mode_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    database = tmp_path / "bot.sqlite3"
    with umask(0o022):
        database.touch(mode=0o644)
        storage = Storage(database)
        await storage.open()
        await storage.close()
    assert mode(database) == 0o644
    assert "can be read by other users (mode 644): chmod 600 it" in caplog.text


async def test_the_bot_process_runs_with_umask_077(
    tmp_path: Path, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    database = tmp_path / "data" / "bot.sqlite3"
    # the SQLite file itself is under test, whichever database the rest of the suite uses
    bot = BotProcess.for_rig(tmp_path, tg, sandbox, DATABASE_PATH=str(database), DATABASE_URL="")
    with umask(0o022):
        await bot.start()
    try:
        await bot.wait_ready()
        assert bot.process is not None
        assert process_umask(bot.process.pid) in ("0077", None)
        assert database_modes(database) == private(database)
    finally:
        assert await bot.stop() == 0


def test_the_systemd_unit_sets_umask_and_installs_env_privately(tmp_path: Path) -> None:
    unit = configparser.ConfigParser(interpolation=None, strict=False)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read(UNIT)
    assert unit["Service"]["UMask"] == "0077"
    header = UNIT.read_text()
    step = re.search(r"sudo sh -c '(umask 077 && cp \.env\.example \.env)'", header)
    assert step is not None, "the install steps must create .env with mode 0600"
    (tmp_path / ".env.example").write_text((ROOT / ".env.example").read_text())
    with umask(0o022):
        subprocess.run(["sh", "-c", step.group(1)], cwd=tmp_path, check=True)
    assert mode(tmp_path / ".env") == 0o600
