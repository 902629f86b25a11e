"""JSON shapes of orders, eSIMs, usage, top-ups and transactions."""

from __future__ import annotations

from typing import Any

from ._esims import SMDP_HOST, Esim
from ._models import Order, Topup, Transaction
from ._util import GB, MB, iso, iso_seconds, money, num

__all__ = [
    "esim_brief",
    "esim_json",
    "order_json",
    "topup_json",
    "transaction_json",
    "usage_json",
]

STATUS_DESCRIPTIONS = {
    "GOT_RESOURCE": "eSIM ready for installation",
    "ENABLED": "eSIM is installed and enabled",
    "IN_USE": "eSIM is active and in use",
    "USED_UP": "All data has been consumed",
    "EXPIRED": "The validity period has ended",
    "CANCELLED": "eSIM was cancelled and refunded",
    "SUSPENDED": "eSIM has been suspended",
    "REVOKED": "eSIM has been revoked",
}


def esim_brief(esim: Esim) -> dict[str, Any]:
    """The eSIM as embedded in orders and in the ``esim.provisioned`` webhook."""
    return {
        "iccid": esim.iccid,
        "qrCodeUrl": esim.qr_code_url,
        "activationCode": esim.activation_code,
        "shortUrl": esim.short_url,
        "lpaUrl": esim.lpa_url,
        "smdpAddress": SMDP_HOST,
        "matchingId": esim.matching_id,
        "status": esim.status,
        "smdpStatus": esim.smdp_status,
        "apn": "internet",
    }


def _package_list(esim: Esim) -> list[dict[str, Any]]:
    return [
        {
            "packageCode": entry["package"].code,
            "packageName": entry["package"].name,
            "volume": entry["package"].volume,
            "volumeGB": num(entry["package"].volume_gb),
            "duration": entry["package"].duration,
            "createTime": iso(entry["createTime"]),
        }
        for entry in esim.package_list
    ]


def _data_figures(esim: Esim) -> dict[str, Any]:
    return {
        "totalData": esim.total_bytes,
        "usedData": esim.used_bytes,
        "remainingData": esim.remaining_bytes,
        "expireTime": iso_seconds(esim.expires_at),
    }


def esim_json(esim: Esim) -> dict[str, Any]:
    return {
        **esim_brief(esim),
        "orderId": esim.order_id,
        "externalOrderId": esim.external_order_id,
        "packageCode": esim.package.code,
        "packageName": esim.package.name,
        **_data_figures(esim),
        "validityDays": esim.validity_days,
        "activeType": esim.package.active_type,
        "installedAt": iso_seconds(esim.installed_at),
        "imsi": esim.imsi,
        "msisdn": esim.msisdn,
        "packageList": _package_list(esim),
        "purchasedAt": iso(esim.created_at),
        "createdAt": iso(esim.created_at),
    }


def usage_json(esim: Esim) -> dict[str, Any]:
    total, used, left = esim.total_bytes, esim.used_bytes, esim.remaining_bytes
    return {
        "iccid": esim.iccid,
        "status": esim.status,
        "smdpStatus": esim.smdp_status,
        "statusDescription": STATUS_DESCRIPTIONS.get(esim.status, esim.status),
        **_data_figures(esim),
        "totalDataGB": num(total / GB),
        "usedDataGB": num(used / GB),
        "remainingDataGB": num(left / GB),
        "totalDataMB": num(total / MB),
        "usedDataMB": num(used / MB),
        "remainingDataMB": num(left / MB),
        "usagePercent": num(used * 100 / total) if total else 0,
        "createTime": iso(esim.created_at),
        "packageList": _package_list(esim),
    }


def order_json(order: Order, esim: Esim | None) -> dict[str, Any]:
    return {
        "orderId": order.order_id,
        "externalOrderId": order.external_order_id,
        "status": order.status,
        "packageCode": order.package_code,
        "price": order.price,
        "priceFormatted": money(order.price),
        "createdAt": iso(order.created_at),
        "completedAt": iso(order.completed_at) if order.completed_at else None,
        "failureReason": order.failure_reason,
        "esim": esim_brief(esim) if esim else None,
    }


def topup_json(topup: Topup) -> dict[str, Any]:
    return {
        "topupId": topup.topup_id,
        "iccid": topup.iccid,
        "packageCode": topup.package_code,
        "externalOrderId": topup.external_order_id,
        "status": topup.status,
        "price": topup.price,
        "priceFormatted": money(topup.price),
        "createdAt": iso(topup.created_at),
    }


def transaction_json(txn: Transaction) -> dict[str, Any]:
    return {
        "id": txn.id,
        "type": txn.type,
        "amount": txn.amount,
        "amountFormatted": money(txn.amount),
        "balanceAfter": txn.balance_after,
        "balanceAfterFormatted": money(txn.balance_after),
        "description": txn.description,
        "orderId": txn.order_id,
        "createdAt": iso(txn.created_at),
    }
