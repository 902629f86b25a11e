"""``python -m bot``: run the bot until SIGINT or SIGTERM (``backup``, ``doctor``: see commands)."""

from __future__ import annotations

import asyncio
import logging
import sys

from bot.logs import configure_logging
from bot.settings import SettingsError, load_settings


def main() -> int:
    if len(sys.argv) > 1:  # operations: python -m bot backup PATH | doctor
        from bot.commands import run_command

        return run_command(sys.argv[1:])
    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.secrets, settings.log_format)
    from telegram.error import InvalidToken, NetworkError

    from bot.app import run

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
    return 0


if __name__ == "__main__":
    sys.exit(main())
