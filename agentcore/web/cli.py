"""The local web's command line: `python -m agentcore.web` serves a web until interrupted."""

from __future__ import annotations

import argparse
import asyncio
import signal

from agentcore import aio
from agentcore.web.lifeline import end_with_parent
from agentcore.web.truth import DEFAULT_PAGES


def main(argv: list[str] | None = None) -> int:
    """Serve the local web until interrupted; the first stdout line is the port."""
    ap = argparse.ArgumentParser(prog="python -m agentcore.web", description=main.__doc__)
    ap.add_argument("--sites", type=int, default=500)
    ap.add_argument("--pages", type=int, nargs=2, default=DEFAULT_PAGES, metavar=("MIN", "MAX"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--corpus", metavar="DIR", help="serve a folder of HTML files instead")
    ap.add_argument("--no-hostile", action="store_true", help="only clean pages")
    ap.add_argument("--slow-seconds", type=float, default=30.0)
    ap.add_argument("--warm", action="store_true",
                    help="read every site's text in the background from the start")
    ap.add_argument("--parent", type=int, metavar="PID",
                    help="stop when process PID (this one's parent) ends; give stdin a pipe "
                         "from the parent, whose closing also stops the server")
    ap.add_argument("--no-deathsig", action="store_true",
                    help="with --parent: the parent started this from a thread that may end "
                         "before it, so do not use Linux's parent-death signal")
    args = ap.parse_args(argv)
    if args.parent is not None:
        # First thing: a parent killed while the web is being built must not leave us behind.
        end_with_parent(args.parent, deathsig=not args.no_deathsig)

    from agentcore.web.folder import CorpusWeb
    from agentcore.web.server import LocalWebServer
    from agentcore.web.synthetic import SyntheticWeb

    if args.corpus:
        webobj: SyntheticWeb | CorpusWeb = CorpusWeb(args.corpus)
    else:
        webobj = SyntheticWeb(args.sites, tuple(args.pages), args.seed,
                              hostile=not args.no_hostile, slow_seconds=args.slow_seconds)

    async def run():
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        async with LocalWebServer(webobj, host=args.host, port=args.port,
                                  warm=args.warm) as server:
            print(server.port, flush=True)
            print(f"serving {len(webobj.sites)} sites, {webobj.n_pages} pages on "
                  f"{server.base_url} (Host: {webobj.sites[0].host} ...)", flush=True)
            await stop.wait()

    aio.run(run())
    return 0
