"""Test doubles that the real bot can talk to over HTTP (a fake Telegram Bot API server)."""

from bot.testing._flood import FloodControl
from bot.testing.fake_telegram import (
    FakeTelegram,
    FakeUser,
    PaymentDeclined,
    RecordedCall,
    StarPayment,
    StarRefund,
)

__all__ = [
    "FakeTelegram",
    "FakeUser",
    "FloodControl",
    "PaymentDeclined",
    "RecordedCall",
    "StarPayment",
    "StarRefund",
]
