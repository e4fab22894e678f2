"""Pure-Python twin of kernels/_html.pyx: the same HTML main-text extractor, output for output.

It follows the compiled kernel step by step on the same UTF-8 bytes and the same tables
(kernels/html_rules.py), using bulk bytes operations only where they provably give the same
result (finding '<', splitting on whitespace, counting characters at a block's end). The test
suite checks that both produce identical results on the benchmark pages and hostile inputs.
"""
from __future__ import annotations

import re

from agentcore.kernels import html_rules as R

BLOCK, VOID, RAW, SKIP, NEG, POS = R.BLOCK, R.VOID, R.RAW, R.SKIP, R.NEG, R.POS
HEADING, LIST_ITEM, PRE, CLOSES_P, LINK = R.HEADING, R.LIST_ITEM, R.PRE, R.CLOSES_P, R.LINK
INHERITED = R.INHERITED
NF_NEG, NF_POS, NF_ARTICLE, NF_BODYPROP = R.NF_NEG, R.NF_POS, R.NF_ARTICLE, R.NF_BODYPROP
NF_UNDER_NEG, NF_SEMANTIC = R.NF_UNDER_NEG, R.NF_SEMANTIC

TAG_FLAGS = [flags for _, flags in R.TAGS]
TAG_BY_NAME = {name.encode(): i for i, (name, _) in enumerate(R.TAGS) if i}
TAG_NAME = [name.encode() for name, _ in R.TAGS]
T = R.TAG_ID
T_HTML, T_BODY, T_TITLE, T_META, T_BASE, T_A, T_BR, T_P = (
    T["html"], T["body"], T["title"], T["meta"], T["base"], T["a"], T["br"], T["p"])
T_LI, T_UL, T_OL, T_DL, T_DT, T_DD = T["li"], T["ul"], T["ol"], T["dl"], T["dt"], T["dd"]
T_TD, T_TH, T_TR, T_TABLE = T["td"], T["th"], T["tr"], T["table"]
T_THEAD, T_TBODY, T_MENU, T_OPTION, T_PLAINTEXT = (
    T["thead"], T["tbody"], T["menu"], T["option"], T["plaintext"])

ENTITIES = dict(R.ENTITIES)
LEGACY = {b"amp": b"&", b"lt": b"<", b"gt": b">", b"quot": b'"', b"nbsp": b" "}
HINTS = [(pat.encode(), bit) for pat, bit in R.HINTS]
SPACE = b" \t\n\r\f"
CONTINUATION = bytes(range(0x80, 0xC0))
PUNCT = (b".", b",", b"!", b"?", b";")
CJK_PUNCT = (b"\xe3\x80\x81", b"\xe3\x80\x82", b"\xef\xbc\x8c", b"\xef\xbc\x81", b"\xef\xbc\x9f")
ROLE_NEG = {b"navigation", b"banner", b"contentinfo", b"complementary", b"menu", b"menubar",
            b"dialog", b"alertdialog", b"alert", b"search"}

_WS_SPLIT = re.compile(rb"[ \t\n\r\f]+")
_NOT_ALNUM = re.compile(rb"[^a-z0-9]+")
_TAG_NAME = re.compile(rb"[^ \t\n\r\f/>]*")
_ATTR = re.compile(
    rb"[ \t\n\r\f/]*(?:(>)|([^ \t\n\r\f/>][^ \t\n\r\f/>=]*)"
    rb"(?:[ \t\n\r\f]*=[ \t\n\r\f]*(?:\"([^\"]*)\"?|'([^']*)'?|([^ \t\n\r\f>]*)))?)?"
)
_RAW_END = {i: re.compile(rb"</" + TAG_NAME[i] + rb"(?:[ \t\n\r\f/>]|\Z)", re.I)
            for i, f in enumerate(TAG_FLAGS) if f & RAW}


def _alnum(c: int) -> bool:
    return 97 <= (c | 32) <= 122 or 48 <= c <= 57


def _cdiv(a: int, b: int) -> int:
    """C integer division (truncates toward zero), as the compiled kernel does."""
    q = abs(a) // b
    return q if a >= 0 else -q


def tag_lookup(name: bytes) -> tuple[int, int]:
    """(tag id, stack key) of a tag name; unknown names key by a hash of their first 31 bytes."""
    low = name[:31].lower()
    if len(low) <= 15:
        t = TAG_BY_NAME.get(low)
        if t is not None:
            return t, t
    return 0, 0x10000 | (R.fnv32(low) & 0xFFFF)


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
    while j < n and j - i - 1 < R.MAX_TAG_NAME and _alnum(s[j]):
        j += 1
    k = j - i - 1
    if k > 0 and j < n and s[j] == 59:
        val = ENTITIES.get(s[i + 1 : j])
        if val is not None:
            return val, j + 1
    if 0 < k <= 4 and (j >= n or (s[j] != 59 and not _alnum(s[j]) and not (attr and s[j] == 61))):
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
    return b" ".join(t for t in _WS_SPLIT.split(text) if t)


def hint_mask(value: bytes) -> int:
    framed = b"#" + _NOT_ALNUM.sub(b"#", value.lower()) + b"#"
    mask = 0
    for pat, bit in HINTS:
        if pat in framed:
            mask |= bit
    return mask


def has_compact(value: bytes, pat: bytes) -> bool:
    return pat in value.lower().translate(None, SPACE)


def char_count(text: bytes) -> int:
    """Characters of emitted block text: bytes other than UTF-8 continuations and spaces."""
    return len(text.translate(None, CONTINUATION + b" \n"))


class _Ctx:
    __slots__ = ("s", "n", "parent", "ntag", "nflags", "src", "ncls", "blocks", "stack", "tb", "cur",
                 "pending", "links", "base", "title", "desc", "desc_prio", "lang", "seen_root",
                 "score", "total")

    def __init__(self, s: bytes):
        self.s = s
        self.n = len(s)
        # nodes as parallel lists; node 0 is the document
        self.parent = [-1]
        self.ntag = [0]
        self.nflags = [0]
        self.src = [0]
        self.ncls = [None]  # class attribute value per node
        # blocks: [node, iflags, start, end, chars, link_chars, punct, brk]
        self.blocks: list[list[int]] = []
        # stack entries: (key, tag, node, iflags)
        self.stack: list[tuple[int, int, int, int]] = []
        self.tb = bytearray()
        self.cur = -1
        self.pending = False
        self.links: list[tuple[int, int]] = []
        self.base = None
        self.title = None
        self.desc = None
        self.desc_prio = 0
        self.lang = None
        self.seen_root = 0

    # -- element stack and blocks -----------------------------------------------------------

    def top_iflags(self) -> int:
        return self.stack[-1][3] if self.stack else 0

    def top_node(self) -> int:
        return self.stack[-1][2] if self.stack else 0

    def end_block(self, brk: int) -> None:
        if self.cur >= 0:
            b = self.blocks[self.cur]
            tb = self.tb
            start = b[2]
            n = len(tb)
            while n > start and tb[n - 1] in (32, 10):
                n -= 1
            del tb[n:]
            b[3] = n
            b[7] = brk
            text = bytes(tb[start:n])
            b[4] = char_count(text)
            punct = 0
            for p in PUNCT:
                punct += text.count(p)
            for p in CJK_PUNCT:
                punct += text.count(p)
            b[6] = punct
            self.cur = -1
        self.pending = False

    def pop_to(self, k: int) -> None:
        boundary = False
        stack = self.stack
        while len(stack) > k:
            f = TAG_FLAGS[stack.pop()[1]]
            if f & BLOCK or f & SKIP:
                boundary = True
        if boundary:
            self.end_block(0)

    def find_open(self, key: int, stops: tuple[int, ...]) -> int:
        stack = self.stack
        k = len(stack) - 1
        lim = len(stack) - R.CLOSE_SEARCH
        while k >= 0 and k >= lim:
            if stack[k][0] == key:
                return k
            t = stack[k][1]
            if t != 0 and t in stops:
                return -1
            k -= 1
        return -1

    def implicit_close(self, tag: int) -> None:
        if tag == T_LI:
            k = self.find_open(T_LI, (T_UL, T_OL, T_MENU))
            if k >= 0:
                self.pop_to(k)
        elif tag == T_DT or tag == T_DD:
            k = self.find_open(T_DT, (T_DL,))
            if k >= 0:
                self.pop_to(k)
            k = self.find_open(T_DD, (T_DL,))
            if k >= 0:
                self.pop_to(k)
        elif tag == T_TD or tag == T_TH:
            k = self.find_open(T_TD, (T_TR, T_TABLE))
            if k >= 0:
                self.pop_to(k)
            k = self.find_open(T_TH, (T_TR, T_TABLE))
            if k >= 0:
                self.pop_to(k)
        elif tag == T_TR:
            k = self.find_open(T_TR, (T_TABLE, T_TBODY, T_THEAD))
            if k >= 0:
                self.pop_to(k)
        elif tag == T_OPTION:
            if self.stack and self.stack[-1][1] == T_OPTION:
                self.pop_to(len(self.stack) - 1)
        if TAG_FLAGS[tag] & CLOSES_P:
            stack = self.stack
            k = len(stack) - 1
            lim = len(stack) - 8
            while k >= 0 and k >= lim:
                t = stack[k][1]
                if t == T_P:
                    self.pop_to(k)
                    break
                if t == 0 or TAG_FLAGS[t] & BLOCK:
                    break
                k -= 1

    def open_block(self) -> bool:
        if len(self.blocks) >= R.MAX_BLOCKS:
            return False
        start = len(self.tb)
        self.blocks.append([self.top_node(), self.top_iflags(), start, start, 0, 0, 0, 0])
        self.cur = len(self.blocks) - 1
        return True

    def add_text(self, i: int, end: int) -> None:
        """Append raw text s[i:end] to the current block (see add_text in _html.pyx)."""
        fl = self.top_iflags()
        if fl & SKIP:
            return
        text = decode_refs(self.s, i, end, False)
        if b"\0" in text:
            text = text.replace(b"\0", b"")
        if fl & PRE:
            self._add_pre(text, fl)
            return
        left = text.lstrip(SPACE)
        core = left.rstrip(SPACE)
        if len(left) < len(text) and self.cur >= 0:
            self.pending = True
        if not core:
            return
        if self.cur < 0 and not self.open_block():
            return
        tb = self.tb
        if self.pending:
            tb.append(32)
        tb += _WS_SPLIT.sub(b" ", core)
        self.pending = len(core) < len(left)
        if fl & LINK:
            self.blocks[self.cur][5] += len(core.translate(None, CONTINUATION + SPACE))

    def _add_pre(self, text: bytes, fl: int) -> None:
        tb = self.tb
        for ch in text:
            if ch in (32, 9, 10, 13, 12):
                if self.cur >= 0 and ch != 13:
                    tb.append(10 if ch == 10 else 32)
                continue
            if self.cur < 0 and not self.open_block():
                return
            if self.pending:
                tb.append(32)
                self.pending = False
            tb.append(ch)
            if fl & LINK and (ch & 0xC0) != 0x80:
                self.blocks[self.cur][5] += 1

    # -- tokenizer ---------------------------------------------------------------------------

    def raw_end(self, i: int, tag: int) -> tuple[int, int]:
        """(content end, index after the end tag) of a raw-text element whose content starts at i."""
        n = self.n
        if tag == T_PLAINTEXT:
            return n, n
        m = _RAW_END[tag].search(self.s, i)
        if m is None:
            return n, n
        j = m.start()
        gt = self.s.find(b">", j)
        return j, (n if gt < 0 else gt + 1)

    def start_tag(self, i: int) -> int:
        """Handle the start tag at s[i] == '<' (s[i+1] is a letter); return the index after it."""
        s = self.s
        j = _TAG_NAME.match(s, i + 1).end()
        tag, key = tag_lookup(s[i + 1 : min(j, i + 32)])
        cls = ident = href = name = prop = content = lang = None
        hidden = rneg = rmain = bodyprop = False
        while True:
            m = _ATTR.match(s, j)
            j = m.end()
            if m.group(1) is not None or m.group(2) is None:
                break
            an = m.group(2).lower()
            if m.group(3) is not None:
                val = m.group(3)
            elif m.group(4) is not None:
                val = m.group(4)
            elif m.group(5) is not None:
                val = m.group(5)
            else:
                val = b""
            if an == b"class":
                cls = val
            elif an == b"id":
                ident = val
            elif an == b"href":
                if href is None:
                    href = (m.start(3) if m.group(3) is not None else m.start(4)
                            if m.group(4) is not None else m.start(5)
                            if m.group(5) is not None else j, len(val))
            elif an == b"style":
                if has_compact(val, b"display:none") or has_compact(val, b"visibility:hidden"):
                    hidden = True
            elif an == b"hidden":
                hidden = True
            elif an == b"role":
                low = val.lower()
                if low in ROLE_NEG:
                    rneg = True
                elif low == b"main" or low == b"article":
                    rmain = True
            elif an == b"aria-modal":
                if val.lower() == b"true":
                    rneg = True  # a modal (consent, newsletter) sits over the page, never in it
            elif an == b"itemprop":
                if has_compact(val, b"articlebody"):
                    bodyprop = True
            elif an == b"lang":
                if lang is None:
                    lang = val
            elif an == b"name":
                name = val
            elif an == b"property":
                prop = val
            elif an == b"content":
                content = val

        flags = TAG_FLAGS[tag]
        if tag == T_A:
            if href is not None and len(self.links) < R.MAX_LINKS:
                self.links.append(href)
        elif tag == T_META:
            if content is not None:
                if name is not None and name.lower() == b"description":
                    if self.desc_prio < 2:
                        self.desc, self.desc_prio = content, 2
                elif prop is not None and prop.lower() == b"og:description":
                    if self.desc_prio < 1:
                        self.desc, self.desc_prio = content, 1
        elif tag == T_BASE:
            if href is not None and self.base is None:
                self.base = href
        elif tag == T_HTML:
            if lang is not None and self.lang is None:
                self.lang = lang

        if tag == T_BR:
            if self.cur >= 0:
                self.end_block(1)
            return j
        self.implicit_close(tag)
        if flags & VOID:
            if flags & BLOCK:
                self.end_block(0)
            return j
        if flags & RAW:
            content_end, k = self.raw_end(j, tag)
            if tag == T_TITLE and self.title is None and not (self.top_iflags() & SKIP):
                self.title = (j, content_end - j)
            return k
        if tag == T_BODY or tag == T_HTML:
            bit = 1 if tag == T_BODY else 2
            if self.seen_root & bit:
                return j
            self.seen_root |= bit
        if len(self.stack) >= R.MAX_DEPTH:
            return j
        iflags = self.top_iflags() | (flags & INHERITED)
        if hidden:
            iflags |= SKIP
        if flags & BLOCK or flags & SKIP:
            self.end_block(0)
        node = self.top_node()
        if flags & BLOCK and len(self.parent) < R.MAX_NODES:
            nflags = 0
            hneg = hpos = 0
            if tag != T_BODY and tag != T_HTML:
                hints = 0
                if cls:
                    hints |= hint_mask(cls)
                if ident:
                    hints |= hint_mask(ident)
                g = 0
                while hints:
                    if hints & 1:
                        w = R.HINT_WEIGHTS[g]
                        if w < 0:
                            hneg -= w
                        else:
                            hpos += w
                    hints >>= 1
                    g += 1
            if flags & POS or rmain:
                nflags |= NF_ARTICLE
                hpos += 1
            if hpos > hneg:
                nflags |= NF_POS
            if bodyprop:
                nflags |= NF_BODYPROP
            elif flags & NEG or rneg or (hneg > 0 and hneg >= hpos):
                nflags |= NF_NEG
            self.parent.append(node)
            self.ntag.append(tag)
            self.nflags.append(nflags)
            self.src.append(i)
            self.ncls.append(cls)
            node = len(self.parent) - 1
        self.stack.append((key, tag, node, iflags))
        return j

    def end_tag(self, i: int, j: int) -> None:
        tag, key = tag_lookup(self.s[i : min(j, i + 31)])
        if tag == T_BR:
            if self.cur >= 0:
                self.end_block(1)
            return
        if tag == T_BODY or tag == T_HTML:
            return
        k = self.find_open(key, ())
        if k >= 0:
            self.pop_to(k)

    def parse(self) -> None:
        s, n = self.s, self.n
        i = 0
        while i < n:
            j = s.find(b"<", i)
            if j < 0:
                self.add_text(i, n)
                break
            if j > i:
                self.add_text(i, j)
            i = j
            if i + 1 >= n:
                self.add_text(i, n)
                break
            c = s[i + 1]
            if 97 <= (c | 32) <= 122:
                i = self.start_tag(i)
            elif c == 47:
                t = i + 2
                if t < n and 97 <= (s[t] | 32) <= 122:
                    t = _TAG_NAME.match(s, t).end()
                    self.end_tag(i + 2, t)
                gt = s.find(b">", t) if t < n else -1
                i = n if gt < 0 else gt + 1
            elif c == 33:
                if i + 3 < n and s[i + 2] == 45 and s[i + 3] == 45:
                    t = s.find(b"-->", i + 2)
                    i = n if t < 0 else t + 3
                else:
                    gt = s.find(b">", i)
                    i = n if gt < 0 else gt + 1
            elif c == 63:
                gt = s.find(b">", i)
                i = n if gt < 0 else gt + 1
            else:
                self.add_text(i, i + 1)
                i += 1
        self.end_block(0)

    # -- scoring and selection ---------------------------------------------------------------

    def select(self) -> list[bool]:
        """Score the container tree; return which blocks to emit."""
        parent, nflags, blocks = self.parent, self.nflags, self.blocks
        ncls, ntag = self.ncls, self.ntag
        nn = len(parent)
        score = [0] * nn
        total = [0] * nn
        plain = [0] * nn
        for b in blocks:
            v = block_value(b)
            score[b[0]] += v
            total[b[0]] += b[4]
            if v == 0 and plain_text(b):
                plain[b[0]] += b[4]
        for i in range(nn - 1, 0, -1):
            p = parent[i]
            if nflags[i] & NF_NEG:
                score[p] -= total[i] // 2
            else:
                score[p] += _cdiv(score[i] * R.DECAY_NUM, R.DECAY_DEN)
                plain[p] += plain[i]
            total[p] += total[i]
        best, best_eff = -1, 0
        for i in range(nn):
            f = nflags[i]
            if i > 0 and nflags[parent[i]] & (NF_NEG | NF_UNDER_NEG):
                f |= NF_UNDER_NEG
                nflags[i] = f
            if f & NF_NEG or ntag[i] == T_P:
                continue  # a paragraph is content, never the container of it
            mult = 4 + (1 if f & NF_POS else 0) + (1 if f & NF_ARTICLE else 0) + (
                2 if f & NF_BODYPROP else 0)
            eff = score[i]
            if f & NF_SEMANTIC:
                eff += plain[i] * R.SHORT_NUM // R.SHORT_DEN
            eff *= mult
            if f & NF_UNDER_NEG:
                eff = _cdiv(eff, R.UNDER_NEG_DIV)
            if eff > best_eff:
                best_eff, best = eff, i
        trim = True
        if best < 0:
            # Nothing scores: keep the page's largest article/main container, else all of it.
            best, trim = 0, False
            most = 0
            for i in range(1, nn):
                if (nflags[i] & NF_SEMANTIC and not nflags[i] & (NF_NEG | NF_UNDER_NEG)
                        and total[i] > most):
                    best, most = i, total[i]
        if nflags[best] & NF_SEMANTIC:
            trim = False  # the page marks this container as the article: headline, short lines too
        state = [0] * nn
        bp = parent[best] if best > 0 else -1
        sib_min = max(_cdiv(score[best] * R.SIB_PCT, 100), R.SIB_MIN)
        for i in range(nn):
            p = parent[i]
            if i == best or (R.SIB_PCT > 0 and bp >= 0 and not nflags[i] & NF_NEG
                             and score[i] >= sib_min
                             and (p == bp or (not nflags[i] & NF_UNDER_NEG and ncls[i]
                                              and ncls[i] == ncls[best]
                                              and ntag[i] == ntag[best]))):
                state[i] = 1
            elif i == 0 or state[p] == 0:
                state[i] = 0
            elif state[p] == 2 or nflags[i] & NF_NEG:
                state[i] = 2
            else:
                state[i] = 1
        keep = [False] * len(blocks)
        first = last = -1
        for i, b in enumerate(blocks):
            if state[b[0]] != 1 or b[3] <= b[2] or link_dense(b):
                continue
            keep[i] = True
            if block_value(b) > 0 or edge_ok(b):
                if first < 0:
                    first = i
                last = i
        if trim:
            for i in range(len(blocks)):
                if i < first or i > last:
                    keep[i] = False
        self.score, self.total = score, total  # for _debug
        return keep


def link_dense(b: list[int]) -> bool:
    return b[5] * 100 > b[4] * R.BAD_LINK_PCT


def plain_text(b: list[int]) -> bool:
    return not (b[1] & HEADING) and b[4] >= R.EDGE_CHARS and b[5] == 0


def edge_ok(b: list[int]) -> bool:
    return plain_text(b) and b[6] >= 1


def block_value(b: list[int]) -> int:
    if b[1] & HEADING:
        return 0
    if link_dense(b):
        return -b[4]
    if b[4] >= R.GOOD_CHARS and b[6] >= 1:
        v = b[4] - R.LINK_PENALTY * b[5]
        return v if v > 0 else 0
    return 0


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
        while j < hn and (_alnum(h[j]) or h[j] in (43, 45, 46)):
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


# -- entry point ------------------------------------------------------------------------------

def _run(data: bytes, base_url: bytes) -> _Ctx:
    c = _Ctx(data)
    c.parse()
    return c


def extract(data: bytes, base_url: bytes):
    """Extract (title, description, lang, text, links_internal, links_external) from UTF-8 HTML.

    Same contract as agentcore.kernels._html.extract: ``data`` and ``base_url`` are UTF-8 bytes.
    """
    if not isinstance(data, bytes):
        raise TypeError(f"data must be bytes, not {type(data).__name__}")
    if not isinstance(base_url, bytes):
        raise TypeError(f"base_url must be bytes, not {type(base_url).__name__}")
    c = _run(data, base_url)
    keep = c.select()
    parts = []
    prev = None
    tb = c.tb
    for k, b in zip(keep, c.blocks):
        if not k:
            continue
        if prev is not None:
            if prev[7] or (prev[1] & LIST_ITEM and b[1] & LIST_ITEM):
                parts.append(b"\n")
            else:
                parts.append(b"\n\n")
        parts.append(bytes(tb[b[2] : b[3]]))
        prev = b
    text = b"".join(parts).decode("utf-8", "replace")

    def attr(v):
        if v is None:
            return ""
        if isinstance(v, tuple):
            return decode_attr(data, v[0], v[1]).decode("utf-8", "replace")
        return decode_attr(v, 0, len(v)).decode("utf-8", "replace")

    internal, external = links(data, c.links, c.base, base_url)
    return attr(c.title), attr(c.desc), attr(c.lang), text, internal, external


def _debug(data: bytes, base_url: bytes):
    """Tuning aid mirroring agentcore.kernels._html._debug."""
    c = _run(data, base_url)
    keep = c.select()
    nodes = [(c.parent[i], R.TAGS[c.ntag[i]][0], c.nflags[i], c.score[i], c.total[i],
              data[c.src[i] : c.src[i] + 100]) for i in range(len(c.parent))]
    blocks = [(b[0], b[1], b[4], b[5], b[6], block_value(b), int(k),
               bytes(c.tb[b[2] : b[3]]).decode("utf-8", "replace")) for b, k in zip(c.blocks, keep)]
    return nodes, blocks
