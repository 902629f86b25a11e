"""The whole customer journey end to end: find a plan, pay with Stars, get the eSIM (its QR
decoded back to the activation code), watch usage, read the install guide, top up; a failed
order refunded; PAYMENTS=off; ALLOWED_USER_IDS."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import zxingcpp
from PIL import Image

from emulators.telegram import FakeTelegram, FakeUser
from handlers.delivery import install_links
from storage import Plan
from tests.rig import RunningBot, RunningSandbox, bot_settings, running_bot

JSON = dict[str, Any]
GIB = 1024**3


def with_buttons(prefix: str) -> Any:
    def check(message: JSON) -> bool:
        rows = message.get("reply_markup", {}).get("inline_keyboard", [])
        return any((b.get("callback_data") or "").startswith(prefix) for r in rows for b in r)

    return check


def button(user: FakeUser, message: JSON, data: str) -> str:
    """The label of the button carrying exactly ``data`` (so tests tap what users see)."""
    return next(text for text, d, _ in user.buttons(message) if d == data)


def topup_plan(bot: RunningBot, country: str = "JP") -> Plan:
    return next(p for p in bot.services.catalog.index.country_plans(country) if p.supports_topup)


async def choose_plan(user: FakeUser, country: str, plan: Plan) -> JSON:
    """Type the country, page through until the plan's button shows, open its details."""
    await user.send_text(country)
    page = await user.wait_for_message(with_buttons("p:"))
    while not any(d == f"p:{plan.code}" for _, d, _ in user.buttons(page)):
        await user.tap(next(t for t, d, _ in user.buttons(page) if "Next" in t or "▶" in t), page)
        page = await user.wait_for_message(with_buttons("p:"))
    await user.tap(button(user, page, f"p:{plan.code}"), page)
    return await user.wait_for_message(with_buttons("b:"))


async def buy(user: FakeUser, country: str, plan: Plan) -> tuple[JSON, str]:
    """Choose, pay with Stars, and wait for the eSIM photo; returns it and the charge id."""
    details = await choose_plan(user, country, plan)
    await user.tap(button(user, details, f"b:{plan.code}"), details)
    await user.wait_for_message(lambda m: "invoice" in m)
    charge_id = await user.pay_last_invoice()
    return await receive_esim(user), charge_id


async def receive_esim(user: FakeUser) -> JSON:
    """The eSIM photo, once the progress message has also turned to "ready" (so that the
    test's next wait sees the reaction to its next tap, not that late edit)."""
    photo = await user.wait_for_message(lambda m: "photo" in m, timeout=10)
    reference = photo["caption"].rsplit(" ", 1)[-1]
    await user.wait_for_message(lambda m: "photo" not in m and reference in m.get("text", ""))
    return photo


def decode_qr(png: bytes) -> str:
    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert results, "no QR code found in the photo"
    return str(results[0].text)


async def test_the_whole_journey_from_country_to_installed_esim(
    bot: RunningBot, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    plan = topup_plan(bot)
    alice = tg.user(1001, "Alice", "en")
    details = await choose_plan(alice, "Japan", plan)
    await alice.tap(button(alice, details, f"b:{plan.code}"), details)
    invoice = await alice.wait_for_message(lambda m: "invoice" in m)
    stars = invoice["invoice"]["total_amount"]
    assert invoice["invoice"]["currency"] == "XTR"
    assert f"⭐ {stars}" in details["text"]  # the price shown is the price charged

    await alice.pay_last_invoice()
    photo = await receive_esim(alice)

    esim = (await bot.services.storage.esims.for_user(alice.id))[0]
    remote = sandbox.state.esims[esim.iccid]
    assert decode_qr(alice.last_photo_bytes()) == remote.activation_code == esim.activation_code
    caption = photo["caption"]
    for expected in (plan.name, esim.iccid, esim.smdp_address, esim.matching_id):
        assert expected in caption
    links = {e["url"] for e in photo.get("caption_entities", []) if e.get("type") == "text_link"}
    assert set(install_links(esim.activation_code)) <= links
    labels = [text for text, _, _ in alice.buttons(photo)]
    assert any("Usage" in label for label in labels) and any("Top up" in label for label in labels)

    # The install guide, from the photo's button.
    await alice.tap("Install guide", photo)
    guide = await alice.wait_for_message()
    assert esim.smdp_address in guide["text"] and esim.matching_id in guide["text"]
    assert "iPhone" in guide["text"] and "Android" in guide["text"]

    # Installed and used: the numbers, the bar, the expiry.
    sandbox.state.install(esim.iccid)
    sandbox.state.consume(esim.iccid, plan.volume_bytes // 4)
    await alice.tap("Usage", photo)
    usage = await alice.wait_for_message(lambda m: "Used:" in m.get("text", ""))
    text = usage["text"]
    assert "▰" in text and "25%" in text
    assert "Valid until" in text and "left" in text
    assert "Status: ✅ in use" in text
    assert any(r.path.endswith(f"/esims/{esim.iccid}/usage") for r in sandbox.state.requests)

    # My eSIMs lists it with its status and remaining data, and opens its card.
    await alice.send_command("/start")
    menu = await alice.wait_for_message(with_buttons("m:mine"))
    await alice.tap("My eSIMs", menu)
    mine = await alice.wait_for_message(with_buttons("e:"))
    assert esim.iccid in mine["text"] and "in use" in mine["text"] and "left" in mine["text"]
    await alice.tap(f"…{esim.iccid[-4:]}", mine)
    card = await alice.wait_for_message(with_buttons("u:"))
    assert esim.iccid in card["text"]


async def test_a_top_up_is_priced_like_a_plan_paid_with_stars_and_confirmed(
    bot: RunningBot, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    plan = topup_plan(bot)
    alice = tg.user(1001, "Alice", "en")
    photo, _ = await buy(alice, "Japan", plan)
    esim = (await bot.services.storage.esims.for_user(alice.id))[0]
    total_before = sandbox.state.esims[esim.iccid].total_bytes

    await alice.tap("Top up", photo)
    options = await alice.wait_for_message(with_buttons("tb:"))
    label, data, _ = next(b for b in alice.buttons(options) if (b[1] or "").startswith("tb:"))
    assert "⭐" in label and "GB" in label
    await alice.tap(label, options)
    invoice = await alice.wait_for_message(lambda m: "invoice" in m)
    assert f"⭐ {invoice['invoice']['total_amount']}" in label

    await alice.pay_last_invoice()
    done = await alice.wait_for_message(lambda m: "top-up" in m.get("text", "").lower(), 10)
    assert esim.iccid in done["text"]
    code = data.rsplit(":", 1)[1]
    added = sandbox.state.catalog.topups[code].volume
    assert sandbox.state.esims[esim.iccid].total_bytes == total_before + added

    # My eSIMs asks the reseller about an eSIM never checked: the new total shows.
    await alice.send_command("/start")
    await alice.tap("My eSIMs", await alice.wait_for_message(with_buttons("m:mine")))
    mine = await alice.wait_for_message(with_buttons("e:"))
    total = f"{(total_before + added) / GIB:g} GB"
    assert f"{total} of {total} left" in mine["text"]
    assert "ready to install" in mine["text"]


async def test_a_failed_order_is_refunded(
    bot: RunningBot, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    sandbox.state.fail_orders(1)
    plan = bot.services.catalog.index.country_plans("TH")[0]
    alice = tg.user(1001, "Alice", "en")
    details = await choose_plan(alice, "Thailand", plan)
    await alice.tap(button(alice, details, f"b:{plan.code}"), details)
    await alice.wait_for_message(lambda m: "invoice" in m)
    charge_id = await alice.pay_last_invoice()

    refunded = await alice.wait_for_message(lambda m: "refunded" in m.get("text", ""), 10)
    assert "could not" in refunded["text"]
    assert [refund.charge_id for refund in tg.refunds] == [charge_id]
    assert not any("photo" in message for message in alice.messages)
    assert await bot.services.storage.esims.for_user(alice.id) == []


async def test_another_users_esim_is_never_shown_nor_acted_on(
    bot: RunningBot, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    alice = tg.user(1001, "Alice", "en")
    await buy(alice, "Japan", topup_plan(bot))
    iccid = (await bot.services.storage.esims.for_user(alice.id))[0].iccid
    asked_before = len(sandbox.state.requests)

    mallory = tg.user(666, "Mallory", "en")
    await mallory.send_command("/start")
    menu = await mallory.wait_for_message(with_buttons("m:mine"))
    for data in (
        f"e:{iccid}",
        f"u:{iccid}",
        f"t:{iccid}",
        f"i:{iccid}",
        f"tb:{iccid}:JP_TOPUP_1GB",
    ):
        answered = await mallory.tap_data(data, menu)
        assert "expired" in answered.get("text", ""), data
    await mallory.tap("My eSIMs", menu)
    mine = await mallory.wait_for_message()
    assert iccid not in mine["text"] and "no eSIMs yet" in mine["text"]

    esim_calls = [r for r in sandbox.state.requests[asked_before:] if "/esims" in r.path]
    assert esim_calls == []  # refused before any reseller call
    assert not any(iccid in (m.get("text") or "") for m in mallory.messages)


async def test_reseller_errors_become_polite_text(
    bot: RunningBot, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    alice = tg.user(1001, "Alice", "en")
    photo, _ = await buy(alice, "Japan", topup_plan(bot))
    sandbox.state.fail_next(1, status=404, path_prefix="/esims")
    await alice.tap("Usage", photo)
    polite = await alice.wait_for_message()
    assert "doesn't know this eSIM" in polite["text"]
    assert "404" not in polite["text"]


async def test_a_plan_that_cannot_be_topped_up_says_so_without_asking_the_reseller(
    bot: RunningBot, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    plans = [
        p for c in ("JP", "US", "FR", "TH") for p in bot.services.catalog.index.country_plans(c)
    ]
    plan = next(p for p in plans if not p.supports_topup)
    country = {"JP": "Japan", "US": "USA", "FR": "France", "TH": "Thailand"}[plan.countries[0]]
    alice = tg.user(1001, "Alice", "en")
    photo, _ = await buy(alice, country, plan)
    asked_before = len(sandbox.state.requests)
    await alice.tap("Top up", photo)
    answer = await alice.wait_for_message()
    assert "cannot be topped up" in answer["text"]
    assert not any("topup" in r.path for r in sandbox.state.requests[asked_before:])


# -- other deployments --------------------------------------------------------------------


@pytest.fixture
async def bot_without_stars(
    tmp_path: Path, tg: FakeTelegram, sandbox: RunningSandbox
) -> AsyncIterator[RunningBot]:
    settings = bot_settings(tmp_path, tg, sandbox, payments="off", allowed_user_ids="1001,1002")
    async with running_bot(settings) as running:
        yield running


async def test_payments_off_places_the_order_with_a_confirm_button(
    bot_without_stars: RunningBot, tg: FakeTelegram
) -> None:
    plan = topup_plan(bot_without_stars)
    alice = tg.user(1001, "Alice", "en")
    details = await choose_plan(alice, "Japan", plan)
    assert "no charge" in details["text"] and "⭐" not in details["text"]
    await alice.tap(button(alice, details, f"b:{plan.code}"), details)
    await alice.wait_for_message(with_buttons("k:"))
    await alice.tap("Confirm")
    await receive_esim(alice)
    assert not tg.calls_to("sendInvoice")
    esim = (await bot_without_stars.services.storage.esims.for_user(alice.id))[0]
    assert decode_qr(alice.last_photo_bytes()) == esim.activation_code


@pytest.fixture
async def private_bot(
    tmp_path: Path, tg: FakeTelegram, sandbox: RunningSandbox
) -> AsyncIterator[RunningBot]:
    settings = bot_settings(tmp_path, tg, sandbox, allowed_user_ids="1001")
    async with running_bot(settings) as running:
        yield running


async def test_allowed_user_ids_keeps_strangers_out(
    private_bot: RunningBot, tg: FakeTelegram
) -> None:
    alice = tg.user(1001, "Alice", "en")
    await alice.send_command("/start")
    assert "Hi Alice" in (await alice.wait_for_message())["text"]

    stranger = tg.user(2002, "Stranger", "en")
    await stranger.send_text("Japan")
    assert "private" in (await stranger.wait_for_message())["text"]
    answered = await stranger.tap_data("c:JP", alice.messages[-1])
    assert "private" in answered.get("text", "")
    assert not any(with_buttons("p:")(m) for m in stranger.messages)
