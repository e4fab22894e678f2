"""`agentcore bench crawl`'s parts on a tiny real local web: the warm-up wait and the agentcore child."""

import pytest

from agentcore import aio
from agentcore.bench import crawl as bench
from agentcore.web.server import ProcessServer


def test_the_event_loop_is_a_setting(monkeypatch):
    monkeypatch.setenv("AGENTCORE_LOOP", "asyncio")
    assert aio.loop_name() == "asyncio"
    monkeypatch.setenv("AGENTCORE_LOOP", "uvloop")
    assert aio.loop_name() == "uvloop"
    assert aio.loop_factory("asyncio")().__class__.__module__.startswith("asyncio")
    monkeypatch.setenv("AGENTCORE_LOOP", "trio")
    with pytest.raises(ValueError, match="AGENTCORE_LOOP"):
        aio.loop_name()


@pytest.mark.parametrize("variant", ["agentcore-aiohttp", "agentcore-reqwest", "agentcore-curl"])
def test_bench_waits_for_a_warm_web_and_the_child_crawls_it(tmp_path, variant):
    with ProcessServer(n_sites=3, seed=0, hostile=False, warm=True) as server:
        bench.wait_warm(server.port)
        assert server.stats()["warm_done"]
        res = bench.agentcore_child(server.port, 3, True, str(tmp_path / "crawl.db"),
                                    transport=variant.split("-")[1])
    assert res["pages"] == len(server.web.pages()) and res["failures"] == {}
    assert 0 < res["last_page"] <= res["wall"] + 1.0
    threads = res["threads"]
    assert threads["MainThread"]["cpu"] > 0 and threads["MainThread"]["threads"] == 1
    assert ("agentcore-curl" in threads) == (variant == "agentcore-curl")


def test_thread_cpu_names_the_thread_that_spent_it(capsys):
    import threading

    from agentcore.bench.threads import ThreadCPU

    spun, release = threading.Event(), threading.Event()

    def spin():
        x = 0
        for i in range(3_000_000):
            x += i
        spun.set()
        release.wait()

    with ThreadCPU(interval=0.05) as tc:
        t = threading.Thread(target=spin, name="spinner")
        t.start()
        spun.wait()
        tc.sample()  # a reading while it lives
        release.set()
        t.join()  # it ended before the last sample: its last reading is kept
    by = tc.by_name()
    assert by["spinner"]["threads"] == 1 and by["spinner"]["cpu"] > 0
    assert by["spinner"]["voluntary"] >= 0 and "agentcore-threadcpu" in by
    bench.print_threads({("clean", "agentcore"): {"pages": 100, "threads": by}})
    line = capsys.readouterr().out
    assert "CPU/page by thread clean" in line and "spinner" in line


@pytest.mark.parametrize("user_value", [None, "2"])
def test_the_command_runs_numpy_with_one_blas_thread_unless_the_user_chose(user_value):
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    if user_value:
        env["OPENBLAS_NUM_THREADS"] = user_value
    code = ("import os, sys\n"
            "from agentcore.cli import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "n0 = len(os.listdir('/proc/self/task'))\n"
            "import numpy\n"
            "print(os.environ['OPENBLAS_NUM_THREADS'], len(os.listdir('/proc/self/task')) - n0)")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout.split()[-2:]
    if user_value is None:
        # numpy's OpenBLAS starts no pool thread: nothing the command runs multiplies matrices
        assert out == ["1", "0"]
    else:
        assert out[0] == user_value and int(out[1]) >= 1
