"""Shared pytest fixtures; each section belongs to one area (add yours in a new section)."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))  # so tests can `import pg`
# A missing or broken build must fail the tests, never pass them as the pure twin (kernels.pick).
os.environ.setdefault("AGENTCORE_REQUIRE_EXTENSIONS", "1")


# ------------------------------------------------------------------ kernels: compiled and pure twins
# The one fixture pattern for twins (multidict's): `impl` is "compiled" or "pure" (ids c / py);
# every test of a kernel or of code built on one takes it and passes it to `agentcore.kernels.twin`
# (or to `Swarm(..., kernels=impl)` / `Corpus(kernels=impl)`), so each such test runs on both.
# The compiled half carries the `compiled` marker: `-m "not compiled"` runs the pure half alone.

@pytest.fixture(scope="session", params=[
    pytest.param("compiled", id="c", marks=pytest.mark.compiled),
    pytest.param("pure", id="py"),
])
def impl(request) -> str:
    return request.param


# ------------------------------------------------------------------ store: PostgreSQL + SQLite
# pg_server / pg_url: one real PostgreSQL server per test session (tests/pg.py), stopped at the
# end. If it cannot start, every test using it FAILS with the reason (never skips): `./dev test`
# installs the server, so a missing one is a broken setup, not an optional feature.
# db_url: parametrized over both backends; a fresh SQLite file or a fresh PostgreSQL database
# per test, so the same test body runs against both stores.

@pytest.fixture(scope="session")
def pg_server():
    import pg
    url = os.environ.get("AGENTCORE_TEST_PG_URL")
    if url:
        yield pg.ExternalPostgres(url)
        return
    server = pg.PostgresServer()
    try:
        server.start()
    except (pg.PostgresUnavailable, OSError, subprocess.SubprocessError) as exc:
        pytest.fail(f"the test PostgreSQL server did not start: {exc}", pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def pg_url(pg_server) -> str:
    """The url of the session's PostgreSQL server (its `postgres` database)."""
    return pg_server.url


@pytest.fixture
def pg_db_url(pg_server):
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    url = pg_server.create_database()
    yield url
    pg_server.drop_database(url)


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request, tmp_path):
    """A fresh store location for one test: a SQLite file path, or a PostgreSQL database url."""
    if request.param == "sqlite":
        yield str(tmp_path / "store.db")
    else:
        yield request.getfixturevalue("pg_db_url")


# ------------------------------------------------------------------ web: no orphaned web children
# A ProcessServer child must end with its parent (agentcore/web/lifeline.py), even when a test
# kills the parent with SIGKILL. At the end of the session, any `agentcore.web` process started
# during it that is still running but no longer below this pytest process (handed to PID 1 or
# another reaper) fails the run, and is killed so the next run starts clean. The session's own
# processes carry an environment token their children inherit, so processes from earlier runs or
# from other people's runs on the same machine never count.

os.environ.setdefault("AGENTCORE_TEST_SESSION", str(os.getpid()))
_WEB_SESSION_TOKEN = f"AGENTCORE_TEST_SESSION={os.environ['AGENTCORE_TEST_SESSION']}"


def _proc_table() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, command line) of every running process, from /proc (empty elsewhere)."""
    table = {}
    for name in os.listdir("/proc") if os.path.isdir("/proc") else ():
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{name}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, ValueError, IndexError):
            continue  # ended while we looked
        table[int(name)] = (ppid, cmdline)
    return table


def _orphaned_web_processes(before: set[int]) -> dict[int, str]:
    table = _proc_table()

    def below_us(pid: int) -> bool:
        while pid > 1:
            pid = table.get(pid, (0, ""))[0]
            if pid == os.getpid():
                return True
        return False

    def ours(pid: int) -> bool:
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                return _WEB_SESSION_TOKEN.encode() in f.read().split(b"\0")
        except OSError:
            return False

    return {pid: cmd for pid, (_, cmd) in table.items()
            if ("agentcore.web" in cmd or "agentcore.crawl.curl_proc" in cmd)
            and pid not in before and not below_us(pid) and ours(pid)}


@pytest.fixture(scope="session", autouse=True)
def no_orphaned_web_processes():
    import signal
    import time

    before = set(_proc_table())
    yield
    deadline = time.monotonic() + 15.0  # a just-orphaned child is still stopping gracefully
    while (leaked := _orphaned_web_processes(before)) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in leaked:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    if leaked:
        pytest.fail("local-web processes outlived their parent (see agentcore/web/lifeline.py): "
                    + "; ".join(f"{pid}: {cmd}" for pid, cmd in sorted(leaked.items())),
                    pytrace=False)
