"""Compiled hot paths (Cython nogil, Numba) with pure-Python twins.

Each kernel lives as a private compiled module ``kernels/_name.pyx`` and a pure-Python twin
``kernels/name_py.py`` with the same API; a public module ``kernels/name.py`` picks one via
:func:`pick`. ``AGENTCORE_NO_EXTENSIONS=1`` selects the twins everywhere.
"""
import importlib
import os

NO_EXTENSIONS = os.environ.get("AGENTCORE_NO_EXTENSIONS", "") not in ("", "0")


def pick(compiled: str, pure: str):
    """Return the compiled module ``compiled`` unless extensions are off or it is not built.

    A missing build falls back to the twin (with ``AGENTCORE_REQUIRE_EXTENSIONS=1`` it raises,
    which the test suite uses so a broken build cannot pass as the pure twin).
    """
    if not NO_EXTENSIONS:
        try:
            return importlib.import_module(compiled)
        except ImportError as exc:
            if os.environ.get("AGENTCORE_REQUIRE_EXTENSIONS") == "1":
                raise ImportError(
                    f"{compiled} is not built ({exc}); run ./dev setup or "
                    "python setup.py build_ext --inplace"
                ) from exc
    return importlib.import_module(pure)
