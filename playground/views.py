"""What the page shows, as JSON: one person's chat with the bot, and the sandbox panel."""

from __future__ import annotations

import json
import time
from typing import Any

from emulators.telegram._state import JSON, ChatState, Invoice, World

__all__ = ["STARTING_STARS", "chat_view", "commands_for", "sandbox_view", "stars_balance"]

# Every person starts with this many simulated Stars; payments take them, refunds give back.
STARTING_STARS = 10_000
_LIST_LIMIT = 8


def stars_balance(world: World, user_id: int) -> int:
    paid = sum(p.amount for p in world.payments if p.user_id == user_id)
    refunded = sum(r.amount for r in world.refunds if r.user_id == user_id)
    return STARTING_STARS - paid + refunded


def chat_view(world: World, chat: ChatState) -> JSON:
    invoices = {invoice.message_id: invoice for invoice in chat.invoices}
    bot_id = world.bot_user["id"]
    messages = [
        _message(world, message, message["from"]["id"] == bot_id, invoices)
        for _, message in sorted(chat.messages.items())
    ]
    language = str(chat.user.get("language_code") or "")
    return {
        "user": chat.chat_id,
        "messages": messages,
        "commands": commands_for(world, chat.chat_id, language),
        "stars": stars_balance(world, chat.chat_id),
    }


def commands_for(world: World, chat_id: int, language: str) -> list[JSON]:
    """The command menu this person sees, by Telegram's order of scopes and languages."""
    stored: dict[str, list[JSON]] = world.settings.get("commands", {})
    scopes = (
        {"chat_id": chat_id, "type": "chat"},
        {"type": "all_private_chats"},
        {"type": "default"},
    )
    for scope in scopes:
        for code in (language, ""):
            commands = stored.get(json.dumps([scope, code], sort_keys=True))
            if commands:
                return [{key: c[key] for key in ("command", "description")} for c in commands]
    return []


def _message(world: World, message: JSON, from_bot: bool, invoices: dict[int, Invoice]) -> JSON:
    view: JSON = {
        "id": message["message_id"],
        "fromBot": from_bot,
        "edited": "edit_date" in message,
    }
    for key in ("text", "entities", "caption", "caption_entities"):
        if message.get(key):
            view[key] = message[key]
    if "photo" in message:
        view["photo"] = f"/playground/files/{message['photo'][-1]['file_id']}"
    if "document" in message:
        view["document"] = message["document"].get("file_name") or "file"
    if "invoice" in message:
        invoice = invoices.get(message["message_id"])
        view["invoice"] = {**message["invoice"], "paid": _paid(world, invoice)}
    service = _service_text(message)
    if service:
        view["service"] = service
    view["buttons"] = _buttons(message, "invoice" in view and not view["invoice"]["paid"])
    return view


def _paid(world: World, invoice: Invoice | None) -> bool:
    if invoice is None:
        return False
    return any(
        p.payload == invoice.payload and p.user_id == invoice.chat_id for p in world.payments
    )


def _service_text(message: JSON) -> str | None:
    if "successful_payment" in message:
        payment = message["successful_payment"]
        return f"You paid ⭐ {payment['total_amount']}"
    if "refunded_payment" in message:
        refund = message["refunded_payment"]
        return f"⭐ {refund['total_amount']} refunded to you"
    return None


def _buttons(message: JSON, payable: bool) -> list[list[JSON]]:
    rows: list[list[JSON]] = []
    for row in message.get("reply_markup", {}).get("inline_keyboard", []):
        rows.append([_button(button) for button in row])
    has_pay = any(button.get("pay") for row in rows for button in row)
    if "invoice" in message and not has_pay:
        # Telegram shows a Pay button on every invoice the bot sent without a keyboard.
        total = message["invoice"]["total_amount"]
        rows.insert(0, [{"text": f"Pay ⭐ {total}", "pay": True}])
    if not payable:
        for row in rows:
            for button in row:
                if button.get("pay"):
                    button["text"], button["paid"] = "Paid ✓", True
    return rows


def _button(button: JSON) -> JSON:
    view: JSON = {"text": button.get("text", "")}
    for key in ("callback_data", "url", "pay"):
        if button.get(key) is not None:
            view[key] = button[key]
    return view


def sandbox_view(sandbox: Any) -> JSON:
    """The sandbox reseller's wallet, faults, latest orders and eSIMs (an emulators.pikasim
    Sandbox)."""
    shop = sandbox.shop
    esims = [shop.esim(iccid) for iccid in list(shop.esims)[-_LIST_LIMIT:]]
    orders = list(sandbox.orders.values())[-_LIST_LIMIT:]
    faults, hooks = sandbox.faults, sandbox.webhooks
    now = time.time()  # the fault knobs run on the wall clock, not the simulated one
    return {
        "balanceCents": sandbox.balance_cents,
        "faults": {
            "failOrders": len(shop.order_failures),
            "dropWebhooks": hooks.drop_count,
            "duplicateWebhooks": hooks.duplicate_count,
            "error500": faults.outage_until > now,
            "rateLimited": faults.storm_until > now,
        },
        "orders": [
            {
                "reference": o.external_order_id,
                "package": o.package_code,
                "status": o.status,
                "failure": o.failure_reason,
            }
            for o in reversed(orders)
        ],
        "esims": [
            {
                "iccid": e.iccid,
                "package": e.package.name,
                "status": e.status,
                "usedBytes": e.used_bytes,
                "totalBytes": e.total_bytes,
            }
            for e in reversed(esims)
        ],
    }
