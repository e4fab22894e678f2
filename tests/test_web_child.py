"""The local web's child process ends with its parent, however it dies (kill -9 included)."""

import os
import select
import signal
import subprocess
import sys
import textwrap
import time

import pytest

pytestmark = pytest.mark.skipif(os.name != "posix", reason="kills processes with POSIX signals")

# A correctness bound, not a speed target: the child normally goes within about a second.
GONE_WITHIN_S = 20.0

# The parent: starts a small ProcessServer, prints what the test needs, then waits to be killed.
PARENT = textwrap.dedent("""
    import os, sys, threading, time
    from agentcore.web.server import ProcessServer

    how = sys.argv[1]
    server = ProcessServer(n_sites=3, pages_per_site=(2, 3), hostile=False, warm=False)
    if how == "main":
        server.start()
    else:  # from a thread that ends: Linux's parent-death signal would fire right then
        t = threading.Thread(target=server.start)
        t.start()
        t.join()
        time.sleep(1.5)
        server.stats()  # still serving after its starting thread ended
    held_by = 0
    if how == "thread+fork":
        # A forked child inherits our end of the child's stdin pipe and keeps it open, so
        # only polling the parent id can tell the server that we died.
        held_by = os.fork()
        if held_by == 0:
            time.sleep(600)
            os._exit(0)
    print(server.pid, held_by, flush=True)
    time.sleep(600)
""")


def _readline(proc: subprocess.Popen, timeout: float) -> str:
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    return proc.stdout.readline() if ready else ""


def _alive(pid: int) -> bool:
    """True while pid is a running process (an unreaped zombie counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False
    except OSError:
        pass  # no /proc: ask the kernel instead
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _wait_gone(pid: int, within: float = GONE_WITHIN_S) -> bool:
    deadline = time.monotonic() + within
    while _alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


@pytest.mark.parametrize("how", ["main", "thread", "thread+fork"])
def test_child_ends_when_its_parent_is_killed_with_sigkill(how):
    parent = subprocess.Popen([sys.executable, "-c", PARENT, how], stdout=subprocess.PIPE,
                              stdin=subprocess.DEVNULL, text=True)
    child = held_by = 0
    try:
        line = _readline(parent, 60.0)
        assert line.strip(), f"the parent did not start its ProcessServer (exit {parent.poll()})"
        child, held_by = map(int, line.split())
        assert _alive(child)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(10)
        assert _wait_gone(child), f"local web child {child} outlived its SIGKILLed parent"
    finally:
        for pid in (parent.pid, child, held_by):
            if pid:
                _kill(pid)
        parent.wait(10)
        parent.stdout.close()


def _serve(*lifeline: str) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "agentcore.web", "--sites", "1", "--pages", "1", "1",
           "--no-hostile", *lifeline]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stdin=subprocess.PIPE, text=True)


def test_child_whose_parent_is_already_gone_ends_at_once():
    # The race prctl leaves open: the parent died before the child asked for the signal, so
    # the child was already handed to another parent. Here it never was the child of PID 1.
    proc = _serve("--parent", "1")
    try:
        assert proc.wait(GONE_WITHIN_S) == -signal.SIGTERM
        assert proc.stdout.read() == ""  # it never served
    finally:
        proc.kill()
        proc.wait()
        proc.stdin.close()
        proc.stdout.close()


def test_child_ends_when_its_stdin_pipe_closes():
    # The portable way, alone: no parent-death signal, and the parent (this process) lives.
    proc = _serve("--parent", str(os.getpid()), "--no-deathsig")
    try:
        assert _readline(proc, 60.0).strip().isdigit()  # serving
        proc.stdin.close()
        assert proc.wait(GONE_WITHIN_S) == 0  # a graceful stop, as on SIGTERM
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux only")
def test_parent_death_signal_is_set_on_linux():
    code = textwrap.dedent("""
        import ctypes, signal
        from agentcore.web.lifeline import set_parent_death_signal
        assert set_parent_death_signal(signal.SIGTERM)
        got = ctypes.c_int()
        ctypes.CDLL(None).prctl(2, ctypes.byref(got), 0, 0, 0)  # PR_GET_PDEATHSIG
        print(got.value)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout) == signal.SIGTERM
