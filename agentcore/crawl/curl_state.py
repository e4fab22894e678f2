"""What the curl fetcher keeps: a fetch through its hops, a host's slots, one easy handle.

A ``Fetch`` is one URL through its redirects and retries, a ``Host`` one host's slots, queue,
politeness and robots.txt matcher. A ``Transfer`` is reused from request to request: it collects one answer's header lines, runs
``agentcore.crawl.transport``'s checks once the headers are in, streams the body through the
``Inflater`` (wire and inflate caps) and maps libcurl's errors to the fetcher's reasons.
``checked_target`` is the SSRF guard's pin for a name the system resolver answers.
"""
from __future__ import annotations

import errno
import re
import socket
import time
from collections import deque
from typing import TYPE_CHECKING

import pycurl

from agentcore.crawl import robots as robots_txt
from agentcore.crawl.outcome import FetchResult
from agentcore.crawl.transport import (ACCEPT, Failure, Inflater, check_answer, check_body,
                                       dns_failure, phrase, public_address)

if TYPE_CHECKING:
    from agentcore.crawl.outcome import FetchConfig

__all__ = ["Fetch", "Host", "Transfer", "cainfo", "checked_target", "connect_to", "result"]

#: the answer headers the checks read (``transport.check_answer``, ``KEEP_HEADERS``)
_HEADER = re.compile(rb"^(content-type|content-encoding|content-length|last-modified|location"
                     rb"|retry-after)[ \t]*:(.*?)\r?$", re.I | re.M)
_DISCARD_CAP = 1 << 20  # bytes of a refused answer's body read (to keep the connection) at most
_now = time.monotonic


class Fetch:
    """One URL through its hops and attempts."""

    __slots__ = ("url", "current", "current_s", "origin", "visited", "attempts", "tries",
                 "redirects", "status", "t0", "robots", "check_type", "done", "count", "host",
                 "port")

    def __init__(self, url: str, done, robots: bool, check_type: bool, count: bool):
        self.url, self.done, self.robots, self.check_type, self.count = (url, done, robots,
                                                                         check_type, count)
        #: the hop's parsed URL while it is checked; None once queued (a ``yarl.URL`` and its
        #: cached parts are ~0.7 KB, and thousands of fetches wait in the host queues), when
        #: ``current_s`` (the string) and ``host``/``port`` are all a request needs
        self.current = self.current_s = self.origin = self.host = self.port = None
        #: the URLs this fetch requested, made at its first redirect (most fetches have none)
        self.visited: set | None = None
        self.attempts = self.redirects = 0
        self.tries = 1  # attempt number within the current hop
        self.status = None
        self.t0 = time.perf_counter()


class Host:
    """Per-host state: requests in flight, the queue behind them, the next allowed start, the
    robots.txt matcher (None until loaded) and the fetches waiting for it."""

    __slots__ = ("active", "queue", "next_start", "delay", "matcher", "waiting")

    def __init__(self, delay: float):
        self.active = 0
        self.queue: deque = deque()
        self.next_start = 0.0
        self.delay = delay
        self.matcher: robots_txt.Matcher | None = None
        self.waiting: list | None = None


class Transfer:
    """One libcurl easy handle, reused; collects one answer's header lines and body."""

    __slots__ = ("curl", "fetch", "lines", "inflater", "kept", "failure", "discard", "checked",
                 "config", "status", "start", "seen")

    def __init__(self, config: "FetchConfig", cainfo: str | None):
        c = self.curl = pycurl.Curl()
        c.transfer = self  # the multi hands back handles; this finds their transfer
        self.config = config
        self.lines: list = []
        c.setopt(pycurl.NOSIGNAL, 1)
        c.setopt(pycurl.FOLLOWLOCATION, 0)
        c.setopt(pycurl.PROXY, "")  # never a proxy from the environment
        c.setopt(pycurl.PROTOCOLS, pycurl.PROTO_HTTP | pycurl.PROTO_HTTPS)
        c.setopt(pycurl.HTTP_VERSION, pycurl.CURL_HTTP_VERSION_1_1)
        c.setopt(pycurl.CONNECTTIMEOUT_MS, int(config.connect_timeout * 1000))
        c.setopt(pycurl.TIMEOUT_MS, int(config.total_timeout * 1000))
        # the read timeout (silence while waiting for bytes) is the fetcher's sweep: libcurl's
        # LOW_SPEED_* averages over seconds, so a server that sent its headers and then went
        # silent ran into the total timeout instead (twice the hostile web's wall)
        c.setopt(pycurl.MAXAGE_CONN, 5)  # a crawl leaves a host for good: idle ones go soon
        c.setopt(pycurl.USERAGENT, config.user_agent)
        c.setopt(pycurl.HTTPHEADER, [f"Accept: {ACCEPT}", "Accept-Encoding: gzip, deflate"])
        c.setopt(pycurl.HEADERFUNCTION, self.lines.append)
        c.setopt(pycurl.WRITEFUNCTION, self.write)
        if cainfo:
            c.setopt(pycurl.CAINFO, cainfo)
        self.fetch = None

    def begin(self, f: Fetch, target: str) -> None:
        self.fetch = f
        self.lines.clear()
        self.inflater = self.kept = self.failure = None
        self.discard = self.checked = False
        self.status = 0
        self.start = self.seen = _now()
        c = self.curl
        c.setopt(pycurl.URL, f.current_s)
        c.setopt(pycurl.CONNECT_TO, [target])

    def check(self):
        """The answer's checks once its headers are in: the kept headers, or None for a
        redirect; raises Failure (``transport.check_answer``)."""
        self.checked = True
        block = b"".join(self.lines)
        # after a 1xx answer, the last block is the answer (its status line starts a line:
        # "HTTP/" inside a header, as in "Server: BaseHTTP/0.6", is not one)
        at = block.rfind(b"\nHTTP/")
        if at >= 0:
            block = block[at + 1:]
        status_line, _, rest = block.partition(b"\n")
        parts = status_line.split(None, 2)
        status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
        server_phrase = parts[2].strip().decode("latin-1") if len(parts) > 2 else ""
        h: dict = {}
        for k, v in _HEADER.findall(rest):  # only the headers the checks read
            h.setdefault(k.lower().decode("latin-1"), v.strip().decode("latin-1"))
        self.status = status
        length = h.get("content-length")
        f = self.fetch
        reason = "" if 200 <= status < 300 else server_phrase or phrase(status)
        kept = check_answer(status, h, h.get("location"), reason, f.current_s, self.config,
                            f.check_type, int(length) if length and length.isdigit() else None)
        if kept is None:
            self.kept = {"location": h.get("location")}
            return None
        self.kept = kept
        c = self.config
        self.inflater = Inflater(kept.get("content-encoding", ""), c.max_body, c.max_decompressed)
        return kept

    def write(self, chunk: bytes):
        """libcurl's write callback: 0 (of len(chunk)) stops the transfer."""
        self.seen = _now()
        inf = self.inflater
        if inf is None:
            if self.discard:
                self.discard += len(chunk)
                return 0 if self.discard > _DISCARD_CAP else None
            if self.checked:
                return None
            try:
                if self.check() is None:  # a redirect's body is not read
                    self.discard = 1
                    return None
            except Failure as f:
                self.failure = f
                if f.reason.startswith("http_"):  # read an error page's body: keep the connection
                    self.discard = 1
                    return None
                return 0
            except Exception as exc:  # noqa: BLE001 - a bug: that fetch fails, not the thread
                self.failure = Failure("internal_error", repr(exc))
                return 0
            inf = self.inflater
        try:
            inf.feed(chunk)
        except Failure as f:
            self.failure = f
            return 0
        return None

    def outcome(self):
        """(status, kept headers, body, Location or None) of a finished transfer; raises Failure."""
        if self.failure is not None:
            raise self.failure
        if not self.checked:
            self.check()
        status = self.status
        if self.inflater is None:
            return status, {}, b"", self.kept["location"]
        data = self.inflater.finish()
        check_body(data, self.kept, self.fetch.check_type)
        return status, self.kept, data, None

    def silent_since(self) -> float | None:
        """When bytes last came (the body's, else the answer's first byte, else the request
        sent); None while still connecting (``connect_timeout`` covers that)."""
        c = self.curl
        sent = c.getinfo(pycurl.PRETRANSFER_TIME)
        if not sent:
            return None
        return max(self.seen, self.start + max(sent, c.getinfo(pycurl.STARTTRANSFER_TIME)))

    def error(self, code: int, message: str) -> Failure:
        """The Failure of a transfer libcurl ended with error ``code``."""
        if code == pycurl.E_WRITE_ERROR and self.failure is not None:
            return self.failure
        if code == pycurl.E_OPERATION_TIMEDOUT:
            # as the other transports: connect, read or total depends on the load; rows must not
            return Failure("timeout", "no answer within the configured timeout")
        if code == pycurl.E_COULDNT_CONNECT:
            if self.curl.getinfo(pycurl.OS_ERRNO) == errno.ECONNREFUSED:
                return Failure("connection_refused", f"connection refused: {message}")
            return Failure("connection_error", f"COULDNT_CONNECT: {message}")
        if code in (pycurl.E_URL_MALFORMAT, pycurl.E_UNSUPPORTED_PROTOCOL):
            return Failure("bad_url", message)
        if code == pycurl.E_COULDNT_RESOLVE_HOST:
            return Failure("dns_error", message)
        return Failure("connection_error", f"curl error {code}: {message}")


def cainfo() -> str | None:
    """certifi's CA bundle when installed (the pycurl wheel's libcurl may not find the system's)."""
    try:
        import certifi
    except ImportError:
        return None
    return certifi.where()


def checked_target(host: str, port: int, allow_private: bool) -> str | Failure:
    """The system resolver's answer for ``host`` as a CONNECT_TO pin, private and reserved
    addresses dropped (unless ``allow_private``); a Failure when nothing is left."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        return dns_failure(host, exc)
    ip = public_address(host, infos, allow_private)
    return ip if isinstance(ip, Failure) else connect_to(host, port, ip, port)


def connect_to(host: str, port: int, ip: str, real_port: int) -> str:
    """libcurl's CONNECT_TO entry: requests for host:port go to ip:real_port, the URL (Host
    header, TLS name) unchanged, and no name is resolved."""
    addr = f"[{ip}]" if ":" in ip else ip
    return f"{host}:{port}:{addr}:{real_port}"


def result(f: Fetch, status, headers, body, reason, detail, wire_bytes: int = 0):
    return FetchResult(f.url, f.current_s or f.url, status, headers, body, reason, detail,
                       time.perf_counter() - f.t0, f.attempts, f.redirects, wire_bytes)
