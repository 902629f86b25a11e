"""``python -m bot migrate-db``: a shop's SQLite history moves into an empty PostgreSQL database
whole (every row of every table, the books the same), in one transaction, and the bot carries
on there; a database that holds rows is refused; the password is never printed."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import sys
from pathlib import Path
from typing import Any

import pytest

from bench.history import generate
from bot.migrate_db import Figures, MigrationError, _compare, masked_url, migrate_database
from storage import OrderKind, Storage
from storage.ops import OpsRepo
from tests.databases import new_postgres_database, postgres_only, rows

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "pw-Never-Printed-4242"


async def shop_history(path: Path) -> Path:
    """An SQLite database with the bot's schema, a history from bench/history.py, and a row or
    more in every other table."""
    storage = Storage(path)
    await storage.open()
    await storage.close()
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        generate(conn, users=120, orders=1500, days=60)
        conn.executescript(
            """
            INSERT INTO packages VALUES ('JP_1GB_7D', 'Japan 1 GB', 'local', 'JP', NULL,
                1073741824, 7, 180, 1, 0, '{}', 1, 1700000000);
            INSERT INTO package_countries VALUES ('JP_1GB_7D', 'JP');
            INSERT INTO audit_log (admin_id, action, target, details, created_at)
                VALUES (4242, 'refund', 'order 7', 'by hand', 1700000000);
            INSERT INTO meta VALUES ('catalog_synced_at', '1700000000.5', 1700000000);
            INSERT INTO care_notices VALUES ('8910000000000000001', 'expiry', 1700000000);
            INSERT INTO broadcasts (admin_id, chat_id, message_id, text, language, total,
                next_user_id, sent, blocked, failed, status, created_at, finished_at)
                VALUES (4242, 4242, 9, 'Hello — ¡hola!', 'en', 120, 0, 120, 1, 0, 'done',
                1700000000, 1700000100);
            INSERT INTO stats_days VALUES (19675, 10, 5000, 400, 1, 0, 1800, 1, '[["JP"]]',
                1700000000);
            INSERT INTO books_days (day, received, delivered, refunded, in_flight, cost_cents,
                computed_at) VALUES (19675, 5000, 4600, 400, 0, 1800, 1700000000);
            UPDATE payments SET refund_status = 'done' WHERE id = 3;
            """
        )
    finally:
        conn.close()
    return path


def tables(target: Path | str) -> list[str]:
    if isinstance(target, Path):
        sql = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    else:
        sql = (
            "SELECT table_name AS name FROM information_schema.tables"
            " WHERE table_schema = current_schema()"
        )
    return sorted(row["name"] for row in rows(target, sql))


def contents(target: Path | str, table: str) -> list[tuple[Any, ...]]:
    return sorted(
        (tuple(sorted(row.items())) for row in rows(target, f"SELECT * FROM {table}")), key=repr
    )


async def cli(tmp_path: Path, *args: str, database: Path | None = None) -> tuple[int, str]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(ROOT),
        "TELEGRAM_BOT_TOKEN": "1:unused-by-migrate-db",
        "DATABASE_PATH": str(database or tmp_path / "bot.sqlite3"),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args,
        env=env, cwd=tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await process.communicate()
    return process.returncode or 0, output.decode()


def with_password(url: str) -> str:
    scheme, rest = url.split("://", 1)
    return f"{scheme}://postgres:{PASSWORD}@{rest.split('@', 1)[-1]}"


@postgres_only
async def test_a_shop_history_moves_whole_and_the_bot_carries_on(tmp_path: Path) -> None:
    source = await shop_history(tmp_path / "bot.sqlite3")
    url = new_postgres_database()
    copied = [name for name in tables(source) if name != "schema_migrations"]
    assert all(rows(source, f"SELECT 1 FROM {name} LIMIT 1") for name in copied), (
        "fill every table, so the test shows each one is copied"
    )
    lines: list[str] = []

    figures = await migrate_database(source, url, lines.append)

    assert tables(url) == tables(source)
    for name in copied:  # every row of every table, value for value
        assert contents(url, name) == contents(source, name), name
    assert figures.counts["orders"] == 1500 and set(figures.counts) == set(copied)
    assert lines[-1].startswith(f"committed: {len(copied)} tables")
    before, after = Storage(source), Storage(url)
    await before.open()
    await after.open()
    try:  # the bot's own figures (/metrics) agree
        assert await OpsRepo(after.db).figures() == await OpsRepo(before.db).figures()
        user = rows(url, "SELECT MAX(id) AS id FROM users")[0]["id"]
        order = await after.orders.create(
            kind=OrderKind.ESIM, user_id=user, chat_id=user, package_code="JP_1GB_7D",
            package_name="Japan 1 GB", price_stars=150, cost_cents=180, language="en",
        )  # fmt: skip
        assert order.id == 1501  # the id sequences moved past the copied ids
        event = await after.webhook_events.store("evt-after-the-move", "order.completed", "{}")
        assert event == figures.counts["webhook_events"] + 1
    finally:
        await before.close()
        await after.close()


@postgres_only
async def test_a_target_that_holds_rows_is_refused_and_left_alone(tmp_path: Path) -> None:
    source = await shop_history(tmp_path / "bot.sqlite3")
    url = new_postgres_database()
    code, output = await cli(tmp_path, "migrate-db", "--to", with_password(url))
    assert code == 0, output
    orders = rows(url, "SELECT COUNT(*) AS n FROM orders")[0]["n"]

    code, output = await cli(tmp_path, "migrate-db", "--to", with_password(url))

    assert code == 1
    assert "nothing copied: the target database already holds rows" in output
    assert "empty database" in output
    assert rows(url, "SELECT COUNT(*) AS n FROM orders")[0]["n"] == orders == 1500
    assert PASSWORD not in output
    assert source.exists()


@postgres_only
async def test_a_failed_copy_leaves_the_target_empty(tmp_path: Path) -> None:
    source = await shop_history(tmp_path / "bot.sqlite3")
    with sqlite3.connect(source) as conn:  # SQLite keeps text an INTEGER column cannot hold
        conn.execute("UPDATE webhook_events SET received_at = 'yesterday' WHERE id = 7")
    url = new_postgres_database()

    with pytest.raises(MigrationError, match="copying webhook_events failed"):
        await migrate_database(source, url, lambda line: None)

    assert "users" in tables(url)  # the schema is there; users were copied before it failed
    for name in tables(url):
        if name != "schema_migrations":
            assert rows(url, f"SELECT COUNT(*) AS n FROM {name}")[0]["n"] == 0, name


@postgres_only
async def test_the_password_is_never_printed(tmp_path: Path) -> None:
    await shop_history(tmp_path / "bot.sqlite3")
    url = with_password(new_postgres_database())

    code, output = await cli(tmp_path, "migrate-db", "--from", "bot.sqlite3", "--to", url)

    assert code == 0, output
    assert PASSWORD not in output
    assert f"DATABASE_URL={masked_url(url)}" in output and ":***@" in masked_url(url)
    assert "DATABASE_PATH is then ignored" in output and "pg_dump" in output
    assert "orders status=delivered: orders" in output
    assert "refunds status=done: refunds" in output
    missing = url.replace("/t_", "/no_such_")
    code, output = await cli(tmp_path, "migrate-db", "--to", missing)
    assert code == 1
    assert "nothing copied: cannot connect to" in output and ":***@" in output
    assert PASSWORD not in output


async def test_it_needs_a_postgresql_url_and_an_sqlite_file(tmp_path: Path) -> None:
    code, output = await cli(tmp_path, "migrate-db")
    assert code == 2 and "usage: python -m bot" in output and "--to" in output
    code, output = await cli(tmp_path, "migrate-db", "--to", "mysql://somewhere/db")
    assert code == 1 and "--to must be a postgresql:// URL" in output
    code, output = await cli(tmp_path, "migrate-db", "--to", "postgresql://x:secretpw@h/db")
    assert code == 1 and "no SQLite database at" in output and "secretpw" not in output
    for asking in ("help", "--help"):
        code, output = await cli(tmp_path, asking)
        assert code == 0 and "migrate-db" in output and "usage: python -m bot" in output


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://bot:s3cret@db.example:5432/shop", "postgresql://bot:***@db.example:5432/shop"),
        ("postgresql://bot@db/shop?password=s3cret&sslmode=require",
         "postgresql://bot@db/shop?password=***&sslmode=require"),
        ("postgres://bot:p%40ss@db/shop", "postgres://bot:***@db/shop"),
        ("postgresql://bot@/shop?host=/run/postgresql", "postgresql://bot@/shop?host=/run/postgresql"),
    ],
)  # fmt: skip
def test_masked_url(url: str, shown: str) -> None:
    assert masked_url(url) == shown


def test_figures_that_differ_are_named_with_both_values() -> None:
    source = Figures({"orders": 3, "users": 2}, {0: [("delivered", 3, 450, 540)], 1: [], 2: []})
    target = Figures({"orders": 3, "users": 1}, {0: [("delivered", 3, 450, 500)], 1: [], 2: []})
    with pytest.raises(MigrationError) as raised:
        _compare(source, target)
    assert str(raised.value) == (
        "after the copy PostgreSQL differs from SQLite: users (SQLite 2, PostgreSQL 1);"
        " orders by status (SQLite [('delivered', 3, 450, 540)],"
        " PostgreSQL [('delivered', 3, 450, 500)])"
    )
    _compare(source, source)
