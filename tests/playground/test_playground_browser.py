"""The playground page in a real headless Chromium (Debian's ``chromium``, driven by Playwright):
a customer buys an eSIM by typing a country, tapping a plan, Buy and Pay, sees the QR code and it
decodes to the activation code; the operator then refunds it with /refund. Screenshots go to
``artifacts/`` (kept out of git)."""

from __future__ import annotations

import io
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import zxingcpp
from PIL import Image

from playground.cast import ADMIN_ID, CAST
from playground.runner import RunningPlayground, running_playground
from playground.views import STARTING_STARS
from tests.rig import free_port

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ALICE = CAST[0]


def _require_chromium() -> None:
    if CHROMIUM.exists():
        return
    if os.environ.get("CI"):  # CI installs it (.ci/run): a missing browser there is a failure
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
    pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium); CI always runs this")


@pytest.fixture
async def playground() -> AsyncIterator[RunningPlayground]:
    async with running_playground(http_port=free_port(), sandbox_provisioning_delay=0.3) as running:
        yield running


@pytest.fixture
async def page(playground: RunningPlayground) -> AsyncIterator[Any]:
    _require_chromium()
    from playwright.async_api import async_playwright

    async with async_playwright() as driver:
        browser = await driver.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS
        )
        try:
            page = await browser.new_page(viewport={"width": 1360, "height": 900})
            page.set_default_timeout(15_000)
            await page.goto(playground.url)
            yield page
        finally:
            await browser.close()


async def type_message(page: Any, text: str) -> None:
    await page.fill("#composer-input", text)
    await page.press("#composer-input", "Enter")


async def tap(page: Any, label: str) -> None:
    """Tap the newest inline button whose text contains ``label``."""
    await page.locator(".kb-btn", has_text=label).last.click()


def decode_qr(png: bytes) -> str:
    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert results, "no QR code found in the photo"
    return str(results[0].text)


async def test_buy_an_esim_in_the_page_then_refund_it_as_the_admin(
    playground: RunningPlayground, page: Any
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    messages = page.locator("#messages")
    await page.locator("#stars", has_text=f"{STARTING_STARS:,}").wait_for()

    # The customer: a country, a plan, Buy, Pay.
    await type_message(page, "Japan")
    await messages.get_by_text("Tap a plan for its details").wait_for()
    await tap(page, "1 GB · 7 days")
    await tap(page, "Buy")
    await page.locator(".invoice").wait_for()
    await page.locator(".kb-btn.pay").click()

    photo = page.locator("img.photo")
    await photo.wait_for()
    await page.wait_for_function("document.querySelector('img.photo').naturalWidth > 0")
    await messages.get_by_text("ICCID").first.wait_for()
    await page.screenshot(path=str(ARTIFACTS / "playground-customer.png"))

    source = await photo.get_attribute("src")
    async with httpx.AsyncClient(base_url=playground.url) as client:
        png = (await client.get(source)).content
    code = decode_qr(png)
    esim = (await playground.services.storage.esims.for_user(ALICE.id))[0]
    assert code.startswith("LPA:1$") and code == esim.activation_code
    paid = STARTING_STARS - playground.playground.emulator.star_transactions[0].amount
    await page.locator("#stars", has_text=f"{paid:,}").wait_for()

    # The operator: /refund with the ICCID, confirm.
    await page.locator(f'[data-person="{ADMIN_ID}"] .badge').wait_for()  # the sandbox alert
    await page.click(f'[data-person="{ADMIN_ID}"]')
    await type_message(page, f"/refund {esim.iccid} playground test")
    await tap(page, "Cancel the eSIM and refund")
    await messages.get_by_text("refunded").last.wait_for()
    await page.screenshot(path=str(ARTIFACTS / "playground-admin.png"))
    assert [r.user_id for r in playground.playground.emulator.refunds] == [ALICE.id]

    # Back as the customer: told, and the Stars are back.
    await page.click(f'[data-person="{ALICE.id}"]')
    await page.locator(".msg.service", has_text="refunded to you").wait_for()
    await page.locator("#stars", has_text=f"{STARTING_STARS:,}").wait_for()
    await messages.get_by_text("has been refunded").wait_for()
