"""``python -m emulators.pikasim --port 9000``: serve the simulated reseller API until Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Sequence

from bot.asgi_server import BackgroundServer

from ._app import create_app
from ._config import SandboxConfig
from ._faults import API_PREFIX
from ._sandbox import Sandbox

__all__ = ["main"]


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    defaults = SandboxConfig()
    parser = argparse.ArgumentParser(
        prog="python -m emulators.pikasim", description="Serve a simulated PikaSim reseller API."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--api-key", default=defaults.api_key)
    parser.add_argument("--webhook-secret", default=defaults.webhook_secret)
    parser.add_argument("--webhook-url", default=None, help="pre-register a webhook URL")
    parser.add_argument(
        "--provisioning-delay", type=float, default=defaults.provisioning_delay, metavar="SECONDS"
    )
    parser.add_argument(
        "--balance", type=int, default=defaults.initial_balance_cents, metavar="CENTS"
    )
    parser.add_argument("--rate-limit", type=int, default=defaults.rate_limit)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    return parser.parse_args(argv)


def _config(args: argparse.Namespace) -> SandboxConfig:
    return SandboxConfig(
        api_key=args.api_key,
        webhook_secret=args.webhook_secret,
        initial_balance_cents=args.balance,
        provisioning_delay=args.provisioning_delay,
        rate_limit=args.rate_limit,
        seed=args.seed,
        webhook_url=args.webhook_url,
    )


def _banner(url: str, config: SandboxConfig) -> str:
    return "\n".join(
        (
            f"PikaSim sandbox listening on {url}",
            f"  base URL:       {url}{API_PREFIX}",
            f"  API key:        {config.api_key}",
            f"  webhook secret: {config.webhook_secret}",
            f"  knobs:          {url}/_sandbox/state",
            "Press Ctrl-C to stop.",
        )
    )


async def serve(args: argparse.Namespace) -> None:
    config = _config(args)
    app = create_app(config)
    sandbox: Sandbox = app.state.sandbox
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # Windows
            loop.add_signal_handler(signum, stop.set)
    async with BackgroundServer(app, args.host, args.port) as server:
        print(_banner(server.url, config), flush=True)
        await stop.wait()
        print("Stopping...", flush=True)
        await sandbox.aclose()


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    try:
        asyncio.run(serve(args))
    except KeyboardInterrupt:  # signal handlers unavailable on this platform
        pass
    except OSError as exc:
        print(f"cannot serve on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
