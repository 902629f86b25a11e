"""``GET /metrics`` in Prometheus text format (off unless METRICS_TOKEN is set).

Figures that live in the database (orders, payments, Stars, refunds, catalog age) are read
from it at scrape time, so they survive restarts and can never drift from the rows; what
only the process knows (requests, handling time, webhook outcomes) is counted in memory.
"""

from __future__ import annotations

import hmac
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from telegram.request import HTTPXRequest, RequestData

from bot.app_types import BotApp
from storage.ops import OpsFigures, OpsRepo

if TYPE_CHECKING:
    from bot.services import Services

__all__ = ["CountingRequest", "Metrics", "TimedApplication", "metrics_route", "render"]

_PREFIX = "esim_bot_"


class Metrics:
    """What the process counts in memory; one per running bot."""

    def __init__(self) -> None:
        self.telegram: Counter[tuple[str, str]] = Counter()  # (method, outcome) -> requests
        self.webhooks: Counter[tuple[str, str]] = Counter()  # (source, outcome) -> events
        self.update_seconds = Histogram(
            _PREFIX + "update_handling_seconds",
            "Time from taking an update off the queue to the end of its handlers",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=None,
        )
        self.last_reconcile: float | None = None

    def count_telegram(self, method: str, outcome: str) -> None:
        self.telegram[(method, outcome)] += 1

    def count_webhook(self, source: str, outcome: str) -> None:
        self.webhooks[(source, outcome)] += 1

    def reconciled(self) -> None:
        self.last_reconcile = time.time()


class CountingRequest(HTTPXRequest):
    """python-telegram-bot's HTTP layer, counting each Bot API request by method and status."""

    def __init__(self, metrics: Metrics, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._metrics = metrics

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> tuple[int, bytes]:
        api_method = url.rsplit("/", 1)[-1]
        try:
            status, payload = await super().do_request(url, method, request_data, *args, **kwargs)
        except Exception:
            self._metrics.count_telegram(api_method, "error")
            raise
        outcome = "429" if status == 429 else f"{status // 100}xx"
        self._metrics.count_telegram(api_method, outcome)
        return status, payload


class TimedApplication(BotApp):
    """The Application, timing every update from dequeue to the end of its handlers."""

    metrics: Metrics | None = None

    async def process_update(self, update: object) -> None:
        started = time.perf_counter()
        try:
            await super().process_update(update)
        finally:
            if self.metrics is not None:
                self.metrics.update_seconds.observe(time.perf_counter() - started)


def metrics_route(token: str, render_text: Callable[[], Awaitable[bytes]]) -> Route:
    """The ``/metrics`` route; only a request with ``Authorization: Bearer <token>`` gets in."""
    expected = f"Bearer {token}".encode()

    async def endpoint(request: Request) -> Response:
        given = request.headers.get("authorization", "").encode()
        if not hmac.compare_digest(given, expected):
            return Response(
                "unauthorized\n", status_code=401, headers={"WWW-Authenticate": "Bearer"}
            )
        return Response(await render_text(), media_type=CONTENT_TYPE_LATEST)

    return Route("/metrics", endpoint, methods=["GET"])


async def render(services: Services) -> bytes:
    figures = await OpsRepo(services.storage.db).figures()
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Snapshot(list(_families(services, figures))))
    return generate_latest(registry)


class _Snapshot:
    """A collector that hands over metric families computed just before the scrape."""

    def __init__(self, families: list[Metric]) -> None:
        self._families = families

    def collect(self) -> Iterable[Metric]:
        return self._families


def _families(services: Services, figures: OpsFigures) -> Iterator[Metric]:
    yield from _business(services, figures)
    yield from _reseller(services)
    yield from _process(services.metrics)


def _business(services: Services, figures: OpsFigures) -> Iterator[Metric]:
    orders = GaugeMetricFamily(_PREFIX + "orders", "Orders by status", labels=["status"])
    for status, count in sorted(figures.orders_by_status.items()):
        orders.add_metric([status], count)
    yield orders
    yield _counter("payments", "Stars payments received", figures.payments)
    yield _counter("refunds", "Stars refunds confirmed by Telegram", figures.refunds)
    yield _counter("stars_received", "Stars received in payments", figures.stars_received)
    yield _counter("stars_refunded", "Stars given back in refunds", figures.stars_refunded)
    if services.wallet.cents is not None:
        yield _gauge("wallet_balance_cents", "Reseller wallet as last read", services.wallet.cents)
    if figures.catalog_synced_at is not None:
        age = max(0.0, time.time() - figures.catalog_synced_at)
        yield _gauge("catalog_age_seconds", "Seconds since the catalog was last synced", age)


def _reseller(services: Services) -> Iterator[Metric]:
    reseller = services.reseller
    requests = CounterMetricFamily(
        _PREFIX + "reseller_requests",
        "Reseller API requests (attempts) by endpoint and outcome",
        labels=["endpoint", "outcome"],
    )
    for (endpoint, outcome), count in sorted(reseller.outcomes.items()):
        requests.add_metric([endpoint, outcome], count)
    yield requests
    budget = reseller.budget
    yield _gauge(
        "reseller_budget_used", "Reseller requests counting against the limit now", budget.used()
    )
    yield _gauge(
        "reseller_budget_limit", "Reseller requests allowed per window", budget.effective_limit
    )


def _process(metrics: Metrics) -> Iterator[Metric]:
    telegram = CounterMetricFamily(
        _PREFIX + "telegram_requests",
        "Bot API requests by method and outcome (2xx, 4xx, 429, 5xx, error)",
        labels=["method", "outcome"],
    )
    for (method, outcome), count in sorted(metrics.telegram.items()):
        telegram.add_metric([method, outcome], count)
    yield telegram
    too_many = sum(count for (_, outcome), count in metrics.telegram.items() if outcome == "429")
    yield _counter("telegram_429", "Bot API requests answered 429 Too Many Requests", too_many)
    webhooks = CounterMetricFamily(
        _PREFIX + "webhook_events",
        "Incoming webhooks by source (pikasim, telegram) and outcome",
        labels=["source", "outcome"],
    )
    for (source, outcome), count in sorted(metrics.webhooks.items()):
        webhooks.add_metric([source, outcome], count)
    yield webhooks
    yield from metrics.update_seconds.collect()
    if metrics.last_reconcile is not None:
        yield _gauge(
            "last_reconcile_timestamp_seconds",
            "When the reconciler last finished a round (Unix time)",
            metrics.last_reconcile,
        )


def _counter(name: str, documentation: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(_PREFIX + name, documentation, value=value)


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(_PREFIX + name, documentation, value=value)
