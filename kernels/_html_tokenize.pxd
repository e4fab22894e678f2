# The HTML extractor's byte scanner: tags, attributes, comments and raw text, into _html_tree.
from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t
from libc.stdlib cimport realloc
from libc.string cimport memchr, memcmp

from kernels._html_bytes cimport eq_lower, is_alpha, is_space, lower
from kernels._html_tables cimport (
    BLOCK, HINT_GOTO, HINT_OUT, HINT_W, INHERITED, MAX_DEPTH, MAX_LINKS, MAX_NODES, NEG,
    NF_ARTICLE, NF_BODYPROP, NF_NEG, NF_POS, NF_WEAK_NEG, POS, RAW, SKIP, SYM, SYMBOLS, TAG_FLAGS,
    TAG_LEN, TAG_NAME, TAG_SLOT, TAG_SLOTS, T_A, T_BASE, T_BODY, T_BR, T_HTML, T_META,
    T_PLAINTEXT, T_TITLE, VOID, WEAK_NEG_MARGIN, fnv32,
)
from kernels._html_tree cimport (
    Ctx, Entry, Node, add_text, end_block, find_open, grow_links, implicit_close, pop_to,
    top_iflags, top_node,
)


cdef inline int tag_lookup(const uint8_t* p, int n, uint32_t* key) noexcept nogil:
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


cdef inline uint32_t hint_mask(const uint8_t* s, int64_t off, int64_t n) noexcept nogil:
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


cdef inline bint has_compact(const uint8_t* s, int64_t off, int64_t n, const char* pat,
                             int m) noexcept nogil:
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


cdef inline bint role_neg(const uint8_t* s, int64_t off, int64_t n) noexcept nogil:
    return (eq_lower(s, off, n, b"navigation") or eq_lower(s, off, n, b"banner")
            or eq_lower(s, off, n, b"contentinfo") or eq_lower(s, off, n, b"complementary")
            or eq_lower(s, off, n, b"menu") or eq_lower(s, off, n, b"menubar")
            or eq_lower(s, off, n, b"dialog") or eq_lower(s, off, n, b"alertdialog")
            or eq_lower(s, off, n, b"alert") or eq_lower(s, off, n, b"search"))


cdef inline int64_t raw_end(Ctx* c, int64_t i, int32_t tag, int64_t* content_end) noexcept nogil:
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


cdef inline int64_t start_tag(Ctx* c, int64_t i) noexcept nogil:
    """Handle the start tag at s[i] == '<' (s[i+1] is a letter); return the index after it."""
    cdef const uint8_t* s = c.s
    cdef int64_t n = c.n
    cdef int64_t j = i + 1, k, vo, vl
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
        elif (flags & NEG) or rneg:
            nflags |= NF_NEG
        elif hneg > 0 and hneg >= hpos:
            nflags |= NF_NEG
            if hneg - hpos <= WEAK_NEG_MARGIN:
                nflags |= NF_WEAK_NEG
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
        nd.good = 0
        e.node = c.nn
        c.nn += 1
    return j


cdef inline void end_tag(Ctx* c, int64_t i, int64_t j) noexcept nogil:
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


cdef inline void parse(Ctx* c) noexcept nogil:
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
