"""`agentcore bench core`: the anchors' lifecycle workload and cold start, side by side.

Every contender runs in its own process (so peak RSS is its own), the same number of times,
in one sitting; the table reports medians and ratios against tokio and asyncio.
"""
from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

CACHE = Path(os.environ.get("AGENTCORE_CACHE", Path.home() / ".cache" / "agentcore"))
_LINE = re.compile(r"wall_s=([0-9.]+)")


def add_arguments(p) -> None:
    p.add_argument("--anchors", type=Path, default=None,
                   help="path of shared/anchors: also build and run tokio and asyncio side by side")
    p.add_argument("--sizes", default="10000,1000000",
                   help="comma-separated agent counts (default: 10000,1000000)")
    p.add_argument("--repeat", type=int, default=5, help="runs per contender and size")
    p.add_argument("--asyncio-max", type=int, default=1_000_000,
                   help="largest size to run the asyncio anchor at (it needs ~50 s per 1M)")


def measure(cmd: list[str], env: dict | None = None) -> tuple[float, float, str]:
    """Run ``cmd``; return (wall_s it printed, its peak RSS in MB, stdout).

    Peak RSS comes from GNU time: a child forked from this (large) Python process would report
    the parent's high-water mark as its own (Linux carries ru_maxrss across fork and exec).
    """
    proc = subprocess.run(["/usr/bin/time", "-f", "maxrss_kb=%M", *cmd], capture_output=True,
                          text=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed ({proc.returncode}): "
                           f"{proc.stderr.strip()[-400:]}")
    m = _LINE.search(proc.stdout)
    rss = re.findall(r"maxrss_kb=(\d+)", proc.stderr)
    return (float(m.group(1)) if m else float("nan")), int(rss[-1]) / 1024, proc.stdout


def build_tokio(anchors: Path) -> Path:
    """Build the tokio anchor once (offline, from Debian's crates) into the cache."""
    out = CACHE / "anchors"
    exe = out / "tokio_swarm"
    src = anchors / "tokio_swarm" / "src" / "main.rs"
    if not exe.exists() or exe.stat().st_mtime < src.stat().st_mtime:
        print(f"building the tokio anchor into {out} ...", file=sys.stderr)
        subprocess.run(["bash", str(anchors / "build_tokio_swarm.sh"), str(out)], check=True,
                       stdout=subprocess.DEVNULL)
    return exe


def wall_of(cmd: list[str], repeat: int) -> float:
    ts = []
    for _ in range(repeat):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def cold_start(repeat: int) -> dict:
    """Bare interpreter, `import agentcore`, and import + 1-agent swarm + exit, each a new process."""
    py = sys.executable
    one = ("import agentcore as a; s=a.Swarm(a.AgentSpec([a.State('W', a.batch_action("
           "lambda b: None, inline=True), on_ok='DONE')]), 1); assert s.run().done == 1")
    return {
        "bare": wall_of([py, "-c", "pass"], repeat),
        "import": wall_of([py, "-c", "import agentcore"], repeat),
        "one_agent": wall_of([py, "-c", one], repeat),
    }


def run(args) -> int:
    sizes = [int(s) for s in str(args.sizes).split(",")]
    contenders: dict[str, callable] = {
        "agentcore": lambda n: [sys.executable, "-m", "agentcore.bench.lifecycle", str(n)],
        "agentcore (pool)": lambda n: [sys.executable, "-m", "agentcore.bench.lifecycle", str(n),
                                       "--pool"],
    }
    if args.anchors:
        tokio = build_tokio(args.anchors)
        contenders["tokio"] = lambda n: [str(tokio), str(n), "2"]
        script = str(args.anchors / "asyncio_swarm.py")
        contenders["asyncio"] = lambda n: [sys.executable, script, str(n)]
    rows = []
    for n in sizes:
        for name, cmd in contenders.items():
            if name == "asyncio" and n > args.asyncio_max:
                continue
            reps = 1 if name == "asyncio" and n >= 1_000_000 else args.repeat
            walls, rss = [], []
            for _ in range(reps):
                w, r, _ = measure(cmd(n))
                walls.append(w)
                rss.append(r)
            rows.append((n, name, statistics.median(walls), max(rss), reps))
            print(f"  {name:18s} {n:>9,d} agents: {statistics.median(walls) * 1e3:9.2f} ms "
                  f"(median of {reps}), peak RSS {max(rss):7.1f} MB", file=sys.stderr)
    print()
    print("Lifecycle: N agents x 5 transitions (6 states, no-op actions), one process per run")
    print(f"{'agents':>10} {'contender':18} {'wall ms':>10} {'peak MB':>8} "
          f"{'vs tokio':>9} {'vs asyncio':>11}")
    by = {(n, name): (w, m) for n, name, w, m, _ in rows}
    for n, name, w, m, _ in rows:
        t = by.get((n, "tokio"))
        a = by.get((n, "asyncio"))
        rt = f"{t[0] / w:8.1f}x" if t and name.startswith("agentcore") else ""
        ra = f"{a[0] / w:10.0f}x" if a and name.startswith("agentcore") else ""
        print(f"{n:>10,d} {name:18} {w * 1e3:10.2f} {m:8.1f} {rt:>9} {ra:>11}")
    print("(ratios: how many times faster agentcore is than the anchor in this same run)")
    cs = cold_start(max(args.repeat, 10))
    print()
    print("Cold start (new process, median wall ms)")
    print(f"  bare interpreter           {cs['bare'] * 1e3:7.1f}")
    print(f"  import agentcore           {cs['import'] * 1e3:7.1f}  "
          f"(+{(cs['import'] - cs['bare']) * 1e3:.1f} over bare)")
    print(f"  import + 1-agent swarm     {cs['one_agent'] * 1e3:7.1f}")
    return 0
