"""How many SMS segments a body takes, as Twilio counts them for ``num_segments``.

A body that fits the GSM 03.38 alphabet is sent as GSM-7: 160 septets in one segment,
153 per segment once it is split (the user data header takes the rest); characters of the
extension table (``{}[]~\\|^€`` and form feed) take two septets. Any other character makes
the whole body UCS-2: 70 UTF-16 code units in one segment, 67 per segment when split.
"""

from __future__ import annotations

import math

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")


def encoding(body: str) -> str:
    """``GSM-7`` when every character is in the GSM alphabet, else ``UCS-2``."""
    if all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in body):
        return "GSM-7"
    return "UCS-2"


def count_segments(body: str) -> int:
    if encoding(body) == "GSM-7":
        units = sum(2 if c in GSM7_EXTENSION else 1 for c in body)
        single, split = 160, 153
    else:
        units = len(body.encode("utf-16-le")) // 2
        single, split = 70, 67
    if units <= single:
        return 1
    return math.ceil(units / split)
