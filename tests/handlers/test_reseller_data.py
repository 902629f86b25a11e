"""Reseller data is distrusted: ICCIDs checked, every reseller string escaped, a refused QR
caption sent again in plain text, and My eSIMs unbroken by a bad stored ICCID."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.esim_data import valid_iccid
from bot.qr import QrError, qr_png
from emulators.telegram import FakeTelegram
from storage import OrderKind, OrderStatus
from tests.handlers.test_journey_purchase import button, buy, choose_plan, decode_qr, with_buttons
from tests.rig import (
    RunningBot,
    RunningSandbox,
    bot_settings,
    eventually,
    running_bot,
    running_sandbox,
)

HOSTILE = '<b>Evil</b> & <a href="tg://x">co</a> <tg-spoiler>'


@pytest.mark.parametrize(
    "value",
    ["898100000000000000", "8981000000000000000", "89810000000000000001", "8" * 22],
)
def test_valid_iccids(value: str) -> None:
    assert valid_iccid(value)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "89810000000000000",  # 17 digits
        "8" * 23,
        "8981000000000000000a",
        " 8981000000000000000",
        "8981000000000000000\n",
        "٨٩٨١٠٠٠٠٠٠٠٠٠٠٠٠٠٠٠",  # Arabic-Indic digits: str.isdigit() says yes, we say no
        "../../orders/00000000000",
        "<b>89810000000000000001</b>",
        None,
        8981000000000000000,
    ],
)
def test_invalid_iccids(value: object) -> None:
    assert not valid_iccid(value)


@pytest.mark.parametrize("data", ["", "X" * 2_001, "LPA:1$smdp$\ud800"])
def test_qr_refuses_data_no_code_can_hold_with_one_clear_error(data: str) -> None:
    with pytest.raises(QrError):
        qr_png(data)


def test_qr_of_a_hostile_but_encodable_code_decodes_back() -> None:
    code = "LPA:1$smdp.example$" + HOSTILE
    assert decode_qr(qr_png(code).getvalue()) == code


@pytest.fixture
async def hostile_sandbox() -> AsyncIterator[RunningSandbox]:
    """A sandbox whose first Japan plan has a hostile name of 1,500 characters (too long for a
    photo caption) and whose next eSIM has a hostile activation code."""
    async with running_sandbox() as sandbox:
        code = next(p.code for p in sandbox.state.catalog.packages.values() if p.location == "JP")
        sandbox.state.rename_package(code, HOSTILE + " " + "N" * 1_500)
        sandbox.state.hostile_esims(matching_id="<i>M&M</i>")
        yield sandbox


async def test_hostile_plan_name_and_esim_are_shown_literally_and_still_delivered(
    tmp_path: Path, tg: FakeTelegram, hostile_sandbox: RunningSandbox
) -> None:
    async with running_bot(bot_settings(tmp_path, tg, hostile_sandbox)) as bot:
        plan = next(p for p in bot.services.catalog.index.country_plans("JP") if "Evil" in p.name)
        alice = tg.user(1001, "Alice", "en")
        details = await choose_plan(alice, "Japan", plan)
        assert HOSTILE in details["text"]  # shown as text, not as markup
        assert not any(e["type"] == "text_link" for e in details.get("entities", []))

        await alice.tap(button(alice, details, f"b:{plan.code}"), details)
        await alice.wait_for_message(lambda m: "invoice" in m)
        await alice.pay_last_invoice()
        photo = await alice.wait_for_message(lambda m: "photo" in m, timeout=10)

        # The HTML caption was too long; the photo went again with a plain one.
        calls = tg.calls_to("sendPhoto")
        assert [c.ok for c in calls] == [False, True]
        assert calls[1].params.get("parse_mode") in (None, "")
        caption = photo["caption"]
        assert len(caption) <= 1024 and HOSTILE in caption and "<i>M&M</i>" in caption
        [esim] = await bot.services.storage.esims.for_user(alice.id)
        assert esim.iccid in caption and caption.endswith(
            (await bot.services.storage.orders.for_user(alice.id))[0].reference
        )
        assert decode_qr(alice.last_photo_bytes()) == esim.activation_code
        assert esim.activation_code.endswith("$<i>M&M</i>")

        # The install guide shows the hostile activation code literally too.
        await alice.tap("Install guide", photo)
        guide = await alice.wait_for_message(lambda m: "iPhone" in m.get("text", ""))
        assert "<i>M&M</i>" in guide["text"]

        # My eSIMs and the eSIM's card show the hostile name literally as well.
        await alice.send_command("/start")
        await alice.tap("My eSIMs", await alice.wait_for_message(with_buttons("m:mine")))
        mine = await alice.wait_for_message(with_buttons("e:"))
        assert HOSTILE in mine["text"] and esim.iccid in mine["text"]
        await alice.tap(f"…{esim.iccid[-4:]}", mine)
        card = await alice.wait_for_message(with_buttons("u:"))
        assert HOSTILE in card["text"]


async def test_a_caption_telegram_cannot_parse_is_sent_again_in_plain_text(
    bot: RunningBot, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    tg.fail_next("sendPhoto", 400, "Bad Request: can't parse entities: unsupported tag")
    alice = tg.user(1001, "Alice", "en")
    photo, _ = await buy(alice, "Japan", bot.services.catalog.index.country_plans("JP")[0])
    assert [c.ok for c in tg.calls_to("sendPhoto")] == [False, True]
    [esim] = await bot.services.storage.esims.for_user(alice.id)
    assert esim.iccid in photo["caption"] and esim.matching_id in photo["caption"]
    assert "ICCID:" in photo["caption"] and "<b>" not in photo["caption"]
    assert any("Usage" in label for label, _, _ in alice.buttons(photo))


async def test_only_forbidden_means_blocked_no_second_photo(
    bot: RunningBot, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    alice = tg.user(1001, "Alice", "en")
    plan = bot.services.catalog.index.country_plans("JP")[0]
    details = await choose_plan(alice, "Japan", plan)
    await alice.tap(button(alice, details, f"b:{plan.code}"), details)
    await alice.wait_for_message(lambda m: "invoice" in m)
    tg.fail_next("sendPhoto", 403, "Forbidden: bot was blocked by the user")
    await alice.pay_last_invoice()

    async def delivered() -> bool:
        orders = await bot.services.storage.orders.for_user(alice.id)
        return bool(orders) and orders[0].status is OrderStatus.DELIVERED

    await eventually(delivered, timeout=10)
    assert len(tg.calls_to("sendPhoto")) == 1  # blocked: no retry with another caption
    assert len(await bot.services.storage.esims.for_user(alice.id)) == 1  # in My eSIMs


async def test_my_esims_survives_a_bad_stored_iccid(
    bot: RunningBot, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    alice = tg.user(1001, "Alice", "en")
    await buy(alice, "Japan", bot.services.catalog.index.country_plans("JP")[0])
    [good] = await bot.services.storage.esims.for_user(alice.id)
    storage = bot.services.storage
    bad_order = await storage.orders.create(
        kind=OrderKind.ESIM,
        user_id=alice.id,
        chat_id=alice.chat_id,
        package_code="JP_BAD",
        package_name="<b>Bad</b> plan",
        price_stars=1,
        cost_cents=1,
        language="en",
    )
    async with storage.db.transaction() as tx:  # what an unchecked reseller could leave
        await storage.esims.add(
            tx,
            iccid="<i>not-an-iccid</i>",
            order_id=bad_order.id,
            user_id=alice.id,
            package_code="JP_BAD",
            activation_code="",
            qr_code_url=None,
            short_url=None,
        )
    asked_before = len(sandbox.state.requests)

    await alice.send_command("/start")
    await alice.tap("My eSIMs", await alice.wait_for_message(with_buttons("m:mine")))
    mine = await alice.wait_for_message(with_buttons("e:"))
    assert "<i>not-an-iccid</i>" in mine["text"] and good.iccid in mine["text"]
    cards = [data for _, data, _ in alice.buttons(mine) if (data or "").startswith("e:")]
    assert cards == [f"e:{good.iccid}"]  # only the good one gets a button
    assert not any("not-an-iccid" in r.path for r in sandbox.state.requests[asked_before:])
    await alice.tap(f"…{good.iccid[-4:]}", mine)
    assert good.iccid in (await alice.wait_for_message(with_buttons("u:")))["text"]


def test_qr_png_is_rewound_for_upload() -> None:
    png = qr_png("LPA:1$smdp.example$ABC")
    assert isinstance(png, io.BytesIO) and png.tell() == 0
