"""QR codes made locally from the activation code (never downloaded from the reseller)."""

from __future__ import annotations

import io

import qrcode
from qrcode.constants import ERROR_CORRECT_M

__all__ = ["qr_png"]


def qr_png(data: str) -> io.BytesIO:
    """A PNG of a QR code that encodes exactly ``data``, rewound and named for upload."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=10, border=4)
    code.add_data(data)
    code.make(fit=True)
    image = code.make_image(fill_color="black", back_color="white")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    buffer.seek(0)
    buffer.name = "esim-qr.png"
    return buffer
