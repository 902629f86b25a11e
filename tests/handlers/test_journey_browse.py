"""Finding a plan in Telegram: /start, typing a country, suggestions, pages, sorting, regions,
plan details, and the robustness of the hot path (no reseller call, no catalog query)."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import pytest

from bot.catalog import CatalogIndex
from emulators.telegram import FakeTelegram, FakeUser
from tests.rig import ADMIN_ID, RunningBot, RunningSandbox

JSON = dict[str, Any]
PLAN_LABEL = re.compile(r"^\d+(?:\.\d+)? (?:GB|MB) · \d+ days? · ⭐ \d+$")


def with_buttons(prefix: str) -> Any:
    """A wait_for_message predicate: a message with a button whose data starts with prefix."""

    def check(message: JSON) -> bool:
        rows = message.get("reply_markup", {}).get("inline_keyboard", [])
        return any((b.get("callback_data") or "").startswith(prefix) for r in rows for b in r)

    return check


def buttons_with(user: FakeUser, message: JSON, prefix: str) -> list[tuple[str, str, Any]]:
    return [(t, d, u) for t, d, u in user.buttons(message) if d and d.startswith(prefix)]


async def open_country(user: FakeUser, text: str) -> JSON:
    await user.send_text(text)
    return await user.wait_for_message(with_buttons("p:"))


async def test_start_help_paysupport_and_the_command_menu(
    bot: RunningBot, tg: FakeTelegram
) -> None:
    alice = tg.user(1001, "Alice", "en")
    await alice.send_command("/start")
    menu = await alice.wait_for_message(lambda m: "Hi Alice" in m.get("text", ""))
    labels = [text for text, _, _ in alice.buttons(menu)]
    assert any("Buy" in label for label in labels)
    assert any("My eSIMs" in label for label in labels)
    assert any("Help" in label for label in labels)

    answered = await alice.tap("Help", menu)
    assert not answered.get("show_alert")
    help_page = await alice.wait_for_message()
    assert "*#06#" in help_page["text"] and "EID" in help_page["text"]

    await alice.send_command("/start JP")  # a deep link straight to a country
    assert (await alice.wait_for_message(with_buttons("p:")))["text"].startswith("🇯🇵 Japan")

    await alice.send_command("/paysupport")
    support = await alice.wait_for_message()
    assert "refund" in support["text"].lower()
    mentions = [e["user"]["id"] for e in support.get("entities", []) if "user" in e]
    assert mentions == [ADMIN_ID]  # how to reach support: a link to the admin's chat

    # The command menu, in every language.
    calls = tg.calls_to("setMyCommands")
    by_language = {
        call.params.get("language_code") or "": call.params["commands"]
        for call in calls
        if not call.params.get("scope")
    }
    assert set(by_language) >= {"", "es", "ru"}
    for commands in by_language.values():
        names = {command["command"] for command in commands}
        assert names == {"start", "help", "phone", "settings", "language", "paysupport"}
    spanish = {command["command"]: command["description"] for command in by_language["es"]}
    assert spanish["start"] == "Comprar una eSIM o ver las tuyas"


# One bot for many inputs: starting one per input would only make the suite slower.
TYPED_COUNTRIES = [
    ("japan", "🇯🇵", "Japan"),
    ("JAPAN", "🇯🇵", "Japan"),
    ("jp", "🇯🇵", "Japan"),
    ("Japón", "🇯🇵", "Japan"),
    ("Япония", "🇯🇵", "Japan"),
    ("🇯🇵", "🇯🇵", "Japan"),
    ("USA", "🇺🇸", "United States"),
    ("uk", "🇬🇧", "United Kingdom"),
    ("UAE", "🇦🇪", "United Arab Emirates"),
]


async def test_typing_a_country_shows_its_plans(bot: RunningBot, tg: FakeTelegram) -> None:
    alice = tg.user(1001, "Alice", "en")
    for typed, flag, title in TYPED_COUNTRIES:
        page = await open_country(alice, typed)
        assert page["text"].splitlines()[0] == f"{flag} {title}", typed
        labels = [text for text, _, _ in buttons_with(alice, page, "p:")]
        assert labels and all(PLAN_LABEL.match(label) for label in labels), labels


async def test_a_typo_gets_a_suggestion_that_opens_the_country(
    bot: RunningBot, tg: FakeTelegram
) -> None:
    alice = tg.user(1001, "Alice", "en")
    await alice.send_text("Japn")
    suggestion = await alice.wait_for_message()
    assert "Did you mean Japan?" in suggestion["text"]
    await alice.tap("Japan", suggestion)
    page = await alice.wait_for_message(with_buttons("p:"))
    assert "Japan" in page["text"]


ODD_INPUT = [
    ("Qwertyland", "couldn't find a country"),
    ("x" * 5000, "long message"),
    ("😀😀😀", "Type a country name"),
    ("/frobnicate", "don't know that command"),
    ("/frobnicate@esim_test_bot now", "don't know that command"),
]


async def test_odd_input_always_gets_a_polite_answer(bot: RunningBot, tg: FakeTelegram) -> None:
    alice = tg.user(1001, "Alice", "en")
    for typed, expected in ODD_INPUT:
        await alice.send_text(typed)
        answer = await alice.wait_for_message()
        assert expected in answer["text"], typed
        assert len(answer["text"]) < 1000
    tg.push_update(  # something the bot cannot read: a location
        "message",
        {
            "message_id": 10_000,
            "from": alice.profile,
            "chat": {"id": alice.chat_id, "type": "private", "first_name": "Alice"},
            "date": 0,
            "location": {"latitude": 35.68, "longitude": 139.76},
        },
    )
    assert "only read text" in (await alice.wait_for_message())["text"]


async def test_many_plans_are_paged_and_sorted(bot: RunningBot, tg: FakeTelegram) -> None:
    plans = bot.services.catalog.index.country_plans("JP")
    assert len(plans) > 8, "the sandbox sells Japan enough plans for two pages"
    alice = tg.user(1001, "Alice", "en")
    first = await open_country(alice, "Japan")
    assert "page 1 of 2" in first["text"]
    prices = [int(text.rsplit(" ", 1)[1]) for text, _, _ in buttons_with(alice, first, "p:")]
    assert prices == sorted(prices) and len(prices) == 8

    await alice.tap("Next", first)
    second = await alice.wait_for_message()
    assert "page 2 of 2" in second["text"]
    assert len(buttons_with(alice, second, "p:")) == len(plans) - 8

    await alice.tap("Data", second)
    by_data = await alice.wait_for_message()
    assert "page 1 of 2" in by_data["text"] and "Least data first" in by_data["text"]
    volumes = [_gigabytes(text) for text, _, _ in buttons_with(alice, by_data, "p:")]
    assert volumes == sorted(volumes)

    await alice.tap("Days", by_data)
    by_days = await alice.wait_for_message()
    days = [
        int(text.split(" · ")[1].split()[0]) for text, _, _ in buttons_with(alice, by_days, "p:")
    ]
    assert days == sorted(days)


def _gigabytes(label: str) -> float:
    amount, unit = label.split(" · ")[0].split()
    return float(amount) / (1024 if unit == "MB" else 1)


async def test_regional_and_global_plans_are_one_tap_away(
    bot: RunningBot, tg: FakeTelegram
) -> None:
    alice = tg.user(1001, "Alice", "en")
    page = await open_country(alice, "France")
    await alice.tap("Multi-country plans", page)
    covering = await alice.wait_for_message(with_buttons("p:"))
    places = " ".join(text for text, _, _ in buttons_with(alice, covering, "p:"))
    assert "Europe" in places or "Global" in places

    await alice.send_command("/start")
    menu = await alice.wait_for_message(with_buttons("m:buy"))
    await alice.tap("Buy", menu)
    buy = await alice.wait_for_message(with_buttons("c:"))
    assert "Where are you going?" in buy["text"]
    await alice.tap("Regional plans", buy)
    regions = await alice.wait_for_message(with_buttons("r:"))
    await alice.tap("Europe", regions)
    europe = await alice.wait_for_message(with_buttons("p:"))
    assert "Europe" in europe["text"]

    await alice.send_text("Europa")  # a region typed in another language
    typed = await alice.wait_for_message(with_buttons("p:"))
    assert "Europe" in typed["text"]

    await alice.tap("Back", europe)
    await alice.wait_for_message(with_buttons("r:"))
    await alice.tap("Global plans", europe)
    world = await alice.wait_for_message(with_buttons("p:"))
    assert "Global plans" in world["text"]


async def test_plan_details_show_coverage_privacy_and_price(
    bot: RunningBot, tg: FakeTelegram
) -> None:
    index = bot.services.catalog.index
    plan = next(p for p in index.country_plans("JP") if p.details.get("ip_export"))
    alice = tg.user(1001, "Alice", "en")
    page = await open_country(alice, "Japan")
    await alice.tap_data(f"p:{plan.code}", page)
    details = await alice.wait_for_message(with_buttons("b:"))
    text = details["text"]
    for expected in ("Data:", "Valid for:", "Speed:", "Top-ups:", "exits in", "Price: ⭐"):
        assert expected in text, expected
    operators = plan.details["networks"][0]["operators"]
    assert all(f"{op['name']} ({op['network_type']})" in text for op in operators)
    if plan.details.get("active_type") in (1, 2):
        assert "Validity starts" in text
    buy = buttons_with(alice, details, "b:")
    assert buy and "⭐" in buy[0][0]

    region = next(p for p in index.region_plans("EU"))
    await alice.tap_data(f"p:{region.code}", details)
    regional = await alice.wait_for_message(with_buttons("b:"))
    assert re.search(r"Coverage: \d+ countries", regional["text"])


async def test_stale_and_forged_buttons_say_expired(bot: RunningBot, tg: FakeTelegram) -> None:
    alice = tg.user(1001, "Alice", "en")
    page = await open_country(alice, "Japan")
    for data in ("p:NO_SUCH_PLAN", "b:NO_SUCH_PLAN", "zz:what", "c:jp", "c:ZZ", "r:NOWHERE",
                 "p:" + "A" * 70, "e:123", "m:admin"):  # fmt: skip
        answered = await alice.tap_data(data, page)
        assert "expired" in answered.get("text", ""), data
        assert answered.get("show_alert") is True

    # Tapping the order already shown changes nothing: no edit is even sent to Telegram.
    since = len(tg.calls)
    answered = await alice.tap("✓ Price", page)
    assert not answered.get("text")
    await alice.send_text("Japan")  # the bot is still fine, and said nothing in between
    await alice.wait_for_message(with_buttons("p:"))
    assert not [c for c in tg.calls[since:] if c.method == "editMessageText"]
    assert not any("went wrong" in (m.get("text") or "") for m in alice.messages)


async def test_browsing_never_calls_the_reseller_nor_reads_the_catalog_from_sqlite(
    bot: RunningBot, tg: FakeTelegram, sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    statements: list[str] = []
    database = bot.services.storage.db
    for name in ("fetchone", "fetchall", "fetchval"):
        original = getattr(database, name)

        async def recording(sql: str, *args: Any, _original: Any = original) -> Any:
            statements.append(sql)
            return await _original(sql, *args)

        monkeypatch.setattr(database, name, recording)
    alice = tg.user(1001, "Alice", "en")
    await alice.send_text("warm up")
    await alice.wait_for_message()
    before = len(sandbox.state.requests)

    page = await open_country(alice, "Japan")
    await alice.tap("Next", page)
    await alice.wait_for_message()
    await alice.tap("Data")
    await alice.wait_for_message()
    plan = buttons_with(alice, alice.last_message() or {}, "p:")[0]
    await alice.tap(plan[0])
    await alice.wait_for_message(with_buttons("b:"))
    await alice.send_text("Japn")
    await alice.wait_for_message()

    browsing = [r.path for r in sandbox.state.requests[before:] if "/packages" in r.path]
    assert browsing == []
    reads = [sql for sql in statements if re.search(r"\b(packages|users|esims)\b", sql)]
    assert reads == []


async def test_names_from_the_reseller_are_escaped(bot: RunningBot, tg: FakeTelegram) -> None:
    """The fake Telegram parses HTML strictly: an unescaped "<" or "&" would be refused."""
    services = bot.services
    index = services.catalog.index
    plan = index.country_plans("JP")[0]
    details = {**plan.details, "speed": "4G <LTE> & 5G", "ip_export": "<nowhere>"}
    evil = dataclasses.replace(plan, name="Japan <b>Unlimited</b> & more", details=details)
    services.catalog.index = CatalogIndex([evil, *(p for p in index.by_code.values() if p != plan)])

    alice = tg.user(1001, "Alice", "en")
    page = await open_country(alice, "Japan")
    await alice.tap_data(f"p:{plan.code}", page)
    shown = await alice.wait_for_message(with_buttons("b:"))
    assert "Japan <b>Unlimited</b> & more" in shown["text"]
    assert "4G <LTE> & 5G" in shown["text"] and "<nowhere>" in shown["text"]
