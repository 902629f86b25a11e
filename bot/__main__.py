"""``python -m bot``: run the bot until SIGINT or SIGTERM; ``backup``, ``doctor`` and
``migrate-db`` are operations (bot/commands.py).

Without TELEGRAM_BOT_TOKEN (or with ``--playground``) it runs the playground instead: the bot
with a Bot API emulator, the sandbox reseller and a chat page in one process.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys

from bot.logs import configure_logging
from bot.settings import SettingsError, is_configured, load_settings


def main(argv: list[str] | None = None) -> int:
    # Everything the bot writes is private: the database and its -wal/-shm files hold
    # activation codes (storage also sets the modes itself, for other entry points).
    os.umask(0o077)
    args = sys.argv[1:] if argv is None else argv
    if args and (not args[0].startswith("-") or args[0] in ("-h", "--help")):
        # operations: backup, doctor, migrate-db (and the usage text)
        from bot.commands import run_command

        return run_command(args)
    if "--playground" in args or not is_configured("TELEGRAM_BOT_TOKEN"):
        from playground.runner import main as playground_main

        return playground_main()
    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.secrets, settings.log_format)
    from telegram.error import InvalidToken, NetworkError

    from bot.app import run
    from bot.standby import LeaderLockLost

    log = logging.getLogger("bot")
    try:
        asyncio.run(run(settings))
    except InvalidToken:
        log.error("Telegram refused TELEGRAM_BOT_TOKEN: check it with @BotFather")
        return 3
    except NetworkError as error:
        log.error("cannot reach the Telegram Bot API at %s: %s", settings.telegram_api_url, error)
        return 3
    except OSError as error:  # e.g. HTTP_PORT already in use
        log.error("cannot start: %s", error)
        return 3
    except LeaderLockLost as error:  # the supervisor starts it again, as the standby
        log.error("%s", error)
        return 4
    return 0


if __name__ == "__main__":
    sys.exit(main())
