"""/webhook: where the reseller's webhooks go, the last one received, and a live test."""

from __future__ import annotations

import asyncio
import html

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.i18n import t
from bot.pikasim import EVENT_WEBHOOK_TEST, PikaSimError, Priority, WebhookTestResult
from handlers.admin_common import admin_command, audit, reseller_problem, when
from handlers.callbacks import AdminWebhookTest
from handlers.common import reply, show
from handlers.context import BotContext

__all__ = ["ARRIVAL_TIMEOUT", "on_webhook", "on_webhook_test"]

ARRIVAL_TIMEOUT = 10.0  # seconds to wait for the test event after the reseller answered
_POLL = 0.1


@admin_command("webhook")
async def on_webhook(update: Update, context: BotContext) -> None:
    language = context.language
    await reply(update, await _status(context, language), _test_button(language))


def _test_button(language: str) -> InlineKeyboardMarkup:
    button = InlineKeyboardButton(
        t(language, "admin.button.test_webhook"), callback_data=AdminWebhookTest().pack()
    )
    return InlineKeyboardMarkup([[button]])


async def _status(context: BotContext, language: str) -> str:
    storage = context.services.storage
    url = await storage.meta.get("webhook_url")
    latest = await storage.webhook_events.latest()
    tested = await storage.meta.get("webhook_test_received_at")
    lines = [
        t(language, "admin.webhook.url", url=html.escape(url))
        if url
        else t(language, "admin.webhook.no_url"),
    ]
    if latest is None:
        lines.append(t(language, "admin.webhook.no_event"))
    else:
        lines.append(
            t(
                language,
                "admin.webhook.last_event",
                event=html.escape(latest.event),
                received=when(latest.received_at),
                outcome=html.escape(latest.outcome or t(language, "admin.webhook.pending")),
            )
        )
    if tested and tested.isdigit():
        lines.append(t(language, "admin.webhook.last_test", received=when(int(tested))))
    return "\n".join(lines)


async def on_webhook_test(update: Update, context: BotContext, _: AdminWebhookTest) -> None:
    """``a:wt``: ask the reseller to send its test webhook, then look for it on our side.

    A stored event passed the listener's signature check, so "arrived" means "verified".
    """
    language = context.language
    services = context.services
    stats = context.services.storage.stats
    before = await stats.last_webhook_id()
    await show(update, t(language, "admin.webhook.testing"))
    try:
        result = await services.reseller.test_webhook(priority=Priority.CUSTOMER)
    except PikaSimError as error:
        await audit(update, context, "webhook.test_failed", None, str(error))
        text = t(language, "admin.webhook.test_error", error=reseller_problem(language, error))
        await show(update, text, _test_button(language))
        return
    # A reseller that says it could not deliver gets a short wait only: nothing is coming.
    timeout = 0.5 if result.delivered is False else ARRIVAL_TIMEOUT
    arrived = await _wait_for_test_event(context, before, timeout)
    await audit(update, context, "webhook.tested", None, f"arrived={arrived}")
    report = _report(language, result, arrived)
    await show(update, report + "\n\n" + await _status(context, language), _test_button(language))


async def _wait_for_test_event(context: BotContext, after_id: int, timeout: float) -> bool:
    """True once a new test event is stored; also waits (within the same time) for the
    pipeline to process it, so the status shown next is current."""
    stats = context.services.storage.stats
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        event = await stats.webhook_after(EVENT_WEBHOOK_TEST, after_id)
        if (event is not None and event.processed_at is not None) or loop.time() >= deadline:
            return event is not None
        await asyncio.sleep(_POLL)


def _report(language: str, result: WebhookTestResult, arrived: bool) -> str:
    status = result.status_code
    reseller = t(
        language,
        "admin.webhook.reseller_says",
        delivered=t(language, "admin.yes" if result.delivered else "admin.no")
        if result.delivered is not None
        else "?",
        status=html.escape(str(status)) if status is not None else "—",
        error=html.escape(str(result.get("error") or result.message or "—")),
    )
    if arrived:
        return t(language, "admin.webhook.test_ok") + "\n" + reseller
    key = "admin.webhook.test_bad_signature" if status == 401 else "admin.webhook.test_missing"
    return t(language, key, seconds=int(ARRIVAL_TIMEOUT)) + "\n" + reseller
