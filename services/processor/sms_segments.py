"""What an SMS body costs: its encoding and its number of segments, and a body cut to fit.

Carriers bill and deliver an SMS by segment. A body written only in the GSM 03.38 alphabet
travels as GSM-7: 160 septets in one segment, or 153 per segment once it is split (the rest
of each segment is the concatenation header); a character of the extension table (`€ [ ] { }
| ^ ~ \\` and form feed) takes two septets, an escape and the character. One character
outside the alphabet sends the whole body as UCS-2: 70 UTF-16 code units in one segment, 67
per segment when split, a character beyond the Basic Multilingual Plane (an emoji) taking
two. A split never cuts an escape pair or a surrogate pair, so a segment can hold one unit
less than its size. A rule's `max_segments` bounds what one alert costs; a longer body is
cut and ends with an ellipsis: three dots in GSM-7, since `…` is not in the GSM alphabet and
would turn the whole body into UCS-2.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
"""The GSM 03.38 default alphabet (the escape code 0x1B excepted): one septet each."""
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")
"""The GSM 03.38 extension table: two septets each (escape, then the character)."""

MAX_SEGMENTS = 10
"""Twilio's recommended ceiling: a body over 10 segments is refused or badly delivered."""


class Encoding(StrEnum):
    GSM7 = "GSM-7"
    UCS2 = "UCS-2"


@dataclass(frozen=True)
class SegmentSize:
    single: int
    """Units one unsplit message holds."""
    split: int
    """Units each segment of a split message holds (the rest is the concatenation header)."""
    ellipsis: str
    """How a cut body ends without changing its encoding."""


SIZES = {
    Encoding.GSM7: SegmentSize(single=160, split=153, ellipsis="..."),
    Encoding.UCS2: SegmentSize(single=70, split=67, ellipsis="…"),
}


@dataclass(frozen=True)
class Measure:
    encoding: Encoding
    units: int
    """Septets (GSM-7) or UTF-16 code units (UCS-2)."""
    segments: int


def encoding_of(text: str) -> Encoding:
    gsm = all(char in GSM7_BASIC or char in GSM7_EXTENSION for char in text)
    return Encoding.GSM7 if gsm else Encoding.UCS2


def _unit_cost(char: str, encoding: Encoding) -> int:
    if encoding is Encoding.GSM7:
        return 2 if char in GSM7_EXTENSION else 1
    return 2 if ord(char) > 0xFFFF else 1


def measure(text: str) -> Measure:
    """The encoding a carrier sends `text` in, its size in units, and its segments."""
    encoding = encoding_of(text)
    size = SIZES[encoding]
    costs = [_unit_cost(char, encoding) for char in text]
    units = sum(costs)
    if units <= size.single:
        return Measure(encoding=encoding, units=units, segments=1 if text else 0)
    segments, used = 1, 0
    for cost in costs:  # a pair that does not fit goes whole to the next segment
        if used + cost > size.split:
            segments, used = segments + 1, 0
        used += cost
    return Measure(encoding=encoding, units=units, segments=segments)


def fit(text: str, max_segments: int) -> str:
    """`text` if it fits in `max_segments`, else its longest start that fits with an ellipsis.

    Trailing spaces before the ellipsis are dropped. The cut is chosen in both encodings (a
    body whose only non-GSM characters are past the cut becomes GSM-7 and holds more)."""
    if not 1 <= max_segments <= MAX_SEGMENTS:
        raise ValueError(f"max_segments must be 1 to {MAX_SEGMENTS}, not {max_segments}")
    if measure(text).segments <= max_segments:
        return text
    candidates = [_longest_cut(text, max_segments, encoding) for encoding in Encoding]
    return max(candidates, key=len)


def _longest_cut(text: str, max_segments: int, encoding: Encoding) -> str:
    """The longest `start + ellipsis` in `encoding` within `max_segments` ('' if none)."""
    ellipsis = SIZES[encoding].ellipsis
    limit = len(text)
    if encoding is Encoding.GSM7:  # a GSM-7 cut stops before the first non-GSM character
        limit = next((i for i, c in enumerate(text) if encoding_of(c) is Encoding.UCS2), limit)

    def fits(length: int) -> bool:
        shown = text[:length].rstrip() + ellipsis
        found = measure(shown)
        return found.encoding is encoding and found.segments <= max_segments

    low, high = 0, limit  # segments only grow with the length: the largest fitting one
    if not fits(low):
        return ""
    while low < high:
        middle = (low + high + 1) // 2
        if fits(middle):
            low = middle
        else:
            high = middle - 1
    return text[:low].rstrip() + ellipsis
