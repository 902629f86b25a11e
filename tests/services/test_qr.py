"""QR codes decode back to exactly the activation code."""

from __future__ import annotations

import io

import pytest
import zxingcpp
from PIL import Image

from bot.qr import qr_png


@pytest.mark.parametrize(
    "code",
    [
        "LPA:1$smdp.example.com$ABC-123",
        "LPA:1$rsp.truphone.com$QR-G-5C-1LS-1W1Z9P7",
        "LPA:1$sm-v4-064-a-gtm.pr.go-esim.com$" + "X" * 60,
    ],
)
def test_qr_decodes_to_the_activation_code(code: str) -> None:
    png = qr_png(code)
    assert png.tell() == 0 and png.name.endswith(".png")
    [result] = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.getvalue())))
    assert result.text == code
