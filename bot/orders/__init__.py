"""Order money: payments and the Stars ledger, placing orders, reseller events, refunds, the
reconciler and the books, behind one facade, :class:`Orders`, which alone advances an order.

Every step commits the order's new status before the external call that follows it, and every
external call is idempotent (``externalOrderId`` = our reference; refunds by charge id), so
whatever line a crash interrupts, re-running the step from the stored status is safe. The chat
side is a small protocol (:class:`Delivery`) handed in by the wiring: nothing here imports
``handlers``.
"""

from bot.orders._books import Audit, Charge, ResellerBooks, StarsBooks
from bot.orders._core import CRASH_ENV, crash_point
from bot.orders._delivery import Delivery
from bot.orders._facade import CheckOutcome, Orders
from bot.orders._reconciler import DRIVEN, EXITS
from bot.orders._refunds import RefundOutcome, RefundPreview
from bot.orders._self_service import SelfRefund

__all__ = [
    "CRASH_ENV",
    "DRIVEN",
    "EXITS",
    "Audit",
    "Charge",
    "CheckOutcome",
    "Delivery",
    "Orders",
    "RefundOutcome",
    "RefundPreview",
    "ResellerBooks",
    "SelfRefund",
    "StarsBooks",
    "crash_point",
]
