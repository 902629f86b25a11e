"""Bot API methods for Telegram Stars: invoices, pre-checkout, refunds and the Stars ledger."""

from __future__ import annotations

from typing import Any

from emulators.telegram._api_base import QUERY_INVALID, UPDATES_LIMIT, ApiBase, int_param, str_param
from emulators.telegram._state import JSON, Invoice, StarRefund
from emulators.telegram._wire import UploadedFile, bad_request

_INVOICE_PAYLOAD_LIMIT = 128


class PaymentMethods(ApiBase):
    # -- payments ----------------------------------------------------------------------------

    async def send_invoice(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        chat = self.writable_chat(params)
        title, description = str_param(params, "title"), str_param(params, "description")
        payload, currency = str_param(params, "payload"), str_param(params, "currency").upper()
        if len(payload.encode("utf-8")) > _INVOICE_PAYLOAD_LIMIT:
            raise bad_request("INVOICE_PAYLOAD_INVALID")
        prices = params.get("prices")
        if not isinstance(prices, list) or not prices:
            raise bad_request("can't parse prices JSON object")
        if currency == "XTR" and (len(prices) != 1 or params.get("provider_token")):
            raise bad_request("STARS_INVOICE_INVALID")  # Stars: one price, no provider
        if currency != "XTR" and not params.get("provider_token"):
            raise bad_request("PAYMENT_PROVIDER_INVALID")
        if not all(isinstance(p, dict) and int(p.get("amount", 0)) > 0 for p in prices):
            raise bad_request("CURRENCY_TOTAL_AMOUNT_INVALID")
        invoice = Invoice(
            chat_id=chat.chat_id, message_id=0, title=title, description=description,
            payload=payload, currency=currency, prices=prices,
            start_parameter=str(params.get("start_parameter") or ""),
        )  # fmt: skip
        content = {
            "invoice": {
                "title": title,
                "description": description,
                "start_parameter": invoice.start_parameter,
                "currency": currency,
                "total_amount": invoice.total_amount,
            }
        }
        message = self.new_message(chat, content, self.markup(chat, params))
        invoice.message_id = message["message_id"]
        chat.invoices.append(invoice)
        return message

    async def answer_pre_checkout_query(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        query = self.world.pre_checkouts.get(str(params.get("pre_checkout_query_id") or ""))
        if query is None or query.answer is not None:
            raise bad_request(QUERY_INVALID)
        if not isinstance(params.get("ok"), bool):
            raise bad_request("ok is empty")
        if params["ok"] is False and not params.get("error_message"):
            raise bad_request("error_message is empty")
        query.answer = params
        return True

    async def refund_star_payment(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        user_id = int_param(params, "user_id")
        payment = self.world.payment(str(params.get("telegram_payment_charge_id") or ""))
        if payment is None or payment.user_id != user_id:
            raise bad_request("CHARGE_ID_INVALID")
        if payment.refunded:
            raise bad_request("CHARGE_ALREADY_REFUNDED")
        payment.refunded = True
        refund = StarRefund(payment.charge_id, user_id, payment.amount, payment.payload,
                            self.world.now())  # fmt: skip
        self.world.add_refund(refund)
        self.push_refund_notice(refund)
        return True

    def push_refund_notice(self, refund: StarRefund) -> None:
        """Telegram tells the bot about a refund with a refunded_payment service message."""
        chat = self.world.chats.get(refund.user_id)
        if chat is None:
            return
        message: JSON = {
            "message_id": chat.next_message_id(),
            "from": chat.user,
            "chat": chat.chat,
            "date": refund.date,
            "refunded_payment": {
                "currency": "XTR",
                "total_amount": refund.amount,
                "invoice_payload": refund.payload,
                "telegram_payment_charge_id": refund.charge_id,
            },
        }
        chat.messages[message["message_id"]] = message
        self.world.updates.push("message", message)

    async def get_star_transactions(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        offset = max(int_param(params, "offset", 0), 0)
        limit = min(max(int_param(params, "limit", UPDATES_LIMIT), 1), UPDATES_LIMIT)
        entries = self.world.ledger[offset : offset + limit]
        return {"transactions": [self.transaction(entry) for entry in entries]}

    def transaction(self, entry: Any) -> JSON:
        chat = self.world.chats.get(entry.user_id)
        user = chat.user if chat else {"id": entry.user_id, "is_bot": False, "first_name": ""}
        partner = {
            "type": "user",
            "transaction_type": "invoice_payment",
            "user": user,
            "invoice_payload": entry.payload,
        }
        side = "receiver" if isinstance(entry, StarRefund) else "source"
        return {"id": entry.charge_id, "amount": entry.amount, "date": entry.date, side: partner}
