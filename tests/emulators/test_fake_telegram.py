"""The fake Telegram server, driven by the real python-telegram-bot client."""

from __future__ import annotations

import asyncio
import contextlib
import io
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from PIL import Image
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LabeledPrice,
    Message,
    TransactionPartnerUser,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    PreCheckoutQueryHandler,
    filters,
)

from emulators.telegram import FakeTelegram, FakeUser, PaymentDeclined

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


@pytest.fixture
async def bot(tg: FakeTelegram) -> AsyncIterator[Bot]:
    async with Bot(tg.token, base_url=tg.api_url, base_file_url=tg.file_url) as client:
        yield client


@pytest.fixture
async def http(tg: FakeTelegram) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=f"{tg.api_url}{tg.token}/") as client:
        yield client


@pytest.fixture
def alice(tg: FakeTelegram) -> FakeUser:
    return tg.user()


def png_bytes(size: tuple[int, int] = (16, 12)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, "white").save(buffer, format="PNG")
    return buffer.getvalue()


@contextlib.asynccontextmanager
async def running(app: Application[Any, Any, Any, Any, Any, Any]) -> AsyncIterator[None]:
    async with app:
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=1)
        await app.start()
        try:
            yield
        finally:
            await app.updater.stop()
            await app.stop()


# -- basics ------------------------------------------------------------------------------------


async def test_get_me_describes_the_bot(tg: FakeTelegram, bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.username, me.is_bot) == (123456, "esim_test_bot", True)
    assert tg.calls_to("getme")[0].ok is True


async def test_wrong_token_unknown_method_and_any_case(tg: FakeTelegram) -> None:
    stranger = Bot("999:WRONG", base_url=tg.api_url)
    with pytest.raises(InvalidToken):
        await stranger.initialize()
    await stranger.shutdown()
    async with httpx.AsyncClient(base_url=tg.url) as raw:
        unauthorized = await raw.post("/bot999:WRONG/getMe")
        unknown = await raw.post(f"/bot{tg.token}/sendHologram")
        mixed_case = await raw.get(f"/bot{tg.token}/GETME")
    assert unauthorized.status_code == 401
    assert unauthorized.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
    assert unknown.status_code == 404
    assert unknown.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
    assert mixed_case.json()["result"]["username"] == "esim_test_bot"


async def test_form_json_and_query_parameters_are_decoded(
    tg: FakeTelegram, http: httpx.AsyncClient, alice: FakeUser
) -> None:
    keyboard = {"inline_keyboard": [[{"text": "Go", "callback_data": "go"}]]}
    as_json = await http.post(
        "sendMessage", json={"chat_id": 1001, "text": "12", "reply_markup": keyboard}
    )
    as_form = await http.post(
        "sendMessage",
        data={"chat_id": "1001", "text": "[1]", "reply_markup": '{"inline_keyboard": []}'},
    )
    as_query = await http.get("sendMessage", params={"chat_id": "1001", "text": "true"})
    assert [r.status_code for r in (as_json, as_form, as_query)] == [200, 200, 200]
    params = [call.params for call in tg.calls_to("sendMessage")]
    assert params[0]["reply_markup"] == keyboard and params[0]["text"] == "12"
    assert params[1] == {"chat_id": 1001, "text": "[1]", "reply_markup": {"inline_keyboard": []}}
    assert params[2]["text"] == "true"  # strings stay strings even when they look like JSON
    assert [m["text"] for m in alice.messages] == ["12", "[1]", "true"]


# -- getUpdates --------------------------------------------------------------------------------


async def test_long_poll_returns_as_soon_as_an_update_arrives(bot: Bot, alice: FakeUser) -> None:
    started = time.monotonic()
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.2)
    sent = await alice.send_text("hello")
    updates = await poll
    assert time.monotonic() - started < 2
    message = updates[0].message
    assert message is not None and message.text == "hello"
    assert message.message_id == sent["message_id"]
    assert message.from_user is not None and message.from_user.to_dict() == {
        "id": 1001,
        "is_bot": False,
        "first_name": "Alice",
        "language_code": "en",
    }
    assert message.chat.type == "private" and message.chat.id == 1001
    assert isinstance(sent["date"], int)


async def test_long_poll_waits_for_its_timeout_when_nothing_happens(bot: Bot) -> None:
    started = time.monotonic()
    assert await bot.get_updates(timeout=1) == ()
    assert time.monotonic() - started >= 0.9


async def test_offset_confirms_and_limit_caps(bot: Bot, alice: FakeUser) -> None:
    for text in ("one", "two", "three"):
        await alice.send_text(text)
    first = await bot.get_updates(limit=2)
    assert [u.message.text for u in first if u.message] == ["one", "two"]
    assert first[1].update_id == first[0].update_id + 1
    rest = await bot.get_updates(offset=first[-1].update_id + 1)
    assert [u.message.text for u in rest if u.message] == ["three"]
    assert await bot.get_updates(offset=rest[-1].update_id + 1) == ()


async def test_a_second_poller_terminates_the_first(
    tg: FakeTelegram, http: httpx.AsyncClient
) -> None:
    first = asyncio.create_task(http.post("getUpdates", data={"timeout": "5"}))
    await asyncio.sleep(0.2)  # let the first poll start waiting
    second = await http.post("getUpdates", data={"timeout": "0"})
    terminated = await first
    assert second.json() == {"ok": True, "result": []}
    assert terminated.status_code == 409
    assert terminated.json()["description"].startswith("Conflict: terminated by other getUpdates")


async def test_stop_ends_pending_long_polls_quickly() -> None:
    fake = FakeTelegram()
    await fake.start()
    async with httpx.AsyncClient() as raw:
        poll = asyncio.create_task(raw.post(f"{fake.api_url}{fake.token}/getUpdates?timeout=30"))
        await asyncio.sleep(0.2)
        started = time.monotonic()
        await fake.stop()
        assert (await poll).json() == {"ok": True, "result": []}
    assert time.monotonic() - started < 2


async def test_commands_carry_a_bot_command_entity(bot: Bot, alice: FakeUser) -> None:
    await alice.send_command("/refund ABC too slow")
    (update,) = await bot.get_updates()
    assert update.message is not None
    entity = update.message.entities[0]
    assert (entity.type, entity.offset, entity.length) == ("bot_command", 0, 7)
    assert update.message.text == "/refund ABC too slow"
    assert filters.COMMAND.check_update(update)


# -- messages ----------------------------------------------------------------------------------


async def test_send_edit_and_not_modified(tg: FakeTelegram, bot: Bot, alice: FakeUser) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Buy 1 GB", callback_data="buy:1")]])
    sent = await bot.send_message(
        1001, "<b>Plan</b> &amp; <i>price</i>", parse_mode=ParseMode.HTML, reply_markup=keyboard
    )
    assert sent.text == "Plan & price" and sent.text_html == "<b>Plan</b> &amp; <i>price</i>"
    assert alice.buttons() == [("Buy 1 GB", "buy:1", None)]
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_text("Plan & price", 1001, sent.message_id, reply_markup=keyboard,
                                    entities=sent.entities)  # fmt: skip
    assert tg.calls_to("editMessageText")[-1].description == NOT_MODIFIED
    edited = await bot.edit_message_text("Sold out", 1001, sent.message_id)
    assert isinstance(edited, Message)
    assert edited.edit_date is not None and edited.reply_markup is None
    assert alice.last_message() is not None
    assert alice.last_message() == alice.messages[0] and alice.messages[0]["text"] == "Sold out"
    assert "reply_markup" not in alice.messages[0]  # omitted markup removes the keyboard
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("x", 1001, 999)
    assert await bot.delete_message(1001, sent.message_id) is True
    assert alice.messages == []


async def test_message_ids_grow_per_chat_and_dates_are_seconds(bot: Bot, tg: FakeTelegram) -> None:
    alice, bob = tg.user(), tg.user(2002, "Bob", None)
    await alice.send_text("hi")
    first = await bot.send_message(alice.chat_id, "a")
    second = await bot.send_message(alice.chat_id, "b")
    other = await bot.send_message(bob.chat_id, "c")
    assert (first.message_id, second.message_id, other.message_id) == (2, 3, 1)
    assert isinstance(alice.messages[0]["date"], int)
    assert alice.messages[0]["from"]["username"] == "esim_test_bot"


@pytest.mark.parametrize(
    ("params", "description"),
    [
        ({"text": "x" * 4097}, "Bad Request: message is too long"),
        ({"text": "   "}, "Bad Request: message text is empty"),
        ({"text": "ok", "chat_id": 555}, "Bad Request: chat not found"),
        (
            {
                "text": "ok",
                "reply_markup": {"inline_keyboard": [[{"text": "x", "callback_data": "d" * 65}]]},
            },
            "Bad Request: BUTTON_DATA_INVALID",
        ),
        (
            {"text": "<p>hi</p>", "parse_mode": "HTML"},
            'Bad Request: can\'t parse entities: Unsupported start tag "p" at byte offset 0',
        ),
        (
            {"text": "<b>bold <i>both</b></i>", "parse_mode": "HTML"},
            "Bad Request: can't parse entities: Unmatched end tag at byte offset 15, "
            'expected "</i>", found "</b>"',
        ),
        (
            {"text": "<b>never closed", "parse_mode": "HTML"},
            "Bad Request: can't parse entities: Can't find end tag corresponding to start tag b",
        ),
        (
            {"text": '<span class="x">no</span>', "parse_mode": "HTML"},
            "Bad Request: can't parse entities: "
            'Tag "span" must have class "tg-spoiler" at byte offset 0',
        ),
        (
            {"text": "Tom & Jerry", "parse_mode": "HTML"},
            'Bad Request: can\'t parse entities: Unescaped "&" at byte offset 4; '
            "use &amp; (strict mode of the fake server)",
        ),
    ],
)
async def test_send_message_rejections(
    http: httpx.AsyncClient, alice: FakeUser, params: dict[str, Any], description: str
) -> None:
    body = {"chat_id": alice.chat_id, **params}
    response = await http.post("sendMessage", json=body)
    assert response.status_code == 400
    assert response.json() == {"ok": False, "error_code": 400, "description": description}
    assert alice.messages == []


async def test_allowed_html_is_accepted(bot: Bot, alice: FakeUser) -> None:
    html = (
        "<b>b</b><strong>s</strong><i>i</i><em>e</em><u>u</u><ins>n</ins><s>s</s><strike>k</strike>"
        '<del>d</del><span class="tg-spoiler">p</span><tg-spoiler>q</tg-spoiler>'
        '<a href="https://example.com/?a=1&amp;b=2">link</a><code>c</code>'
        '<pre><code class="language-python">x = 1</code></pre><blockquote>quote</blockquote>'
        '<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji> &lt;3 &#128512;'
    )
    message = await bot.send_message(alice.chat_id, html, parse_mode=ParseMode.HTML)
    types = [entity.type for entity in message.entities]
    assert "text_link" in types and "spoiler" in types and "custom_emoji" in types
    pre = next(e for e in message.entities if e.type == "pre")
    assert pre.language == "python"
    assert message.text is not None and message.text.endswith("<3 😀")


async def test_caption_too_long_and_chat_action(bot: Bot, alice: FakeUser) -> None:
    with pytest.raises(BadRequest, match="Message caption is too long"):
        await bot.send_photo(alice.chat_id, png_bytes(), caption="c" * 1025)
    assert await bot.send_chat_action(alice.chat_id, "upload_photo") is True
    assert alice.last_chat_action == "upload_photo"


async def test_unknown_callback_query_and_blocked_user(
    tg: FakeTelegram, bot: Bot, alice: FakeUser
) -> None:
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_callback_query("no-such-query")
    assert tg.calls_to("answerCallbackQuery")[0].description == (
        "Bad Request: query is too old and response timeout expired or query ID is invalid"
    )
    alice.blocked = True
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(alice.chat_id, "promo")


# PTB warns about its own RetryAfter.retry_after type change; not ours to fix.
@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_fault_injection(tg: FakeTelegram, bot: Bot, alice: FakeUser) -> None:
    tg.fail_next("sendMessage", 502, "Bad Gateway")
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await bot.send_message(alice.chat_id, "first")
    tg.fail_next("sendMessage", 429, retry_after=3)
    with pytest.raises(RetryAfter) as flood:
        await bot.send_message(alice.chat_id, "second")
    assert "Retry in 3" in str(flood.value)  # PTB read parameters.retry_after
    await bot.send_message(alice.chat_id, "third")
    assert [(c.ok, c.error_code) for c in tg.calls_to("sendMessage")] == [
        (False, 502),
        (False, 429),
        (True, None),
    ]
    assert [m["text"] for m in alice.messages] == ["third"]


# -- files -------------------------------------------------------------------------------------


async def test_send_photo_multipart_round_trip(tg: FakeTelegram, bot: Bot, alice: FakeUser) -> None:
    image = png_bytes((400, 300))
    message = await bot.send_photo(
        alice.chat_id, image, caption="Your <b>QR</b>", parse_mode="HTML"
    )
    largest = message.photo[-1]
    assert (largest.width, largest.height, largest.file_size) == (400, 300, len(image))
    assert message.caption == "Your QR" and message.photo[0].width == 90
    assert tg.calls_to("sendPhoto")[0].files["photo"] == image
    assert alice.last_photo_bytes() == image
    downloaded = await (await bot.get_file(largest.file_id)).download_as_bytearray()
    assert bytes(downloaded) == image
    again = await bot.send_photo(alice.chat_id, largest.file_id)
    assert again.photo[-1].file_id == largest.file_id
    with pytest.raises(BadRequest, match="Image_process_failed"):
        await bot.send_photo(alice.chat_id, b"not an image")


# -- buttons and payments with a real Application -----------------------------------------------


def shop_app(tg: FakeTelegram, paid: list[str]) -> Application[Any, Any, Any, Any, Any, Any]:
    app = ApplicationBuilder().token(tg.token).base_url(tg.api_url).build()

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_chat is not None
        keyboard = [
            [InlineKeyboardButton("Buy 1 GB", callback_data="buy:1")],
            [InlineKeyboardButton("Help", url="https://example.com/help")],
        ]
        await context.bot.send_message(
            update.effective_chat.id, "Pick a plan", reply_markup=InlineKeyboardMarkup(keyboard)
        )

    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer(f"got {query.data}")
        if query.data == "buy:1":
            await query.edit_message_text("Sending invoice")
            await context.bot.send_invoice(
                query.from_user.id, "1 GB", "Europe, 7 days", "order-1", "XTR",
                [LabeledPrice("1 GB", 50)],
            )  # fmt: skip

    async def pre_checkout(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.pre_checkout_query
        assert query is not None
        if query.invoice_payload.startswith("order-"):
            await query.answer(ok=True)
        else:
            await query.answer(ok=False, error_message="Sold out")

    async def successful(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None and update.message.successful_payment is not None
        paid.append(update.message.successful_payment.telegram_payment_charge_id)
        await update.message.reply_text("Thanks!")

    async def sell_stale(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_chat is not None
        await context.bot.send_invoice(
            update.effective_chat.id, "Old", "Gone", "stale-9", "XTR", [LabeledPrice("x", 10)]
        )

    app.add_handler(CommandHandler("start", start))
    app.add_handler(CommandHandler("stale", sell_stale))
    app.add_handler(CallbackQueryHandler(pressed))
    app.add_handler(PreCheckoutQueryHandler(pre_checkout))
    app.add_handler(MessageHandler(filters.SUCCESSFUL_PAYMENT, successful))
    return app


async def test_tap_by_label_pay_and_decline(tg: FakeTelegram, alice: FakeUser) -> None:
    paid: list[str] = []
    async with running(shop_app(tg, paid)):
        await alice.send_command("/start")
        menu = await alice.wait_for_message()
        assert menu["text"] == "Pick a plan"
        assert alice.buttons() == [
            ("Buy 1 GB", "buy:1", None),
            ("Help", None, "https://example.com/help"),
        ]
        with pytest.raises(ValueError, match="no callback_data"):
            await alice.tap("Help")
        answer = await alice.tap("Buy")
        assert answer["text"] == "got buy:1"
        edited = await alice.wait_for_message()
        assert edited["text"] == "Sending invoice" and "edit_date" in edited
        invoice = await alice.wait_for_message(lambda m: "invoice" in m)
        assert invoice["invoice"]["total_amount"] == 50 and invoice["invoice"]["currency"] == "XTR"
        forged = await alice.tap_data("buy:999", menu)
        assert forged["text"] == "got buy:999"

        charge_id = await alice.pay_last_invoice()
        thanks = await alice.wait_for_message()
        assert thanks["text"] == "Thanks!" and paid == [charge_id]
        assert charge_id.startswith("stxTEST")
        payment = tg.star_transactions[0]
        assert (payment.amount, payment.payload, payment.delivered) == (50, "order-1", True)

        lost = await alice.pay_without_update()
        await alice.send_command("/stale")
        await alice.wait_for_message(lambda m: "invoice" in m)
        with pytest.raises(PaymentDeclined, match="Sold out"):
            await alice.pay_last_invoice()
    assert paid == [charge_id]  # the lost payment never reached the bot
    assert [(p.charge_id, p.delivered) for p in tg.star_transactions] == [
        (charge_id, True),
        (lost, False),
    ]


async def test_star_transactions_and_refunds(tg: FakeTelegram, bot: Bot, alice: FakeUser) -> None:
    charge_id = tg.record_star_payment(alice.id, 75, "order-7")
    assert await bot.refund_star_payment(alice.id, charge_id) is True
    with pytest.raises(BadRequest, match="Charge_already_refunded"):
        await bot.refund_star_payment(alice.id, charge_id)
    with pytest.raises(BadRequest, match="Charge_id_invalid"):
        await bot.refund_star_payment(alice.id, "stxNOPE")
    assert [c.description for c in tg.calls_to("refundStarPayment")[1:]] == [
        "Bad Request: CHARGE_ALREADY_REFUNDED",
        "Bad Request: CHARGE_ID_INVALID",
    ]

    paid, refunded = (await bot.get_star_transactions()).transactions
    assert paid.id == refunded.id == charge_id and paid.amount == refunded.amount == 75
    assert isinstance(paid.source, TransactionPartnerUser) and paid.receiver is None
    assert paid.source.user.id == alice.id and paid.source.invoice_payload == "order-7"
    assert paid.source.transaction_type == "invoice_payment"
    assert isinstance(refunded.receiver, TransactionPartnerUser) and refunded.source is None
    assert len((await bot.get_star_transactions(offset=1, limit=5)).transactions) == 1
    assert tg.refunds[0].charge_id == charge_id and tg.star_transactions[0].refunded

    (update,) = await bot.get_updates()
    assert update.message is not None and update.message.refunded_payment is not None
    assert update.message.refunded_payment.telegram_payment_charge_id == charge_id
