"""Build agentcore: every kernels/_*.pyx becomes one extension module of ``agentcore.kernels``.

The source folder ``kernels/`` stays at the top level but installs as ``agentcore.kernels``
(a ``package_dir`` mapping), so installing agentcore shadows no other distribution's ``kernels``.
DEBUG=1 turns on bounds checks and line tracing for the compiled modules.
"""
import os
from pathlib import Path

from setuptools import Extension, find_packages, setup

HERE = Path(__file__).parent
KERNELS = "agentcore.kernels"
MOD_NAMES = sorted(f"{KERNELS}.{p.stem}" for p in (HERE / "kernels").glob("_*.pyx"))
DEBUG = os.environ.get("DEBUG") == "1"

DIRECTIVES = {
    "language_level": 3,
    "boundscheck": DEBUG,
    "wraparound": DEBUG,
    "initializedcheck": DEBUG,
    "cdivision": True,
    "embedsignature": True,
    "linetrace": DEBUG,
}
CFLAGS = ["-O0", "-g"] if DEBUG else ["-O3"]


def extensions():
    from Cython.Build import cythonize

    exts = [
        Extension(name, [f"kernels/{name.rsplit('.', 1)[1]}.pyx"], extra_compile_args=CFLAGS)
        for name in MOD_NAMES
    ]
    return cythonize(exts, compiler_directives=DIRECTIVES, nthreads=2, quiet=True)


setup(
    packages=[*find_packages(include=["agentcore", "agentcore.*"]), KERNELS],
    package_dir={KERNELS: "kernels"},
    package_data={KERNELS: ["*.pyx", "*.pxd", "*.pyi"]},
    ext_modules=extensions(),
)
