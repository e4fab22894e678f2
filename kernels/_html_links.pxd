# The HTML extractor's links: hrefs resolved against the page URL and <base>, normalized,
# de-duplicated in page order and split into internal (same site) and external.
from libc.stdint cimport int64_t, uint8_t, uint64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcmp, memcpy

from kernels._html_bytes cimport (
    Buf, buf_add, buf_byte, buf_reserve, eq_lower, is_alnum, is_alpha, lower,
)
from kernels._html_entities cimport decode_ref
from kernels._html_tree cimport Ctx


cdef struct UrlParts:
    int64_t scheme_end   # index of ':'
    int64_t auth_start
    int64_t auth_end
    int64_t path_end     # index of '?' or '#' or end
    int64_t query_end    # index of '#' or end


cdef inline bint split_url(const uint8_t* u, int64_t n, UrlParts* r) noexcept nogil:
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


cdef inline int normalize(const uint8_t* u, int64_t n, Buf* out) noexcept nogil:
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


cdef inline int64_t resolve(const uint8_t* base, int64_t bn, const uint8_t* h, int64_t hn,
                            Buf* tmp, Buf* out) noexcept nogil:
    """Append href h resolved against normal-form base (bn 0: none) to out; <0 if skipped."""
    cdef int64_t j
    cdef UrlParts r
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


cdef inline void host_of(const uint8_t* u, int64_t n, int64_t* hs, int64_t* he) noexcept nogil:
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


cdef inline bint same_site(const uint8_t* x, int64_t xs, int64_t xe,
                           const uint8_t* y, int64_t ys, int64_t ye) noexcept nogil:
    cdef int64_t xl = xe - xs, yl = ye - ys
    if xl == 0 or yl == 0:
        return False
    if xl == yl:
        return memcmp(x + xs, y + ys, xl) == 0
    if xl > yl:
        return x[xe - yl - 1] == 46 and memcmp(x + xe - yl, y + ys, yl) == 0
    return y[ye - xl - 1] == 46 and memcmp(y + ye - xl, x + xs, xl) == 0


cdef inline uint64_t fnv64(const uint8_t* p, int64_t n) noexcept nogil:
    cdef uint64_t h = 14695981039346656037u
    cdef int64_t i
    for i in range(n):
        h = (h ^ p[i]) * 1099511628211u
    return h


cdef inline int links(Ctx* c, const uint8_t* given, int64_t gn, Buf* internal,
                      Buf* external) noexcept nogil:
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


cdef inline int clean_href(const uint8_t* s, int64_t off, int64_t n, Buf* out,
                           bint refs) noexcept nogil:
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
