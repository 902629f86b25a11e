"""``python -m bot doctor``: what is misconfigured, one line per check, with what to do.

Runs beside the bot (or instead of it) with the same settings, reads the database read-only and
never changes anything, except that it asks the reseller to send its test webhook. Exit code 1
when any check fails (warnings do not count).
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import httpx

from bot.logs import SecretMasker
from bot.pikasim import PikaSimClient, PikaSimError, RequestBudget
from bot.pricing import usd
from bot.settings import Settings
from storage.migrations import MIGRATIONS
from storage.ops import database_state, last_webhook_test_id, postgres_state

__all__ = ["Finding", "run_doctor"]

ARRIVAL_TIMEOUT = 10.0  # seconds for the reseller's test webhook to reach the running bot
_SKEW_WARN, _SKEW_FAIL = 5.0, 60.0  # seconds
_DISK_WARN, _DISK_FAIL = 1024**3, 100 * 1024**2  # bytes free


@dataclass(frozen=True)
class Finding:
    status: str  # "ok", "warn", "fail"
    check: str
    detail: str
    fix: str = ""

    def line(self) -> str:
        text = f"{self.status.upper():<4}  {self.check}: {self.detail}"
        return f"{text} -> {self.fix}" if self.fix else text


def _ok(check: str, detail: str) -> Finding:
    return Finding("ok", check, detail)


def _warn(check: str, detail: str, fix: str) -> Finding:
    return Finding("warn", check, detail, fix)


def _fail(check: str, detail: str, fix: str) -> Finding:
    return Finding("fail", check, detail, fix)


async def run_doctor(settings: Settings, out: Callable[[str], None] = print) -> int:
    """Run every check, print one line each (secrets masked); 1 when anything failed."""
    mask = SecretMasker(settings.secrets)
    failed = False
    async for finding in _findings(settings):
        out(mask(finding.line()))
        failed = failed or finding.status == "fail"
    return 1 if failed else 0


async def _findings(settings: Settings) -> AsyncIterator[Finding]:
    async with httpx.AsyncClient(timeout=15.0, follow_redirects=False) as http:
        for finding in await _telegram(settings, http):
            yield finding
        if settings.uses_sandbox:
            yield _ok("reseller", "the embedded sandbox (no PIKASIM_API_KEY): nothing is bought")
        else:
            reseller = PikaSimClient(
                http,
                api_key=settings.reseller_api_key,
                base_url=settings.pikasim_api_url,
                budget=RequestBudget(limit=settings.pikasim_rate_limit, window=60.0),
                max_retries=1,
            )
            for finding in await _reseller(settings, reseller):
                yield finding
    if settings.uses_postgres:
        yield await _postgres(settings.database)
        yield _ok("disk", "not checked: the data lives in PostgreSQL (DATABASE_PATH is not used)")
        if settings.backup_dir is not None:
            yield _warn(
                "backups",
                "BACKUP_DIR is set, but the bot backs up only SQLite",
                "back PostgreSQL up on its host (pg_dump, your provider's backups); unset it",
            )
        return
    yield await asyncio.to_thread(_database, settings.database_path)
    for folder in sorted({settings.database_path.parent, settings.backup_dir or Path()} - {Path()}):
        yield _disk(folder)


# --- Telegram ------------------------------------------------------------------------------


async def _telegram(settings: Settings, http: httpx.AsyncClient) -> list[Finding]:
    base = settings.telegram_api_url + settings.telegram_bot_token.get_secret_value()
    try:
        response = await http.get(base + "/getMe")
        body = response.json()
    except (httpx.HTTPError, ValueError) as error:
        return [
            _fail(
                "telegram",
                f"cannot reach the Bot API at {settings.telegram_api_url} ({type(error).__name__})",
                "check the network, a proxy or TELEGRAM_API_URL",
            )
        ]
    if response.status_code in (401, 404) or not body.get("ok"):
        return [
            _fail(
                "telegram token",
                f"Telegram refused TELEGRAM_BOT_TOKEN ({response.status_code}"
                f" {body.get('description', '')})".rstrip(),
                "copy the token again from @BotFather (/mybots, API Token)",
            )
        ]
    me = body["result"]
    findings = [_ok("telegram token", f"@{me.get('username')} (id {me.get('id')})")]
    findings.append(_clock(response.headers.get("date")))
    findings.append(await _telegram_webhook(settings, http, base))
    return findings


def _clock(date_header: str | None) -> Finding:
    if not date_header:
        return _warn("clock", "Telegram sent no Date header", "cannot check the clock")
    skew = time.time() - parsedate_to_datetime(date_header).timestamp()
    detail = f"{skew:+.0f} s against Telegram"
    if abs(skew) >= _SKEW_FAIL:
        return _fail("clock", detail, "enable NTP (timedatectl set-ntp true)")
    if abs(skew) >= _SKEW_WARN:
        return _warn("clock", detail, "enable NTP (timedatectl set-ntp true)")
    return _ok("clock", detail + " (Date has one-second resolution)")


async def _telegram_webhook(settings: Settings, http: httpx.AsyncClient, base: str) -> Finding:
    try:
        info: dict[str, Any] = (await http.get(base + "/getWebhookInfo")).json()["result"]
    except (httpx.HTTPError, ValueError, KeyError) as error:
        return _warn("telegram webhook", f"getWebhookInfo failed ({error})", "try again")
    url = str(info.get("url") or "")
    pending = int(info.get("pending_update_count") or 0)
    if settings.telegram_webhook_url is not None:
        return _webhook_mode(settings.telegram_webhook_url, url, pending, info)
    if url:
        return _warn(
            "telegram webhook",
            f"a webhook is set ({url}, {pending} updates pending) but the bot polls",
            "nothing: the bot deletes it when it starts polling",
        )
    return _ok("telegram webhook", f"none: the bot polls ({pending} updates pending)")


def _webhook_mode(expected: str, url: str, pending: int, info: dict[str, Any]) -> Finding:
    check = "telegram webhook"
    if url != expected:
        return _fail(
            check,
            f"registered {url or 'nothing'}, expected {expected}",
            "start the bot: it calls setWebhook with TELEGRAM_WEBHOOK_URL at start",
        )
    error_at = int(info.get("last_error_date") or 0)
    if error_at and time.time() - error_at < 600:
        finding = _fail if pending else _warn
        return finding(
            check,
            f"Telegram's last delivery failed {time.time() - error_at:.0f} s ago"
            f" ({info.get('last_error_message')}), {pending} updates pending",
            "is the bot running, and does your proxy forward TELEGRAM_WEBHOOK_URL to HTTP_PORT?",
        )
    return _ok(check, f"{url} ({pending} updates pending)")


# --- the reseller ---------------------------------------------------------------------------


async def _reseller(settings: Settings, reseller: PikaSimClient) -> list[Finding]:
    try:
        account = await reseller.account()
    except PikaSimError as error:
        return [_reseller_refused(error)]
    if (account.status or "").lower() in ("suspended", "blocked", "disabled", "rejected"):
        return [
            _fail(
                "reseller key",
                f"the account is {account.status}",
                "contact PikaSim support; nothing can be ordered until it is active",
            )
        ]
    findings = [_ok("reseller key", f"{account.company_name or 'account'} ({account.status})")]
    findings.append(await _wallet(settings, reseller))
    findings.extend(await _reseller_webhook(settings, reseller))
    return findings


def _reseller_refused(error: PikaSimError) -> Finding:
    if error.status == 401:
        return _fail(
            "reseller key",
            "PikaSim refused PIKASIM_API_KEY (401)",
            "copy the key again from the PikaSim dashboard",
        )
    if error.status == 403:
        return _fail(
            "reseller key",
            f"PikaSim answered 403: {error.message}",
            "the account is suspended or this server's IP is not whitelisted: ask PikaSim",
        )
    return _fail(
        "reseller",
        f"cannot use the reseller API: {error.message}",
        "check PIKASIM_API_URL and the network",
    )


async def _wallet(settings: Settings, reseller: PikaSimClient) -> Finding:
    try:
        balance = await reseller.balance()
    except PikaSimError as error:
        return _fail("wallet", f"cannot read the balance: {error.message}", "try again")
    detail = f"{usd(balance.balance_cents)}, available credit {usd(balance.available_credit_cents)}"
    if balance.available_credit_cents <= 0:
        return _fail("wallet", detail, "top up the wallet (/deposit): orders fail with 402")
    if balance.balance_cents < settings.low_balance_cents:
        return _warn("wallet", detail + f", under {usd(settings.low_balance_cents)}", "top it up")
    return _ok("wallet", detail)


async def _reseller_webhook(settings: Settings, reseller: PikaSimClient) -> list[Finding]:
    check = "reseller webhook"
    if settings.public_url is None:
        return [_ok(check, "no PUBLIC_URL: the bot polls the reseller for each order")]
    expected = settings.public_url.rstrip("/") + "/webhooks/pikasim"
    try:
        registered = (await reseller.webhook_settings()).webhook_url
    except PikaSimError as error:
        return [_fail(check, f"cannot read it: {error.message}", "try again")]
    if registered != expected:
        return [
            _fail(
                check,
                f"registered {registered or 'nothing'}, expected {expected}",
                "start the bot: it registers PUBLIC_URL at start",
            )
        ]
    return [_ok(check, f"registered {expected}"), await _round_trip(settings, reseller, expected)]


async def _round_trip(settings: Settings, reseller: PikaSimClient, url: str) -> Finding:
    check = "webhook round trip"
    try:
        before = await last_webhook_test_id(settings.database)
    except Exception:  # the database check below says why
        return _fail(check, "cannot read the database to see it arrive", "see the database check")
    try:
        result = await reseller.test_webhook()
    except PikaSimError as error:
        return _fail(check, f"the reseller could not test it: {error.message}", "try again")
    status = result.status_code
    if status == 401:
        return _fail(
            check,
            "the bot refused the test webhook's signature",
            "set PIKASIM_WEBHOOK_SECRET to the webhook secret shown by PikaSim",
        )
    if result.delivered is False or (status is not None and not 200 <= status < 300):
        why = result.get("error") or result.message or f"HTTP {status}"
        return _fail(
            check,
            f"the reseller could not deliver to {url} ({why})",
            "is the bot running, and does your proxy forward PUBLIC_URL to HTTP_PORT?",
        )
    deadline = time.monotonic() + ARRIVAL_TIMEOUT
    while time.monotonic() < deadline:
        if await last_webhook_test_id(settings.database) > before:
            return _ok(check, "the reseller's test webhook arrived and its signature verified")
        await asyncio.sleep(0.2)
    return _fail(
        check,
        f"the reseller delivered to {url} but this bot's database never stored it",
        "PUBLIC_URL points at another server or another bot",
    )


# --- this machine ---------------------------------------------------------------------------


def _database(path: Path) -> Finding:
    latest = len(MIGRATIONS)
    if not path.is_file():
        return _warn("database", f"none yet at {path}", "nothing: the bot creates it at start")
    try:
        problems, version = database_state(path)
    except Exception as error:  # any failure to read it is the finding
        return _fail("database", f"cannot read {path}: {error}", "restore the latest backup")
    if problems != ["ok"]:
        return _fail(
            "database",
            f"integrity_check failed: {'; '.join(problems)[:200]}",
            "stop the bot and restore the latest backup (see README, Backups)",
        )
    if version > latest:
        return _fail(
            "database",
            f"schema version {version} is newer than this code ({latest})",
            "run the newer version of the bot, or restore a backup made by this one",
        )
    if version < latest:
        return _warn(
            "database", f"schema version {version} of {latest}", "nothing: migrated at start"
        )
    return _ok("database", f"integrity ok, schema version {version}")


async def _postgres(url: Path | str) -> Finding:
    """The PostgreSQL database of DATABASE_URL, read in a read-only session: never migrated."""
    latest = len(MIGRATIONS)
    try:
        server, version = await postgres_state(str(url))
    except Exception as error:  # any failure to connect or read is the finding (masked)
        return _fail(
            "database",
            f"cannot read the PostgreSQL database of DATABASE_URL: {error}",
            "check DATABASE_URL (host, database, user, password) and that the server runs",
        )
    where = f"PostgreSQL {server}"
    if version is None:
        return _warn("database", f"{where}, no schema yet", "nothing: the bot creates it at start")
    if version > latest:
        return _fail(
            "database",
            f"{where}, schema version {version} is newer than this code ({latest})",
            "run the newer version of the bot",
        )
    if version < latest:
        return _warn(
            "database",
            f"{where}, schema version {version} of {latest}",
            "nothing: migrated at start",
        )
    return _ok("database", f"{where}, schema version {version}")


def _disk(folder: Path) -> Finding:
    existing = folder.resolve()
    while not existing.exists():
        existing = existing.parent
    free = shutil.disk_usage(existing).free
    detail = f"{free / 1024**3:.1f} GiB free for {folder}"
    if free < _DISK_FAIL:
        return _fail("disk", detail, "free space: SQLite cannot commit on a full disk")
    if free < _DISK_WARN:
        return _warn("disk", detail, "free some space soon")
    return _ok("disk", detail)
