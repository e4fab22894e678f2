"""wait_for: poll a condition until it holds or a timeout passes (tests of threads and servers)."""
from __future__ import annotations

import time
from typing import Callable


def wait_for(pred: Callable[[], bool], timeout: float = 60.0, every: float = 0.01) -> bool:
    """True as soon as ``pred()`` is true; False if it is still false after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(every)
    return False
