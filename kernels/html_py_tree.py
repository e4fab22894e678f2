"""Pure twin, tree: element stack, container nodes, text blocks and their edits (_html_tree.pxd)."""
from __future__ import annotations

from agentcore.kernels import html_rules as R
from agentcore.kernels.html_py_bytes import (
    CJK_PUNCT, CONTINUATION, PUNCT, SPACE, WS_SPLIT, char_count,
)
from agentcore.kernels.html_py_entities import decode_refs
from agentcore.kernels.html_py_tables import (
    BLOCK, CLOSES_P, LINK, PRE, SKIP, TAG_FLAGS, T_DD, T_DL, T_DT, T_LI, T_MENU, T_OL, T_OPTION,
    T_P, T_TABLE, T_TBODY, T_TD, T_TH, T_THEAD, T_TR, T_UL,
)


class Ctx:
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
        tb += WS_SPLIT.sub(b" ", core)
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
