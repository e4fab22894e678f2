"""Build the compiled kernels: every kernels/_*.pyx becomes one extension module.

DEBUG=1 turns on bounds checks and line tracing for the compiled modules.
"""
import os
from pathlib import Path

from setuptools import Extension, setup

HERE = Path(__file__).parent
MOD_NAMES = sorted(f"kernels.{p.stem}" for p in (HERE / "kernels").glob("_*.pyx"))
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
        Extension(name, [name.replace(".", "/") + ".pyx"], extra_compile_args=CFLAGS)
        for name in MOD_NAMES
    ]
    return cythonize(exts, compiler_directives=DIRECTIVES, nthreads=2, quiet=True)


setup(ext_modules=extensions())
