"""Orders, provisioning, top-ups, cancellations and deposits of the simulated account."""

from __future__ import annotations

import random
import string
from collections.abc import Callable, Coroutine
from typing import Any

from ._catalog import Catalog
from ._clock import Clock
from ._config import SandboxConfig
from ._errors import ApiError
from ._esims import Esim, EsimStateError
from ._ids import IdFactory
from ._models import Deposit, Order, Topup, Transaction
from ._packages import Package
from ._util import money
from ._views import esim_brief
from ._wallet import Wallet
from ._webhooks import WebhookSender

__all__ = ["Shop"]

Spawn = Callable[[Coroutine[Any, Any, None]], None]
CANCEL_REFUSED = "eSIM cannot be cancelled - already installed or in use"
CANCEL_RULE = "Only unused eSIMs that have not been installed can be cancelled for a refund."


class Shop:
    def __init__(
        self,
        config: SandboxConfig,
        *,
        catalog: Catalog,
        wallet: Wallet,
        clock: Clock,
        ids: IdFactory,
        webhooks: WebhookSender,
        spawn: Spawn,
    ) -> None:
        self._config = config
        self._catalog = catalog
        self._wallet = wallet
        self._clock = clock
        self._ids = ids
        self._webhooks = webhooks
        self._spawn = spawn
        self.orders: dict[str, Order] = {}
        self.esims: dict[str, Esim] = {}
        self.topups: dict[str, Topup] = {}
        self.deposits: dict[str, Deposit] = {}
        self.order_failures: list[str] = []  # reasons for the next orders that must fail
        self.esim_overrides: list[dict[str, str | None]] = []  # hostile values, next eSIMs
        self._order_refs: dict[str, str] = {}  # externalOrderId -> orderId
        self._topup_refs: dict[str, str] = {}  # externalOrderId -> topupId
        self._doomed: dict[str, str] = {}  # orderId -> failure reason

    # -- orders -------------------------------------------------------------------------------
    def create_order(self, code: str, external_id: str | None) -> tuple[Order, bool]:
        """The new order, or the original one (``True``) for a repeated ``externalOrderId``."""
        if external_id is not None and external_id in self._order_refs:
            return self.orders[self._order_refs[external_id]], True
        package = self.sellable(code)
        order_id = self._ids.hex24()
        self._wallet.charge("order", package.price, f"eSIM order {package.name}", order_id)
        order = Order(order_id, external_id, package.code, package.price, self._clock.now())
        self.orders[order_id] = order
        if external_id is not None:
            self._order_refs[external_id] = order_id
        if self.order_failures:
            self._doomed[order_id] = self.order_failures.pop(0)
        self._spawn(self._fulfil(order))
        return order, False

    def sellable(self, code: str) -> Package:
        package = self._catalog.packages.get(code)
        if package is not None:
            return package
        replacement = self._catalog.retired.get(code)
        if replacement is not None:
            raise ApiError(
                400, "Package has been retired", code="PACKAGE_RETIRED", replacement=replacement
            )
        raise ApiError(400, f"Invalid package code: {code}", code="INVALID_PACKAGE")

    def order_esim(self, order: Order) -> Esim | None:
        return self.esims.get(order.iccid) if order.iccid else None

    async def _fulfil(self, order: Order) -> None:
        await self._clock.sleep_until(order.created_at + self._config.provisioning_delay)
        reason = self._doomed.pop(order.order_id, None)
        if reason is None:
            self._provision(order)
        else:
            self._fail(order, reason)

    def _provision(self, order: Order) -> None:
        esim = self._new_esim(order, self.sellable(order.package_code))
        self.esims[esim.iccid] = esim
        order.status, order.iccid, order.completed_at = "completed", esim.iccid, esim.created_at
        brief = esim_brief(esim)
        self._notify(
            "esim.provisioned",
            {
                "orderId": order.order_id,
                "externalOrderId": order.external_order_id,
                "packageCode": order.package_code,
                "esim": {
                    key: brief[key]
                    for key in ("iccid", "qrCodeUrl", "activationCode", "shortUrl", "lpaUrl")
                },
            },
        )

    def _new_esim(self, order: Order, package: Package) -> Esim:
        override = self.esim_overrides.pop(0) if self.esim_overrides else {}
        iccid = override.get("iccid") or self._ids.iccid()
        usage_rng = random.Random(f"usage-{self._config.seed}-{iccid}")
        per_day = package.volume / package.duration * usage_rng.uniform(0.5, 1.6)
        return Esim(
            iccid=iccid,
            order_id=order.order_id,
            external_order_id=order.external_order_id,
            package=package,
            matching_id=override.get("matching_id") or self._ids.matching_id(),
            imsi=self._ids.imsi(),
            msisdn="+1" + self._ids.digits(10) if package.has_voice else None,
            created_at=self._clock.now(),
            usage_per_minute=max(1, int(per_day / 1440)),
        )

    def _fail(self, order: Order, reason: str) -> None:
        order.status, order.failure_reason = "failed", reason
        order.completed_at = self._clock.now()
        self._wallet.post("refund", order.price, f"Refund: order failed ({reason})", order.order_id)
        self._notify(
            "order.failed",
            {
                "orderId": order.order_id,
                "externalOrderId": order.external_order_id,
                "packageCode": order.package_code,
                "status": "failed",
                "failureReason": reason,
                "refundAmount": order.price,
                "refundFormatted": money(order.price),
            },
        )

    def _notify(self, event: str, data: dict[str, Any]) -> None:
        job = self._webhooks.job(event, data)
        if job is not None:
            self._spawn(self._webhooks.run(job))

    # -- eSIMs --------------------------------------------------------------------------------
    def esim(self, iccid: str) -> Esim:
        esim = self.esims.get(iccid)
        if esim is None:
            raise ApiError(404, "eSIM not found")
        esim.refresh(self._clock.now())
        return esim

    def topup_options(self, iccid: str) -> list[Package]:
        return self._catalog.topup_options(self.esim(iccid).package)

    def cancel(self, iccid: str) -> dict[str, Any]:
        esim = self.esim(iccid)
        if (esim.status, esim.smdp_status) != ("GOT_RESOURCE", "RELEASED"):
            raise ApiError(
                400,
                CANCEL_REFUSED,
                message=CANCEL_RULE,
                currentStatus={"esimStatus": esim.status, "smdpStatus": esim.smdp_status},
            )
        if esim.package.non_refundable:
            raise ApiError(400, "This plan is non-refundable", code="PLAN_NON_REFUNDABLE")
        esim.cancel()
        order = self.orders[esim.order_id]
        txn = self._wallet.post(
            "refund", order.price, f"Refund: eSIM {iccid} cancelled", order.order_id
        )
        return {
            "iccid": iccid,
            "orderId": order.order_id,
            "refundAmount": order.price,
            "refundFormatted": money(order.price),
            "newBalance": txn.balance_after,
            "newBalanceFormatted": money(txn.balance_after),
            "message": "eSIM cancelled successfully. Refund added to your balance.",
        }

    # -- top-ups ------------------------------------------------------------------------------
    def create_topup(self, iccid: str, code: str, external_id: str | None) -> tuple[Topup, bool]:
        if external_id is not None and external_id in self._topup_refs:
            return self.topups[self._topup_refs[external_id]], True
        esim = self.esim(iccid)
        package = self._topup_package(esim, code)
        topup_id = self._ids.hex24()
        self._wallet.charge(
            "topup", package.price, f"Top-up {package.name} for {iccid}", esim.order_id
        )
        topup = Topup(topup_id, iccid, code, external_id, package.price, self._clock.now())
        self.topups[topup_id] = topup
        if external_id is not None:
            self._topup_refs[external_id] = topup_id
        self._spawn(self._complete_topup(topup, esim, package))
        return topup, False

    def _topup_package(self, esim: Esim, code: str) -> Package:
        if esim.status in ("EXPIRED", "CANCELLED"):
            raise ApiError(
                400,
                "eSIM cannot be topped up",
                code="ESIM_NOT_ACTIVE",
                currentStatus={"esimStatus": esim.status, "smdpStatus": esim.smdp_status},
            )
        if not esim.package.support_topup:
            raise ApiError(400, "This eSIM does not support top-ups", code="TOPUP_NOT_SUPPORTED")
        package = self._catalog.topups.get(code)
        if package is None or package not in self._catalog.topup_options(esim.package):
            raise ApiError(
                400, f"Invalid top-up package for this eSIM: {code}", code="INVALID_PACKAGE"
            )
        return package

    async def _complete_topup(self, topup: Topup, esim: Esim, package: Package) -> None:
        await self._clock.sleep_until(topup.created_at + self._config.provisioning_delay)
        topup.completed_at = self._clock.now()
        try:
            esim.add_topup(topup.completed_at, package)
        except EsimStateError:  # cancelled or expired meanwhile: refund automatically
            topup.status = "failed"
            self._wallet.post(
                "refund", topup.price, f"Refund: top-up {topup.topup_id} failed", esim.order_id
            )
            return
        topup.status = "completed"
        self._notify(
            "esim.topup.completed",
            {
                "topupId": topup.topup_id,
                "iccid": topup.iccid,
                "orderId": esim.order_id,
                "externalOrderId": topup.external_order_id,
                "packageCode": topup.package_code,
            },
        )

    # -- deposits -----------------------------------------------------------------------------
    def create_deposit(self, method: str, amount: Any) -> Deposit:
        if (
            not isinstance(amount, int)
            or isinstance(amount, bool)
            or not (1000 <= amount <= 1_000_000)
        ):
            raise ApiError(
                400,
                "amount must be an integer number of cents between 1000 and 1000000",
                code="INVALID_AMOUNT",
            )
        letters = string.ascii_letters + string.digits
        if method == "stripe":
            deposit_id = "cs_test_" + self._ids.token(40, letters)
            url = f"https://checkout.sandbox.pikasim.test/c/pay/{deposit_id}"
        else:
            deposit_id = self._ids.token(22, letters)
            url = f"https://btcpay.sandbox.pikasim.test/i/{deposit_id}"
        deposit = Deposit(deposit_id, method, amount, url, self._clock.now())
        self.deposits[deposit_id] = deposit
        return deposit

    def complete_deposit(self, deposit_id: str) -> Transaction:
        deposit = self.deposits.get(deposit_id)
        if deposit is None:
            raise KeyError(deposit_id)
        if deposit.completed:
            raise ValueError(f"deposit {deposit_id} was already credited")
        deposit.completed = True
        label = "Stripe" if deposit.method == "stripe" else "BTCPay"
        return self._wallet.post("deposit", deposit.amount, f"{label} deposit {deposit_id}")
