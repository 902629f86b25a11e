"""The long-lived parts of the process, shared by handlers, jobs and the listener."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from telegram.ext import CallbackContext

if TYPE_CHECKING:
    from bot.alerts import Alerts
    from bot.catalog import CatalogService
    from bot.orders import Orders
    from bot.pikasim import PikaSimClient
    from bot.reach import Reach
    from bot.settings import Settings
    from bot.wallet import Wallet
    from storage import Storage

__all__ = ["Services", "get_services"]


@dataclass
class Services:
    settings: Settings
    storage: Storage
    reseller: PikaSimClient
    catalog: CatalogService
    orders: Orders
    alerts: Alerts
    wallet: Wallet
    reach: Reach  # who blocked the bot: no message of any kind goes to them
    sandbox: Any = None  # the embedded sandbox's state, when no API key is set
    ready: bool = False
    languages: dict[int, str] = field(default_factory=dict)  # user id -> chosen language

    def is_admin(self, user_id: int | None) -> bool:
        return user_id is not None and user_id in self.settings.admin_ids


def get_services(context: CallbackContext[Any, Any, Any, Any]) -> Services:
    services = context.bot_data["services"]
    assert isinstance(services, Services)
    return services
