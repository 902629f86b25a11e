"""Settings of a simulated PikaSim reseller account."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

__all__ = ["SandboxConfig"]


@dataclass
class SandboxConfig:
    api_key: str = "pk_sandbox"
    webhook_secret: str = "whsec_sandbox"
    initial_balance_cents: int = 100_000
    provisioning_delay: float = 2.0  # order -> esim.provisioned webhook; also top-up completion
    rate_limit: int = 60
    rate_window: float = 60.0
    seed: int = 42  # catalog and ids deterministic per seed
    # Ids (orders, eSIMs, top-ups) from another seed: an embedded sandbox restarted next to a
    # database that outlives it must not hand out an old order's id again.
    id_seed: int | None = None
    # embedded mode: deliver webhooks through this (e.g. an ASGITransport to the bot's app)
    webhook_transport: httpx.AsyncBaseTransport | None = None
    webhook_url: str | None = None  # pre-registered webhook URL (PUT /webhook changes it)
    webhook_retries: int = 3  # extra attempts after a failed delivery
    webhook_retry_backoff: float = 0.25  # seconds, doubled after each failed attempt
