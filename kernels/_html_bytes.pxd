# Byte classes and the growable byte buffer of the HTML extractor (cimported; inline, nogil).
from libc.stdint cimport int64_t, uint8_t
from libc.stdlib cimport realloc
from libc.string cimport memcpy


cdef struct Buf:  # p[:n] is the content; cap bytes are allocated (free(p) when done)
    uint8_t* p
    int64_t n
    int64_t cap


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


cdef inline int buf_reserve(Buf* b, int64_t extra) noexcept nogil:
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


cdef inline bint eq_lower(const uint8_t* s, int64_t off, int64_t n,
                          const char* word) noexcept nogil:
    """Whether s[off:off+n], lowered, is exactly ``word`` (lowercase, NUL-terminated)."""
    cdef int64_t i = 0
    while word[i] != 0:
        if i >= n or lower(s[off + i]) != word[i]:
            return False
        i += 1
    return i == n


cdef inline void buf_init(Buf* b) noexcept nogil:
    b.p = NULL
    b.n = 0
    b.cap = 0
