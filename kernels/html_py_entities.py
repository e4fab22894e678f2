"""Pure twin, entities: character references in text and attribute values (_html_entities.pxd)."""
from __future__ import annotations

from agentcore.kernels import html_rules as R
from agentcore.kernels.html_py_bytes import WS_SPLIT, alnum
from agentcore.kernels.html_py_tables import ENTITIES, LEGACY


def decode_ref(s: bytes, i: int, n: int, attr: bool) -> tuple[bytes, int]:
    """Decode the character reference at s[i] == '&' (bounded by n): (bytes, index after)."""
    if i + 1 < n and s[i + 1] == 35:
        j = i + 2
        hexa = False
        if j < n and s[j] in (120, 88):
            hexa = True
            j += 1
        cp = 0
        digits = 0
        while j < n:
            c = s[j]
            if 48 <= c <= 57:
                d = c - 48
            elif hexa and 97 <= (c | 32) <= 102:
                d = (c | 32) - 87
            else:
                break
            if cp <= 0x10FFFF:
                cp = cp * (16 if hexa else 10) + d
            digits += 1
            j += 1
        if digits == 0:
            return b"&", i + 1
        if j < n and s[j] == 59:
            j += 1
        if cp == 0 or cp > 0x10FFFF or 0xD800 <= cp <= 0xDFFF:
            cp = 0xFFFD
        elif 0x80 <= cp <= 0x9F:
            cp = R.CP1252[cp - 0x80]
        return chr(cp).encode("utf-8", "surrogatepass"), j
    j = i + 1
    while j < n and j - i - 1 < R.MAX_TAG_NAME and alnum(s[j]):
        j += 1
    k = j - i - 1
    if k > 0 and j < n and s[j] == 59:
        val = ENTITIES.get(s[i + 1 : j])
        if val is not None:
            return val, j + 1
    if 0 < k <= 4 and (j >= n or (s[j] != 59 and not alnum(s[j]) and not (attr and s[j] == 61))):
        val = LEGACY.get(s[i + 1 : j])
        if val is not None:
            return val, j
    return b"&", i + 1


def decode_refs(s: bytes, i: int, end: int, attr: bool) -> bytes:
    """s[i:end] with every character reference decoded."""
    amp = s.find(b"&", i, end)
    if amp < 0:
        return s[i:end]
    out = []
    while amp >= 0:
        out.append(s[i:amp])
        val, i = decode_ref(s, amp, end, attr)
        out.append(val)
        amp = s.find(b"&", i, end)
    out.append(s[i:end])
    return b"".join(out)


def decode_attr(s: bytes, off: int, length: int) -> bytes:
    """An attribute value or title: references decoded, whitespace collapsed and trimmed."""
    # NUL separates like whitespace here (unlike in text, where it is dropped)
    text = decode_refs(s, off, off + length, True).replace(b"\0", b" ")
    return b" ".join(t for t in WS_SPLIT.split(text) if t)

