"""A throwaway PostgreSQL server for the tests: Debian's binaries, a temporary data directory.

``PostgresServer().start()`` runs initdb in a fresh temporary directory (as the ``postgres`` user
when we are root: initdb refuses to run as root), then starts the server on a free private port,
listening on 127.0.0.1 only, with its unix socket inside the temporary directory. ``stop()`` shuts
it down and deletes the directory. ``create_database()`` gives each test a fresh, empty database.

Set ``AGENTCORE_TEST_PG_URL=postgresql://...`` to use an existing server instead.
"""
from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid

INSTALL_HINT = ("install it with `./dev test` (which runs apt-get install postgresql) or "
                "`apt-get install postgresql`, or point AGENTCORE_TEST_PG_URL at a running server")


class PostgresUnavailable(RuntimeError):
    """The test PostgreSQL server could not be found or started."""


def find_bindir() -> str:
    """The newest /usr/lib/postgresql/<version>/bin that has initdb and pg_ctl."""
    found = [d for d in glob.glob("/usr/lib/postgresql/*/bin")
             if os.path.exists(os.path.join(d, "initdb")) and os.path.exists(os.path.join(d, "pg_ctl"))]
    if found:
        return max(found, key=lambda d: _version_key(d.split("/")[-2]))
    if os.geteuid() == 0 and shutil.which("apt-get"):
        # The same install `./dev test` does, for a plain `pytest` on a fresh Debian machine.
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True)
        r = subprocess.run(["apt-get", "install", "-y", "-q", "--no-install-recommends", "postgresql"],
                           env=env, capture_output=True, text=True)
        if r.returncode == 0:
            return find_bindir_no_install()
        raise PostgresUnavailable(f"apt-get install postgresql failed: {r.stderr[-2000:]}")
    raise PostgresUnavailable(f"no PostgreSQL server binaries under /usr/lib/postgresql/*/bin; {INSTALL_HINT}")


def find_bindir_no_install() -> str:
    found = glob.glob("/usr/lib/postgresql/*/bin/pg_ctl")
    if not found:
        raise PostgresUnavailable(f"PostgreSQL still missing after apt-get install; {INSTALL_HINT}")
    return os.path.dirname(max(found, key=lambda p: _version_key(p.split("/")[-3])))


def _version_key(v: str):
    return tuple(int(x) if x.isdigit() else 0 for x in v.split("."))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    """One private PostgreSQL server; use as a context manager or call start()/stop()."""

    def __init__(self, user: str = "postgres", bindir: str | None = None):
        self.user = user  # the database superuser name inside the cluster
        self.bindir = bindir or ""
        self.tmp = ""
        self.port = 0
        self.started = False

    @property
    def url(self) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/postgres"

    def url_for(self, dbname: str) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{dbname}"

    def _run(self, args: list[str], timeout: float = 120) -> subprocess.CompletedProcess:
        if os.geteuid() == 0:
            # initdb and postgres refuse to run as root; the Debian package creates this OS user.
            args = ["runuser", "-u", "postgres", "--", *args]
        return subprocess.run(args, capture_output=True, text=True, timeout=timeout)

    def start(self) -> "PostgresServer":
        self.bindir = self.bindir or find_bindir()
        if not os.path.exists(os.path.join(self.bindir, "initdb")):
            raise PostgresUnavailable(f"no initdb in {self.bindir}; {INSTALL_HINT}")
        self.tmp = tempfile.mkdtemp(prefix="agentcore-pg-")
        if os.geteuid() == 0:
            shutil.chown(self.tmp, "postgres", "postgres")
        data = os.path.join(self.tmp, "data")
        r = self._run([os.path.join(self.bindir, "initdb"), "-D", data, "-U", self.user,
                       "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync"])
        if r.returncode != 0:
            self._cleanup()
            raise PostgresUnavailable(f"initdb failed (exit {r.returncode}): {r.stderr.strip()[-2000:]}")
        last_err = ""
        for _ in range(3):  # a free port can be taken between choosing it and binding it
            self.port = _free_port()
            # fsync off: the tests kill clients, never the server, and the shared 2-core machine
            # should not spend its time syncing a throwaway cluster.
            opts = (f"-p {self.port} -k {self.tmp} -c listen_addresses=127.0.0.1 -c fsync=off "
                    f"-c full_page_writes=off -c max_connections=100")
            r = self._run([os.path.join(self.bindir, "pg_ctl"), "-D", data, "-w", "-t", "60",
                           "-l", os.path.join(self.tmp, "server.log"), "-o", opts, "start"])
            if r.returncode == 0:
                self.started = True
                return self
            last_err = r.stderr.strip() + "\n" + self.log_tail()
        self._cleanup()
        raise PostgresUnavailable(f"pg_ctl start failed: {last_err[-3000:]}")

    def log_tail(self, n: int = 4000) -> str:
        try:
            with open(os.path.join(self.tmp, "server.log"), errors="replace") as f:
                return f.read()[-n:]
        except OSError:
            return ""

    def create_database(self, prefix: str = "t") -> str:
        """Create an empty database and return its url."""
        import psycopg
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url_for(name)

    def drop_database(self, url: str) -> None:
        import psycopg
        name = url.rsplit("/", 1)[1]
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        if self.started:
            self._run([os.path.join(self.bindir, "pg_ctl"), "-D", os.path.join(self.tmp, "data"),
                       "-m", "fast", "-w", "stop"])
            self.started = False
        self._cleanup()

    def _cleanup(self) -> None:
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = ""

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class ExternalPostgres:
    """The same interface over a server given by AGENTCORE_TEST_PG_URL (not started or stopped)."""

    def __init__(self, url: str):
        self.url = url

    def url_for(self, dbname: str) -> str:
        return self.url.rsplit("/", 1)[0] + "/" + dbname

    create_database = PostgresServer.create_database
    drop_database = PostgresServer.drop_database

    def stop(self) -> None:
        pass
