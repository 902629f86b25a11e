"""QR codes made locally from the activation code (never downloaded from the reseller)."""

from __future__ import annotations

import io

__all__ = ["MAX_QR_DATA", "QrError", "qr_png"]

# A version-40 code at level M holds 2,331 bytes; a real activation code is under 200.
MAX_QR_DATA = 2_000


class QrError(ValueError):
    """The data cannot become a QR code (empty, too long, or not encodable text)."""


def qr_png(data: str) -> io.BytesIO:
    """A PNG of a QR code that encodes exactly ``data``, rewound and named for upload.

    Raises QrError for data no QR code can hold: it comes from the reseller, and a bad
    value must cost one clear error, not an exception from deep inside the encoder.
    """
    try:
        size = len(data.encode("utf-8"))
    except (AttributeError, UnicodeEncodeError):  # not text, or a lone surrogate from JSON
        raise QrError("the activation code is not valid text") from None
    if not 0 < size <= MAX_QR_DATA:
        raise QrError(f"the activation code is {size} bytes long (1 to {MAX_QR_DATA} fit)")
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
