"""Gzip-bomb arithmetic: a valid gzip stream of gigabytes of zeros, built in milliseconds."""

from __future__ import annotations

import zlib


def crc32_zeros(n: int) -> int:
    """CRC-32 of n zero bytes in O(log n), by zlib's crc32_combine matrix method."""

    def times(mat: list[int], vec: int) -> int:
        s, i = 0, 0
        while vec:
            if vec & 1:
                s ^= mat[i]
            vec >>= 1
            i += 1
        return s

    def square(mat: list[int]) -> list[int]:
        return [times(mat, mat[k]) for k in range(32)]

    def combine(crc1: int, crc2: int, len2: int) -> int:
        if len2 == 0:
            return crc1
        odd = [0xEDB88320] + [1 << (k - 1) for k in range(1, 32)]
        even = square(odd)
        odd = square(even)
        while True:
            even = square(odd)
            if len2 & 1:
                crc1 = times(even, crc1)
            len2 >>= 1
            if not len2:
                break
            odd = square(even)
            if len2 & 1:
                crc1 = times(odd, crc1)
            len2 >>= 1
            if not len2:
                break
        return crc1 ^ crc2

    block = 1 << 16
    crc_block = zlib.crc32(bytes(block))
    crc, done = 0, 0
    while done + block <= n:
        # Double the run of zeros while it fits, so the loop runs O(log n) times.
        run, crc_run = block, crc_block
        while done + 2 * run <= n:
            crc_run = combine(crc_run, crc_run, run)
            run *= 2
        crc = combine(crc, crc_run, run)
        done += run
    return combine(crc, zlib.crc32(bytes(n - done)), n - done)


_BOMB_CACHE: dict[int, bytes] = {}


def gzip_bomb(inflated: int = 2 << 30) -> bytes:
    """A valid gzip stream of `inflated` zero bytes, about inflated/1000 bytes long.

    Built from one compressed 1 MiB block repeated: after a full flush deflate forgets its
    window, so every block compresses to the same bytes and the bomb costs milliseconds.
    """
    if inflated in _BOMB_CACHE:
        return _BOMB_CACHE[inflated]
    chunk = 1 << 20
    if inflated % chunk:
        raise ValueError(f"gzip bomb size must be a multiple of 1 MiB, got {inflated}")
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = comp.compress(bytes(chunk)) + comp.flush(zlib.Z_FULL_FLUSH)
    again = comp.compress(bytes(chunk)) + comp.flush(zlib.Z_FULL_FLUSH)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    final_empty_block = b"\x03\x00"
    trailer = crc32_zeros(inflated).to_bytes(4, "little") + (inflated % (1 << 32)).to_bytes(
        4, "little"
    )
    bomb = header + first + again * (inflated // chunk - 1) + final_empty_block + trailer
    _BOMB_CACHE[inflated] = bomb
    return bomb
