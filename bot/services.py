"""The long-lived parts of the process, shared by handlers, jobs and the listener."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.background_pace import Pace
from bot.metrics import Metrics

if TYPE_CHECKING:
    from bot.alerts import Alerts
    from bot.broadcasts import Broadcasts
    from bot.catalog import CatalogService
    from bot.customers import Customers
    from bot.esim_records import EsimRecords
    from bot.orders import Orders
    from bot.pikasim import PikaSimClient
    from bot.reach import Reach
    from bot.settings import Settings
    from bot.wallet import Wallet
    from storage import Storage

__all__ = ["Services"]


@dataclass
class Services:
    settings: Settings
    storage: Storage
    reseller: PikaSimClient
    catalog: CatalogService
    orders: Orders
    alerts: Alerts
    wallet: Wallet
    esims: EsimRecords
    reach: Reach  # who blocked the bot: no message of any kind goes to them
    customers: Customers
    broadcasts: Broadcasts
    sandbox: Any = None  # the embedded sandbox's state, when no API key is set
    ready: bool = False
    pace: Pace = field(default_factory=Pace)  # the background pace: broadcasts, care notices
    languages: dict[int, str] = field(default_factory=dict)  # user id -> chosen language
    metrics: Metrics = field(default_factory=Metrics)  # in-memory counters for /metrics

    def is_admin(self, user_id: int | None) -> bool:
        return user_id is not None and user_id in self.settings.admin_ids
