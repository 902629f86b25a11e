"""``python -m bot``: run the bot until SIGINT or SIGTERM."""

from __future__ import annotations

import asyncio
import sys

from bot.logs import configure_logging
from bot.settings import SettingsError, load_settings


def main() -> int:
    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.secrets)
    from bot.app import run

    asyncio.run(run(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
