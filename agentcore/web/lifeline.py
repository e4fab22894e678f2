"""Tie a child process's life to its parent's, so a parent killed with SIGKILL leaves no child.

The parent starts the child with a pipe on its stdin and the flag `--parent PID`; the child calls
`end_with_parent(PID)` first thing. It then ends with SIGTERM (its normal, graceful stop) when
the parent dies, by three ways that cover each other's gaps:

- Linux: `prctl(PR_SET_PDEATHSIG, SIGTERM)`. It fires when the *thread* that started the child
  exits, so a parent that starts the child from another thread passes `deathsig=False`.
- Everywhere: end-of-file on stdin, as the kernel closes the parent's end of the pipe when the
  parent dies (a child the parent forked later may hold it open, hence the third way).
- POSIX: `os.getppid()` polled, as an orphan is handed to another parent (PID 1 or a reaper).
"""

from __future__ import annotations

import os
import signal
import stat
import sys
import threading
import time

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def set_parent_death_signal(sig: int = signal.SIGTERM) -> bool:
    """Ask Linux to send `sig` to this process when its parent's starting thread ends.

    Returns False where that is not available (other systems, no libc found), so callers fall
    back to watching the parent themselves.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def end_with_parent(parent_pid: int, deathsig: bool = True, poll_s: float = 1.0) -> None:
    """End this process with SIGTERM once process `parent_pid`, its parent, is gone."""
    if deathsig:
        set_parent_death_signal(signal.SIGTERM)
    # The parent may have died before prctl took effect: then nobody will send the signal.
    if os.getppid() != parent_pid:
        _terminate_self()
    fd = _stdin_pipe()
    if fd is not None:
        threading.Thread(target=_wait_for_eof, args=(fd,), name="agentcore-lifeline-pipe",
                         daemon=True).start()
    if os.name == "posix":
        threading.Thread(target=_poll_parent, args=(parent_pid, poll_s),
                         name="agentcore-lifeline-ppid", daemon=True).start()


def _stdin_pipe() -> int | None:
    # Only a pipe says anything about the parent; a terminal or /dev/null must not end us.
    try:
        fd = sys.stdin.fileno()
        return fd if stat.S_ISFIFO(os.fstat(fd).st_mode) else None
    except (AttributeError, OSError, ValueError):  # no stdin, or one without a descriptor
        return None


def _terminate_self() -> None:
    # SIGTERM, not an exit: the process stops the way `kill` stops it, handlers included.
    os.kill(os.getpid(), signal.SIGTERM)


def _wait_for_eof(fd: int) -> None:
    try:
        while os.read(fd, 4096):
            pass  # the parent writes nothing; anything it does write is ignored
    except OSError:
        pass  # a broken pipe is as good as an end of file
    _terminate_self()


def _poll_parent(parent_pid: int, poll_s: float) -> None:
    while os.getppid() == parent_pid:
        time.sleep(poll_s)
    _terminate_self()
