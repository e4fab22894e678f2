"""Slots for one event loop: a FIFO counting semaphore whose acquire and release cost O(1).

The fetcher bounds connections in all and requests per host with it. ``asyncio.Semaphore``
(Python 3.11) scans every waiter on each acquire while any wait: with a thousand fetches queued
on 256 connections that scan was about 5% of the fetcher's CPU.

>>> import asyncio
>>> async def demo():
...     slots = Slots(1)
...     async with slots:
...         return slots.free
>>> asyncio.run(demo())
0
"""
from __future__ import annotations

import asyncio
from collections import deque

__all__ = ["Slots"]


class Slots:
    """``n`` slots; ``async with slots:`` holds one. A release hands its slot straight to the
    oldest live waiter, so slots are free only while nobody waits and taking a free one is a
    decrement; a waiter cancelled after being handed a slot passes it on."""

    __slots__ = ("free", "waiters")

    def __init__(self, n: int):
        self.free = n
        self.waiters: deque[asyncio.Future] = deque()

    async def __aenter__(self) -> None:
        if self.free > 0:
            self.free -= 1
            return
        await self.wait()

    def take(self) -> bool:
        """Take a free slot now if there is one (then ``release`` it); on False, ``await
        wait()``. Together they are ``async with`` without its two coroutines per use."""
        if self.free > 0:
            self.free -= 1
            return True
        return False

    async def wait(self) -> None:
        """Wait for a slot (after ``take`` said False); it is held when this returns."""
        fut = asyncio.get_running_loop().create_future()
        self.waiters.append(fut)
        try:
            await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():
                self.release()  # handed a slot while being cancelled: pass it on
            raise

    async def __aexit__(self, *exc) -> None:
        self.release()

    def release(self) -> None:
        waiters = self.waiters
        while waiters:
            fut = waiters.popleft()
            if not fut.done():  # a cancelled waiter has left
                fut.set_result(None)
                return
        self.free += 1
