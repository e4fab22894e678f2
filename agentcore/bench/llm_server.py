"""llama-server for benches and tests: built once from the pinned sdist's vendored llama.cpp, run on loopback.

:func:`llama_server_binary` builds it into ``~/.cache/agentcore/llama-server`` the first time (a
few minutes on 2 cores; it returns at once when the binary exists); :class:`LlamaServer` runs it
on ``127.0.0.1`` with ``-np`` slots and stops it on exit::

    with LlamaServer(llama_server_binary(), model, n_parallel=8, threads=2) as srv:
        ...  # OpenAI-compatible API at srv.url
"""
from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import time
from pathlib import Path

__all__ = ["SDIST", "SDIST_SPEC", "cmake_cpu_args", "llama_server_binary", "LlamaServer", "free_port"]

SDIST = "llama_cpp_python-0.3.36.tar.gz"
SDIST_SPEC = "llama-cpp-python==0.3.36"


def _sdist() -> Path:
    from agentcore.llm.model import cache_dir

    src = cache_dir() / "src"
    src.mkdir(parents=True, exist_ok=True)
    path = src / SDIST
    if path.is_file():
        return path
    pip_cache = Path(os.path.expanduser("~/.cache/pip"))
    for cand in glob.glob(str(pip_cache / "**" / SDIST), recursive=True):
        shutil.copy(cand, path)
        return path
    print(f"[bench] downloading the {SDIST_SPEC} sdist with pip (for its vendored llama.cpp)", file=sys.stderr)
    # --no-binary names only this package: with ":all:", pip would also build the sdist's build
    # dependencies (scikit-build-core, cmake) from source just to read its metadata (tens of minutes)
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", "llama-cpp-python",
                    SDIST_SPEC, "-d", str(src)], check=True)
    if not path.is_file():
        raise FileNotFoundError(f"pip download did not produce {path}")
    return path


def cmake_cpu_args() -> list[str]:
    """llama.cpp CPU flags for this machine, without AMX.

    Some VMs list AMX in /proc/cpuinfo but trap on its instructions (SIGILL in libggml-cpu), so
    instead of -march=native the build names the AVX levels the CPU reports and leaves AMX off.
    """
    try:
        flags = set(next(line for line in open("/proc/cpuinfo") if line.startswith("flags")).split())
    except (OSError, StopIteration):
        return []
    args = ["-DGGML_NATIVE=OFF", "-DGGML_AMX_TILE=OFF", "-DGGML_AMX_INT8=OFF", "-DGGML_AMX_BF16=OFF"]
    for flag, opt in [("avx", "AVX"), ("avx2", "AVX2"), ("fma", "FMA"), ("f16c", "F16C"), ("bmi2", "BMI2"),
                      ("avx_vnni", "AVX_VNNI"), ("avx512f", "AVX512"), ("avx512vbmi", "AVX512_VBMI"),
                      ("avx512_vnni", "AVX512_VNNI"), ("avx512_bf16", "AVX512_BF16")]:
        args.append(f"-DGGML_{opt}={'ON' if flag in flags else 'OFF'}")
    return args


def llama_server_binary() -> Path:
    """Build (once) and return llama-server from the vendored llama.cpp of the pinned sdist."""
    from agentcore.llm.model import cache_dir

    root = cache_dir() / "llama-server"
    binary = root / "build" / "bin" / "llama-server"
    if binary.is_file():
        return binary
    sdist = _sdist()
    src = root / "src"
    if not (src / "vendor" / "llama.cpp" / "CMakeLists.txt").is_file():
        root.mkdir(parents=True, exist_ok=True)
        with tarfile.open(sdist) as tf:
            tf.extractall(root / "unpack")
        (root / "unpack" / SDIST.replace(".tar.gz", "")).rename(src)
    print("[bench] building llama-server from the vendored llama.cpp (a few minutes, once)", file=sys.stderr)
    log = root / "build.log"
    with open(log, "wb") as out:
        for cmd in (["cmake", "-S", str(src / "vendor" / "llama.cpp"), "-B", str(root / "build"),
                     "-DCMAKE_BUILD_TYPE=Release", "-DLLAMA_CURL=OFF", "-DLLAMA_OPENSSL=OFF",
                     "-DBUILD_SHARED_LIBS=OFF", "-DLLAMA_BUILD_TESTS=OFF", "-DLLAMA_BUILD_EXAMPLES=OFF",
                     *cmake_cpu_args()],
                    ["cmake", "--build", str(root / "build"), "--target", "llama-server", "-j", "2"]):
            if subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT).returncode != 0:
                raise RuntimeError(f"building llama-server failed ({' '.join(cmd[:3])} ...); see {log}")
    if not binary.is_file():
        raise FileNotFoundError(f"the llama-server build finished but {binary} is missing")
    return binary


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LlamaServer:
    """llama-server on 127.0.0.1 with ``-np`` slots (``ctx_per_slot`` tokens each), stopped on exit.

    Its log goes to a temporary file (a pipe nobody reads fills up and stalls the server); the
    last lines are quoted when it fails to start. ``extra_args`` are appended to the command line.
    """

    def __init__(self, binary: Path, model: Path, n_parallel: int, threads: int, ctx_per_slot: int = 512,
                 extra_args: tuple[str, ...] = ()):
        import tempfile

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.n_parallel, self.ctx_per_slot = int(n_parallel), int(ctx_per_slot)
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [str(binary), "-m", str(model), "-np", str(n_parallel), "-c", str(ctx_per_slot * n_parallel),
             "-t", str(threads), "-tb", str(threads), "--host", "127.0.0.1", "--port", str(self.port),
             "--no-webui", *extra_args],
            stdout=self.log, stderr=subprocess.STDOUT)

    def log_tail(self, n: int = 2000) -> str:
        """The last ``n`` characters of the server's log."""
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-n:]

    def __enter__(self):
        import urllib.request

        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                tail = self.log_tail()
                self.log.close()
                raise RuntimeError(f"llama-server exited with {self.proc.returncode}: {tail}")
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=2) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.3)
        self.__exit__()
        raise TimeoutError("llama-server did not become healthy in 120 s")

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
