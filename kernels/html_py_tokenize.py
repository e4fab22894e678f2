"""Pure twin, tokenizer: one scan of a page into tags, attributes and text (_html_tokenize.pxd)."""
from __future__ import annotations

import re

from agentcore.kernels import html_rules as R
from agentcore.kernels.html_py_bytes import SPACE
from agentcore.kernels.html_py_tables import (
    BLOCK, HINTS, INHERITED, NEG, NF_ARTICLE, NF_BODYPROP, NF_NEG, NF_POS, NF_WEAK_NEG, POS, RAW,
    SKIP,
    TAG_BY_NAME, TAG_FLAGS, TAG_NAME, T_A, T_BASE, T_BODY, T_BR, T_HTML, T_META, T_PLAINTEXT,
    T_TITLE, VOID,
)
from agentcore.kernels.html_py_tree import Ctx

CJK_PUNCT = (b"\xe3\x80\x81", b"\xe3\x80\x82", b"\xef\xbc\x8c", b"\xef\xbc\x81", b"\xef\xbc\x9f")
ROLE_NEG = {b"navigation", b"banner", b"contentinfo", b"complementary", b"menu", b"menubar",
            b"dialog", b"alertdialog", b"alert", b"search"}

WS_SPLIT = re.compile(rb"[ \t\n\r\f]+")
NOT_ALNUM = re.compile(rb"[^a-z0-9]+")
TAG_NAME_RE = re.compile(rb"[^ \t\n\r\f/>]*")
ATTR = re.compile(
    rb"[ \t\n\r\f/]*(?:(>)|([^ \t\n\r\f/>][^ \t\n\r\f/>=]*)"
    rb"(?:[ \t\n\r\f]*=[ \t\n\r\f]*(?:\"([^\"]*)\"?|'([^']*)'?|([^ \t\n\r\f>]*)))?)?"
)
RAW_END = {i: re.compile(rb"</" + TAG_NAME[i] + rb"(?:[ \t\n\r\f/>]|\Z)", re.I)
            for i, f in enumerate(TAG_FLAGS) if f & RAW}



def tag_lookup(name: bytes) -> tuple[int, int]:
    """(tag id, stack key) of a tag name; unknown names key by a hash of their first 31 bytes."""
    low = name[:31].lower()
    if len(low) <= 15:
        t = TAG_BY_NAME.get(low)
        if t is not None:
            return t, t
    return 0, 0x10000 | (R.fnv32(low) & 0xFFFF)



def hint_mask(value: bytes) -> int:
    framed = b"#" + NOT_ALNUM.sub(b"#", value.lower()) + b"#"
    mask = 0
    for pat, bit in HINTS:
        if pat in framed:
            mask |= bit
    return mask


def has_compact(value: bytes, pat: bytes) -> bool:
    return pat in value.lower().translate(None, SPACE)



# -- tokenizer ---------------------------------------------------------------------------

def raw_end(c: Ctx, i: int, tag: int) -> tuple[int, int]:
    """(content end, index after the end tag) of a raw-text element whose content starts at i."""
    n = c.n
    if tag == T_PLAINTEXT:
        return n, n
    m = RAW_END[tag].search(c.s, i)
    if m is None:
        return n, n
    j = m.start()
    gt = c.s.find(b">", j)
    return j, (n if gt < 0 else gt + 1)

def start_tag(c: Ctx, i: int) -> int:
    """Handle the start tag at s[i] == '<' (s[i+1] is a letter); return the index after it."""
    s = c.s
    j = TAG_NAME_RE.match(s, i + 1).end()
    tag, key = tag_lookup(s[i + 1 : min(j, i + 32)])
    cls = ident = href = name = prop = content = lang = None
    hidden = rneg = rmain = bodyprop = False
    while True:
        m = ATTR.match(s, j)
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
        if href is not None and len(c.links) < R.MAX_LINKS:
            c.links.append(href)
    elif tag == T_META:
        if content is not None:
            if name is not None and name.lower() == b"description":
                if c.desc_prio < 2:
                    c.desc, c.desc_prio = content, 2
            elif prop is not None and prop.lower() == b"og:description":
                if c.desc_prio < 1:
                    c.desc, c.desc_prio = content, 1
    elif tag == T_BASE:
        if href is not None and c.base is None:
            c.base = href
    elif tag == T_HTML:
        if lang is not None and c.lang is None:
            c.lang = lang

    if tag == T_BR:
        if c.cur >= 0:
            c.end_block(1)
        return j
    c.implicit_close(tag)
    if flags & VOID:
        if flags & BLOCK:
            c.end_block(0)
        return j
    if flags & RAW:
        content_end, k = raw_end(c, j, tag)
        if tag == T_TITLE and c.title is None and not (c.top_iflags() & SKIP):
            c.title = (j, content_end - j)
        return k
    if tag == T_BODY or tag == T_HTML:
        bit = 1 if tag == T_BODY else 2
        if c.seen_root & bit:
            return j
        c.seen_root |= bit
    if len(c.stack) >= R.MAX_DEPTH:
        return j
    iflags = c.top_iflags() | (flags & INHERITED)
    if hidden:
        iflags |= SKIP
    if flags & BLOCK or flags & SKIP:
        c.end_block(0)
    node = c.top_node()
    if flags & BLOCK and len(c.parent) < R.MAX_NODES:
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
        elif flags & NEG or rneg:
            nflags |= NF_NEG
        elif hneg > 0 and hneg >= hpos:
            nflags |= NF_NEG
            if hneg - hpos <= R.WEAK_NEG_MARGIN:
                nflags |= NF_WEAK_NEG
        c.parent.append(node)
        c.ntag.append(tag)
        c.nflags.append(nflags)
        c.src.append(i)
        c.ncls.append(cls)
        node = len(c.parent) - 1
    c.stack.append((key, tag, node, iflags))
    return j

def end_tag(c: Ctx, i: int, j: int) -> None:
    tag, key = tag_lookup(c.s[i : min(j, i + 31)])
    if tag == T_BR:
        if c.cur >= 0:
            c.end_block(1)
        return
    if tag == T_BODY or tag == T_HTML:
        return
    k = c.find_open(key, ())
    if k >= 0:
        c.pop_to(k)

def parse(c: Ctx) -> None:
    s, n = c.s, c.n
    i = 0
    while i < n:
        j = s.find(b"<", i)
        if j < 0:
            c.add_text(i, n)
            break
        if j > i:
            c.add_text(i, j)
        i = j
        if i + 1 >= n:
            c.add_text(i, n)
            break
        ch = s[i + 1]
        if 97 <= (ch | 32) <= 122:
            i = start_tag(c, i)
        elif ch == 47:
            t = i + 2
            if t < n and 97 <= (s[t] | 32) <= 122:
                t = TAG_NAME_RE.match(s, t).end()
                end_tag(c, i + 2, t)
            gt = s.find(b">", t) if t < n else -1
            i = n if gt < 0 else gt + 1
        elif ch == 33:
            if i + 3 < n and s[i + 2] == 45 and s[i + 3] == 45:
                t = s.find(b"-->", i + 2)
                i = n if t < 0 else t + 3
            else:
                gt = s.find(b">", i)
                i = n if gt < 0 else gt + 1
        elif ch == 63:
            gt = s.find(b">", i)
            i = n if gt < 0 else gt + 1
        else:
            c.add_text(i, i + 1)
            i += 1
    c.end_block(0)
