"""English, Spanish and Russian: from the user's Telegram language, or chosen with /language;
every page, plan label, country name and the delivered eSIM in that language."""

from __future__ import annotations

import re

from emulators.telegram import FakeTelegram
from tests.handlers.test_journey_purchase import buy, topup_plan, with_buttons
from tests.rig import RunningBot, RunningSandbox


async def test_a_spanish_user_gets_everything_in_spanish(
    bot: RunningBot, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    ana = tg.user(2001, "Ana", "es")
    await ana.send_command("/start")
    menu = await ana.wait_for_message()
    assert "¡Hola, Ana!" in menu["text"]
    assert any("Comprar" in text for text, _, _ in ana.buttons(menu))

    await ana.send_text("Alemania")
    page = await ana.wait_for_message(with_buttons("p:"))
    assert page["text"].startswith("🇩🇪 Alemania")
    labels = [text for text, data, _ in ana.buttons(page) if (data or "").startswith("p:")]
    assert all(re.match(r"^\d+(,\d+)? (GB|MB) · \d+ días? · ⭐ \d+$", label) for label in labels)

    await ana.send_text("Japn")
    assert "¿Quisiste decir Japón?" in (await ana.wait_for_message())["text"]

    photo, _ = await buy(ana, "Japón", topup_plan(bot))
    assert "Escanea este código QR" in photo["caption"]
    iccid = (await bot.services.storage.esims.for_user(ana.id))[0].iccid
    sandbox.state.install(iccid)
    await ana.tap("Consumo", photo)
    usage = await ana.wait_for_message()
    assert "Usado:" in usage["text"] and "Estado:" in usage["text"]


async def test_a_russian_user_gets_everything_in_russian(bot: RunningBot, tg: FakeTelegram) -> None:
    ivan = tg.user(3001, "Иван", "ru")
    await ivan.send_command("/start")
    assert "Привет, Иван!" in (await ivan.wait_for_message())["text"]

    await ivan.send_text("япония")
    page = await ivan.wait_for_message(with_buttons("p:"))
    assert page["text"].startswith("🇯🇵 Япония")
    labels = [text for text, data, _ in ivan.buttons(page) if (data or "").startswith("p:")]
    assert any(" дней · " in label for label in labels)  # 7 дней, 15 дней: Russian plurals
    assert any(" день · " in label for label in labels) or any(
        " дня · " in label for label in labels
    )
    assert all(" ГБ · " in label or " МБ · " in label for label in labels)

    await ivan.tap(labels[0], page)
    details = await ivan.wait_for_message(with_buttons("b:"))
    assert "Трафик:" in details["text"] and "Цена:" in details["text"]

    await ivan.send_command("/nonsense")
    assert "не знаю такой команды" in (await ivan.wait_for_message())["text"]


async def test_language_can_be_changed_and_is_remembered(bot: RunningBot, tg: FakeTelegram) -> None:
    alice = tg.user(1001, "Alice", "de")  # not a language we speak: English
    await alice.send_command("/start")
    assert "Hi Alice" in (await alice.wait_for_message())["text"]

    await alice.send_command("/language")
    picker = await alice.wait_for_message(with_buttons("l:"))
    await alice.tap("Русский", picker)
    changed = await alice.wait_for_message()
    assert "Язык: русский" in changed["text"]
    assert any("Купить" in text for text, _, _ in alice.buttons(changed))
    assert bot.services.languages[alice.id] == "ru"
    stored = await bot.services.storage.users.get(alice.id)
    assert stored is not None and stored.language == "ru"

    await alice.send_text("Spain")
    assert (await alice.wait_for_message(with_buttons("p:")))["text"].startswith("🇪🇸 Испания")

    await alice.tap("Язык", changed)  # also from the menu
    await alice.wait_for_message(with_buttons("l:"))
    await alice.tap("Español", changed)
    assert "Idioma: español" in (await alice.wait_for_message())["text"]
