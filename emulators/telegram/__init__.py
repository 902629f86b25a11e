"""The Bot API emulator: a Telegram Bot API server the real bot talks to over HTTP.

Tests drive it with simulated users; the playground (``python -m bot`` without a token) serves
it behind a chat page. ``BotApiEmulator`` is the same class as ``FakeTelegram``.
"""

from emulators.telegram._flood import FloodControl
from emulators.telegram.fake_telegram import (
    FakeTelegram,
    FakeUser,
    PaymentDeclined,
    RecordedCall,
    StarPayment,
    StarRefund,
)

BotApiEmulator = FakeTelegram

__all__ = [
    "BotApiEmulator",
    "FakeTelegram",
    "FakeUser",
    "FloodControl",
    "PaymentDeclined",
    "RecordedCall",
    "StarPayment",
    "StarRefund",
]
