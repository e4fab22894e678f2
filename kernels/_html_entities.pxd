# Character references of the HTML extractor: named (html_rules.ENTITIES), numeric, legacy.
from libc.stdint cimport int64_t, uint8_t, uint32_t
from libc.string cimport memcmp, memcpy

from kernels._utf8 cimport utf8_encode
from kernels._html_bytes cimport Buf, buf_reserve, is_alnum, is_space
from kernels._html_tables cimport CP1252, ENT_NAME, ENT_NLEN, ENT_VAL, ENT_VLEN, MAX_TAG_NAME, NENT


cdef inline int entity_find(const uint8_t* name, int n) noexcept nogil:
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


cdef inline int64_t decode_ref(const uint8_t* s, int64_t i, int64_t n, bint attr,
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


cdef inline int decode_attr(const uint8_t* s, int64_t off, int64_t length, Buf* out) noexcept nogil:
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
