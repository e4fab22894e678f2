"""Compiled hot paths (Cython nogil, Numba) with pure-Python twins, and the one switch between them.

Each kernel lives as a private compiled module ``kernels/_name.pyx`` (or a Numba module) and a
pure-Python twin ``kernels/name_py.py`` with the same API; the public module ``kernels/name.py``
re-exports whichever :func:`pick` chooses. The source folder installs as ``agentcore.kernels``.

The switch: ``AGENTCORE_NO_EXTENSIONS=1`` selects the twins everywhere. Code that must name one
implementation explicitly (the tests run every suite on both, the benches compare them) asks
:func:`twin` for it; no other module decides.
"""
import importlib
import os

NO_EXTENSIONS = os.environ.get("AGENTCORE_NO_EXTENSIONS", "") not in ("", "0")

#: kernel name -> (compiled module, pure-Python twin)
TWINS = {
    "step": ("agentcore.kernels._step", "agentcore.kernels.step_py"),
    "html": ("agentcore.kernels._html", "agentcore.kernels.html_py"),
    "textops": ("agentcore.kernels._textops", "agentcore.kernels.textops_py"),
    "similarity": ("agentcore.kernels._similarity", "agentcore.kernels.similarity_py"),
    # the "lean" analysis' whole-batch signatures: Cython, or batchsim's numpy (no Numba either way)
    "signatures": ("agentcore.kernels._signatures", "agentcore.analyze.batchsim"),
}
IMPLS = ("compiled", "pure")


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


def twin(name: str, impl: str | None = None):
    """The implementation module of kernel ``name``: ``impl`` is "compiled", "pure", or None for
    what the environment switch picks."""
    try:
        compiled, pure = TWINS[name]
    except KeyError:
        raise ValueError(f"unknown kernel {name!r}; kernels are {sorted(TWINS)}") from None
    if impl is None:
        return pick(compiled, pure)
    if impl == "compiled":
        return importlib.import_module(compiled)
    if impl == "pure":
        return importlib.import_module(pure)
    raise ValueError(f"impl must be 'compiled', 'pure' or None, got {impl!r}")
