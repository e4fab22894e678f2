"""Compiled text kernels: UTF-8 words to hashed ids, token flags, sentence splitting, all nogil.

The character tables come from agentcore.kernels.textspec, shared with the pure twin agentcore.kernels.textops_py.
"""
from cpython.array cimport array, clone
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE, PyBytes_FromStringAndSize
from libc.stdint cimport int64_t, uint8_t, uint32_t, uint64_t
from libc.stdlib cimport free, malloc, realloc
from libc.string cimport memcpy, memset

from kernels._utf8 cimport utf8_encode

from agentcore.kernels import textspec as _spec

__all__ = ["tokenize", "words", "hash_word", "tokenize_batch", "split_sentences"]

cdef extern from "Python.h":
    const char* PyUnicode_AsUTF8AndSize(object s, Py_ssize_t* size) except NULL

cdef enum:
    WORD_BITS_BYTES = 0x22000   # one bit per code point up to U+10FFFF
    LOWER_LIMIT = 0x500
    MAX_SET = 512
    STOP_SLOTS = 2048

cdef uint8_t _word_bits[WORD_BITS_BYTES]
cdef uint32_t _lower[LOWER_LIMIT]
cdef uint8_t _ascii_word[128]    # ASCII fast path: word character?
cdef uint8_t _ascii_lower[128]
# The stopword ids as an open-addressing table (0 = empty): one or two probes per token, where a
# binary search cost eight unpredictable branches.
cdef uint64_t _stop_table[STOP_SLOTS]
cdef uint64_t _abbrev[MAX_SET]
cdef Py_ssize_t _n_abbrev = 0
cdef Py_ssize_t _stop_max_bytes = 0
cdef Py_ssize_t _abbrev_max_cps = 0
cdef uint8_t _sent_kind[LOWER_LIMIT]   # sentence role of code points below LOWER_LIMIT
cdef int _kw_min = 2, _kw_max = 30
cdef uint8_t _flag_stop = 1, _flag_nokey = 2
cdef uint64_t FNV_OFFSET = 0xCBF29CE484222325ULL
cdef uint64_t FNV_PRIME = 0x100000001B3ULL

# _sent_kind values; code points >= LOWER_LIMIT are classified by _sent_role.
cdef enum:
    K_OTHER = 0
    K_SPACE = 1
    K_BREAK = 2
    K_TERM = 3
    K_HARD = 4
    K_CLOSER = 5


cdef inline bint _is_word(uint32_t cp) noexcept nogil:
    return (_word_bits[cp >> 3] >> (cp & 7)) & 1


cdef void _init_tables() except *:
    cdef uint32_t c
    memset(_word_bits, 0xFF, sizeof(_word_bits))
    for lo, hi in _spec.NONWORD_RANGES:
        for c in range(<uint32_t>lo, <uint32_t>hi + 1):
            _word_bits[c >> 3] &= ~(1 << (c & 7))
    for c in range(LOWER_LIMIT):
        _lower[c] = c
    for c in range(128):
        _ascii_word[c] = _is_word(c)
        _ascii_lower[c] = _spec.LOWER.get(c, c)
    for k, v in _spec.LOWER.items():
        if k >= LOWER_LIMIT or len(chr(v).encode()) > len(chr(k).encode()):
            raise RuntimeError("agentcore.kernels.textspec.LOWER breaks the in-place normalisation rule")
        _lower[k] = v
    global _n_abbrev, _abbrev_max_cps, _stop_max_bytes, _kw_min, _kw_max, _flag_stop, _flag_nokey
    _n_abbrev = len(_spec.ABBREVIATION_HASHES)
    if len(_spec.STOPWORD_HASHES) > STOP_SLOTS // 4 or _n_abbrev > MAX_SET:
        raise RuntimeError("agentcore.kernels.textspec: too many stopwords or abbreviations for the C table")
    memset(_stop_table, 0, sizeof(_stop_table))
    for i, h in enumerate(_spec.STOPWORD_HASHES):
        if h == 0:
            raise RuntimeError("a stopword hashes to 0, the empty-slot marker")
        j = h & (STOP_SLOTS - 1)
        while _stop_table[j]:
            j = (j + 1) & (STOP_SLOTS - 1)
        _stop_table[j] = h
    for i, h in enumerate(_spec.ABBREVIATION_HASHES):
        _abbrev[i] = h
    _stop_max_bytes = _spec.STOPWORD_MAX_BYTES
    _abbrev_max_cps = max(len(a) for a in _spec.ABBREVIATIONS)
    _kw_min = _spec.KEYWORD_MIN_CHARS
    _kw_max = _spec.KEYWORD_MAX_CHARS
    _flag_stop = _spec.FLAG_STOPWORD
    _flag_nokey = _spec.FLAG_NOT_KEYWORD
    memset(_sent_kind, K_OTHER, sizeof(_sent_kind))
    for c in _spec.SENT_SPACES:
        _sent_kind[c] = K_SPACE
    for c in _spec.SENT_CLOSERS:
        if c < LOWER_LIMIT:
            _sent_kind[c] = K_CLOSER
    for c in _spec.SENT_TERMINATORS:
        if c < LOWER_LIMIT:
            _sent_kind[c] = K_TERM
    _sent_kind[_spec.SENT_BREAK] = K_BREAK
    # The few sentence code points above LOWER_LIMIT are hard-coded in _sent_role; check them.
    if (set(c for c in _spec.SENT_TERMINATORS if c >= LOWER_LIMIT) != {0x2026}
            or set(_spec.SENT_HARD_TERMINATORS) != {0x3002, 0xFF01, 0xFF1F}
            or set(c for c in _spec.SENT_CLOSERS if c >= LOWER_LIMIT) != {0x201D, 0x2019, 0x300D, 0x300F}
            or any(c >= LOWER_LIMIT for c in _spec.SENT_SPACES)):
        raise RuntimeError("agentcore.kernels.textspec sentence sets changed; update _sent_role")


_init_tables()


cdef inline uint64_t _fmix64(uint64_t h) noexcept nogil:
    h ^= h >> 33
    h *= 0xFF51AFD7ED558CCDULL
    h ^= h >> 33
    h *= 0xC4CEB9FE1A85EC53ULL
    h ^= h >> 33
    return h


cdef inline Py_ssize_t _decode(const uint8_t* s, Py_ssize_t i, Py_ssize_t n, uint32_t* cp) noexcept nogil:
    """Length of the valid UTF-8 sequence at s[i] (its code point in cp), or 0 if invalid.

    Strict like Python's decoder (no overlongs, surrogates or values above U+10FFFF), so skipping
    one byte on 0 finds the same valid characters that bytes.decode('utf-8', 'replace') keeps.
    """
    cdef uint8_t c = s[i], c1, c2, c3
    if c < 0x80:
        cp[0] = c
        return 1
    if c < 0xC2:
        return 0
    if c < 0xE0:
        if i + 1 >= n:
            return 0
        c1 = s[i + 1]
        if (c1 & 0xC0) != 0x80:
            return 0
        cp[0] = ((c & 0x1F) << 6) | (c1 & 0x3F)
        return 2
    if c < 0xF0:
        if i + 2 >= n:
            return 0
        c1 = s[i + 1]
        c2 = s[i + 2]
        if (c1 & 0xC0) != 0x80 or (c2 & 0xC0) != 0x80:
            return 0
        if (c == 0xE0 and c1 < 0xA0) or (c == 0xED and c1 > 0x9F):
            return 0
        cp[0] = ((c & 0x0F) << 12) | ((c1 & 0x3F) << 6) | (c2 & 0x3F)
        return 3
    if c < 0xF5:
        if i + 3 >= n:
            return 0
        c1 = s[i + 1]
        c2 = s[i + 2]
        c3 = s[i + 3]
        if (c1 & 0xC0) != 0x80 or (c2 & 0xC0) != 0x80 or (c3 & 0xC0) != 0x80:
            return 0
        if (c == 0xF0 and c1 < 0x90) or (c == 0xF4 and c1 > 0x8F):
            return 0
        cp[0] = ((c & 0x07) << 18) | ((c1 & 0x3F) << 12) | ((c2 & 0x3F) << 6) | (c3 & 0x3F)
        return 4
    return 0


cdef inline bint _is_stopword(uint64_t h) noexcept nogil:
    cdef Py_ssize_t j = h & (STOP_SLOTS - 1)
    while _stop_table[j]:
        if _stop_table[j] == h:
            return True
        j = (j + 1) & (STOP_SLOTS - 1)
    return False


cdef inline bint _in_set(const uint64_t* table, Py_ssize_t n, uint64_t h) noexcept nogil:
    cdef Py_ssize_t lo = 0, hi = n, mid
    while lo < hi:
        mid = (lo + hi) >> 1
        if table[mid] < h:
            lo = mid + 1
        else:
            hi = mid
    return lo < n and table[lo] == h


cdef struct TokOut:
    uint64_t* ids
    uint8_t* flags
    int64_t* starts
    Py_ssize_t n
    Py_ssize_t cap
    uint8_t* norm       # sized by the caller: every input byte plus one per document
    Py_ssize_t norm_len
    bint spans
    bint oom


cdef int _grow(TokOut* o) noexcept nogil:
    cdef Py_ssize_t cap = o.cap * 2 + 4096
    cdef void* p
    p = realloc(o.ids, cap * sizeof(uint64_t))
    if p == NULL:
        return -1
    o.ids = <uint64_t*>p
    p = realloc(o.flags, cap)
    if p == NULL:
        return -1
    o.flags = <uint8_t*>p
    if o.spans:
        p = realloc(o.starts, cap * sizeof(int64_t))
        if p == NULL:
            return -1
        o.starts = <int64_t*>p
    o.cap = cap
    return 0


cdef inline void _emit(TokOut* o, uint64_t h, Py_ssize_t ncp, Py_ssize_t nbytes, bint digits,
                       Py_ssize_t norm_start) noexcept nogil:
    cdef uint8_t f = 0
    if o.n == o.cap and _grow(o) != 0:
        o.oom = True
        return
    h = _fmix64(h)
    if nbytes <= _stop_max_bytes and _is_stopword(h):
        f |= _flag_stop
    if ncp < _kw_min or ncp > _kw_max or digits:
        f |= _flag_nokey
    o.ids[o.n] = h
    o.flags[o.n] = f
    if o.spans:
        o.starts[o.n] = norm_start
        o.norm[o.norm_len] = 0x20
        o.norm_len += 1
    o.n += 1


cdef void _tokenize(const uint8_t* s, Py_ssize_t n, TokOut* o) noexcept nogil:
    cdef Py_ssize_t i = 0, L, j, ncp = 0, nbytes = 0, norm_start = 0
    cdef uint32_t cp = 0, lc
    cdef uint64_t h = FNV_OFFSET
    cdef bint in_tok = False, digits = True
    cdef uint8_t buf[4]
    cdef uint8_t c
    cdef const uint8_t* src
    cdef int m
    while i < n:
        c = s[i]
        if c < 0x80 and _ascii_word[c]:
            # ASCII fast path: most of most pages
            if not in_tok:
                in_tok = True
                h = FNV_OFFSET
                ncp = 0
                nbytes = 0
                digits = True
                norm_start = o.norm_len
            c = _ascii_lower[c]
            h = (h ^ c) * FNV_PRIME
            if o.spans:
                o.norm[o.norm_len] = c
                o.norm_len += 1
            nbytes += 1
            ncp += 1
            digits = digits and 0x30 <= c <= 0x39
            i += 1
            continue
        L = _decode(s, i, n, &cp)
        if L == 0 or not _is_word(cp):
            if in_tok:
                _emit(o, h, ncp, nbytes, digits, norm_start)
                if o.oom:
                    return
                in_tok = False
            i += 1 if L == 0 else L
            continue
        if not in_tok:
            in_tok = True
            h = FNV_OFFSET
            ncp = 0
            nbytes = 0
            digits = True
            norm_start = o.norm_len
        lc = _lower[cp] if cp < LOWER_LIMIT else cp
        if lc != cp:
            m = utf8_encode(lc, buf)
            src = buf
        else:
            m = <int>L
            src = s + i
        for j in range(m):
            h = (h ^ src[j]) * FNV_PRIME
        if o.spans:
            memcpy(o.norm + o.norm_len, src, m)
            o.norm_len += m
        nbytes += m
        ncp += 1
        digits = digits and 0x30 <= cp <= 0x39
        i += L
    if in_tok:
        _emit(o, h, ncp, nbytes, digits, norm_start)


cdef object _utf8(object text, str what):
    """UTF-8 bytes for ``text``; ASCII str is read in place (no copy)."""
    if isinstance(text, bytes):
        return text
    if isinstance(text, str):
        if (<str>text).isascii():
            return text
        # surrogatepass: a lone surrogate becomes 3 bytes the strict decoder rejects, i.e. a
        # separator, as the pure twin treats it.
        return (<str>text).encode("utf-8", "surrogatepass")
    if isinstance(text, (bytearray, memoryview)):
        return bytes(text)
    raise TypeError(f"{what} must be str or bytes, got {type(text).__name__}")


cdef inline const uint8_t* _ptr(object data, Py_ssize_t* size) except? NULL:
    if isinstance(data, bytes):
        size[0] = PyBytes_GET_SIZE(data)
        return <const uint8_t*>PyBytes_AS_STRING(data)
    return <const uint8_t*>PyUnicode_AsUTF8AndSize(data, size)


cdef tuple _run(list docs, bint spans):
    """Tokenize UTF-8 documents (bytes or ASCII str) in one nogil block."""
    cdef Py_ssize_t nd = len(docs), d, total = 0
    cdef const uint8_t** ptrs = <const uint8_t**>malloc((nd + 1) * sizeof(uint8_t*))
    cdef Py_ssize_t* lens = <Py_ssize_t*>malloc((nd + 1) * sizeof(Py_ssize_t))
    cdef array offsets = clone(array("q"), nd + 1, False)
    cdef int64_t* off = <int64_t*>offsets.data.as_voidptr
    cdef TokOut o
    memset(&o, 0, sizeof(TokOut))
    o.spans = spans
    try:
        if ptrs == NULL or lens == NULL:
            raise MemoryError()
        for d in range(nd):
            ptrs[d] = _ptr(docs[d], &lens[d])
            total += lens[d]
        # Worst case is one token per two bytes; start smaller and grow on demand.
        o.cap = total // 6 + 16
        o.ids = <uint64_t*>malloc(o.cap * sizeof(uint64_t))
        o.flags = <uint8_t*>malloc(o.cap)
        if spans:
            o.starts = <int64_t*>malloc(o.cap * sizeof(int64_t))
            o.norm = <uint8_t*>malloc(total + nd + 1)
        if o.ids == NULL or o.flags == NULL or (spans and (o.starts == NULL or o.norm == NULL)):
            raise MemoryError()
        with nogil:
            off[0] = 0
            for d in range(nd):
                _tokenize(ptrs[d], lens[d], &o)
                if o.oom:
                    break
                off[d + 1] = o.n
        if o.oom:
            raise MemoryError("out of memory while tokenizing")
        # Free each C buffer as soon as it is copied: peak memory is the C buffers plus one copy.
        ids = clone(array("Q"), o.n, False)
        if o.n:
            memcpy((<array>ids).data.as_voidptr, o.ids, o.n * sizeof(uint64_t))
        free(o.ids)
        o.ids = NULL
        starts = clone(array("q"), o.n if spans else 0, False)
        if spans and o.n:
            memcpy((<array>starts).data.as_voidptr, o.starts, o.n * sizeof(int64_t))
        free(o.starts)
        o.starts = NULL
        flags = PyBytes_FromStringAndSize(<char*>o.flags, o.n)
        free(o.flags)
        o.flags = NULL
        norm = PyBytes_FromStringAndSize(<char*>o.norm, o.norm_len) if spans else b""
        return ids, offsets, flags, starts, norm
    finally:
        free(ptrs)
        free(lens)
        free(o.ids)
        free(o.flags)
        free(o.starts)
        free(o.norm)


def tokenize(text, *, stopwords=True):
    """Hashed 64-bit ids (``array('Q')``) of the normalised words of ``text`` (str or UTF-8 bytes).

    ``stopwords=False`` drops the built-in English stopwords. View with
    ``numpy.frombuffer(ids, dtype=numpy.uint64)``.
    """
    ids, _, flags, _, _ = _run([_utf8(text, "text")], False)
    if stopwords:
        return ids
    cdef array out = array("Q")
    cdef Py_ssize_t i
    cdef const uint8_t* f = <const uint8_t*>PyBytes_AS_STRING(flags)
    for i in range(len(ids)):
        if not (f[i] & _flag_stop):
            out.append(ids[i])
    return out


def words(text, *, stopwords=True):
    """The normalised (lowercased) words of ``text`` as a list of str, in order."""
    ids, _, flags, _, norm = _run([_utf8(text, "text")], True)
    toks = (<bytes>norm).decode("utf-8").split(" ")
    toks.pop()      # the text after the last token's trailing space is empty
    if stopwords:
        return toks
    return [t for t, f in zip(toks, flags) if not (f & _flag_stop)]


def hash_word(word):
    """The id :func:`tokenize` gives ``word`` (its first word after normalisation); 0 if none."""
    ids, _, _, _, _ = _run([_utf8(word, "word")], False)
    return ids[0] if len(ids) else 0


def tokenize_batch(texts, *, spans=True):
    """Tokenize many documents at once into flat arrays (the layout the similarity kernels take).

    Returns ``(ids, doc_offsets, flags, starts, norm)``: ``ids`` (``array('Q')``) holds every
    document's token ids back to back and document ``d`` owns ``ids[doc_offsets[d]:doc_offsets[d+1]]``
    (``array('q')``, length ``len(texts) + 1``); ``flags`` (bytes, one per token) has bit 1 for a
    stopword and bit 2 for a token that cannot be a keyword. With ``spans=True``, ``norm`` is the
    UTF-8 of every normalised token followed by one space and ``starts[t]`` (``array('q')``) is
    where token ``t`` begins in it; with ``spans=False`` both are empty. The whole batch runs
    without the GIL.
    """
    if isinstance(texts, (str, bytes, bytearray)) or not hasattr(texts, "__len__"):
        raise TypeError(
            f"texts must be a list of str or bytes, got {type(texts).__name__}; "
            "wrap a single document as [text]")
    docs = []
    for t in texts:
        if type(t) is bytes or (type(t) is str and (<str>t).isascii()):
            docs.append(t)
        else:
            docs.append(_utf8(t, f"texts[{len(docs)}]"))
    return _run(docs, spans)


# ---- sentences -------------------------------------------------------------------------------

cdef inline uint8_t _sent_role(uint32_t cp) noexcept nogil:
    if cp < LOWER_LIMIT:
        return _sent_kind[cp]
    if cp == 0x2026:
        return K_TERM
    if cp == 0x3002 or cp == 0xFF01 or cp == 0xFF1F:
        return K_HARD
    if cp == 0x201D or cp == 0x2019 or cp == 0x300D or cp == 0x300F:
        return K_CLOSER
    return K_OTHER


cdef struct SentOut:
    uint8_t* buf       # collapsed text; never longer than the input
    Py_ssize_t len
    int64_t* bounds    # (start, end) pairs into buf
    Py_ssize_t n
    Py_ssize_t cap
    bint oom
    # the word that ends at the last kept character
    Py_ssize_t word_cps
    uint32_t word_first
    Py_ssize_t word_start   # where that word begins in buf
    Py_ssize_t cur_start


cdef inline void _s_append(SentOut* o, const uint8_t* src, Py_ssize_t L, uint32_t cp,
                           bint valid) noexcept nogil:
    if L == 1:
        o.buf[o.len] = src[0]
    else:
        memcpy(o.buf + o.len, src, L)
    if valid and _is_word(cp):
        if o.word_cps == 0:
            o.word_first = cp
            o.word_start = o.len
        o.word_cps += 1
    else:
        o.word_cps = 0
    o.len += L


cdef uint64_t _word_hash(const uint8_t* s, Py_ssize_t a, Py_ssize_t b) noexcept nogil:
    """Token id of the (valid UTF-8) word s[a:b], lowercased as the tokenizer does."""
    cdef uint64_t h = FNV_OFFSET
    cdef uint32_t cp = 0, lc
    cdef uint8_t buf[4]
    cdef Py_ssize_t L
    cdef int m, j
    while a < b:
        L = _decode(s, a, b, &cp)
        if L == 0:
            L = 1
            cp = s[a]
        lc = _lower[cp] if cp < LOWER_LIMIT else cp
        m = utf8_encode(lc, buf)
        for j in range(m):
            h = (h ^ buf[j]) * FNV_PRIME
        a += L
    return _fmix64(h)


cdef inline void _s_flush(SentOut* o) noexcept nogil:
    cdef void* p
    cdef Py_ssize_t cap
    if o.len > o.cur_start:
        if o.n == o.cap:
            cap = o.cap * 2 + 64
            p = realloc(o.bounds, cap * 2 * sizeof(int64_t))
            if p == NULL:
                o.oom = True
                return
            o.bounds = <int64_t*>p
            o.cap = cap
        o.bounds[2 * o.n] = o.cur_start
        o.bounds[2 * o.n + 1] = o.len
        o.n += 1
    o.cur_start = o.len
    o.word_cps = 0


cdef void _split(const uint8_t* s, Py_ssize_t n, SentOut* o) noexcept nogil:
    cdef Py_ssize_t i = 0, L, run, closers, before_cps
    cdef uint32_t cp = 0, c2 = 0, before_first
    cdef uint64_t before_h
    cdef uint8_t role, r2
    cdef bint pending = False, valid
    cdef uint8_t space = 0x20
    while i < n and not o.oom:
        if s[i] < 0x80:
            cp = s[i]
            L = 1
            valid = True
            role = _sent_kind[cp]
            if role == K_OTHER:        # ASCII letters, digits, most punctuation
                if pending:
                    _s_append(o, &space, 1, 0x20, True)
                    pending = False
                _s_append(o, s + i, 1, cp, True)
                i += 1
                continue
        else:
            L = _decode(s, i, n, &cp)
            valid = L > 0
            if not valid:
                L = 1      # a byte of a lone surrogate from a str: kept as is, decoded back later
                cp = 0xFFFD
            role = _sent_role(cp) if valid else K_OTHER
        if role == K_BREAK:
            _s_flush(o)
            pending = False
            i += L
            continue
        if role == K_SPACE:
            if o.len > o.cur_start:
                pending = True
            i += L
            continue
        if pending:
            _s_append(o, &space, 1, 0x20, True)
            pending = False
        if role == K_HARD:
            _s_append(o, s + i, L, cp, True)
            i += L
            while i < n:
                L = _decode(s, i, n, &c2)
                if L == 0 or _sent_role(c2) != K_CLOSER:
                    break
                _s_append(o, s + i, L, c2, True)
                i += L
            _s_flush(o)
            continue
        if role == K_TERM:
            before_cps = o.word_cps
            before_first = o.word_first
            # Only words as short as the longest abbreviation need their id: hashing here, not
            # on every appended character, keeps the common path a byte copy.
            before_h = (_word_hash(o.buf, o.word_start, o.len)
                        if 1 < before_cps <= _abbrev_max_cps else 0)
            _s_append(o, s + i, L, cp, True)
            i += L
            run = 1
            while i < n:
                L = _decode(s, i, n, &c2)
                if L == 0 or _sent_role(c2) != K_TERM:
                    break
                _s_append(o, s + i, L, c2, True)
                i += L
                run += 1
            closers = 0
            while i < n:
                L = _decode(s, i, n, &c2)
                if L == 0 or _sent_role(c2) != K_CLOSER:
                    break
                _s_append(o, s + i, L, c2, True)
                i += L
                closers += 1
            if i < n:
                L = _decode(s, i, n, &c2)
                r2 = _sent_role(c2) if L > 0 else K_OTHER
                if r2 != K_SPACE and r2 != K_BREAK:
                    continue
            if (cp == 0x2E and run == 1 and closers == 0 and before_cps > 0
                    and ((before_cps == 1 and not (0x30 <= before_first <= 0x39))
                         or _in_set(_abbrev, _n_abbrev, before_h))):
                continue
            _s_flush(o)
            continue
        _s_append(o, s + i, L, cp, valid)
        i += L
    _s_flush(o)


def split_sentences(text):
    """Split ``text`` into sentences (list of str), whitespace runs collapsed to one space.

    A sentence ends at a newline; after ``.``/``!``/``?``/``…`` (and any closing quotes or
    brackets) that is followed by whitespace or the end; and right after ``。``/``！``/``？``.
    A single ``.`` after a one-letter word (an initial) or a known abbreviation (``Mr``, ``Dr``,
    ``Jan``...) does not end one.
    """
    if isinstance(text, (bytes, bytearray, memoryview)):
        text = bytes(text).decode("utf-8", "replace")
    elif not isinstance(text, str):
        raise TypeError(f"text must be str or bytes, got {type(text).__name__}")
    data = _utf8(text, "text")
    cdef Py_ssize_t n = 0
    cdef const uint8_t* s = _ptr(data, &n)
    cdef SentOut o
    memset(&o, 0, sizeof(SentOut))
    o.buf = <uint8_t*>malloc(n + 1)
    if o.buf == NULL:
        raise MemoryError()
    cdef Py_ssize_t k
    try:
        with nogil:
            _split(s, n, &o)
        if o.oom:
            raise MemoryError("out of memory while splitting sentences")
        buf = PyBytes_FromStringAndSize(<char*>o.buf, o.len)
        return [(<bytes>buf)[o.bounds[2 * k]:o.bounds[2 * k + 1]].decode("utf-8", "surrogatepass")
                for k in range(o.n)]
    finally:
        free(o.buf)
        free(o.bounds)
