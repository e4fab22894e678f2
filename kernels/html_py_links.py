"""Pure twin, links: hrefs resolved, normalized, de-duplicated, split by site (_html_links.pxd)."""
from __future__ import annotations

from agentcore.kernels.html_py_bytes import alnum
from agentcore.kernels.html_py_entities import decode_refs


# -- links ------------------------------------------------------------------------------------

def clean_href(raw: bytes, refs: bool) -> bytes:
    """References decoded (if refs), tabs and newlines removed, ends trimmed of bytes <= 0x20."""
    if refs:
        raw = decode_refs(raw, 0, len(raw), True)
    raw = raw.translate(None, b"\t\n\r")
    a, b = 0, len(raw)
    while a < b and raw[a] <= 32:
        a += 1
    while b > a and raw[b - 1] <= 32:
        b -= 1
    return raw[a:b]


def split_url(u: bytes):
    """(scheme_end, auth_start, auth_end, path_end, query_end) of an absolute URL, or None."""
    n = len(u)
    i = u.find(b":")
    if i < 0:
        i = n
    if i + 2 >= n or u[i + 1] != 47 or u[i + 2] != 47:
        return None
    auth_start = i + 3
    k = auth_start
    while k < n and u[k] not in (47, 63, 35):
        k += 1
    auth_end = k
    while k < n and u[k] not in (63, 35):
        k += 1
    path_end = k
    while k < n and u[k] != 35:
        k += 1
    if auth_end <= auth_start:
        return None
    return i, auth_start, auth_end, path_end, k


def normalize(u: bytes):
    """Normal form of an absolute http(s) URL (see normalize in _html.pyx), or None."""
    r = split_url(u)
    if r is None:
        return None
    scheme_end, auth_start, auth_end, path_end, query_end = r
    scheme = u[:scheme_end].lower()
    if scheme not in (b"http", b"https"):
        return None
    out = bytearray(scheme + b"://" + u[auth_start:auth_end].lower())
    segstart = len(out)
    i = auth_end
    if i < path_end and u[i] == 47:
        i += 1
    while i <= path_end and path_end > auth_end:
        k = u.find(b"/", i, path_end)
        if k < 0:
            k = path_end
        seg = u[i:k]
        if seg == b"." or seg == b"..":
            if seg == b"..":
                cut = out.rfind(b"/", segstart)
                if cut >= 0:
                    del out[cut:]
            if k >= path_end:
                out.append(47)
        else:
            out.append(47)
            out += seg.replace(b" ", b"%20")
        i = k + 1
    if len(out) == segstart:
        out.append(47)
    out += u[path_end:query_end].replace(b" ", b"%20")
    return bytes(out)


def resolve(base: bytes, h: bytes):
    """Href h resolved against normal-form base (b"": none), normalised; None if skipped."""
    hn = len(h)
    if hn == 0 or h[0] == 35:
        return None
    if 97 <= (h[0] | 32) <= 122:
        j = 1
        while j < hn and (alnum(h[j]) or h[j] in (43, 45, 46)):
            j += 1
        if j < hn and h[j] == 58:
            return normalize(h)
    r = split_url(base) if base else None
    if hn >= 2 and h[0] == 47 and h[1] == 47:
        if r is None:
            return None
        return normalize(base[: r[0] + 1] + h)
    if r is None:
        return None
    _, _, auth_end, path_end, _ = r
    if h[0] == 47:
        return normalize(base[:auth_end] + h)
    if h[0] == 63:
        return normalize(base[:path_end] + h)
    j = path_end
    while j > auth_end and base[j - 1] != 47:
        j -= 1
    if j == auth_end:
        return normalize(base[:auth_end] + b"/" + h)
    return normalize(base[:j] + h)


def host_of(u: bytes) -> bytes:
    """Host of a normal-form URL without userinfo, port and a leading 'www.'."""
    r = split_url(u)
    if r is None:
        return b""
    a, b = r[1], r[2]
    at = u.rfind(b"@", a, b)
    if at >= 0:
        a = at + 1
    i = b - 1
    while i > a and 48 <= u[i] <= 57:
        i -= 1
    if i >= a and u[i] == 58:
        b = i
    if b - a > 4 and u[a : a + 4] == b"www.":
        a += 4
    return u[a:b]


def same_site(x: bytes, y: bytes) -> bool:
    if not x or not y:
        return False
    if len(x) == len(y):
        return x == y
    if len(x) < len(y):
        x, y = y, x
    return x.endswith(y) and x[len(x) - len(y) - 1] == 46


def links(s: bytes, hrefs, base_href, given: bytes) -> tuple[list[str], list[str]]:
    base = b""
    if given:
        base = normalize(clean_href(given, False)) or b""
    if base_href is not None:
        r = resolve(base, clean_href(s[base_href[0] : base_href[0] + base_href[1]], True))
        if r is not None:
            base = r
    bhost = host_of(base) if base else b""
    seen = set()
    internal, external = [], []
    for off, length in hrefs:
        h = clean_href(s[off : off + length], True)
        if not h:
            continue
        u = resolve(base, h)
        if u is None or u in seen:
            continue
        seen.add(u)
        text = u.decode("utf-8", "replace")
        if base and same_site(host_of(u), bhost):
            internal.append(text)
        else:
            external.append(text)
    return internal, external
