"""How many SMS segments a text takes: GSM-7 (160 a message, 153 a segment when split) unless
a character needs UCS-2 (70, or 67). static/js/broadcast_form.js counts the same way."""

from typing import NamedTuple

GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = "^{}\\[~]|€\f"  # each takes two septets


class Segments(NamedTuple):
    encoding: str
    length: int  # septets for GSM-7, UTF-16 code units for UCS-2
    segments: int


def count_segments(text: str) -> Segments:
    if all(char in GSM7_BASIC or char in GSM7_EXTENSION for char in text):
        length = len(text) + sum(char in GSM7_EXTENSION for char in text)
        single, part, encoding = 160, 153, "GSM-7"
    else:
        length = len(text.encode("utf-16-le")) // 2
        single, part, encoding = 70, 67, "UCS-2"
    if length <= single:
        return Segments(encoding, length, 1 if length else 0)
    return Segments(encoding, length, -(-length // part))
