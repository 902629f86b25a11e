"""Does my phone support eSIM? (issue 12, point 7): a typed model gets yes / no / not sure in
the customer's language, with the caveats, how to check any phone, and a way to the plans."""

from __future__ import annotations

import pytest

from bot.phones import check_phone, looks_like_phone
from emulators.telegram import FakeTelegram
from tests.handlers.test_journey_purchase import with_buttons
from tests.rig import RunningBot

# (language, typed, words the answer must hold)
ANSWERS = [
    ("en", "iPhone 13", ["supports eSIM", "mainland China", "*#06#", "EID"]),
    ("es", "Pixel 7", ["es compatible con eSIM", "*#06#", "EID"]),
    ("ru", "Galaxy S21", ["поддерживает eSIM", "Китая", "*#06#", "EID"]),
    ("en", "iPhone 8 Plus", ["does not support eSIM", "*#06#"]),
    ("es", "Galaxy A54", ["No estamos seguros", "A54"]),
    ("ru", "айфон 15 про", ["поддерживает eSIM"]),
]


async def test_a_typed_phone_model_is_answered_in_three_languages(
    bot: RunningBot, tg: FakeTelegram
) -> None:
    users = {code: tg.user(1000 + n, f"User{n}", code) for n, code in enumerate(("en", "es", "ru"))}
    for language, typed, expected in ANSWERS:
        user = users[language]
        await user.send_text(typed)
        answer = await user.wait_for_message(with_buttons("m:buy"))
        for words in expected:
            assert words in answer["text"], (language, typed, words)
    # A destination is still a destination.
    await users["en"].send_text("Japan")
    page = await users["en"].wait_for_message(with_buttons("p:"))
    assert page["text"].startswith("🇯🇵 Japan")
    # /phone alone says what to type; the answer's button leads to the plans.
    await users["es"].send_command("/phone")
    prompt = await users["es"].wait_for_message()
    assert "Escribe el modelo" in prompt["text"] and "*#06#" in prompt["text"]
    await users["es"].tap("🛒 Ver los planes", prompt)
    await users["es"].wait_for_message(with_buttons("c:"))


@pytest.mark.parametrize(
    ("typed", "answer"),
    [
        ("iPhone XS", "yes"),
        ("iphone13 pro max", "yes"),
        ("iPhone SE 2022", "yes"),
        ("iPhone X", "no"),
        ("iPhone SE", "no"),
        ("Pixel 3a", "yes"),
        ("Pixel 2", "unsure"),
        ("Samsung Galaxy S10", "no"),
        ("galaxy z flip 5", "yes"),
        ("Nokia 3310", "unsure"),
        ("Razr 40", "yes"),
    ],
)
def test_the_curated_list(typed: str, answer: str) -> None:
    assert looks_like_phone(typed)
    assert check_phone(typed).answer == answer


def test_places_are_not_phones() -> None:
    for place in ("Japan", "United States", "Europe", "🇯🇵", "Georgia", "Samoa"):
        assert not looks_like_phone(place)
