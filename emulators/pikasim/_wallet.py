"""The reseller wallet: a balance in cents and its transaction history."""

from __future__ import annotations

from collections.abc import Callable

from ._errors import ApiError
from ._ids import IdFactory
from ._models import Transaction

__all__ = ["TRANSACTION_TYPES", "Wallet"]

TRANSACTION_TYPES = ("deposit", "order", "topup", "refund", "adjustment")


class Wallet:
    def __init__(self, ids: IdFactory, now: Callable[[], float]) -> None:
        self._ids = ids
        self._now = now
        self.balance = 0
        self.transactions: list[Transaction] = []

    def post(
        self, kind: str, amount: int, description: str, order_id: str | None = None
    ) -> Transaction:
        self.balance += amount
        txn = Transaction(
            self._ids.hex24(), kind, amount, self.balance, description, order_id, self._now()
        )
        self.transactions.append(txn)
        return txn

    def charge(self, kind: str, price: int, description: str, order_id: str) -> Transaction:
        """Take ``price`` cents, or raise the API's 402 and take nothing."""
        if price > self.balance:
            raise ApiError(402, "Insufficient balance", code="INSUFFICIENT_BALANCE")
        return self.post(kind, -price, description, order_id)

    def set_balance(self, cents: int) -> None:
        if cents != self.balance:
            self.post("adjustment", cents - self.balance, "Sandbox balance adjustment")
