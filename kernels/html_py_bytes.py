"""Pure twin, bytes: byte classes and the counting helpers both twins share (_html_bytes.pxd)."""
from __future__ import annotations

import re

SPACE = b" \t\n\r\f"
CONTINUATION = bytes(range(0x80, 0xC0))
PUNCT = (b".", b",", b"!", b"?", b";")
CJK_PUNCT = (b"\xe3\x80\x81", b"\xe3\x80\x82", b"\xef\xbc\x8c", b"\xef\xbc\x81", b"\xef\xbc\x9f")
WS_SPLIT = re.compile(rb"[ \t\n\r\f]+")


def alnum(c: int) -> bool:
    return 97 <= (c | 32) <= 122 or 48 <= c <= 57


def cdiv(a: int, b: int) -> int:
    """C integer division (truncates toward zero), as the compiled kernel does."""
    q = abs(a) // b
    return q if a >= 0 else -q



def char_count(text: bytes) -> int:
    """Characters of emitted block text: bytes other than UTF-8 continuations and spaces."""
    return len(text.translate(None, CONTINUATION + b" \n"))

