# UTF-8 helpers shared by the compiled kernels (cimported; inline, so no module of its own).
from libc.stdint cimport uint8_t, uint32_t


cdef inline int utf8_encode(uint32_t cp, uint8_t* out) noexcept nogil:
    """Write code point ``cp`` as UTF-8 into ``out`` (room for 4 bytes); returns the length."""
    if cp < 0x80:
        out[0] = cp
        return 1
    if cp < 0x800:
        out[0] = 0xC0 | (cp >> 6)
        out[1] = 0x80 | (cp & 0x3F)
        return 2
    if cp < 0x10000:
        out[0] = 0xE0 | (cp >> 12)
        out[1] = 0x80 | ((cp >> 6) & 0x3F)
        out[2] = 0x80 | (cp & 0x3F)
        return 3
    out[0] = 0xF0 | (cp >> 18)
    out[1] = 0x80 | ((cp >> 12) & 0x3F)
    out[2] = 0x80 | ((cp >> 6) & 0x3F)
    out[3] = 0x80 | (cp & 0x3F)
    return 4
