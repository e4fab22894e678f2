"""Compiled HTML main-text extractor: one nogil pass over UTF-8 bytes (public API: agentcore.kernels.html).

The work happens in four stages inside one ``with nogil:`` block, each linear in the input:
tokenize the HTML into an element stack, a container tree (block-level elements only) and text
blocks; score every container by the text density, link density and class/id hints of the
blocks under it; keep the good blocks of the best container (all of it, boilerplate subtrees
aside, when the page marks it as the article: <article>, <main>, role=main, itemprop=articleBody);
resolve and split the links.
kernels/html_py.py is the line-by-line pure-Python twin; both read kernels/html_rules.py.
"""
from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t, uint64_t
from libc.stdlib cimport free, malloc, realloc, calloc
from libc.string cimport memchr, memcmp, memcpy, memset
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.unicode cimport PyUnicode_DecodeUTF8

from kernels._utf8 cimport utf8_encode

from agentcore.kernels import html_rules as R

# ---------------------------------------------------------------------------------------------
# Tables, copied from kernels/html_rules.py at import.

cdef enum:
    BLOCK = 1 << 0
    VOID = 1 << 1
    RAW = 1 << 2
    SKIP = 1 << 3
    NEG = 1 << 4
    POS = 1 << 5
    HEADING = 1 << 6
    LIST_ITEM = 1 << 7
    PRE = 1 << 8
    CLOSES_P = 1 << 9
    LINK = 1 << 10
    TABLE_CELL = 1 << 11
    INHERITED = SKIP | HEADING | LIST_ITEM | PRE | LINK | TABLE_CELL

    # node flags
    NF_NEG = 1
    NF_POS = 2
    NF_ARTICLE = 4
    NF_BODYPROP = 8
    NF_UNDER_NEG = 16
    NF_SEMANTIC = NF_ARTICLE | NF_BODYPROP

    SYMBOLS = 37
    TAG_SLOTS = 512

cdef int64_t UNDER_NEG_DIV = R.UNDER_NEG_DIV
cdef int MAX_DEPTH = R.MAX_DEPTH
cdef int CLOSE_SEARCH = R.CLOSE_SEARCH
cdef int MAX_NODES = R.MAX_NODES
cdef int MAX_BLOCKS = R.MAX_BLOCKS
cdef int MAX_LINKS = R.MAX_LINKS
cdef int MAX_TAG_NAME = R.MAX_TAG_NAME

cdef int NTAGS = len(R.TAGS)
cdef uint32_t TAG_FLAGS[256]
cdef uint8_t TAG_NAME[256][16]
cdef int TAG_LEN[256]
cdef int TAG_SLOT[TAG_SLOTS]  # open-addressing table of tag ids by fnv32(name)

cdef int T_HTML, T_BODY, T_HEAD, T_TITLE, T_META, T_BASE, T_A, T_BR, T_P, T_LI, T_UL, T_OL
cdef int T_DL, T_DT, T_DD, T_TD, T_TH, T_TR, T_TABLE, T_THEAD, T_TBODY, T_TFOOT, T_MENU
cdef int T_OPTION, T_SELECT, T_PLAINTEXT

cdef int32_t* HINT_GOTO = NULL
cdef uint32_t* HINT_OUT = NULL
cdef int HINT_W[32]
cdef int NHINT_GROUPS = 0
cdef uint8_t SYM[256]

cdef int NENT = 0
cdef uint8_t** ENT_NAME = NULL
cdef int* ENT_NLEN = NULL
cdef uint8_t** ENT_VAL = NULL
cdef int* ENT_VLEN = NULL
cdef uint32_t CP1252[32]


cdef uint32_t fnv32(const uint8_t* p, int n) noexcept nogil:
    cdef uint32_t h = 2166136261u
    cdef int i
    for i in range(n):
        h = (h ^ p[i]) * 16777619u
    return h


def _init_tables():
    global T_HTML, T_BODY, T_HEAD, T_TITLE, T_META, T_BASE, T_A, T_BR, T_P, T_LI, T_UL, T_OL
    global T_DL, T_DT, T_DD, T_TD, T_TH, T_TR, T_TABLE, T_THEAD, T_TBODY, T_TFOOT, T_MENU
    global T_OPTION, T_SELECT, T_PLAINTEXT
    global HINT_GOTO, HINT_OUT, NHINT_GROUPS, NENT, ENT_NAME, ENT_NLEN, ENT_VAL, ENT_VLEN
    cdef int i, j, slot
    cdef bytes b
    assert NTAGS < 256
    for i in range(TAG_SLOTS):
        TAG_SLOT[i] = -1
    for i, (name, flags) in enumerate(R.TAGS):
        TAG_FLAGS[i] = flags
        b = name.encode()
        TAG_LEN[i] = len(b)
        for j in range(len(b)):
            TAG_NAME[i][j] = b[j]
        if i == 0:
            continue
        slot = fnv32(<const uint8_t*>PyBytes_AS_STRING(b), len(b)) % TAG_SLOTS
        while TAG_SLOT[slot] >= 0:
            slot = (slot + 1) % TAG_SLOTS
        TAG_SLOT[slot] = i
    T = R.TAG_ID
    T_HTML, T_BODY, T_HEAD, T_TITLE = T["html"], T["body"], T["head"], T["title"]
    T_META, T_BASE, T_A, T_BR, T_P = T["meta"], T["base"], T["a"], T["br"], T["p"]
    T_LI, T_UL, T_OL, T_DL, T_DT, T_DD = T["li"], T["ul"], T["ol"], T["dl"], T["dt"], T["dd"]
    T_TD, T_TH, T_TR, T_TABLE = T["td"], T["th"], T["tr"], T["table"]
    T_THEAD, T_TBODY, T_TFOOT, T_MENU = T["thead"], T["tbody"], T["tfoot"], T["menu"]
    T_OPTION, T_SELECT, T_PLAINTEXT = T["option"], T["select"], T["plaintext"]

    goto, out = R.build_hint_automaton()
    HINT_GOTO = <int32_t*>malloc(len(goto) * sizeof(int32_t))
    HINT_OUT = <uint32_t*>malloc(len(out) * sizeof(uint32_t))
    assert len(R.HINT_WEIGHTS) <= 32
    NHINT_GROUPS = len(R.HINT_WEIGHTS)
    for i in range(NHINT_GROUPS):
        HINT_W[i] = R.HINT_WEIGHTS[i]
    if HINT_GOTO == NULL or HINT_OUT == NULL:
        raise MemoryError("cannot allocate the hint automaton")
    for i in range(len(goto)):
        HINT_GOTO[i] = goto[i]
    for i in range(len(out)):
        HINT_OUT[i] = out[i]
    for i in range(256):
        SYM[i] = R.symbol(i)

    ents = R.ENTITIES
    NENT = len(ents)
    ENT_NAME = <uint8_t**>malloc(NENT * sizeof(uint8_t*))
    ENT_VAL = <uint8_t**>malloc(NENT * sizeof(uint8_t*))
    ENT_NLEN = <int*>malloc(NENT * sizeof(int))
    ENT_VLEN = <int*>malloc(NENT * sizeof(int))
    if ENT_NAME == NULL or ENT_VAL == NULL or ENT_NLEN == NULL or ENT_VLEN == NULL:
        raise MemoryError("cannot allocate the entity table")
    for i, (name, val) in enumerate(ents):
        ENT_NAME[i] = <uint8_t*>malloc(len(name) + 1)
        ENT_VAL[i] = <uint8_t*>malloc(len(val) + 1)
        if ENT_NAME[i] == NULL or ENT_VAL[i] == NULL:
            raise MemoryError("cannot allocate the entity table")
        memcpy(ENT_NAME[i], PyBytes_AS_STRING(name), len(name))
        memcpy(ENT_VAL[i], PyBytes_AS_STRING(val), len(val))
        ENT_NLEN[i] = len(name)
        ENT_VLEN[i] = len(val)
    for i in range(32):
        CP1252[i] = R.CP1252[i]


_init_tables()

# ---------------------------------------------------------------------------------------------
# Parser state.

cdef struct Node:
    int64_t src  # offset of the start tag (tuning aid)
    int64_t cls_off  # class attribute value (-1 length: none)
    int64_t cls_len
    int32_t parent
    int32_t tag
    uint32_t flags
    int64_t score
    int64_t total
    int64_t plain  # chars of link-free text blocks too plain to score (see SHORT_NUM)

cdef struct Block:
    int32_t node
    uint32_t iflags
    int64_t start
    int64_t end
    int64_t chars
    int64_t link_chars
    int64_t punct
    int32_t brk

cdef struct Entry:
    uint32_t key
    int32_t tag
    int32_t node
    uint32_t iflags

cdef struct Buf:
    uint8_t* p
    int64_t n
    int64_t cap

cdef struct Ctx:
    const uint8_t* s
    int64_t n
    Node* nodes
    int32_t nn
    int32_t ncap
    Block* blocks
    int32_t nb
    int32_t bcap
    Entry* stack
    int32_t depth
    Buf tb
    int32_t cur
    int pending_space
    int64_t* link_off
    int64_t* link_len
    int32_t nlinks
    int32_t lcap
    int64_t base_off
    int64_t base_len
    int64_t title_off
    int64_t title_len
    int64_t desc_off
    int64_t desc_len
    int desc_prio
    int64_t lang_off
    int64_t lang_len
    int oom
    int seen_root


cdef inline bint is_space(uint8_t c) noexcept nogil:
    return c == 32 or c == 9 or c == 10 or c == 13 or c == 12


cdef inline bint is_alpha(uint8_t c) noexcept nogil:
    return (c | 32) >= 97 and (c | 32) <= 122


cdef inline bint is_alnum(uint8_t c) noexcept nogil:
    return is_alpha(c) or (c >= 48 and c <= 57)


cdef inline uint8_t lower(uint8_t c) noexcept nogil:
    if c >= 65 and c <= 90:
        return c + 32
    return c


cdef int buf_reserve(Buf* b, int64_t extra) noexcept nogil:
    cdef int64_t want = b.n + extra
    cdef int64_t cap
    cdef uint8_t* p
    if want <= b.cap:
        return 0
    cap = b.cap * 2 if b.cap > 0 else 256
    while cap < want:
        cap *= 2
    p = <uint8_t*>realloc(b.p, cap)
    if p == NULL:
        return -1
    b.p = p
    b.cap = cap
    return 0


cdef inline int buf_add(Buf* b, const uint8_t* p, int64_t n) noexcept nogil:
    if buf_reserve(b, n) < 0:
        return -1
    memcpy(b.p + b.n, p, n)
    b.n += n
    return 0


cdef inline int buf_byte(Buf* b, uint8_t c) noexcept nogil:
    if b.n >= b.cap and buf_reserve(b, 1) < 0:
        return -1
    b.p[b.n] = c
    b.n += 1
    return 0


# ---------------------------------------------------------------------------------------------
# Character references.

cdef int entity_find(const uint8_t* name, int n) noexcept nogil:
    cdef int lo = 0, hi = NENT - 1, mid, m, c
    while lo <= hi:
        mid = (lo + hi) >> 1
        m = n if n < ENT_NLEN[mid] else ENT_NLEN[mid]
        c = memcmp(ENT_NAME[mid], name, m)
        if c == 0:
            c = ENT_NLEN[mid] - n
        if c == 0:
            return mid
        if c < 0:
            lo = mid + 1
        else:
            hi = mid - 1
    return -1


cdef int64_t decode_ref(const uint8_t* s, int64_t i, int64_t n, bint attr,
                        uint8_t* out, int* outlen) noexcept nogil:
    """Decode the reference at s[i] == '&'; return the index after it (i + 1 if none)."""
    cdef int64_t j
    cdef uint32_t cp = 0
    cdef bint hexa = False
    cdef int digits = 0, k, d
    if i + 1 < n and s[i + 1] == 35:  # '#'
        j = i + 2
        if j < n and (s[j] == 120 or s[j] == 88):
            hexa = True
            j += 1
        while j < n:
            d = -1
            if s[j] >= 48 and s[j] <= 57:
                d = s[j] - 48
            elif hexa and (s[j] | 32) >= 97 and (s[j] | 32) <= 102:
                d = (s[j] | 32) - 87
            if d < 0:
                break
            if cp <= 0x10FFFF:
                cp = cp * (16 if hexa else 10) + d
            digits += 1
            j += 1
        if digits == 0:
            out[0] = 38
            outlen[0] = 1
            return i + 1
        if j < n and s[j] == 59:
            j += 1
        if cp == 0 or cp > 0x10FFFF or (cp >= 0xD800 and cp <= 0xDFFF):
            cp = 0xFFFD
        elif cp >= 0x80 and cp <= 0x9F:
            cp = CP1252[cp - 0x80]
        outlen[0] = utf8_encode(cp, out)
        return j
    j = i + 1
    while j < n and j - i - 1 < MAX_TAG_NAME and is_alnum(s[j]):
        j += 1
    k = <int>(j - i - 1)
    if k > 0 and j < n and s[j] == 59:
        d = entity_find(s + i + 1, k)
        if d >= 0:
            memcpy(out, ENT_VAL[d], ENT_VLEN[d])
            outlen[0] = ENT_VLEN[d]
            return j + 1
    if k > 0 and k <= 4 and (j >= n or (s[j] != 59 and not is_alnum(s[j]) and not (attr and s[j] == 61))):
        if (k == 3 and memcmp(s + i + 1, b"amp", 3) == 0):
            out[0] = 38
            outlen[0] = 1
            return j
        if (k == 2 and memcmp(s + i + 1, b"lt", 2) == 0):
            out[0] = 60
            outlen[0] = 1
            return j
        if (k == 2 and memcmp(s + i + 1, b"gt", 2) == 0):
            out[0] = 62
            outlen[0] = 1
            return j
        if (k == 4 and memcmp(s + i + 1, b"quot", 4) == 0):
            out[0] = 34
            outlen[0] = 1
            return j
        if (k == 4 and memcmp(s + i + 1, b"nbsp", 4) == 0):
            out[0] = 32
            outlen[0] = 1
            return j
    out[0] = 38
    outlen[0] = 1
    return i + 1


cdef int decode_attr(const uint8_t* s, int64_t off, int64_t length, Buf* out) noexcept nogil:
    """Append s[off:off+length] with references decoded and whitespace collapsed and trimmed."""
    cdef int64_t i = off, end = off + length
    cdef uint8_t tmp[40]
    cdef int tl = 0, k
    cdef bint space = False, any = False
    cdef uint8_t c
    if buf_reserve(out, length + 1) < 0:
        return -1
    while i < end:
        c = s[i]
        if c == 38:
            i = decode_ref(s, i, end, True, tmp, &tl)
        else:
            tmp[0] = c
            tl = 1
            i += 1
        for k in range(tl):
            c = tmp[k]
            if is_space(c) or c == 0:
                if any:
                    space = True
            else:
                if space:
                    out.p[out.n] = 32
                    out.n += 1
                    space = False
                out.p[out.n] = c
                out.n += 1
                any = True
    return 0


# ---------------------------------------------------------------------------------------------
# Tokenizer and tree.

cdef int tag_lookup(const uint8_t* p, int n, uint32_t* key) noexcept nogil:
    cdef uint8_t low[32]
    cdef int i, slot, t
    cdef uint32_t h
    if n > 31:
        n = 31
    for i in range(n):
        low[i] = lower(p[i])
    h = fnv32(low, n)
    key[0] = 0x10000 | (h & 0xFFFF)
    if n > 15:
        return 0
    slot = h % TAG_SLOTS
    while True:
        t = TAG_SLOT[slot]
        if t < 0:
            return 0
        if TAG_LEN[t] == n and memcmp(TAG_NAME[t], low, n) == 0:
            key[0] = t
            return t
        slot = (slot + 1) % TAG_SLOTS


cdef uint32_t hint_mask(const uint8_t* s, int64_t off, int64_t n) noexcept nogil:
    cdef int32_t state = 0
    cdef uint32_t flags = 0
    cdef uint8_t sym
    cdef bint prev_sep = True
    cdef int64_t i
    state = HINT_GOTO[state * SYMBOLS + 36]
    for i in range(off, off + n):
        sym = SYM[s[i]]
        if sym == 36:
            if prev_sep:
                continue
            prev_sep = True
        else:
            prev_sep = False
        state = HINT_GOTO[state * SYMBOLS + sym]
        flags |= HINT_OUT[state]
    if not prev_sep:
        state = HINT_GOTO[state * SYMBOLS + 36]
        flags |= HINT_OUT[state]
    return flags


cdef bint has_compact(const uint8_t* s, int64_t off, int64_t n, const char* pat, int m) noexcept nogil:
    """Whether pat occurs in s[off:off+n] lowered, once whitespace bytes are removed."""
    cdef int64_t i, j
    cdef int k
    for i in range(off, off + n):
        if lower(s[i]) != pat[0]:
            continue
        j = i
        k = 0
        while k < m and j < off + n:
            if is_space(s[j]):
                j += 1
                continue
            if lower(s[j]) != pat[k]:
                break
            k += 1
            j += 1
        if k == m:
            return True
    return False


cdef bint eq_lower(const uint8_t* s, int64_t off, int64_t n, const char* word) noexcept nogil:
    cdef int64_t i = 0
    while word[i] != 0:
        if i >= n or lower(s[off + i]) != word[i]:
            return False
        i += 1
    return i == n


cdef bint role_neg(const uint8_t* s, int64_t off, int64_t n) noexcept nogil:
    return (eq_lower(s, off, n, b"navigation") or eq_lower(s, off, n, b"banner")
            or eq_lower(s, off, n, b"contentinfo") or eq_lower(s, off, n, b"complementary")
            or eq_lower(s, off, n, b"menu") or eq_lower(s, off, n, b"menubar")
            or eq_lower(s, off, n, b"dialog") or eq_lower(s, off, n, b"alertdialog")
            or eq_lower(s, off, n, b"alert") or eq_lower(s, off, n, b"search"))


cdef inline uint32_t top_iflags(Ctx* c) noexcept nogil:
    if c.depth == 0:
        return 0
    return c.stack[c.depth - 1].iflags


cdef inline int32_t top_node(Ctx* c) noexcept nogil:
    if c.depth == 0:
        return 0
    return c.stack[c.depth - 1].node


cdef void end_block(Ctx* c, int brk) noexcept nogil:
    cdef Block* b
    if c.cur >= 0:
        b = &c.blocks[c.cur]
        while c.tb.n > b.start and (c.tb.p[c.tb.n - 1] == 32 or c.tb.p[c.tb.n - 1] == 10):
            c.tb.n -= 1
        b.end = c.tb.n
        b.brk = brk
        c.cur = -1
    c.pending_space = 0


cdef void pop_to(Ctx* c, int32_t k) noexcept nogil:
    """Pop stack entries k.. (k is an index into the stack)."""
    cdef bint boundary = False
    while c.depth > k:
        c.depth -= 1
        if TAG_FLAGS[c.stack[c.depth].tag] & BLOCK or TAG_FLAGS[c.stack[c.depth].tag] & SKIP:
            boundary = True
    if boundary:
        end_block(c, 0)


cdef int32_t find_open(Ctx* c, uint32_t key, int32_t stop1, int32_t stop2, int32_t stop3) noexcept nogil:
    """Stack index of the nearest open element with this key, not past a stop tag; -1 if none."""
    cdef int32_t k = c.depth - 1
    cdef int32_t lim = c.depth - CLOSE_SEARCH
    cdef int32_t t
    while k >= 0 and k >= lim:
        if c.stack[k].key == key:
            return k
        t = c.stack[k].tag
        if t != 0 and (t == stop1 or t == stop2 or t == stop3):
            return -1
        k -= 1
    return -1


cdef void implicit_close(Ctx* c, int32_t tag) noexcept nogil:
    cdef uint32_t f = TAG_FLAGS[tag]
    cdef int32_t k
    if tag == T_LI:
        k = find_open(c, T_LI, T_UL, T_OL, T_MENU)
        if k >= 0:
            pop_to(c, k)
    elif tag == T_DT or tag == T_DD:
        k = find_open(c, T_DT, T_DL, T_DL, T_DL)
        if k >= 0:
            pop_to(c, k)
        k = find_open(c, T_DD, T_DL, T_DL, T_DL)
        if k >= 0:
            pop_to(c, k)
    elif tag == T_TD or tag == T_TH:
        k = find_open(c, T_TD, T_TR, T_TABLE, T_TABLE)
        if k >= 0:
            pop_to(c, k)
        k = find_open(c, T_TH, T_TR, T_TABLE, T_TABLE)
        if k >= 0:
            pop_to(c, k)
    elif tag == T_TR:
        k = find_open(c, T_TR, T_TABLE, T_TBODY, T_THEAD)
        if k >= 0:
            pop_to(c, k)
    elif tag == T_OPTION:
        if c.depth > 0 and c.stack[c.depth - 1].tag == T_OPTION:
            pop_to(c, c.depth - 1)
    if f & CLOSES_P:
        # An open <p> ends at a block start, found through inline elements only.
        k = c.depth - 1
        while k >= 0 and k >= c.depth - 8:
            if c.stack[k].tag == T_P:
                pop_to(c, k)
                break
            if c.stack[k].tag == 0 or TAG_FLAGS[c.stack[k].tag] & BLOCK:
                break
            k -= 1


cdef inline bint cjk_punct(const uint8_t* p) noexcept nogil:
    # 、。 and fullwidth ，！？ : sentence punctuation of CJK text
    if p[0] == 0xE3 and p[1] == 0x80:
        return p[2] == 0x81 or p[2] == 0x82
    if p[0] == 0xEF and p[1] == 0xBC:
        return p[2] == 0x8C or p[2] == 0x81 or p[2] == 0x9F
    return False


cdef int open_block(Ctx* c) noexcept nogil:
    cdef Block* b
    cdef Block* nb
    if c.nb >= MAX_BLOCKS:
        return 0
    if c.nb >= c.bcap:
        nb = <Block*>realloc(c.blocks, 2 * c.bcap * sizeof(Block))
        if nb == NULL:
            c.oom = 1
            return 0
        c.blocks = nb
        c.bcap *= 2
    b = &c.blocks[c.nb]
    b.node = top_node(c)
    b.iflags = top_iflags(c)
    b.start = c.tb.n
    b.end = c.tb.n
    b.chars = 0
    b.link_chars = 0
    b.punct = 0
    b.brk = 0
    c.cur = c.nb
    c.nb += 1
    return 1


cdef void add_text(Ctx* c, int64_t i, int64_t end) noexcept nogil:
    """Append raw text s[i:end] to the current block: references decoded, whitespace collapsed."""
    cdef uint32_t fl = top_iflags(c)
    cdef uint8_t tmp[40]
    cdef int tl = 0, k
    cdef uint8_t ch
    cdef Block* b
    cdef bint pre = (fl & PRE) != 0
    if fl & SKIP:
        return
    if buf_reserve(&c.tb, end - i + 2) < 0:
        c.oom = 1
        return
    while i < end:
        ch = c.s[i]
        if ch == 38:
            i = decode_ref(c.s, i, end, False, tmp, &tl)
        else:
            tmp[0] = ch
            tl = 1
            i += 1
        for k in range(tl):
            ch = tmp[k]
            if ch == 0:
                continue
            if is_space(ch):
                if c.cur >= 0:
                    if pre:
                        if ch != 13:
                            c.tb.p[c.tb.n] = 10 if ch == 10 else 32
                            c.tb.n += 1
                    else:
                        c.pending_space = 1
                continue
            if c.cur < 0:
                if not open_block(c):
                    return
            b = &c.blocks[c.cur]
            if c.pending_space:
                c.tb.p[c.tb.n] = 32
                c.tb.n += 1
                c.pending_space = 0
            c.tb.p[c.tb.n] = ch
            c.tb.n += 1
            if (ch & 0xC0) != 0x80:
                b.chars += 1
                if fl & LINK:
                    b.link_chars += 1
                if ch == 46 or ch == 44 or ch == 33 or ch == 63 or ch == 59:
                    b.punct += 1
            elif c.tb.n - 3 >= b.start and cjk_punct(c.tb.p + c.tb.n - 3):
                b.punct += 1


cdef int64_t raw_end(Ctx* c, int64_t i, int32_t tag, int64_t* content_end) noexcept nogil:
    """Find </name of a raw-text element from i; set its content end, return index after '>'."""
    cdef const uint8_t* s = c.s
    cdef int64_t n = c.n, j
    cdef const uint8_t* p
    cdef int m = TAG_LEN[tag], k
    if tag == T_PLAINTEXT:
        content_end[0] = n
        return n
    while i < n:
        p = <const uint8_t*>memchr(s + i, 60, n - i)
        if p == NULL:
            break
        j = p - s
        if j + 2 + m <= n and s[j + 1] == 47:
            k = 0
            while k < m and lower(s[j + 2 + k]) == TAG_NAME[tag][k]:
                k += 1
            if k == m and (j + 2 + m == n or is_space(s[j + 2 + m]) or s[j + 2 + m] == 62
                           or s[j + 2 + m] == 47):
                content_end[0] = j
                p = <const uint8_t*>memchr(s + j, 62, n - j)
                return n if p == NULL else (p - s) + 1
        i = j + 1
    content_end[0] = n
    return n


cdef int grow_links(Ctx* c) noexcept nogil:
    cdef int64_t* off = <int64_t*>realloc(c.link_off, 2 * c.lcap * sizeof(int64_t))
    cdef int64_t* ln
    if off == NULL:
        c.oom = 1
        return -1
    c.link_off = off
    ln = <int64_t*>realloc(c.link_len, 2 * c.lcap * sizeof(int64_t))
    if ln == NULL:
        c.oom = 1
        return -1
    c.link_len = ln
    c.lcap *= 2
    return 0


cdef void free_ctx(Ctx* c) noexcept nogil:
    free(c.nodes); free(c.blocks); free(c.stack); free(c.link_off); free(c.link_len)
    free(c.tb.p)
    c.nodes = NULL; c.blocks = NULL; c.stack = NULL; c.link_off = NULL; c.link_len = NULL
    c.tb.p = NULL


cdef int64_t start_tag(Ctx* c, int64_t i) noexcept nogil:
    """Handle the start tag at s[i] == '<' (s[i+1] is a letter); return the index after it."""
    cdef const uint8_t* s = c.s
    cdef int64_t n = c.n
    cdef int64_t j = i + 1, k, name_end, vo, vl
    cdef uint32_t key = 0
    cdef int32_t tag
    cdef uint8_t q
    cdef const uint8_t* p
    cdef int64_t cls_off = 0, cls_len = -1, id_off = 0, id_len = -1, href_off = 0, href_len = -1
    cdef int64_t name_off = 0, name_len = -1, prop_off = 0, prop_len = -1
    cdef int64_t cont_off = 0, cont_len = -1, lang_off = 0, lang_len = -1
    cdef bint hidden = False, rneg = False, rmain = False, bodyprop = False
    cdef int64_t an, al, content_end
    cdef uint32_t flags, nflags, iflags
    cdef uint32_t hints = 0
    cdef int hneg = 0, hpos = 0, g
    cdef Entry* e
    cdef Node* nd

    while j < n and not is_space(s[j]) and s[j] != 47 and s[j] != 62:
        j += 1
    tag = tag_lookup(s + i + 1, <int>min(j - i - 1, 31), &key)
    # attributes
    while True:
        while j < n and (is_space(s[j]) or s[j] == 47):
            j += 1
        if j >= n:
            break
        if s[j] == 62:
            j += 1
            break
        an = j
        j += 1
        while j < n and not is_space(s[j]) and s[j] != 47 and s[j] != 62 and s[j] != 61:
            j += 1
        al = j - an
        while j < n and is_space(s[j]):
            j += 1
        vo = j
        vl = 0
        if j < n and s[j] == 61:
            j += 1
            while j < n and is_space(s[j]):
                j += 1
            if j < n and (s[j] == 34 or s[j] == 39):
                q = s[j]
                p = <const uint8_t*>memchr(s + j + 1, q, n - j - 1)
                vo = j + 1
                if p == NULL:
                    vl = n - vo
                    j = n
                else:
                    vl = (p - s) - vo
                    j = (p - s) + 1
            else:
                vo = j
                while j < n and not is_space(s[j]) and s[j] != 62:
                    j += 1
                vl = j - vo
        if al == 5 and eq_lower(s, an, al, b"class"):
            cls_off, cls_len = vo, vl
        elif al == 2 and eq_lower(s, an, al, b"id"):
            id_off, id_len = vo, vl
        elif al == 4 and eq_lower(s, an, al, b"href"):
            if href_len < 0:
                href_off, href_len = vo, vl
        elif al == 5 and eq_lower(s, an, al, b"style"):
            if has_compact(s, vo, vl, b"display:none", 12) or has_compact(s, vo, vl, b"visibility:hidden", 17):
                hidden = True
        elif al == 6 and eq_lower(s, an, al, b"hidden"):
            hidden = True
        elif al == 4 and eq_lower(s, an, al, b"role"):
            if role_neg(s, vo, vl):
                rneg = True
            elif eq_lower(s, vo, vl, b"main") or eq_lower(s, vo, vl, b"article"):
                rmain = True
        elif al == 10 and eq_lower(s, an, al, b"aria-modal"):
            if eq_lower(s, vo, vl, b"true"):
                rneg = True  # a modal (consent, newsletter) sits over the page, never in it
        elif al == 8 and eq_lower(s, an, al, b"itemprop"):
            if has_compact(s, vo, vl, b"articlebody", 11):
                bodyprop = True
        elif al == 4 and eq_lower(s, an, al, b"lang"):
            if lang_len < 0:
                lang_off, lang_len = vo, vl
        elif al == 4 and eq_lower(s, an, al, b"name"):
            name_off, name_len = vo, vl
        elif al == 8 and eq_lower(s, an, al, b"property"):
            prop_off, prop_len = vo, vl
        elif al == 7 and eq_lower(s, an, al, b"content"):
            cont_off, cont_len = vo, vl

    flags = TAG_FLAGS[tag]
    # elements read for metadata
    if tag == T_A:
        if href_len >= 0 and c.nlinks < MAX_LINKS:
            if c.nlinks >= c.lcap and grow_links(c) < 0:
                return n
            c.link_off[c.nlinks] = href_off
            c.link_len[c.nlinks] = href_len
            c.nlinks += 1
    elif tag == T_META:
        if cont_len >= 0:
            if name_len >= 0 and eq_lower(s, name_off, name_len, b"description"):
                if c.desc_prio < 2:
                    c.desc_off, c.desc_len, c.desc_prio = cont_off, cont_len, 2
            elif prop_len >= 0 and eq_lower(s, prop_off, prop_len, b"og:description"):
                if c.desc_prio < 1:
                    c.desc_off, c.desc_len, c.desc_prio = cont_off, cont_len, 1
    elif tag == T_BASE:
        if href_len >= 0 and c.base_len < 0:
            c.base_off, c.base_len = href_off, href_len
    elif tag == T_HTML:
        if lang_len >= 0 and c.lang_len < 0:
            c.lang_off, c.lang_len = lang_off, lang_len

    if tag == T_BR:
        if c.cur >= 0:
            end_block(c, 1)
        return j
    implicit_close(c, tag)
    if flags & VOID:
        if flags & BLOCK:
            end_block(c, 0)
        return j
    if flags & RAW:
        k = raw_end(c, j, tag, &content_end)
        if tag == T_TITLE and c.title_len < 0 and not (top_iflags(c) & SKIP):
            c.title_off = j
            c.title_len = content_end - j
        return k
    if tag == T_BODY or tag == T_HTML:
        # repeated <body>/<html> tags only carry attributes
        if c.seen_root & (1 if tag == T_BODY else 2):
            return j
        c.seen_root |= 1 if tag == T_BODY else 2
    if c.depth >= MAX_DEPTH:
        return j
    iflags = top_iflags(c) | (flags & INHERITED)
    if hidden:
        iflags |= SKIP
    if (flags & BLOCK) or (flags & SKIP):
        end_block(c, 0)
    e = &c.stack[c.depth]
    e.key = key
    e.tag = tag
    e.iflags = iflags
    e.node = top_node(c)
    c.depth += 1
    if (flags & BLOCK) and c.nn < MAX_NODES:
        if c.nn >= c.ncap:
            nd = <Node*>realloc(c.nodes, 2 * c.ncap * sizeof(Node))
            if nd == NULL:
                c.oom = 1
                return n
            c.nodes = nd
            c.ncap *= 2
        nflags = 0
        if tag != T_BODY and tag != T_HTML:
            if cls_len > 0:
                hints |= hint_mask(s, cls_off, cls_len)
            if id_len > 0:
                hints |= hint_mask(s, id_off, id_len)
            g = 0
            while hints:
                if hints & 1:
                    if HINT_W[g] < 0:
                        hneg -= HINT_W[g]
                    else:
                        hpos += HINT_W[g]
                hints >>= 1
                g += 1
        if flags & POS or rmain:
            nflags |= NF_ARTICLE
            hpos += 1
        if hpos > hneg:
            nflags |= NF_POS
        if bodyprop:
            nflags |= NF_BODYPROP
        elif (flags & NEG) or rneg or (hneg > 0 and hneg >= hpos):
            nflags |= NF_NEG
        nd = &c.nodes[c.nn]
        nd.parent = e.node
        nd.src = i
        nd.cls_off = cls_off
        nd.cls_len = cls_len
        nd.tag = tag
        nd.flags = nflags
        nd.score = 0
        nd.total = 0
        nd.plain = 0
        e.node = c.nn
        c.nn += 1
    return j


cdef void end_tag(Ctx* c, int64_t i, int64_t j) noexcept nogil:
    """Handle the end tag whose name is s[i:j]."""
    cdef uint32_t key = 0
    cdef int32_t tag = tag_lookup(c.s + i, <int>min(j - i, 31), &key)
    cdef int32_t k
    if tag == T_BR:
        if c.cur >= 0:
            end_block(c, 1)
        return
    if tag == T_BODY or tag == T_HTML:
        return
    k = find_open(c, key, -1, -1, -1)
    if k >= 0:
        pop_to(c, k)


cdef void parse(Ctx* c) noexcept nogil:
    cdef const uint8_t* s = c.s
    cdef int64_t n = c.n, i = 0, j, t
    cdef const uint8_t* p
    while i < n and not c.oom:
        p = <const uint8_t*>memchr(s + i, 60, n - i)
        if p == NULL:
            add_text(c, i, n)
            break
        j = p - s
        if j > i:
            add_text(c, i, j)
        i = j
        if i + 1 >= n:
            add_text(c, i, n)
            break
        if is_alpha(s[i + 1]):
            i = start_tag(c, i)
        elif s[i + 1] == 47:
            t = i + 2
            if t < n and is_alpha(s[t]):
                while t < n and not is_space(s[t]) and s[t] != 47 and s[t] != 62:
                    t += 1
                end_tag(c, i + 2, t)
            p = <const uint8_t*>memchr(s + t, 62, n - t) if t < n else NULL
            i = n if p == NULL else (p - s) + 1
        elif s[i + 1] == 33:
            if i + 3 < n and s[i + 2] == 45 and s[i + 3] == 45:
                t = i + 2
                while True:
                    p = <const uint8_t*>memchr(s + t, 45, n - t) if t < n else NULL
                    if p == NULL:
                        i = n
                        break
                    t = p - s
                    if t + 2 < n and s[t + 1] == 45 and s[t + 2] == 62:
                        i = t + 3
                        break
                    t += 1
            else:
                p = <const uint8_t*>memchr(s + i, 62, n - i)
                i = n if p == NULL else (p - s) + 1
        elif s[i + 1] == 63:
            p = <const uint8_t*>memchr(s + i, 62, n - i)
            i = n if p == NULL else (p - s) + 1
        else:
            add_text(c, i, i + 1)
            i += 1
    end_block(c, 0)


# ---------------------------------------------------------------------------------------------
# Scoring and selection.

cdef int64_t BAD_LINK_PCT = R.BAD_LINK_PCT
cdef int64_t GOOD_CHARS = R.GOOD_CHARS
cdef int64_t LINK_PENALTY = R.LINK_PENALTY


cdef inline bint link_dense(Block* b) noexcept nogil:
    return b.link_chars * 100 > b.chars * BAD_LINK_PCT


cdef int64_t block_value(Block* b) noexcept nogil:
    cdef int64_t v
    if b.iflags & HEADING:
        return 0
    if link_dense(b):
        return -b.chars
    if b.chars >= GOOD_CHARS and b.punct >= 1:
        v = b.chars - LINK_PENALTY * b.link_chars
        return v if v > 0 else 0
    return 0


cdef int64_t EDGE_CHARS = R.EDGE_CHARS
cdef int64_t DECAY_NUM = R.DECAY_NUM
cdef int64_t DECAY_DEN = R.DECAY_DEN
cdef int64_t SIB_PCT = R.SIB_PCT
cdef int64_t SIB_MIN = R.SIB_MIN
cdef int64_t SAME_CLASS = 1  # tuning switch; the twin always applies it


cdef int64_t SHORT_NUM = R.SHORT_NUM
cdef int64_t SHORT_DEN = R.SHORT_DEN


cdef inline bint plain_text(Block* b) noexcept nogil:
    return (not (b.iflags & HEADING)) and b.chars >= EDGE_CHARS and b.link_chars == 0


cdef inline bint edge_ok(Block* b) noexcept nogil:
    # a shorter sentence may still open or close the kept text
    return plain_text(b) and b.punct >= 1


cdef int64_t node_mult(Node* nd) noexcept nogil:
    cdef int64_t m = 4
    if nd.flags & NF_POS:
        m += 1
    if nd.flags & NF_ARTICLE:
        m += 1
    if nd.flags & NF_BODYPROP:
        m += 2
    return m


cdef inline bint same_class(Ctx* c, int32_t i, int32_t j) noexcept nogil:
    # A container repeating the best one's tag and class (article bodies split in chunks).
    cdef Node* a = &c.nodes[i]
    cdef Node* b = &c.nodes[j]
    return (a.tag == b.tag and a.cls_len > 0 and a.cls_len == b.cls_len
            and memcmp(c.s + a.cls_off, c.s + b.cls_off, a.cls_len) == 0)


cdef int select(Ctx* c, uint8_t* keep) noexcept nogil:
    """Score the container tree and mark the blocks to emit in keep[]; return 1 if any."""
    cdef int32_t i, p, bp, best = -1, first = -1, last = -1
    cdef int64_t sib_min
    cdef int64_t v, eff, best_eff = 0
    cdef Node* nd
    cdef Block* b
    cdef uint8_t* state
    cdef bint trim = True
    for i in range(c.nb):
        b = &c.blocks[i]
        v = block_value(b)
        c.nodes[b.node].score += v
        c.nodes[b.node].total += b.chars
        if v == 0 and plain_text(b):
            c.nodes[b.node].plain += b.chars
    i = c.nn - 1
    while i >= 1:
        nd = &c.nodes[i]
        p = nd.parent
        if nd.flags & NF_NEG:
            c.nodes[p].score -= nd.total // 2
        else:
            c.nodes[p].score += nd.score * DECAY_NUM // DECAY_DEN
            c.nodes[p].plain += nd.plain
        c.nodes[p].total += nd.total
        i -= 1
    for i in range(c.nn):
        nd = &c.nodes[i]
        if i > 0 and (c.nodes[nd.parent].flags & (NF_NEG | NF_UNDER_NEG)):
            nd.flags |= NF_UNDER_NEG
        if nd.flags & NF_NEG or nd.tag == T_P:
            continue  # a paragraph is content, never the container of it
        eff = nd.score
        if nd.flags & NF_SEMANTIC:
            eff += nd.plain * SHORT_NUM // SHORT_DEN
        eff *= node_mult(nd)
        if nd.flags & NF_UNDER_NEG:
            eff = eff // UNDER_NEG_DIV
        if eff > best_eff:
            best_eff = eff
            best = i
    if best < 0:
        # Nothing scores: keep the page's largest article/main container, else all of it.
        best = 0
        trim = False
        v = 0
        for i in range(1, c.nn):
            nd = &c.nodes[i]
            if (nd.flags & NF_SEMANTIC and not (nd.flags & (NF_NEG | NF_UNDER_NEG))
                    and nd.total > v):
                best = i
                v = nd.total
    if c.nodes[best].flags & NF_SEMANTIC:
        trim = False  # the page marks this container as the article: headline, short lines too
    state = <uint8_t*>malloc(c.nn if c.nn > 0 else 1)
    if state == NULL:
        return -1
    bp = c.nodes[best].parent if best > 0 else -1
    sib_min = c.nodes[best].score * SIB_PCT // 100
    if sib_min < SIB_MIN:
        sib_min = SIB_MIN
    for i in range(c.nn):
        p = c.nodes[i].parent
        if i == best or (SIB_PCT > 0 and bp >= 0 and not (c.nodes[i].flags & NF_NEG)
                         and c.nodes[i].score >= sib_min
                         and (p == bp or (SAME_CLASS and not (c.nodes[i].flags & NF_UNDER_NEG)
                                          and same_class(c, i, best)))):
            state[i] = 1
        elif i == 0 or state[p] == 0:
            state[i] = 0
        elif state[p] == 2 or (c.nodes[i].flags & NF_NEG):
            state[i] = 2
        else:
            state[i] = 1
    for i in range(c.nb):
        b = &c.blocks[i]
        keep[i] = 0
        if state[b.node] != 1 or b.end <= b.start:
            continue
        if link_dense(b):
            continue
        keep[i] = 1
        if block_value(b) > 0 or edge_ok(b):
            if first < 0:
                first = i
            last = i
    free(state)
    if trim:
        for i in range(c.nb):
            if i < first or i > last:
                keep[i] = 0
    return 1


# ---------------------------------------------------------------------------------------------
# Links.

cdef struct UrlParts:
    int64_t scheme_end   # index of ':'
    int64_t auth_start
    int64_t auth_end
    int64_t path_end     # index of '?' or '#' or end
    int64_t query_end    # index of '#' or end


cdef bint split_url(const uint8_t* u, int64_t n, UrlParts* r) noexcept nogil:
    """Split an absolute http(s) URL; False if it is not one."""
    cdef int64_t i = 0
    while i < n and u[i] != 58:
        i += 1
    if i + 2 >= n or u[i + 1] != 47 or u[i + 2] != 47:
        return False
    r.scheme_end = i
    r.auth_start = i + 3
    i = r.auth_start
    while i < n and u[i] != 47 and u[i] != 63 and u[i] != 35:
        i += 1
    r.auth_end = i
    while i < n and u[i] != 63 and u[i] != 35:
        i += 1
    r.path_end = i
    while i < n and u[i] != 35:
        i += 1
    r.query_end = i
    return r.auth_end > r.auth_start


cdef int normalize(const uint8_t* u, int64_t n, Buf* out) noexcept nogil:
    """Append the normal form of absolute URL u to out; -1 if it is not absolute http(s)."""
    cdef UrlParts r
    cdef int64_t i, start = out.n, k, segstart
    cdef int64_t seg_len
    cdef uint8_t ch
    if not split_url(u, n, &r):
        return -1
    if not ((r.scheme_end == 4 and eq_lower(u, 0, 4, b"http"))
            or (r.scheme_end == 5 and eq_lower(u, 0, 5, b"https"))):
        return -1
    if buf_reserve(out, 3 * n + 8) < 0:
        return -2
    for i in range(r.scheme_end):
        out.p[out.n] = lower(u[i])
        out.n += 1
    memcpy(out.p + out.n, b"://", 3)
    out.n += 3
    for i in range(r.auth_start, r.auth_end):
        out.p[out.n] = lower(u[i])
        out.n += 1
    # path with dot segments removed; an empty path is "/"
    segstart = out.n
    i = r.auth_end
    if i < r.path_end and u[i] == 47:
        i += 1
    while i <= r.path_end and r.path_end > r.auth_end:
        k = i
        while k < r.path_end and u[k] != 47:
            k += 1
        seg_len = k - i
        if (seg_len == 1 and u[i] == 46) or (seg_len == 2 and u[i] == 46 and u[i + 1] == 46):
            if seg_len == 2:
                while out.n > segstart and out.p[out.n - 1] != 47:
                    out.n -= 1
                if out.n > segstart:
                    out.n -= 1
            if k >= r.path_end:
                out.p[out.n] = 47
                out.n += 1
        else:
            out.p[out.n] = 47
            out.n += 1
            while i < k:
                ch = u[i]
                if ch == 32:
                    memcpy(out.p + out.n, b"%20", 3)
                    out.n += 3
                else:
                    out.p[out.n] = ch
                    out.n += 1
                i += 1
        i = k + 1
    if out.n == segstart:
        out.p[out.n] = 47
        out.n += 1
    for i in range(r.path_end, r.query_end):
        ch = u[i]
        if ch == 32:
            memcpy(out.p + out.n, b"%20", 3)
            out.n += 3
        else:
            out.p[out.n] = ch
            out.n += 1
    return <int>(out.n - start)


cdef int64_t resolve(const uint8_t* base, int64_t bn, const uint8_t* h, int64_t hn,
                     Buf* tmp, Buf* out) noexcept nogil:
    """Append href h resolved against normal-form base (bn 0: none) to out; <0 if skipped."""
    cdef int64_t i = 0, j
    cdef UrlParts r
    cdef int64_t start = out.n
    cdef int res
    tmp.n = 0
    if buf_reserve(tmp, bn + hn + 8) < 0:
        return -2
    if hn == 0 or h[0] == 35:
        return -1
    if is_alpha(h[0]):
        j = 1
        while j < hn and (is_alnum(h[j]) or h[j] == 43 or h[j] == 45 or h[j] == 46):
            j += 1
        if j < hn and h[j] == 58:
            res = normalize(h, hn, out)
            return res
    if hn >= 2 and h[0] == 47 and h[1] == 47:
        if bn == 0 or not split_url(base, bn, &r):
            return -1
        buf_add(tmp, base, r.scheme_end + 1)
        buf_add(tmp, h, hn)
        return normalize(tmp.p, tmp.n, out)
    if bn == 0 or not split_url(base, bn, &r):
        return -1
    if h[0] == 47:
        buf_add(tmp, base, r.auth_end)
    elif h[0] == 63:
        buf_add(tmp, base, r.path_end)
    else:
        j = r.path_end
        while j > r.auth_end and base[j - 1] != 47:
            j -= 1
        if j == r.auth_end:
            buf_add(tmp, base, r.auth_end)
            buf_byte(tmp, 47)
        else:
            buf_add(tmp, base, j)
    buf_add(tmp, h, hn)
    return normalize(tmp.p, tmp.n, out)


cdef void host_of(const uint8_t* u, int64_t n, int64_t* hs, int64_t* he) noexcept nogil:
    """Host of a normal-form URL without userinfo, port and a leading 'www.'."""
    cdef UrlParts r
    cdef int64_t i, a, b
    hs[0] = 0
    he[0] = 0
    if not split_url(u, n, &r):
        return
    a = r.auth_start
    b = r.auth_end
    for i in range(a, b):
        if u[i] == 64:
            a = i + 1
    i = b - 1
    while i > a and u[i] >= 48 and u[i] <= 57:
        i -= 1
    if i >= a and u[i] == 58:
        b = i
    if b - a > 4 and memcmp(u + a, b"www.", 4) == 0:
        a += 4
    hs[0] = a
    he[0] = b


cdef bint same_site(const uint8_t* x, int64_t xs, int64_t xe, const uint8_t* y, int64_t ys, int64_t ye) noexcept nogil:
    cdef int64_t xl = xe - xs, yl = ye - ys
    if xl == 0 or yl == 0:
        return False
    if xl == yl:
        return memcmp(x + xs, y + ys, xl) == 0
    if xl > yl:
        return x[xe - yl - 1] == 46 and memcmp(x + xe - yl, y + ys, yl) == 0
    return y[ye - xl - 1] == 46 and memcmp(y + ye - xl, x + xs, xl) == 0


cdef uint64_t fnv64(const uint8_t* p, int64_t n) noexcept nogil:
    cdef uint64_t h = 14695981039346656037u
    cdef int64_t i
    for i in range(n):
        h = (h ^ p[i]) * 1099511628211u
    return h


cdef int links(Ctx* c, const uint8_t* given, int64_t gn, Buf* internal, Buf* external) noexcept nogil:
    """Resolve, de-duplicate and split the recorded hrefs into internal and external lists."""
    cdef Buf base, tmp, dec, urls
    cdef int64_t bn = 0, r, i, bhs = 0, bhe = 0, hs, he, k
    cdef int64_t* uoff = NULL
    cdef int64_t* ulen = NULL
    cdef int64_t* table = NULL
    cdef int64_t tsize = 1, slot, nu = 0
    cdef uint64_t h
    cdef int rc = 0
    cdef Buf* dst
    base.p = NULL; base.n = 0; base.cap = 0
    tmp.p = NULL; tmp.n = 0; tmp.cap = 0
    dec.p = NULL; dec.n = 0; dec.cap = 0
    urls.p = NULL; urls.n = 0; urls.cap = 0
    if gn > 0:
        dec.n = 0
        clean_href(given, 0, gn, &dec, False)
        r = normalize(dec.p, dec.n, &base) if dec.p != NULL else -1
        if r < 0:
            base.n = 0
    if c.base_len >= 0:
        dec.n = 0
        if clean_href(c.s, c.base_off, c.base_len, &dec, True) < 0:
            rc = -1
        else:
            r = resolve(base.p, base.n, dec.p, dec.n, &tmp, &urls)
            if r > 0:
                base.n = 0
                buf_add(&base, urls.p + urls.n - r, r)
            urls.n = 0
    bn = base.n
    if bn > 0:
        host_of(base.p, bn, &bhs, &bhe)
    uoff = <int64_t*>malloc((c.nlinks + 1) * sizeof(int64_t))
    ulen = <int64_t*>malloc((c.nlinks + 1) * sizeof(int64_t))
    while tsize < 2 * (c.nlinks + 1):
        tsize *= 2
    table = <int64_t*>malloc(tsize * sizeof(int64_t))
    if uoff == NULL or ulen == NULL or table == NULL:
        rc = -1
    else:
        for i in range(tsize):
            table[i] = -1
        for i in range(c.nlinks):
            dec.n = 0
            if clean_href(c.s, c.link_off[i], c.link_len[i], &dec, True) < 0:
                rc = -1
                break
            if dec.n == 0:
                continue
            r = resolve(base.p, bn, dec.p, dec.n, &tmp, &urls)
            if r == -2:
                rc = -1
                break
            if r < 0:
                continue
            h = fnv64(urls.p + urls.n - r, r)
            slot = <int64_t>(h & <uint64_t>(tsize - 1))
            while table[slot] >= 0:
                k = table[slot]
                if ulen[k] == r and memcmp(urls.p + uoff[k], urls.p + urls.n - r, r) == 0:
                    break
                slot = (slot + 1) & (tsize - 1)
            if table[slot] >= 0:
                urls.n -= r
                continue
            table[slot] = nu
            uoff[nu] = urls.n - r
            ulen[nu] = r
            nu += 1
        for i in range(nu):
            host_of(urls.p + uoff[i], ulen[i], &hs, &he)
            dst = external
            if bn > 0 and same_site(urls.p + uoff[i], hs, he, base.p, bhs, bhe):
                dst = internal
            if dst.n > 0:
                buf_byte(dst, 10)
            if buf_add(dst, urls.p + uoff[i], ulen[i]) < 0:
                rc = -1
    free(base.p)
    free(tmp.p)
    free(dec.p)
    free(urls.p)
    free(uoff)
    free(ulen)
    free(table)
    return rc


cdef int clean_href(const uint8_t* s, int64_t off, int64_t n, Buf* out, bint refs) noexcept nogil:
    """Append href s[off:off+n]: references decoded, ends trimmed, tabs and newlines removed."""
    cdef int64_t i = off, end = off + n, start = out.n, a, b, k
    cdef uint8_t tmp[40]
    cdef int tl = 0, t
    if buf_reserve(out, n + 1) < 0:
        return -1
    while i < end:
        if refs and s[i] == 38:
            i = decode_ref(s, i, end, True, tmp, &tl)
        else:
            tmp[0] = s[i]
            tl = 1
            i += 1
        for t in range(tl):
            if tmp[t] != 9 and tmp[t] != 10 and tmp[t] != 13:
                out.p[out.n] = tmp[t]
                out.n += 1
    a = start
    while a < out.n and out.p[a] <= 32:
        a += 1
    b = out.n
    while b > a and out.p[b - 1] <= 32:
        b -= 1
    k = 0
    while a + k < b:
        out.p[start + k] = out.p[a + k]
        k += 1
    out.n = start + k
    return 0


# ---------------------------------------------------------------------------------------------
# Entry point.

cdef int run(Ctx* c, const uint8_t* given, int64_t gn, Buf* text, Buf* title, Buf* desc,
             Buf* lang, Buf* internal, Buf* external) noexcept nogil:
    cdef int64_t i
    cdef uint8_t* keep = NULL
    cdef Block* b
    cdef Block* prev = NULL
    c.ncap = 256
    c.bcap = 256
    c.nodes = <Node*>malloc(c.ncap * sizeof(Node))
    c.blocks = <Block*>malloc(c.bcap * sizeof(Block))
    c.stack = <Entry*>malloc((MAX_DEPTH + 1) * sizeof(Entry))
    c.lcap = 64
    c.link_off = <int64_t*>malloc(c.lcap * sizeof(int64_t))
    c.link_len = <int64_t*>malloc(c.lcap * sizeof(int64_t))
    if c.nodes == NULL or c.blocks == NULL or c.stack == NULL or c.link_off == NULL or c.link_len == NULL:
        return -1
    c.nodes[0].src = 0
    c.nodes[0].cls_off = 0
    c.nodes[0].cls_len = -1
    c.nodes[0].parent = -1
    c.nodes[0].cls_off = 0
    c.nodes[0].cls_len = -1
    c.nodes[0].tag = 0
    c.nodes[0].flags = 0
    c.nodes[0].score = 0
    c.nodes[0].total = 0
    c.nodes[0].plain = 0
    c.nn = 1
    parse(c)
    if c.oom:
        return -1
    keep = <uint8_t*>malloc(c.nb + 1)
    if keep == NULL:
        return -1
    if select(c, keep) < 0:
        free(keep)
        return -1
    for i in range(c.nb):
        if not keep[i]:
            continue
        b = &c.blocks[i]
        if prev != NULL:
            if prev.brk or ((prev.iflags & LIST_ITEM) and (b.iflags & LIST_ITEM)):
                buf_byte(text, 10)
            else:
                buf_add(text, <const uint8_t*>b"\n\n", 2)
        buf_add(text, c.tb.p + b.start, b.end - b.start)
        prev = b
    free(keep)
    if c.title_len >= 0:
        decode_attr(c.s, c.title_off, c.title_len, title)
    if c.desc_len >= 0:
        decode_attr(c.s, c.desc_off, c.desc_len, desc)
    if c.lang_len >= 0:
        decode_attr(c.s, c.lang_off, c.lang_len, lang)
    if links(c, given, gn, internal, external) < 0:
        return -1
    return 0


cdef inline void buf_init(Buf* b) noexcept nogil:
    b.p = NULL
    b.n = 0
    b.cap = 0


cdef str buf_str(Buf* b):
    if b.n == 0:
        return ""
    return PyUnicode_DecodeUTF8(<const char*>b.p, b.n, "replace")


cdef list buf_lines(Buf* b):
    if b.n == 0:
        return []
    return PyUnicode_DecodeUTF8(<const char*>b.p, b.n, "replace").split("\n")


from posix.time cimport clock_gettime, timespec, CLOCK_THREAD_CPUTIME_ID


cdef inline int64_t cpu_ns() noexcept nogil:
    cdef timespec ts
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return <int64_t>ts.tv_sec * 1000000000 + ts.tv_nsec


cdef tuple _extract(bytes data, bytes base_url, int64_t* nogil_ns):
    cdef Ctx c
    cdef Buf text, title, desc, lang, internal, external
    cdef int rc
    cdef int64_t t0 = 0
    cdef const uint8_t* given = <const uint8_t*>PyBytes_AS_STRING(base_url)
    cdef int64_t gn = PyBytes_GET_SIZE(base_url)
    memset(&c, 0, sizeof(Ctx))
    c.s = <const uint8_t*>PyBytes_AS_STRING(data)
    c.n = PyBytes_GET_SIZE(data)
    c.cur = -1
    c.base_len = -1
    c.title_len = -1
    c.desc_len = -1
    c.lang_len = -1
    buf_init(&text); buf_init(&title); buf_init(&desc); buf_init(&lang)
    buf_init(&internal); buf_init(&external)
    try:
        with nogil:
            if nogil_ns != NULL:
                t0 = cpu_ns()
            rc = run(&c, given, gn, &text, &title, &desc, &lang, &internal, &external)
            free_ctx(&c)  # here, not after: the GIL-held part of a call stays small
            if nogil_ns != NULL:
                nogil_ns[0] = cpu_ns() - t0
        if rc < 0:
            raise MemoryError(f"out of memory extracting a {c.n}-byte page")
        return (buf_str(&title), buf_str(&desc), buf_str(&lang), buf_str(&text),
                buf_lines(&internal), buf_lines(&external))
    finally:
        free_ctx(&c)
        free(text.p); free(title.p); free(desc.p); free(lang.p); free(internal.p); free(external.p)


def extract(bytes data not None, bytes base_url not None):
    """Extract (title, description, lang, text, links_internal, links_external) from UTF-8 HTML.

    ``data`` is the page as UTF-8 bytes (invalid sequences become U+FFFD in the output) and
    ``base_url`` the page's URL as UTF-8 bytes (b"" if unknown: relative links are dropped).
    The public wrapper agentcore.kernels.html.extract decodes other charsets and validates arguments.
    """
    return _extract(data, base_url, NULL)


def _extract_timed(bytes data not None, bytes base_url not None):
    """Bench aid: (extract's result, CPU nanoseconds this thread spent with the GIL released)."""
    cdef int64_t ns = 0
    r = _extract(data, base_url, &ns)
    return r, ns


def _set(name, value):
    """Tuning aid: override one scoring constant of html_rules in this process (not thread-safe;
    the pure twin does not follow, so twin-equality tests fail while a value is overridden)."""
    global UNDER_NEG_DIV, BAD_LINK_PCT, GOOD_CHARS, LINK_PENALTY, EDGE_CHARS, DECAY_NUM, DECAY_DEN, SIB_PCT, SIB_MIN, SAME_CLASS
    if name == "UNDER_NEG_DIV": UNDER_NEG_DIV = value
    if name == "BAD_LINK_PCT": BAD_LINK_PCT = value
    if name == "GOOD_CHARS": GOOD_CHARS = value
    if name == "LINK_PENALTY": LINK_PENALTY = value
    if name == "EDGE_CHARS": EDGE_CHARS = value
    if name == "DECAY_NUM": DECAY_NUM = value
    if name == "DECAY_DEN": DECAY_DEN = value
    if name == "SIB_PCT": SIB_PCT = value
    if name == "SIB_MIN": SIB_MIN = value
    if name == "SAME_CLASS": SAME_CLASS = value


def _debug(bytes data not None, bytes base_url not None):
    """Tuning aid: (nodes, blocks) after scoring; nodes as (parent, tag, flags, score, total),
    blocks as (node, iflags, chars, link_chars, punct, value, kept, text)."""
    cdef Ctx c
    cdef uint8_t* keep
    cdef int32_t i
    cdef Block* b
    memset(&c, 0, sizeof(Ctx))
    c.s = <const uint8_t*>PyBytes_AS_STRING(data)
    c.n = PyBytes_GET_SIZE(data)
    c.cur = -1
    c.base_len = -1
    c.title_len = -1
    c.desc_len = -1
    c.lang_len = -1
    c.ncap = 256
    c.bcap = 256
    c.nodes = <Node*>malloc(c.ncap * sizeof(Node))
    c.blocks = <Block*>malloc(c.bcap * sizeof(Block))
    c.stack = <Entry*>malloc((MAX_DEPTH + 1) * sizeof(Entry))
    c.lcap = 64
    c.link_off = <int64_t*>malloc(c.lcap * sizeof(int64_t))
    c.link_len = <int64_t*>malloc(c.lcap * sizeof(int64_t))
    c.nodes[0].src = 0
    c.nodes[0].cls_off = 0
    c.nodes[0].cls_len = -1
    c.nodes[0].parent = -1
    c.nodes[0].cls_off = 0
    c.nodes[0].cls_len = -1
    c.nodes[0].tag = 0
    c.nodes[0].flags = 0
    c.nodes[0].score = 0
    c.nodes[0].total = 0
    c.nodes[0].plain = 0
    c.nn = 1
    parse(&c)
    keep = <uint8_t*>malloc(c.nb + 1)
    select(&c, keep)
    nodes = [(c.nodes[i].parent, R.TAGS[c.nodes[i].tag][0], c.nodes[i].flags, c.nodes[i].score,
              c.nodes[i].total, data[c.nodes[i].src:c.nodes[i].src + 100]) for i in range(c.nn)]
    blocks = []
    for i in range(c.nb):
        b = &c.blocks[i]
        blocks.append((b.node, b.iflags, b.chars, b.link_chars, b.punct, block_value(b), keep[i],
                       (<bytes>(c.tb.p + b.start)[:b.end - b.start]).decode("utf-8", "replace")))
    free(keep); free(c.nodes); free(c.blocks); free(c.stack); free(c.link_off); free(c.link_len)
    free(c.tb.p)
    return nodes, blocks
