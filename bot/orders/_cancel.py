"""Cancelling an eSIM with the reseller, with every answer it can give made plain."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.orders._core import Core
from bot.pikasim import NotCancellable, PikaSimError, Priority

__all__ = ["Cancel", "cancel_esim", "refusal"]

log = logging.getLogger("bot.orders")

_ALREADY_CANCELLED = frozenset({"CANCELLED", "REVOKED"})


@dataclass(frozen=True, slots=True)
class Cancel:
    result: str  # cancelled, refused, unclear
    cents: int | None = None
    error: PikaSimError | None = None


async def cancel_esim(core: Core, iccid: str) -> Cancel:
    """Cancel ``iccid``: "cancelled" (now, or by an earlier attempt), "refused" (installed,
    used, non-refundable), or "unclear" (no answer we can trust: ask again later)."""
    try:
        result = await core.reseller.cancel(iccid, priority=Priority.ORDER)
    except NotCancellable as error:
        status = error.current_status.esim_status if error.current_status else None
        if status in _ALREADY_CANCELLED:  # an earlier attempt went through
            await core.storage.esims.set_status(iccid, "CANCELLED", "REVOKED")
            return Cancel("cancelled")
        return Cancel("refused", error=error)
    except PikaSimError as error:
        log.warning("cancel of %s: outcome unknown: %s", iccid, error)
        return Cancel("unclear", error=error)
    if result.new_balance_cents is not None:
        core.wallet.seen(result.new_balance_cents)
    else:
        core.wallet.credit(result.refund_cents)
    await core.storage.esims.set_status(iccid, "CANCELLED", "REVOKED")
    return Cancel("cancelled", cents=result.refund_cents)


def refusal(error: PikaSimError | None) -> tuple[str, str]:
    """The reseller's reason for refusing, and the eSIM's status as it reported it."""
    if error is None:
        return "refused", "?"
    reason = error.error or error.message
    if error.error and error.message and error.message != error.error:
        reason = f"{error.error}. {error.message}"
    current = error.current_status
    status = (
        f"{current.esim_status or '?'} / {current.smdp_status or '?'}"
        if current is not None
        else error.code or "?"
    )
    return reason, status
