"""Which kernel modules the analysis runs on: a twin by name, the environment's, or "lean"."""
from __future__ import annotations

from agentcore.kernels import IMPLS, twin

__all__ = ["KERNEL_CHOICES", "kernel_modules", "LeanKernels"]

#: what ``kernels=`` may name on the analysis API (None: the environment switch)
KERNEL_CHOICES = IMPLS + ("lean",)


def kernel_modules(kernels: str | None) -> tuple:
    """(textops, similarity) modules for ``kernels``: a twin by name ("compiled", "pure"), the
    environment switch's (None), or "lean": the switch's textops with the switch's whole-batch
    signatures (``kernels/_signatures.pyx``, GIL released, or the numpy ones of
    :mod:`agentcore.analyze.batchsim`), which never import Numba."""
    if kernels == "lean":
        return twin("textops", None), LeanKernels(twin("signatures", None))
    if kernels is not None and kernels not in IMPLS:
        raise ValueError(f"kernels must be 'compiled', 'pure', 'lean' or None, got {kernels!r}")
    return twin("textops", kernels), twin("similarity", kernels)


class LeanKernels:
    """The similarity API the analysis calls: a signatures twin's whole-batch ``doc_counts``,
    ``minhash``, ``simhash`` and ``band_keys``, everything else from the pure twin (already
    vectorised)."""

    def __init__(self, signatures):
        from agentcore.kernels import similarity_py  # both signatures twins have loaded it

        self._pure = similarity_py
        self.minhash = signatures.minhash
        self.simhash = signatures.simhash
        self.band_keys = signatures.band_keys
        self.doc_counts = signatures.doc_counts

    def __getattr__(self, name):
        return getattr(self._pure, name)
